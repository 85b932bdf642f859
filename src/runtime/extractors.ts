// Typed slot extractors: pull one value of a given type out of what a caller said (or keyed).
// Deterministic, no model: the built-in brain and the playbook interpreter both use them.
import * as chrono from "chrono-node";
import { findEmailAddress } from "../platform/caller-text.ts";
import { normalizePhoneNumber, type PhoneRegion } from "../platform/e164.ts";

export type SlotType =
  | "text"
  | "name"
  | "phone"
  | "email"
  | "date"
  | "time"
  | "datetime"
  | "number"
  | "integer"
  | "yes_no"
  | "address"
  | "digits"
  | "choice";

export interface ExtractOptions {
  /** Wall-clock "now" in the agent's time zone, as naive local components (dates are resolved from it). */
  localNow?: Date;
  options?: string[];
  /** How a phone number said without its country code is read (the conversation's region; default US). */
  phoneRegion?: PhoneRegion;
}

export type Extracted = { ok: true; value: string | number | boolean } | { ok: false };

const NONE: Extracted = { ok: false };
const some = (value: string | number | boolean): Extracted => ({ ok: true, value });

const YES = /\b(yes|yeah|yep|yup|sure|correct|right|affirmative|absolutely|definitely|of course|ok|okay|please do|go ahead|confirm|confirmed|si|sí|oui)\b/i;
const NO = /\b(no|nope|nah|negative|incorrect|wrong|cancel|non|never)\b|\bnot\b|n't\b/i;
const FIRST_WORD_YES = /^\W*(yes|yeah|yep|yup|sure|correct|absolutely|definitely|ok|okay|si|sí|oui)\b/i;
const FIRST_WORD_NO = /^\W*(no|nope|nah|negative|non)\b/i;
const NOT_A_NAME = /^(not|calling|looking|trying|sorry|fine|good|great|here|just|interested|wondering|having|going|a|an|the)$/i;

const NUMBER_WORDS: Record<string, number> = {
  zero: 0, oh: 0, one: 1, two: 2, three: 3, four: 4, five: 5, six: 6, seven: 7, eight: 8, nine: 9, ten: 10,
  eleven: 11, twelve: 12, thirteen: 13, fourteen: 14, fifteen: 15, sixteen: 16, seventeen: 17, eighteen: 18, nineteen: 19,
  twenty: 20, thirty: 30, forty: 40, fifty: 50, sixty: 60, seventy: 70, eighty: 80, ninety: 90,
};
const DIGIT_WORDS: Record<string, string> = { zero: "0", oh: "0", o: "0", one: "1", two: "2", three: "3", four: "4", five: "5", six: "6", seven: "7", eight: "8", nine: "9" };

/** "five five five one two" → "55512"; keeps digits already written as digits. */
export function spokenDigits(text: string): string {
  return text
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .map((w) => (/^\d+$/.test(w) ? w : (DIGIT_WORDS[w] ?? (w === "double" ? "" : ""))))
    .join("");
}

function wordsToNumber(text: string): number | null {
  const words = text.toLowerCase().replace(/-/g, " ").split(/\s+/);
  let total = 0;
  let current = 0;
  let seen = false;
  for (const w of words) {
    if (w in NUMBER_WORDS) {
      current += NUMBER_WORDS[w]!;
      seen = true;
    } else if (w === "hundred" && seen) current *= 100;
    else if (w === "thousand" && seen) {
      total += current * 1000;
      current = 0;
    } else if (seen && w !== "and") break;
  }
  return seen ? total + current : null;
}

const pad = (n: number) => String(n).padStart(2, "0");

