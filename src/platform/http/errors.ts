// The one place an error becomes a response: a Problem keeps its status and code; Elysia's validation and
// parse failures become 400s naming each field; anything unexpected is a logged 500 that leaks nothing.
import type { Logger } from "../log.ts";
import { BODY_PROBLEMS, bodyStreamProblem } from "./body.ts";
import { Problem, validationProblem, type FieldError } from "./problem.ts";

interface ValueError {
  path: string;
  message: string;
  schema?: { description?: string; minLength?: number; maxLength?: number; minimum?: number; maximum?: number; minItems?: number; maxItems?: number; minProperties?: number; maxProperties?: number; pattern?: string; enum?: unknown[]; anyOf?: Array<{ const?: unknown }> };
  value?: unknown;
}

export function toProblem(code: string | number, error: unknown, log: Logger, requestId: string): Problem {
  if (error instanceof Problem) return error;
  switch (code) {
    case "VALIDATION": {
      const v = error as { type?: string; all?: ValueError[] };
      return validationProblem(fieldErrors(v.all ?? [], v.type ?? "body"));
    }
    case "PARSE":
      // A body failing its checks while it is read (size, nesting, number of values) fails the parser's read (body.ts).
      return bodyStreamProblem(error) ?? new Problem(400, BODY_PROBLEMS[400].code, "the request body is not valid JSON", { errors: [{ field: "body", message: "is not valid JSON" }] });
    case "NOT_FOUND":
      return new Problem(404, "route_not_found", "no such route");
    case "INVALID_FILE_TYPE":
      return new Problem(415, "unsupported_media_type", "unsupported file type");
  }
  log.error("unhandled error", { requestId, error });
  return new Problem(500, "internal_error", `something went wrong on our side; quote request id ${requestId} when reporting it`);
}

/** One message per field, in the API's dotted notation: `handoffConfig.transferRules[0].destination`. */
export function fieldErrors(all: ValueError[], on: string): FieldError[] {
  const seen = new Map<string, string>();
  for (const e of all) {
    const field = toField(e.path, on);
    if (seen.has(field)) continue;
    seen.set(field, describe(e));
  }
  return [...seen].map(([field, message]) => ({ field, message }));
}

function toField(path: string, on: string): string {
  const parts = path.split("/").filter(Boolean).map((p) => p.replace(/~1/g, "/").replace(/~0/g, "~"));
  if (parts.length === 0) return on;
  return parts.reduce((acc, p) => (/^\d+$/.test(p) ? `${acc}[${p}]` : acc ? `${acc}.${p}` : p), "");
}

function describe(e: ValueError): string {
  const m = e.message;
  if (/required property/i.test(m)) return "is required";
  if (e.value === undefined && /^Expected/.test(m)) return "is required";
  const s = e.schema ?? {};
  if (/array length greater|array length to be greater/i.test(m)) return s.minItems === 1 ? "must not be empty" : `must have at least ${s.minItems} items`;
  if (/array length less|array length to be less/i.test(m)) return `must have at most ${s.maxItems} items`;
  if (/unique/i.test(m)) return "must not repeat items";
  if (/at least \d+ properties/i.test(m)) return `must have at least ${s.minProperties} entries`;
  if (/no more than \d+ properties/i.test(m)) return `must have at most ${s.maxProperties} entries`;
  if (/string length greater/i.test(m)) return s.minLength === 1 ? "must not be empty" : `must be at least ${s.minLength} characters`;
  if (/string length less/i.test(m)) return `must be at most ${s.maxLength} characters`;
  if (/greater or equal/i.test(m)) return `must be at least ${s.minimum}`;
  if (/less or equal/i.test(m)) return `must be at most ${s.maximum}`;
  if (/match pattern/i.test(m)) return `has an invalid format${s.description ? ` (${s.description})` : ""}`;
  if (/union value/i.test(m) && s.anyOf?.every((o) => "const" in o)) return `must be one of ${s.anyOf.map((o) => String(o.const)).join(", ")}`;
  if (/^Expected (string|number|integer|boolean|array|object|null)$/i.test(m)) return `must be ${article(m.slice(9).toLowerCase())}`;
  if (/unexpected property/i.test(m)) return "is not a known field";
  return m.charAt(0).toLowerCase() + m.slice(1);
}

const article = (type: string) => (type === "integer" || type === "array" || type === "object" ? `an ${type}` : type === "null" ? "null" : `a ${type}`);
