// Auto-mapping a binding from a plain-language goal. With an LLM configured, the OpenAI-compatible server proposes
// the binding as JSON; without one (or when its answer is unusable) a deterministic matcher does: the goal's words
// (and a few synonyms) pick the object with a read operation, the identifier the caller gives (phone, email, id…)
// picks its leading-index search column, and the object's most relevant non-sensitive fields are returned. Either
// way the proposal is only a proposal: the caller saves it through the same checks as a hand-written binding.
import type { Config } from "../../config.ts";
import type { Logger } from "../../platform/log.ts";
import { terms } from "../../platform/tokens.ts";
import { checkBinding } from "./bindings.ts";
import { nameWords } from "./browse.ts";
import type { DiscoveredSchema, SchemaField, SchemaObject } from "./contract.ts";
import type { BindingInput } from "./model.ts";

const MAX_PROJECTION = 6;
/** Words callers and operators use for the same thing, by the canonical one. */
const SYNONYMS: Record<string, string[]> = {
  phone: ["phone", "number", "mobile", "cell", "telephone", "tel"],
  email: ["email", "mail", "e-mail"],
  name: ["name", "fullname", "firstname", "lastname"],
  appointment: ["appointment", "booking", "reservation", "slot", "visit"],
  order: ["order", "purchase"],
  ticket: ["ticket", "case", "issue", "request", "support"],
  customer: ["customer", "contact", "client", "caller", "person", "people", "patient"],
};
/** Canonical words that identify a caller's record: the search column is chosen among them. */
const IDENTIFIERS = ["phone", "email", "id", "code", "reference"];

const canonical = (() => {
  const map = new Map<string, string>();
  for (const [key, list] of Object.entries(SYNONYMS)) for (const word of list) for (const t of terms(word)) map.set(t, key);
  return (word: string) => map.get(word) ?? word;
})();
const keysOf = (text: string) => new Set(terms(text).map(canonical));
const nameKeys = (name: string) => new Set(nameWords(name).map(canonical));

export interface ProposeInput {
  goal: string;
  schema: DiscoveredSchema;
  takenNames: Set<string>;
  llm: Config["llm"];
  log: Logger;
  fetch?: typeof fetch;
}

export async function proposeBinding(input: ProposeInput): Promise<BindingInput | null> {
  if (input.llm) {
    const proposal = await askLlm(input).catch((error) => {
      input.log.warn("auto-map: the LLM's proposal could not be used; matching deterministically", { error: error instanceof Error ? error.message : String(error) });
      return null;
    });
    if (proposal && !("errors" in checkBinding(proposal, input.schema))) return { ...proposal, toolName: freeName(proposal.toolName, input.takenNames) };
  }
  return matchGoal(input.goal, input.schema, input.takenNames);
}

/** The deterministic matcher: null when no object with a read operation shares a word with the goal. */
export function matchGoal(goal: string, schema: DiscoveredSchema, takenNames: Set<string>): BindingInput | null {
  const wanted = keysOf(goal);
  let best: { object: SchemaObject; score: number } | null = null;
  for (const object of schema.objects) {
    if (!schema.operations.some((op) => op.object === object.name && op.kind === "read")) continue;
    let score = 0;
    for (const k of nameKeys(object.name)) if (wanted.has(k)) score += 3;
    // The identifier the caller gives (phone, email…) picks the search column, not the object: "tickets by phone".
    for (const field of object.fields) for (const k of nameKeys(field.name)) if (wanted.has(k) && !IDENTIFIERS.includes(k)) score += 1;
    if (score > 0 && (!best || score > best.score)) best = { object, score };
  }
  if (!best) return null;
  const { object } = best;
  const operation = schema.operations.find((op) => op.object === object.name && op.kind === "read")!;

  const indexed = object.fields.filter((f) => f.leadingIndex);
  const identifierWords = IDENTIFIERS.filter((w) => wanted.has(w));
  const searchField =
    indexed.find((f) => identifierWords.some((w) => nameKeys(f.name).has(w))) ?? indexed.find((f) => [...nameKeys(f.name)].some((k) => wanted.has(k))) ?? null;

  const relevance = (f: SchemaField) => [...nameKeys(f.name)].filter((k) => wanted.has(k)).length * 2 + (f.primaryKey ? -1 : 0) + (f.references ? -0.5 : 0);
  const projected = object.fields
    .filter((f) => !f.sensitivity && f.name !== searchField?.name && f.type !== "binary" && f.type !== "json")
    .map((f, i) => ({ f, score: relevance(f), i }))
    .sort((a, b) => b.score - a.score || a.i - b.i)
    .slice(0, MAX_PROJECTION)
    .sort((a, b) => a.i - b.i)
    .map(({ f }) => ({ path: f.name, leaf: f.name }));
  if (!projected.length) return null;

  const param = searchField ? (identifierWords.some((w) => nameKeys(searchField.name).has(w)) ? `caller_${[...nameKeys(searchField.name)].find((k) => IDENTIFIERS.includes(k))}` : searchField.name) : null;
  return {
    toolName: freeName(`lookup_${object.name}`.replace(/[^A-Za-z0-9_]/g, "_").slice(0, 60), takenNames),
    operation: operation.name,
    description: `Look up ${object.name}${searchField ? ` by ${searchField.name}` : ""}: ${goal}`.slice(0, 2000),
    ...(searchField && param ? { sqlSearch: { column: searchField.name, param } } : {}),
    projection: projected,
  };
}

