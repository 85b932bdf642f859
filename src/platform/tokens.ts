// The one tokenizer: what the runtime's matching (skills, playbooks, handoff rules, knowledge answers), retrieval
// gating, knowledge-gap grouping, keyword search and the hashing embedder all read words with, so a question and the
// passage that answers it are cut the same way everywhere.
//
// - Words are runs of Unicode letters and numbers (\p{L}\p{N}); Chinese, Japanese, Thai and the like, written without
//   spaces, are cut into words by Intl.Segmenter (ICU's dictionaries, built into the runtime, nothing to ship).
// - Accents are folded (NFKD, combining marks dropped) in Latin, Greek and Cyrillic script only: in Japanese kana
//   the marks are part of the letter (が is not か). "ß" reads as "ss". Everything is lower-cased.
// - Stop words come from the `stopword` package's per-language lists (en, de, es, fr, ru, ja, zh, and more), plus a
//   few conversational words callers say ("please", "hi", "thanks"). Given a language, its list and English's are
//   used (callers mix in English); without one, the lists of every language above, so a passage and a question of
//   unknown language drop the same words.
// - Stemming is a light English suffix stripper for words in Latin letters ("passwords", "resetting", "opening" →
//   "password", "reset", "open"). It only needs both sides of a comparison to meet on one key, and keys need not be
//   words ("pricing" → "pric"). A full per-language stemmer (Snowball) would need each text's language, which
//   knowledge passages and short questions rarely tell; other scripts are matched on their folded words.
import { deu, eng, fra, jpn, rus, spa, zho } from "stopword";

const MAX_WORD_LENGTH = 40;

// Apostrophes split words, so "don't" leaves "don", "isn't" "isn" and "we're" "re".
const CONVERSATIONAL = "please thanks thank hi hello hey okay ok yes yeah does doing done when why will its want need just get don doesn didn isn aren won wouldn couldn re ll ve us".split(" ");

/** Stop words by primary language subtag, folded as text is. */
const STOP_WORDS: Record<string, Set<string>> = Object.fromEntries(
  Object.entries({ en: [...eng, ...CONVERSATIONAL], de: deu, es: spa, fr: fra, ru: rus, ja: jpn, zh: zho }).map(([lang, list]) => [lang, new Set(list.map(fold))]),
);
const ALL_STOP_WORDS = new Set(Object.values(STOP_WORDS).flatMap((s) => [...s]));

/** Scripts written without spaces between words. */
const UNSPACED = /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Thai}\p{Script=Lao}\p{Script=Khmer}\p{Script=Myanmar}]/u;
const segmenter = new Intl.Segmenter(undefined, { granularity: "word" });

/** Lower-cased, accents folded (Latin, Greek, Cyrillic), "ß" as "ss", compatibility forms (full-width letters) unified. */
export function fold(text: string): string {
  return text
    .normalize("NFKD")
    .replace(/([\p{Script=Latin}\p{Script=Greek}\p{Script=Cyrillic}])\p{M}+/gu, "$1")
    .normalize("NFC")
    .toLowerCase()
    .replaceAll("ß", "ss");
}

function stopWordsFor(language?: string | null): Set<string> | ((w: string) => boolean) {
  const primary = language?.toLowerCase().split(/[-_]/)[0];
  const own = primary ? STOP_WORDS[primary] : undefined;
  if (!primary || (!own && primary !== "en")) return ALL_STOP_WORDS;
  if (!own || primary === "en") return STOP_WORDS.en!;
  return (w: string) => own.has(w) || STOP_WORDS.en!.has(w);
}

/** The words of a text, in order, folded, without stop words, before stemming. `language`: a BCP-47 tag, if known. */
export function words(text: string, language?: string | null): string[] {
  const stop = stopWordsFor(language);
  const isStop = typeof stop === "function" ? stop : (w: string) => stop.has(w);
  const out: string[] = [];
  for (const run of fold(text).match(/[\p{L}\p{N}]+/gu) ?? []) {
    if (UNSPACED.test(run)) {
      for (const s of segmenter.segment(run)) if (s.isWordLike && !isStop(s.segment)) out.push(s.segment);
      continue;
    }
    // One Latin letter is no word ("i", "a", the "s" of "it's"); one Cyrillic letter neither ("и", "в").
    if (run.length < 2 && !/\p{N}/u.test(run)) continue;
    if (run.length <= MAX_WORD_LENGTH && !isStop(run)) out.push(run);
  }
  return out;
}

/** Match keys: the stemmed words of a text. */
export function terms(text: string, language?: string | null): string[] {
  return words(text, language).map(stem);
}

/** A light English suffix stripper, for words in Latin letters; other words are returned as they are. */
export function stem(word: string): string {
  if (word.length <= 3 || !/^[a-z]+$/.test(word)) return word;
  let w = word;
  if (w.endsWith("ies") && w.length > 4) w = `${w.slice(0, -3)}y`;
  else if (w.endsWith("sses")) w = w.slice(0, -2);
  else if (/(?:ch|sh|[sxz])es$/.test(w)) w = w.slice(0, -2);
  else if (w.endsWith("s") && !/[sui]s$/.test(w)) w = w.slice(0, -1);

  if (w.length >= 6 && w.endsWith("ing")) w = undouble(w.slice(0, -3));
  else if (w.length >= 5 && w.endsWith("ed")) w = undouble(w.slice(0, -2));
  else if (w.length >= 6 && w.endsWith("ly")) w = w.slice(0, -2);

  if (w.length > 3 && w.endsWith("e")) w = w.slice(0, -1);
  return w;
}

// "stopp" → "stop", "resett" → "reset"; "ll", "ss", "zz" stay ("bill", "pass").
function undouble(w: string): string {
  const last = w[w.length - 1];
  return w.length > 3 && last === w[w.length - 2] && !"lsz".includes(last!) && !"aeiou".includes(last!) ? w.slice(0, -1) : w;
}
