// Bounds on a JSON body's shape, checked on the raw bytes as they arrive, before any parser or schema sees them.
// Deeply nested input is what made bodies stall the server: Elysia builds a validation failure's message with
// JSON.stringify(value, null, 2), whose indentation grows with depth, so the text it builds (and the time) grows
// with the square of the nesting (depth 8,000: 128 million characters, 2 s; depth 10,000 took 7–10 s, a 40 KB
// `content` of nested arrays 52 s), and at depth 100,000 the recursive walks (TypeBox's error iterator, the
// stringifier) overflow the stack. One pass counting brackets outside strings is linear and holds O(1) state.
import { Problem } from "./problem.ts";

/** Deepest nesting of arrays and objects a body may have; no API body needs more than a dozen levels. */
export const MAX_JSON_DEPTH = 64;
/** Most values (containers, strings, numbers, literals; object keys included) a body may hold. */
export const MAX_JSON_VALUES = 100_000;

export const JSON_SHAPE_PROBLEMS = {
  400: { code: "json_too_complex", when: `the body nests deeper than ${MAX_JSON_DEPTH} levels or holds more than ${MAX_JSON_VALUES.toLocaleString("en-US")} values` },
} as const;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN = new Set([0x5b, 0x7b]);
const CLOSE = new Set([0x5d, 0x7d]);
/** Bytes that end a number or literal: separators and JSON whitespace. */
const SEPARATOR = new Set([0x2c, 0x3a, 0x20, 0x09, 0x0a, 0x0d]);

/**
 * Scans a JSON text chunk by chunk. Works on UTF-8 bytes: every byte JSON's structure uses is ASCII, and no byte of
 * a multi-byte character is. Malformed JSON is left for the parser to refuse; this only counts.
 */
export class JsonShape {
  private depth = 0;
  private values = 0;
  private inString = false;
  private escaped = false;
  private inScalar = false;

  /** The problem once the text so far passes a bound, otherwise null. */
  scan(chunk: Uint8Array): Problem | null {
    for (let i = 0; i < chunk.length; i++) {
      const b = chunk[i]!;
      if (this.inString) {
        if (this.escaped) this.escaped = false;
        else if (b === BACKSLASH) this.escaped = true;
        else if (b === QUOTE) this.inString = false;
        continue;
      }
      if (b === QUOTE) {
        this.inString = true;
        this.inScalar = false;
        this.values++;
      } else if (OPEN.has(b)) {
        this.inScalar = false;
        this.values++;
        if (++this.depth > MAX_JSON_DEPTH) return tooComplex("depth", `nests deeper than ${MAX_JSON_DEPTH} levels`);
      } else if (CLOSE.has(b)) {
        this.inScalar = false;
        this.depth--;
      } else if (SEPARATOR.has(b)) {
        this.inScalar = false;
      } else if (!this.inScalar) {
        this.inScalar = true;
        this.values++;
      }
      if (this.values > MAX_JSON_VALUES) return tooComplex("values", `holds more than ${MAX_JSON_VALUES.toLocaleString("en-US")} values`);
    }
    return null;
  }
}

function tooComplex(limit: "depth" | "values", what: string): Problem {
  return new Problem(400, JSON_SHAPE_PROBLEMS[400].code, `the request body ${what}`, {
    errors: [{ field: "body", message: what }],
    extensions: { limit, maximum: limit === "depth" ? MAX_JSON_DEPTH : MAX_JSON_VALUES },
  });
}