function freeName(name: string, taken: Set<string>): string {
  if (!taken.has(name.toLowerCase())) return name;
  for (let i = 2; ; i++) if (!taken.has(`${name}_${i}`.toLowerCase())) return `${name}_${i}`;
}

/** One non-streamed chat completion asking for the binding as JSON; null when the answer is not one. */
async function askLlm({ goal, schema, llm, fetch: fetchImpl = fetch }: ProposeInput): Promise<BindingInput | null> {
  const summary = schema.objects.map((o) => ({
    object: o.name,
    fields: o.fields.filter((f) => !f.sensitivity).map((f) => `${f.name}:${f.type}${f.leadingIndex ? " (indexed)" : ""}${f.references ? ` -> ${f.references.object}.${f.references.field}` : ""}`),
    readOperations: schema.operations.filter((op) => op.object === o.name && op.kind === "read").map((op) => op.name),
  }));
  const res = await fetchImpl(`${llm!.baseUrl.replace(/\/+$/, "")}/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json", ...(llm!.apiKey ? { authorization: `Bearer ${llm!.apiKey}` } : {}) },
    body: JSON.stringify({
      model: llm!.model,
      stream: false,
      temperature: 0,
      messages: [
        {
          role: "system",
          content:
            'You map a goal onto a database read. Answer only JSON: {"toolName": snake_case, "operation": one readOperation, "description": string, "sqlSearch": {"column": an indexed field, "param": snake_case caller parameter}, "projection": [{"path": field or [relationshipField, targetField], "leaf": snake_case}]} with at most 6 projection entries.',
        },
        { role: "user", content: `Schema: ${JSON.stringify(summary)}\nGoal: ${goal}` },
      ],
    }),
    signal: AbortSignal.timeout(llm!.timeoutMs),
  });
  if (!res.ok) throw new Error(`LLM server answered ${res.status}`);
  const body = (await res.json()) as { choices?: { message?: { content?: string } }[] };
  const text = body.choices?.[0]?.message?.content ?? "";
  const json = text.slice(text.indexOf("{"), text.lastIndexOf("}") + 1);
  const parsed = JSON.parse(json) as Record<string, unknown>;
  if (typeof parsed.toolName !== "string" || typeof parsed.operation !== "string" || !/^[A-Za-z_][A-Za-z0-9_]{0,63}$/.test(parsed.toolName)) return null;
  return {
    toolName: parsed.toolName,
    operation: parsed.operation,
    ...(typeof parsed.description === "string" && parsed.description.trim() ? { description: parsed.description.slice(0, 2000) } : {}),
    ...(isSearch(parsed.sqlSearch) ? { sqlSearch: { column: parsed.sqlSearch.column, param: parsed.sqlSearch.param } } : {}),
    projection: (Array.isArray(parsed.projection) ? parsed.projection : []).filter(isProjection).slice(0, MAX_PROJECTION),
  };
}

const isSearch = (v: unknown): v is { column: string; param: string } => !!v && typeof (v as { column?: unknown }).column === "string" && typeof (v as { param?: unknown }).param === "string";
const isProjection = (v: unknown): v is { path: string | string[]; leaf: string } => {
  const p = v as { path?: unknown; leaf?: unknown } | null;
  return !!p && typeof p.leaf === "string" && (typeof p.path === "string" || (Array.isArray(p.path) && p.path.length >= 1 && p.path.length <= 2 && p.path.every((s) => typeof s === "string")));
};
