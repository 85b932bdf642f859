// Cuts extracted text into passages for retrieval: about 500–800 characters, ending on a paragraph or
// sentence boundary, each starting with the last sentence of the one before (overlap), so an answer that
// straddles a cut is still found whole in one passage.
import { yieldToEventLoop } from "../../platform/event-loop.ts";

export const CHUNK_TARGET = 650;
export const CHUNK_MAX = 800;
/** Overlap carried into the next passage: the previous passage's last sentence, when it is at most this long. */
const OVERLAP_MAX = 200;

export function chunkText(text: string): string[] {
  return [...passages(text)];
}

/** chunkText for texts of any length: the event loop gets a turn every PASSAGES_PER_TURN passages. */
export async function chunkTextInTurns(text: string): Promise<string[]> {
  const chunks: string[] = [];
  for (const passage of passages(text)) {
    if (chunks.push(passage) % PASSAGES_PER_TURN === 0) await yieldToEventLoop();
  }
  return chunks;
}

const PASSAGES_PER_TURN = 200;

function* passages(text: string): Generator<string> {
  let current: string[] = [];
  let length = 0;
  const flush = () => {
    const chunk = current.join(" ").trim();
    const last = current[current.length - 1]!;
    const tail = lastSentence(last);
    current = tail && tail.length <= OVERLAP_MAX && !(current.length === 1 && tail === last) ? [tail] : [];
    length = current.reduce((n, u) => n + u.length + 1, 0);
    return chunk;
  };
  for (const paragraph of paragraphs(text)) {
    for (const unit of paragraph.length <= CHUNK_MAX ? [paragraph] : sentences(paragraph).flatMap(hardSplit)) {
      if (current.length && (length + unit.length > CHUNK_MAX || length >= CHUNK_TARGET)) yield flush();
      current.push(unit);
      length += unit.length + 1;
    }
  }
  if (current.length) yield flush();
}

/** Paragraphs: blank-line separated blocks, with their inner line breaks folded to spaces. */
function* paragraphs(text: string): Generator<string> {
  for (const block of text.replace(/\r\n?/g, "\n").split(/\n\s*\n/)) {
    const paragraph = block.replace(/\s+/g, " ").trim();
    if (paragraph) yield paragraph;
  }
}

const SENTENCE = /[^.!?。！？]+(?:[.!?。！？]+["')\]]*|$)\s*/g;

function sentences(paragraph: string): string[] {
  return (paragraph.match(SENTENCE) ?? [paragraph]).map((s) => s.trim()).filter(Boolean);
}

function lastSentence(text: string): string | undefined {
  return sentences(text).pop();
}

/** A sentence longer than a passage is cut between words. */
function hardSplit(sentence: string): string[] {
  if (sentence.length <= CHUNK_MAX) return [sentence];
  const parts: string[] = [];
  let rest = sentence;
  while (rest.length > CHUNK_MAX) {
    const cut = rest.lastIndexOf(" ", CHUNK_TARGET);
    const at = cut > CHUNK_TARGET / 2 ? cut : CHUNK_TARGET;
    parts.push(rest.slice(0, at).trim());
    rest = rest.slice(at).trim();
  }
  if (rest) parts.push(rest);
  return parts;
}
