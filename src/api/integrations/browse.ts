// Reading a discovered schema as an organization may: its scoping applied first (blocked objects and `object.field`
// columns vanish, and with them the operations and relationships that touch them), then objects summarized,
// operations filtered and fields searched. Everything an agent or operator sees of a schema goes through `scoped`.
import type { DiscoveredSchema, SchemaField, SchemaObject, SchemaOperation, SchemaRelationship } from "./contract.ts";
import { terms } from "../../platform/tokens.ts";

export interface ScopingRules {
  blockedTables: readonly string[];
  blockedColumns: readonly string[];
}

/** The schema without what the scoping blocks. */
export function scoped(schema: DiscoveredSchema, rules: ScopingRules): DiscoveredSchema {
  const tables = new Set(rules.blockedTables);
  const columns = new Set(rules.blockedColumns);
  const visible = (object: string, field?: string) => !tables.has(object) && (field === undefined || !columns.has(`${object}.${field}`));
  const objects = schema.objects
    .filter((o) => visible(o.name))
    .map((o) => ({
      ...o,
      fields: o.fields
        .filter((f) => visible(o.name, f.name))
        // A field pointing at something blocked keeps its value but loses the way there.
        .map((f) => (f.references && !visible(f.references.object, f.references.field) ? { ...f, references: null } : f)),
    }));
  return {
    objects,
    relationships: schema.relationships.filter((r) => visible(r.from.object, r.from.field) && visible(r.to.object, r.to.field)),
    operations: schema.operations.filter((op) => visible(op.object)),
  };
}

export function objectSummary(schema: DiscoveredSchema, object: SchemaObject) {
  const operations = schema.operations.filter((op) => op.object === object.name);
  return {
    name: object.name,
    description: object.description ?? null,
    fieldCount: object.fields.length,
    relationshipCount: relationshipsOf(schema, object.name).length,
    operationCount: operations.length,
    capabilities: {
      read: operations.some((op) => op.kind === "read"),
      create: operations.some((op) => op.kind === "write" && op.effect === "create"),
      update: operations.some((op) => op.kind === "write" && op.effect === "update"),
    },
  };
}

export function objectDetail(schema: DiscoveredSchema, object: SchemaObject) {
  return {
    name: object.name,
    description: object.description ?? null,
    fields: object.fields,
    operations: schema.operations.filter((op) => op.object === object.name),
    relationships: relationshipsOf(schema, object.name),
  };
}

const relationshipsOf = (schema: DiscoveredSchema, object: string): SchemaRelationship[] => schema.relationships.filter((r) => r.from.object === object || r.to.object === object);

export function filterOperations(schema: DiscoveredSchema, q: { readOnly: boolean; object?: string; q?: string }): SchemaOperation[] {
  const needle = q.q?.toLowerCase();
  return schema.operations.filter((op) => (!q.readOnly || op.kind === "read") && (!q.object || op.object === q.object) && (!needle || op.name.toLowerCase().includes(needle)));
}

export type Badge = "core" | "PII" | "payment-card";

export function badges(field: SchemaField): Badge[] {
  const out: Badge[] = [];
  if (field.primaryKey || field.unique || field.leadingIndex) out.push("core");
  if (field.sensitivity === "pii" || field.sensitivity === "contact") out.push("PII");
  if (field.sensitivity === "payment_card") out.push("payment-card");
  return out;
}

/** Words of an identifier (`contact_id`, `firstName`), stemmed as the tokenizer stems, for matching. */
export function nameWords(name: string): string[] {
  return terms(name.replace(/([a-z])([A-Z])/g, "$1 $2").replace(/[_.-]+/g, " "));
}

/**
 * Ranked keyword search over fields: a word of the query naming the field counts most, naming its object less, and
 * its description least; an exact field name beats all. Ties keep the schema's order.
 */
export function searchSchema(schema: DiscoveredSchema, query: string, limit: number) {
  const wanted = terms(query);
  const exact = query.trim().toLowerCase();
  const hits: { object: string; field: string; type: string; references: { object: string; field: string } | null; badges: Badge[]; score: number }[] = [];
  for (const object of schema.objects) {
    const objectWords = new Set(nameWords(object.name));
    for (const field of object.fields) {
      const fieldWords = new Set(nameWords(field.name));
      const described = new Set((field.description ? terms(field.description) : []));
      let score = field.name.toLowerCase() === exact || `${object.name}.${field.name}`.toLowerCase() === exact ? 10 : 0;
      for (const w of wanted) score += fieldWords.has(w) ? 3 : objectWords.has(w) ? 1 : described.has(w) ? 0.5 : 0;
      if (score > 0) hits.push({ object: object.name, field: field.name, type: field.type, references: field.references ?? null, badges: badges(field), score });
    }
  }
  return hits.sort((a, b) => b.score - a.score).slice(0, limit);
}
