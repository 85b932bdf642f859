// Refuses text the database cannot store (NUL, unpaired surrogates: see ../text.ts) wherever a request carries it:
// path parameters, query values, headers, and the parsed body (every string and object key). It runs on what
// validation kept, so fields a schema does not declare (dropped before the handler) are not looked at.
// One 400 validation_error names each such field, so nothing a caller sends can make a later write fail.
import { unstorableCharacter } from "../text.ts";
import { validationProblem, type FieldError } from "./problem.ts";

/** Enough to show a caller what to fix without building a long answer from a hostile body. */
const MAX_ERRORS = 20;

export interface RequestParts {
  params?: Record<string, unknown>;
  query?: Record<string, unknown>;
  headers?: Record<string, string | undefined>;
  body?: unknown;
}

export function refuseUnstorableText({ params, query, headers, body }: RequestParts): void {
  const errors: FieldError[] = [];
  for (const [name, value] of Object.entries(params ?? {})) checkValue(value, name, errors);
  for (const [name, value] of Object.entries(query ?? {})) checkValue(value, name, errors);
  for (const [name, value] of Object.entries(headers ?? {})) if (typeof value === "string") checkValue(value, name, errors);
  checkValue(body, "", errors);
  if (errors.length) throw validationProblem(errors.slice(0, MAX_ERRORS));
}

/** Walks a parsed value (its depth is bounded by json-shape.ts), naming fields as validation errors do: `a.b[0].c`. */
function checkValue(value: unknown, field: string, errors: FieldError[]): void {
  if (errors.length >= MAX_ERRORS) return;
  if (typeof value === "string") {
    const why = unstorableCharacter(value);
    if (why) errors.push({ field: field || "body", message: why });
  } else if (Array.isArray(value)) {
    for (const [i, item] of value.entries()) checkValue(item, `${field}[${i}]`, errors);
  } else if (value !== null && typeof value === "object" && !(value instanceof Blob)) {
    for (const [key, item] of Object.entries(value)) {
      checkKey(key, field || "body", errors);
      checkValue(item, field ? `${field}.${key}` : key, errors);
    }
  }
}

function checkKey(key: string, field: string, errors: FieldError[]): void {
  const why = unstorableCharacter(key);
  if (why) errors.push({ field, message: `has a key that ${why}` });
}
