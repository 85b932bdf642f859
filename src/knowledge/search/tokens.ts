// Words for keyword search and the hashing embedder: accents folded, lower-cased, English stop words dropped,
// and a light suffix stemmer so "passwords", "password" and "resetting", "reset" meet. The stemmer only needs
// to map forms of one word to the same key; the keys need not be real words ("pricing" → "pric").

const STOP_WORDS = new Set(
  (
    "a about above after again against all am an and any are as at be because been before being below between both but by " +
    "can could did do does doing down during each few for from further had has have having he her here hers herself him " +
    "himself his how i if in into is it its itself just me more most my myself no nor not now of off on once only or other " +
    "our ours ourselves out over own same she should so some such than that the their theirs them themselves then there " +
    "these they this those through to too under until up very was we were what when where which while who whom why will " +
    "with would you your yours yourself yourselves"
  ).split(" "),
);

const MAX_WORD_LENGTH = 40;

/** The words of a text, in order, before stemming and without stop words. */
export function words(text: string): string[] {
  const found = text.normalize("NFKD").replace(/\p{M}+/gu, "").toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [];
  return found.filter((w) => w.length <= MAX_WORD_LENGTH && !STOP_WORDS.has(w));
}

/** Search terms: the stemmed words of a text. */
export function terms(text: string): string[] {
  return words(text).map(stem);
}

export function stem(word: string): string {
  if (word.length <= 3 || /\d/.test(word)) return word;
  let w = word;
  if (w.endsWith("ies") && w.length > 4) w = w.slice(0, -3) + "y";
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
