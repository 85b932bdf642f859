// A small leveled logger: one line per event, JSON fields after the message, to stderr so stdout stays free for CLI output.
// A line written inside a traced span carries its trace_id and span_id, to find the trace of a logged failure.
import { context, isSpanContextValid, trace } from "@opentelemetry/api";
import type { LogLevel } from "../config.ts";
import { replaceEmailAddresses } from "./caller-text.ts";

const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}

export function createLogger(level: LogLevel, write: (line: string) => void = (l) => process.stderr.write(l + "\n")): Logger {
  const min = ORDER[level];
  const emit = (lvl: LogLevel, msg: string, fields?: Record<string, unknown>) => {
    if (ORDER[lvl] < min) return;
    const span = trace.getSpanContext(context.active());
    if (span && isSpanContextValid(span)) fields = { ...fields, trace_id: span.traceId, span_id: span.spanId };
    const extra = fields && Object.keys(fields).length ? " " + JSON.stringify(fields, logReplacer) : "";
    write(`${new Date().toISOString()} ${lvl.toUpperCase().padEnd(5)} ${redactSecrets(msg)}${extra}`);
  };
  return {
    debug: (m, f) => emit("debug", m, f),
    info: (m, f) => emit("info", m, f),
    warn: (m, f) => emit("warn", m, f),
    error: (m, f) => emit("error", m, f),
  };
}

/**
 * What a log line must never carry: query parameters (a failed query's error lists every value it was sent, and
 * drizzle puts them in the message) and the card numbers and e-mail addresses callers type, wherever they surface
 * (a database error quoting the value it refused, a skill's error). Numbers stay as they are: only strings are scanned.
 */
function logReplacer(key: string, value: unknown) {
  if (key === "params" || key === "parameters") return undefined;
  if (typeof value === "string") return redactSecrets(value);
  if (!(value instanceof Error)) return value;
  const message = withoutParams(value.message);
  // The stack repeats the message: keep only its frames.
  const frames = value.stack?.split("\n").filter((l) => /^\s+at /.test(l)) ?? [];
  // Driver errors wrap the database's own message in `cause`; keep it, it is the useful part.
  return { name: value.name, message, stack: [`${value.name}: ${message}`, ...frames].join("\n"), ...(value.cause ? { cause: value.cause } : {}) };
}

/** Drizzle's "Failed query: <sql>\nparams: <values>": everything from the parameters on goes. */
const withoutParams = (message: string) => message.replace(/\nparams: [\s\S]*$/, "");

const CARD_LIKE = /\b\d(?:[ -]?\d){12,18}\b/g;

/** E-mail addresses, and digit runs that pass the Luhn check of a payment card (ids and timestamps rarely do both). */
export function redactSecrets(text: string): string {
  return replaceEmailAddresses(text, "[email]").replace(CARD_LIKE, (run) => (luhn(run.replace(/\D/g, "")) ? "[card number]" : run));
}

function luhn(digits: string): boolean {
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let d = Number(digits[digits.length - 1 - i]);
    if (i % 2 === 1) d = d * 2 > 9 ? d * 2 - 9 : d * 2;
    sum += d;
  }
  return sum % 10 === 0;
}
