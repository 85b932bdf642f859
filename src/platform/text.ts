// Text PostgreSQL (and so PGlite) cannot store: NUL (U+0000), refused in text and jsonb alike, and an unpaired UTF-16
// surrogate (U+D800–U+DFFF alone), which has no UTF-8 form: jsonb refuses its `\ud800` escape and a text column
// would silently get U+FFFD instead. The API refuses such text at the edge (http/characters.ts); text from outside
// the API (documents, web pages, skill answers, model output) is made storable with `storableText`/`storableValue`.

const UNSTORABLE = /\u0000|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Why `text` cannot be stored ("contains U+0000 (NUL)", "contains an unpaired surrogate U+D800"), or null. */
export function unstorableCharacter(text: string): string | null {
  if (!text.includes("\u0000") && text.isWellFormed()) return null;
  const found = UNSTORABLE.exec(text)![0];
  return found === "\u0000" ? "contains U+0000 (NUL)" : `contains an unpaired surrogate U+${found.charCodeAt(0).toString(16).toUpperCase()}`;
}

/** `text` without NULs, with each unpaired surrogate replaced by U+FFFD (what a UTF-8 encoder writes for it). */
export function storableText(text: string): string {
  if (!text.includes("\u0000") && text.isWellFormed()) return text;
  return text.replaceAll("\u0000", "").toWellFormed();
}

/** A copy of a JSON-like value whose strings and object keys are all storable; the value itself when they already are. */
export function storableValue<T>(value: T): T {
  if (typeof value === "string") return storableText(value) as T;
  if (Array.isArray(value)) {
    let copy: unknown[] | null = null;
    for (let i = 0; i < value.length; i++) {
      const item = storableValue(value[i]);
      if (item !== value[i]) (copy ??= value.slice())[i] = item;
    }
    return (copy ?? value) as T;
  }
  if (value === null || typeof value !== "object" || !isPlain(value)) return value;
  let changed = false;
  const entries = Object.entries(value).map(([k, v]) => {
    const key = storableText(k);
    const item = storableValue(v);
    if (key !== k || item !== v) changed = true;
    return [key, item] as const;
  });
  return changed ? (Object.fromEntries(entries) as T) : value;
}

const isPlain = (value: object) => {
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
};
