// From a dialect's catalog rows to the contract's normalized schema: fields with their keys, indexes and
// sensitivity, one relationship per single-column foreign key, and the operations a binding may use.
import type { DiscoveredSchema, FieldType, SchemaField, SchemaOperation } from "../../src/api/integrations/contract.ts";
import { type Dialect, quoteIdent } from "./identifiers.ts";
import { classify } from "./sensitivity.ts";
import type { Run } from "./session.ts";

export interface RawCatalog {
  /** The Postgres schema or the MySQL database the tables were read from. */
  namespace: string;
  tables: { name: string; writable: boolean }[];
  columns: {
    table: string;
    name: string;
    nativeType: string;
    type: FieldType;
    notNull: boolean;
    hasDefault: boolean;
    identity: boolean;
    computed: boolean;
    enumValues: (string | null)[] | null;
    description?: string;
  }[];
  /** Expression columns are null. */
  indexes: { table: string; columns: (string | null)[]; primary: boolean; unique: boolean }[];
  foreignKeys: { table: string; column: string; refTable: string; refColumn: string }[];
}

const SAMPLE_ROWS = 20;

/** Up to SAMPLE_ROWS non-null values of each text column of a table, for classification by shape. */
export async function sampleText(dialect: Dialect, run: Run, table: string, columns: string[]): Promise<Map<string, string[]>> {
  const samples = new Map<string, string[]>(columns.map((c) => [c, []]));
  if (columns.length === 0) return samples;
  const q = (name: string) => quoteIdent(dialect, name);
  const cast = (c: string) => (dialect === "postgres" ? `${q(c)}::text` : q(c));
  const someValue = columns.map((c) => `${q(c)} IS NOT NULL`).join(" OR ");
  const { rows } = await run(`SELECT ${columns.map((c) => `${cast(c)} AS ${q(c)}`).join(", ")} FROM ${q(table)} WHERE ${someValue} LIMIT ${SAMPLE_ROWS}`);
  for (const row of rows) {
    for (const column of columns) {
      const value = row[column];
      if (typeof value === "string") samples.get(column)!.push(value.slice(0, 200));
    }
  }
  return samples;
}

export function buildSchema(raw: RawCatalog, samples: Map<string, Map<string, string[]>>): DiscoveredSchema {
  const visible = new Set(raw.tables.map((t) => t.name));
  const key = (table: string, column: string) => `${table}\u0000${column}`;
  const leading = new Set<string>();
  const unique = new Set<string>();
  const primary = new Set<string>();
  for (const index of raw.indexes) {
    const [first] = index.columns;
    if (first) leading.add(key(index.table, first));
    if (index.unique && index.columns.length === 1 && first) unique.add(key(index.table, first));
    if (index.primary) for (const c of index.columns) if (c) primary.add(key(index.table, c));
  }
  const references = new Map<string, { object: string; field: string }>();
  const relationships: DiscoveredSchema["relationships"] = [];
  for (const fk of raw.foreignKeys) {
    if (!visible.has(fk.table) || !visible.has(fk.refTable)) continue;
    references.set(key(fk.table, fk.column), { object: fk.refTable, field: fk.refColumn });
    relationships.push({ name: `${fk.table}.${fk.column}`, from: { object: fk.table, field: fk.column }, to: { object: fk.refTable, field: fk.refColumn } });
  }

  const objects = raw.tables.map((table) => {
    const fields: SchemaField[] = raw.columns
      .filter((c) => c.table === table.name)
      .map((c) => {
        const k = key(table.name, c.name);
        const generated = c.hasDefault || c.identity || c.computed;
        const field: SchemaField = {
          name: c.name,
          type: c.type,
          nativeType: c.nativeType,
          required: c.notNull && !generated,
          nullable: !c.notNull,
          allowedValues: c.enumValues ? c.enumValues.filter((v): v is string => v !== null) : null,
          references: references.get(k) ?? null,
          sensitivity: classify(c.name, samples.get(table.name)?.get(c.name) ?? []),
          primaryKey: primary.has(k),
          unique: unique.has(k),
          leadingIndex: leading.has(k),
          generated,
        };
        if (c.description) field.description = c.description;
        return field;
      });
    return { name: table.name, fields };
  });

  const operations: SchemaOperation[] = [];
  for (const object of objects) {
    const table = raw.tables.find((t) => t.name === object.name)!;
    operations.push({ name: `${object.name}.select`, object: object.name, kind: "read", description: `Read rows of ${object.name} by an indexed column` });
    if (!table.writable) continue;
    operations.push({ name: `${object.name}.insert`, object: object.name, kind: "write", effect: "create", description: `Insert one row into ${object.name}` });
    if (object.fields.some((f) => f.unique)) {
      operations.push({ name: `${object.name}.update`, object: object.name, kind: "write", effect: "update", description: `Update one row of ${object.name} by a unique key` });
    }
  }
  return { objects, relationships, operations };
}
