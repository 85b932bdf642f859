// A bound operation as a frozen HTTP call: the method and path template from the document, which caller parameter
// (or operator constant) fills which path segment, query parameter or body field, and what of the answer is returned.
// Caller values only ever become percent-encoded path segments, URLSearchParams values or JSON body values: the
// origin, the path's shape and every parameter's name are fixed when the binding is compiled.
import { type CompiledOperation, PluginError, type ValidatedBinding } from "../../src/api/integrations/contract.ts";

export const METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"] as const;
export type Method = (typeof METHODS)[number];

/** What an operation's description leads with: `GET /pet/findByStatus?status`. */
export interface Call {
  method: Method;
  path: string;
  query: string[];
}

/** A value of the call: from the caller's parameter, or pinned by the operator. */
type Source = { param: string } | { constant: string | number | boolean | null };
type Slot = Source & { name: string };

export interface RestOperation extends CompiledOperation {
  method: Method;
  path: string;
  pathArgs: Slot[];
  queryArgs: Slot[];
  /** Writes: the JSON body's fields; null sends no body. */
  body: Slot[] | null;
  /** [path into each answered record, leaf]. */
  projection: [string[], string][];
}

const PLACEHOLDER = /\{([^{}/]+)\}/g;
// A template's literal parts: unreserved and sub-delims characters, `:` and `@`, percent escapes; never `?`, `#`, `\`.
const TEMPLATE = /^\/(?:[A-Za-z0-9\-._~!$&'()*+,;=:@/]|%[0-9A-Fa-f]{2}|\{[^{}/]+\})*$/;

export function formatCall(call: Call): string {
  const query = call.query.map(encodeURIComponent).join("&");
  return `${call.method} ${call.path}${query ? `?${query}` : ""}`;
}

/** The call an operation's description leads with; null when it does not (not an operation this plugin described). */
export function parseCall(description: string): Call | null {
  const head = /^(GET|POST|PUT|PATCH|DELETE) (\/[^\s?]*)(?:\?(\S+))?(?:\n|$)/.exec(description);
  if (!head || !TEMPLATE.test(head[2]!) || head[2]!.split("/").some((s) => s === "." || s === "..")) return null;
  let query: string[];
  try {
    query = head[3] ? head[3].split("&").map(decodeURIComponent) : [];
  } catch {
    return null;
  }
  return { method: head[1] as Method, path: head[2]!, query };
}

export const placeholders = (path: string) => [...path.matchAll(PLACEHOLDER)].map((m) => m[1]!);

export function compileBinding(binding: ValidatedBinding): RestOperation {
  const call = parseCall(binding.operation.description);
  if (!call) throw new PluginError("invalid_binding", `${binding.operation.name} does not describe an HTTP call; discover the API again`);
  const inPath = new Set(placeholders(call.path));
  const inQuery = new Set(call.query);
  const pathArgs: Slot[] = [];
  const queryArgs: Slot[] = [];
  const body: Slot[] = [];
  const place = (name: string, source: Source, at: string, bodyAllowed: boolean) => {
    const slot = { name, ...source };
    if (inPath.has(name)) pathArgs.push(slot);
    else if (inQuery.has(name)) queryArgs.push(slot);
    else if (bodyAllowed) body.push(slot);
    else {
      const known = [...inPath, ...inQuery];
      throw new PluginError("invalid_binding", `"${name}" is not a parameter of ${binding.operation.name} (${known.length ? `it takes ${known.join(", ")}` : "it takes none"})`, [at]);
    }
  };
  if (binding.search) throw new PluginError("invalid_binding", "a REST read takes inputs, not sqlSearch", ["sqlSearch"]);
  for (const [i, input] of binding.inputs.entries()) place(input.arg, { param: input.param }, `inputs[${i}].arg`, false);
  for (const [i, value] of binding.values.entries()) place(value.field, "param" in value ? { param: value.param } : { constant: value.constant }, `inputObjectMap[${i}].field`, true);
  if (binding.key) place(binding.key.field, { param: binding.key.param }, "sqlWrite.keyColumn", true);

  const missing = [...inPath].filter((name) => !pathArgs.some((a) => a.name === name));
  if (missing.length) {
    throw new PluginError("invalid_binding", `${binding.operation.name} needs ${missing.join(", ")} in its path: bind ${missing.length > 1 ? "them" : "it"} to a parameter`, [binding.isWrite ? "inputObjectMap" : "inputs"]);
  }
  if (call.method === "DELETE" && body.length) {
    throw new PluginError("invalid_binding", `${binding.operation.name} sends no body: ${body.map((b) => b.name).join(", ")} cannot be written`, ["inputObjectMap"]);
  }
  const projection = binding.projection.map((p, i): [string[], string] => {
    const field = binding.object.fields.find((f) => f.name === p.path[0]);
    if (field?.nativeType?.endsWith(" parameter")) {
      throw new PluginError("invalid_binding", `${p.path[0]} is a parameter of the call, not a field it answers`, [`projection[${i}].path`]);
    }
    return [[...p.path], p.leaf];
  });
  return {
    operation: binding.operation.name,
    method: call.method,
    path: call.path,
    pathArgs,
    queryArgs,
    body: binding.isWrite && call.method !== "DELETE" ? body : null,
    projection,
  };
}

/** The request URL under the API's root; a caller value that could change the path's shape is refused. */
export function requestUrl(base: URL, op: RestOperation, args: Record<string, unknown>): URL {
  const values = new Map(op.pathArgs.map((slot) => [slot.name, slotValue(slot, args)]));
  const path = op.path.replace(PLACEHOLDER, (_, name: string) => {
    const value = values.get(name);
    if (value === undefined || value === null || value === "") throw new PluginError("invalid_input", `${paramOf(op, name)} is needed`, [paramOf(op, name)]);
    const text = String(value);
    // `.` and `..` (encoded or not) are dot-segments to every URL parser: they would climb out of the template.
    if (/^(\.|%2e){1,2}$/i.test(text)) throw new PluginError("invalid_input", `${paramOf(op, name)} is not a valid value`, [paramOf(op, name)]);
    return encodeURIComponent(text);
  });
  const url = new URL(base.href);
  url.pathname = `${base.pathname.replace(/\/$/, "")}${path}`;
  const search = new URLSearchParams();
  for (const slot of op.queryArgs) {
    const value = slotValue(slot, args);
    if (value === undefined || value === null || value === "") continue;
    for (const v of Array.isArray(value) ? value : [value]) search.append(slot.name, typeof v === "object" ? JSON.stringify(v) : String(v));
  }
  url.search = search.toString();
  url.hash = "";
  if (url.origin !== base.origin) throw new PluginError("invalid_input", "the request left the API's origin");
  return url;
}

export function bodyOf(op: RestOperation, args: Record<string, unknown>): string | undefined {
  if (!op.body) return undefined;
  const record: Record<string, unknown> = {};
  for (const slot of op.body) {
    const value = slotValue(slot, args);
    if (value !== undefined) record[slot.name] = value;
  }
  return JSON.stringify(record);
}

/** Arrays are records, an object is one record; each projected onto the binding's leaves (what is absent is null). */
export function project(op: RestOperation, answer: unknown): Record<string, unknown>[] {
  const records = Array.isArray(answer) ? answer : answer === null || answer === undefined ? [] : [answer];
  return records
    .filter((r): r is Record<string, unknown> => r !== null && typeof r === "object" && !Array.isArray(r))
    .map((record) => {
      const row: Record<string, unknown> = {};
      for (const [path, leaf] of op.projection) {
        let value: unknown = record;
        for (const key of path) value = value !== null && typeof value === "object" && !Array.isArray(value) && Object.hasOwn(value, key) ? (value as Record<string, unknown>)[key] : undefined;
        row[leaf] = value ?? null;
      }
      return row;
    });
}

const slotValue = (slot: Slot, args: Record<string, unknown>): unknown => ("param" in slot ? args[slot.param] : slot.constant);
const paramOf = (op: RestOperation, name: string) => {
  const slot = op.pathArgs.find((s) => s.name === name);
  return slot && "param" in slot ? slot.param : name;
};
