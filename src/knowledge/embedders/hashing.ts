// The fallback embedder: feature hashing of a text's stemmed words and of the character trigrams of its words into
// a fixed number of dimensions, L2-normalized. It is lexical, not semantic ("refund" and "money back" stay apart),
// but it is deterministic, needs no model, and shares words and word parts the way a bag-of-words would, so
// rephrasings and inflections land close. A second hash bit picks each feature's sign, so collisions cancel out
// on average instead of making every pair of texts look a little alike.
import { stem, words } from "../../platform/tokens.ts";
import type { Embedder } from "./types.ts";

export const HASHING_DIMENSIONS = 384;
const WORD_WEIGHT = 1;
const TRIGRAM_WEIGHT = 0.5;

export function createHashingEmbedder(dimensions = HASHING_DIMENSIONS): Embedder {
  return {
    // v2: words from the shared tokenizer (multilingual stop words, CJK segmentation); v1 vectors are re-embedded.
    model: `hashing-${dimensions}-v2`,
    dimensions,
    async embed(texts) {
      return texts.map((t) => hashText(t, dimensions));
    },
  };
}

export function hashText(text: string, dimensions: number): number[] {
  const counts = new Map<string, number>();
  const add = (feature: string) => counts.set(feature, (counts.get(feature) ?? 0) + 1);
  for (const word of words(text)) {
    add(`w:${stem(word)}`);
    const padded = `<${word}>`;
    for (let i = 0; i + 3 <= padded.length; i++) add(`c:${padded.slice(i, i + 3)}`);
  }
  const vector = new Array<number>(dimensions).fill(0);
  for (const [feature, count] of counts) {
    const h = fnv1a(feature);
    const weight = feature.startsWith("w:") ? WORD_WEIGHT : TRIGRAM_WEIGHT;
    // Sub-linear counts: a word said five times is not five times the evidence.
    vector[(h >>> 1) % dimensions]! += (h & 1 ? -1 : 1) * weight * (1 + Math.log(count));
  }
  return normalize(vector);
}

function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

export function normalize(vector: number[]): number[] {
  let sum = 0;
  for (const v of vector) sum += v * v;
  if (sum === 0) return vector;
  const inv = 1 / Math.sqrt(sum);
  return vector.map((v) => v * inv);
}