export function extract(type: SlotType, input: string, opts: ExtractOptions = {}): Extracted {
  const text = input.trim();
  if (!text) return NONE;
  switch (type) {
    case "text":
      return some(text);
    case "yes_no": {
      // The first word decides ("yes, don't change it"); otherwise any negation wins ("that's not right").
      if (FIRST_WORD_YES.test(text)) return some(true);
      if (FIRST_WORD_NO.test(text)) return some(false);
      if (NO.test(text)) return some(false);
      return YES.test(text) ? some(true) : NONE;
    }
    case "email": {
      // Whitespace runs made single spaces first: `/\s+at\s+/` would retry from every character of a long run.
      const spoken = text.replace(/\s+/g, " ").replace(/ at /gi, "@").replace(/ dot /gi, ".");
      const address = findEmailAddress(spoken);
      return address ? some(address.toLowerCase()) : NONE;
    }
    case "phone": {
      const written = /\+?\d[\d\s().-]{6,}\d/.exec(text);
      const candidate = written ? written[0] : spokenDigits(text);
      const region = opts.phoneRegion ?? "US";
      const normalized = normalizePhoneNumber(candidate, region) ?? (candidate.length >= 7 ? normalizePhoneNumber(candidate.replace(/\D/g, ""), region) : null);
      return normalized ? some(normalized) : NONE;
    }
    case "digits": {
      const d = /\d/.test(text) ? text.replace(/\D/g, "") : spokenDigits(text);
      return d ? some(d) : NONE;
    }
    case "number":
    case "integer": {
      const m = /-?\d+(?:[.,]\d+)?/.exec(text.replace(/(\d),(\d{3})/g, "$1$2"));
      const n = m ? Number(m[0].replace(",", ".")) : wordsToNumber(text);
      if (n === null || !Number.isFinite(n)) return NONE;
      if (type === "integer") return Number.isInteger(n) ? some(n) : NONE;
      return some(n);
    }
    case "date":
    case "time":
    case "datetime": {
      const ref = opts.localNow ?? new Date();
      const r = firstDate(text, ref);
      if (!r) return NONE;
      const s = r.start;
      const date = `${s.get("year")}-${pad(s.get("month")!)}-${pad(s.get("day")!)}`;
      const time = `${pad(s.get("hour")!)}:${pad(s.get("minute")!)}`;
      const hasDate = s.isCertain("day") || s.isCertain("weekday") || s.isCertain("month");
      const hasTime = s.isCertain("hour") || /\b(morning|afternoon|evening|noon|midnight|tonight)\b/i.test(r.text);
      if (type === "date") return hasDate ? some(date) : NONE;
      if (type === "time") return hasTime ? some(time) : NONE;
      return hasDate || hasTime ? some(`${date}T${time}`) : NONE;
    }
    case "name": {
      const m =
        /\b(?:my name is|my name's|this is|i am|i'm|it's|name is|call me)\s+([A-Za-zÀ-ÿ'’-]+(?:\s+[A-Za-zÀ-ÿ'’-]+){0,3})/i.exec(text) ??
        (/^[A-Za-zÀ-ÿ'’-]+(?:\s+[A-Za-zÀ-ÿ'’-]+){0,3}[.!]?$/.test(text) ? [text, text.replace(/[.!]$/, "")] : null);
      if (!m) return NONE;
      const name = beforeTrailingWords(m[1]!).trim();
      const first = name.split(/\s+/)[0] ?? "";
      if (!name || NOT_A_NAME.test(first) || (YES.test(name) && name.split(/\s+/).length === 1)) return NONE;
      return some(name.replace(/\b\w/g, (c) => c.toUpperCase()));
    }
    case "address": {
      // The street name is bounded (100 characters): unbounded, each house number would scan the rest of the text.
      const m = /\b\d{1,6}\s+[A-Za-z0-9.'’ -]{1,100}?\b(street|st|avenue|ave|road|rd|boulevard|blvd|lane|ln|drive|dr|court|ct|way|place|pl|terrace|parkway|pkwy|circle|cir|highway|hwy)\b\.?(?:[, ]+[A-Za-z0-9 .'’#-]+)*/i.exec(text);
      if (m) return some(m[0].trim().replace(/[.!]$/, ""));
      const stripped = text.replace(/^(it's|it is|my address is|the address is|i live at|at)\s+/i, "");
      return /\d/.test(stripped) && stripped.split(/\s+/).length >= 3 ? some(stripped.replace(/[.!]$/, "")) : NONE;
    }
    case "choice": {
      const options = opts.options ?? [];
      const lower = text.toLowerCase();
      const exact = options.find((o) => lower === o.toLowerCase());
      if (exact) return some(exact);
      const contained = options.filter((o) => new RegExp(`\\b${escapeRegExp(o.toLowerCase())}\\b`).test(lower));
      if (contained.length === 1) return some(contained[0]!);
      const ordinal = /\b(first|1st|one|second|2nd|two|third|3rd|three|fourth|4th|four)\b/i.exec(text);
      if (ordinal) {
        const idx = ["first|1st|one", "second|2nd|two", "third|3rd|three", "fourth|4th|four"].findIndex((g) => new RegExp(`^(${g})$`, "i").test(ordinal[1]!));
        if (idx >= 0 && options[idx]) return some(options[idx]!);
      }
      return NONE;
    }
  }
}

// chrono's parsers take time growing with the square of the text on some inputs ("1/1/1/…": 16,000 characters took
// a second), so a long text is read in windows; a date or time phrase is far shorter than the overlap.
const DATE_WINDOW = 500;
const DATE_OVERLAP = 100;

/** chrono's first date or time in `text`, read window by window; a phrase near a window's end is read in the next. */
function firstDate(text: string, ref: Date): chrono.ParsedResult | undefined {
  for (let start = 0; ; ) {
    const window = text.slice(start, start + DATE_WINDOW);
    const r = chrono.parse(window, ref, { forwardDate: true })[0];
    const last = start + DATE_WINDOW >= text.length;
    if (r && (last || r.index === 0 || r.index + r.text.length < DATE_WINDOW - DATE_OVERLAP)) return r;
    if (last) return undefined;
    start += r ? r.index : DATE_WINDOW - DATE_OVERLAP;
  }
}

const TRAILING_WORDS = /\b(and|but|please|thanks|thank you)\b/i;

/**
 * A name without what follows it on its last line ("Ann please" → "Ann "). The words are looked for on the last line
 * alone: `/\b(and|…)\b.*$/` would scan to the end from every "and".
 */
function beforeTrailingWords(name: string): string {
  const lastLine = Math.max(name.lastIndexOf("\n"), name.lastIndexOf("\r"), name.lastIndexOf("\u2028"), name.lastIndexOf("\u2029")) + 1;
  const words = TRAILING_WORDS.exec(name.slice(lastLine));
  return words ? name.slice(0, lastLine + words.index) : name;
}

export const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/** Naive local wall-clock components of `now` in a time zone, for parsers that work in local time. */
export function localNow(timezone: string | undefined, now: number): Date {
  if (!timezone) return new Date(now);
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat("en-US", { timeZone: timezone, year: "numeric", month: "numeric", day: "numeric", hour: "numeric", minute: "numeric", second: "numeric", hourCycle: "h23" })
      .formatToParts(new Date(now))
      .map((p) => [p.type, p.value]),
  );
  return new Date(Number(parts.year), Number(parts.month) - 1, Number(parts.day), Number(parts.hour), Number(parts.minute), Number(parts.second));
}
