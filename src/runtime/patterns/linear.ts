// Runs the API's regular expressions (ECMAScript syntax) in RE2's linear-time engine, so no caller text can make a
// match backtrack: the time is bounded by input length × program size, and the program size is bounded here.
// RE2 differs from JavaScript in a few escapes; the translation below keeps JavaScript's meaning for them.
import { RE2JS } from "re2js";

/** `""` is how the runtime has always compiled collect-step patterns; `"u"` is JSON Schema's `pattern`. */
export type PatternFlags = "" | "u";

/**
 * The largest compiled program accepted. Matching costs input length × program size: 1,000 instructions keep a
 * match on the longest chat message (4,000 characters) at a few milliseconds; counted repeats such as `\w{5000}`
 * are what exceed it.
 */
export const MAX_PROGRAM_SIZE = 1000;

export interface LinearPattern {
  /** Whether the pattern matches anywhere in `text`, as `RegExp.prototype.test` answers. */
  test(text: string): boolean;
}

export type Compiled = { ok: true; pattern: LinearPattern } | { ok: false; reason: string };

// JavaScript's \s: WhiteSpace and LineTerminator (ECMA-262 §22.2.2.9); RE2's \s is only [\t\n\f\r ].
const SPACE_RANGES: [number, number][] = [
  [0x09, 0x0d], [0x20, 0x20], [0xa0, 0xa0], [0x1680, 0x1680], [0x2000, 0x200a], [0x2028, 0x2029], [0x202f, 0x202f], [0x205f, 0x205f], [0x3000, 0x3000], [0xfeff, 0xfeff],
];
const hex = (c: number) => `\\x{${c.toString(16)}}`;
const rangesToClass = (ranges: [number, number][]) => ranges.map(([a, b]) => (a === b ? hex(a) : `${hex(a)}-${hex(b)}`)).join("");
const SPACE = rangesToClass(SPACE_RANGES);
const NOT_SPACE = rangesToClass(
  SPACE_RANGES.reduce<{ out: [number, number][]; next: number }>(
    ({ out, next }, [a, b]) => ({ out: a > next ? [...out, [next, a - 1]] : out, next: b + 1 }),
    { out: [], next: 0 },
  ).out.concat([[0xff00, 0x10ffff]]),
);
// JavaScript's `.` without the s flag: anything but a LineTerminator; RE2's excludes only \n.
const DOT = "[^\\n\\r\\x{2028}\\x{2029}]";

const cache = new Map<string, Compiled>();
const CACHE_LIMIT = 1000;

/** The pattern compiled for the linear-time engine, or why it cannot run there (cached: runtimes ask per message). */
export function compileLinear(source: string, flags: PatternFlags = ""): Compiled {
  const key = `${flags}/${source}`;
  let compiled = cache.get(key);
  if (!compiled) {
    compiled = compile(source, flags);
    if (cache.size >= CACHE_LIMIT) cache.delete(cache.keys().next().value!);
    cache.set(key, compiled);
  }
  return compiled;
}

function compile(source: string, flags: PatternFlags): Compiled {
  try {
    new RegExp(source, flags);
  } catch {
    return { ok: false, reason: "is not a valid regular expression" };
  }
  let re: RE2JS;
  try {
    re = RE2JS.compile(toRe2(source, flags === "u"));
  } catch (error) {
    const detail = error instanceof Error ? error.message.replace(/^error parsing regexp: /, "") : String(error);
    return { ok: false, reason: `cannot run in the linear-time matcher (backreferences and lookaround are not supported): ${detail}` };
  }
  const size = (re.re2() as unknown as { prog: { inst: unknown[] } }).prog.inst.length;
  if (size > MAX_PROGRAM_SIZE) return { ok: false, reason: `is too large: it compiles to ${size} matcher instructions, at most ${MAX_PROGRAM_SIZE} (shorten counted repeats such as {500})` };
  return { ok: true, pattern: { test: (text) => re.test(text) } };
}

