// Small text tools the runtime shares: scoring utterances against descriptions (words from platform/tokens.ts), {placeholder}
// templating, PII redaction for stored transcripts, and a lexicon-based sentiment score (no model).
import Sentiment from "sentiment";
import { replaceEmailAddresses } from "../platform/caller-text.ts";

/** Share of the utterance's words that the description covers, weighted toward rarer (longer) words. */
export function overlapScore(utterance: string[], description: Set<string>): number {
  if (!utterance.length || !description.size) return 0;
  let hit = 0;
  let total = 0;
  for (const w of utterance) {
    const weight = Math.min(3, w.length / 3);
    total += weight;
    if (description.has(w)) hit += weight;
  }
  return hit / total;
}

/** Replace `{name}` with values; unknown names are left as they are so a reader sees what was missing. */
export function fillTemplate(template: string, values: Readonly<Record<string, unknown>>): string {
  return template.replace(/\{([a-zA-Z_][a-zA-Z0-9_]*)\}/g, (whole, name: string) => {
    const v = values[name];
    return v === undefined || v === null ? whole : String(v);
  });
}

export function placeholders(template: string): string[] {
  return [...template.matchAll(/\{([a-zA-Z_][a-zA-Z0-9_]*)\}/g)].map((m) => m[1]!);
}

const PII_PATTERNS: [RegExp, string][] = [
  [/\b(?:\d[ -]?){13,19}\b/g, "[card number]"],
  [/\b\d{3}-\d{2}-\d{4}\b/g, "[ssn]"],
  [/\+?\d[\d\s().-]{7,}\d/g, "[phone]"],
];

export function redactPii(text: string): string {
  return PII_PATTERNS.reduce((acc, [re, label]) => acc.replace(re, label), replaceEmailAddresses(text, "[email]"));
}

/** Keys that name things (ids, a transfer destination from the configuration) rather than hold what was said. */
const NAMING_KEY = /^(id|destination|transferredTo)$|(Id|Ids|_id)$/;
/** Keys under which everything is data a caller may have given (slots, skill arguments and results), whatever its name. */
const DATA_KEYS = new Set(["variables", "args", "arguments", "result", "collected", "data", "metadata", "caller_info"]);

/**
 * A copy of a JSON value with every string passed through redactPii, except those under naming keys outside data
 * (an id a PII pattern could mistake for a number must survive, or the state would point nowhere).
 */
export function redactPiiDeep<T>(value: T, key = "", inData = false): T {
  if (typeof value === "string") return (!inData && NAMING_KEY.test(key) ? value : redactPii(value)) as T;
  if (Array.isArray(value)) return value.map((v) => redactPiiDeep(v, key, inData)) as T;
  if (value && typeof value === "object" && !(value instanceof Date)) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, redactPiiDeep(v, k, inData || DATA_KEYS.has(k))])) as T;
  }
  return value;
}

const sentiment = new Sentiment();

export type SentimentLabel = "positive" | "neutral" | "negative" | "frustrated";

/** AFINN score of one utterance; below zero is a negative turn. */
export function sentimentScore(text: string): number {
  return sentiment.analyze(text).comparative;
}

export function sentimentLabel(scores: number[]): SentimentLabel {
  if (!scores.length) return "neutral";
  const mean = scores.reduce((a, b) => a + b, 0) / scores.length;
  const negatives = scores.filter((s) => s < 0).length;
  if (negatives >= 3 || mean < -0.5) return "frustrated";
  if (mean < -0.05) return "negative";
  if (mean > 0.1) return "positive";
  return "neutral";
}
