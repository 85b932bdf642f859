// Scanning text the server does not control (what a caller wrote or said, a skill's answer, a log line) in time
// linear in its length. A backtracking regular expression such as `/\s+at\s+/` or `/[.!?]+$/` retries from every
// character of a long run that almost matches, so its time grows with the square of the text's length: a 16,000-
// character message would hold the event loop for a noticeable fraction of a second.
import { RE2JS } from "re2js";

// RE2's engine: in a backtracking one this pattern retries every start of a run of address characters ("....",
// "a.a.a.") against the rest of the run.
const EMAIL_ADDRESS = RE2JS.compile("[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\\.[A-Za-z]{2,}");

/** The first e-mail address in `text`, or null. */
export function findEmailAddress(text: string): string | null {
  if (!text.includes("@")) return null;
  const m = EMAIL_ADDRESS.matcher(text);
  return m.find() ? m.group(0) : null;
}

/** `text` with every e-mail address replaced by `replacement`. */
export function replaceEmailAddresses(text: string, replacement: string): string {
  if (!text.includes("@")) return text;
  const m = EMAIL_ADDRESS.matcher(text);
  let out = "";
  let last = 0;
  while (m.find()) {
    out += text.slice(last, m.start()) + replacement;
    last = m.end();
  }
  return last === 0 ? text : out + text.slice(last);
}

/** `text` without the run at its end of characters that `char` (a one-character test such as `/[.!?]/`) accepts. */
export function trimEndWhere(text: string, char: RegExp): string {
  let end = text.length;
  while (end > 0 && char.test(text[end - 1]!)) end--;
  return text.slice(0, end);
}

/** `text` without the run at its start of characters that `char` accepts. */
export function trimStartWhere(text: string, char: RegExp): string {
  let start = 0;
  while (start < text.length && char.test(text[start]!)) start++;
  return text.slice(start);
}
