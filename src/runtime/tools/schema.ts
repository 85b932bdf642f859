// TypeBox helpers for executionConfig schemas.
import { Type, type TLiteral, type TSchema, type TUnion } from "@sinclair/typebox";

type Literals<V extends readonly string[]> = { -readonly [K in keyof V]: TLiteral<V[K]> };

/** One of a fixed list of strings, typed as their union (a plain `map` would lose the literal types). */
export function oneOf<const V extends readonly string[]>(values: V, options: { description?: string; default?: V[number] } = {}): TUnion<Literals<V>> {
  return Type.Union(values.map((v) => Type.Literal(v)), options) as unknown as TUnion<Literals<V>>;
}

// Fields an executionConfig needs only for some actions (geo, builtin), written as JSON Schema
// `allOf: [{if, then: {required}}]` so the published schema says it, and checked from that same text.
interface Condition {
  if: { properties: Record<string, { const: string }>; required: string[] };
  then: { required: string[] };
}

export function requiredWhen(field: string, value: string, required: string[]): Condition {
  return { if: { properties: { [field]: { const: value } }, required: [field] }, then: { required } };
}

/** The fields a value lacks under the schema's `requiredWhen` conditions. */
export function unmetConditions(schema: TSchema, value: Record<string, unknown>): { field: string; message: string }[] {
  const missing: { field: string; message: string }[] = [];
  for (const condition of (schema.allOf ?? []) as Condition[]) {
    const [field, test] = Object.entries(condition.if.properties)[0]!;
    if (value[field] !== test.const) continue;
    for (const name of condition.then.required) {
      if (value[name] === undefined) missing.push({ field: name, message: `is required when ${field} is ${test.const}` });
    }
  }
  return missing;
}