/**
 * ECMAScript pattern source → RE2 syntax with the same meaning. What RE2 cannot express (backreferences, lookaround)
 * is passed through for RE2 to refuse.
 */
export function toRe2(source: string, unicode: boolean): string {
  let out = "";
  let inClass = false;
  let afterSet = false;
  for (let i = 0; i < source.length; i++) {
    const ch = source[i]!;
    if (ch === "\\") {
      const next = source[i + 1];
      if (next === undefined) return out + "\\\\";
      i++;
      out += translateEscape(source, i, next, inClass, unicode, (skip) => (i += skip));
      afterSet = inClass && "sSdDwW".includes(next);
      continue;
    }
    if (inClass) {
      if (ch === "]") inClass = false;
      // JavaScript takes [ inside a class literally (RE2 would read [: as a POSIX class), and - after \s, \d or \w
      // too (RE2 would read a range from the last character \s expands to).
      out += ch === "[" || (ch === "-" && afterSet) ? `\\${ch}` : ch;
      afterSet = false;
      continue;
    }
    if (ch === "[") {
      if (source.startsWith("[]", i)) {
        out += "[^\\x00-\\x{10ffff}]";
        i++;
      } else if (source.startsWith("[^]", i)) {
        out += "[\\x00-\\x{10ffff}]";
        i += 2;
      } else {
        inClass = true;
        out += source[i + 1] === "^" ? "[^" : "[";
        if (source[i + 1] === "^") i++;
        // A leading ] is an empty class in JavaScript, handled above; nothing else to do here.
      }
      continue;
    }
    if (ch === ".") out += DOT;
    else if (ch === "(" && source.startsWith("(?<", i) && !"=!".includes(source[i + 3] ?? "")) {
      out += "(?P<";
      i += 2;
    } else out += ch;
  }
  return out;
}

/** One escape `\next` at source[i]; `advance` consumes characters after `next`. */
function translateEscape(source: string, i: number, next: string, inClass: boolean, unicode: boolean, advance: (n: number) => void): string {
  switch (next) {
    case "s":
      return inClass ? SPACE : `[${SPACE}]`;
    case "S":
      return inClass ? NOT_SPACE : `[^${SPACE}]`;
    case "b":
      return inClass ? "\\x{8}" : "\\b";
    case "d": case "D": case "w": case "W": case "B": case "t": case "n": case "r": case "f":
      return `\\${next}`;
    case "v":
      return "\\x{b}";
    case "0":
      return /[0-9]/.test(source[i + 1] ?? "") ? "\\0" : "\\x{0}";
    case "c": {
      const letter = source[i + 1] ?? "";
      if (!/[A-Za-z]/.test(letter)) return "\\\\c";
      advance(1);
      return hex(letter.charCodeAt(0) % 32);
    }
    case "x": {
      const digits = /^[0-9A-Fa-f]{2}/.exec(source.slice(i + 1))?.[0];
      if (!digits) return "x";
      advance(2);
      return hex(parseInt(digits, 16));
    }
    case "u": {
      const braced = unicode ? /^\{([0-9A-Fa-f]+)\}/.exec(source.slice(i + 1)) : null;
      if (braced) {
        advance(braced[0].length);
        return hex(parseInt(braced[1]!, 16));
      }
      const digits = /^[0-9A-Fa-f]{4}/.exec(source.slice(i + 1))?.[0];
      if (!digits) return "u";
      advance(4);
      return hex(parseInt(digits, 16));
    }
    case "p": case "P":
      // Unicode property escapes exist only with the u flag; without it JavaScript reads \p as a plain p.
      return unicode ? `\\${next}` : next;
    default:
      // Backreferences (\1, \k<name>) go through for RE2 to refuse; other letters are identity escapes outside u mode.
      if (/[1-9]/.test(next) || next === "k") return `\\${next}`;
      if (/[A-Za-z]/.test(next)) return next;
      return /[\x21-\x2f\x3a-\x40\x5b-\x60\x7b-\x7e]/.test(next) ? `\\${next}` : next;
  }
}
