// What a SQL skill stores (a compiled operation) and how one is built: from a validated binding (a frozen,
// parameterized statement) or from an operator-written template (the legacy `db_query` skill type). Caller values
// only ever travel as bound parameters; identifiers come from the discovered schema and are always quoted.
import { PluginError, type ValidatedBinding } from "../../src/api/integrations/contract.ts";
import { type Dialect, placeholder, quoteIdent } from "./identifiers.ts";

/** A caller parameter by name, or an operator-pinned constant (bound like any value, never inlined). */
export type SqlParam = string | { constant: string | number | boolean | null };

export type CompiledStatement = {
  operation: string;
  dialect: Dialect;
  /** The statement with placeholders ($1.. on Postgres, ? on MySQL), one per entry of `params`, in order. */
  statement: string;
  params: SqlParam[];
  write: boolean;
  /** Writes: whether a row is created or one is changed by its unique key (then nothing matched is `not_found`). */
  effect?: "create" | "update";
  /** MySQL writes (no RETURNING): each projected leaf, from the generated insert id or the value bound at that index. */
  returning?: { leaf: string; from: "insertId" | number }[];
};

/** An operator-written statement whose `{param}` placeholders become bound parameters. */
export type QueryTemplate = { operation: "query"; sql: string; write?: boolean };

export const MAX_ROWS = 50;
const PARAM = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;

function invalid(message: string): never {
  throw new PluginError("invalid_binding", message);
}

function paramName(name: string): string {
  if (!PARAM.test(name)) invalid(`"${name.slice(0, 64)}" is not a usable parameter name`);
  return name;
}

export function compileBinding(dialect: Dialect, binding: ValidatedBinding): CompiledStatement {
  const q = (name: string) => quoteIdent(dialect, name);
  const { operation, object } = binding;
  if (operation.object !== object.name) invalid(`operation ${operation.name} does not belong to ${object.name}`);
  const fields = new Map(object.fields.map((f) => [f.name, f]));
  const field = (name: string) => fields.get(name) ?? invalid(`${object.name} has no field ${name}`);
  const leaves = new Set<string>();
  for (const { leaf } of binding.projection) {
    if (leaves.has(leaf)) invalid(`the output ${leaf} is projected twice`);
    leaves.add(leaf);
  }
  const table = q(object.name);

  if (!binding.isWrite) {
    if (operation.kind !== "read") invalid(`${operation.name} is not a read`);
    const search = binding.search ?? invalid("a SQL read needs exactly one filter (sqlSearch)");
    const filter = field(search.field);
    if (!filter.leadingIndex && !filter.primaryKey) invalid(`${object.name}.${search.field} leads no index; filter on an indexed column`);
    if (!Number.isInteger(search.limit) || search.limit < 1) invalid("the row limit must be a positive whole number");
    if (binding.projection.length === 0) invalid("a read must return at least one field");
    const joins = new Map<string, { alias: string; sql: string }>();
    const columns = binding.projection.map(({ path, leaf }) => {
      const [first, second] = path;
      const source = field(first);
      if (second === undefined) return `a.${q(source.name)} AS ${q(leaf)}`;
      const target = source.references ?? invalid(`${object.name}.${first} is not a foreign key`);
      let join = joins.get(first);
      if (!join) {
        const alias = `j${joins.size + 1}`;
        join = { alias, sql: `LEFT JOIN ${q(target.object)} ${alias} ON ${alias}.${q(target.field)} = a.${q(first)}` };
        joins.set(first, join);
      }
      return `${join.alias}.${q(second)} AS ${q(leaf)}`;
    });
    const limit = Math.min(search.limit, MAX_ROWS);
    const from = [`FROM ${table} a`, ...[...joins.values()].map((j) => j.sql)].join(" ");
    return Object.freeze({
      operation: operation.name,
      dialect,
      statement: `SELECT ${columns.join(", ")} ${from} WHERE a.${q(filter.name)} = ${placeholder(dialect, 1)} LIMIT ${limit}`,
      params: Object.freeze([paramName(search.param)]) as SqlParam[],
      write: false,
    });
  }

  if (operation.kind !== "write") invalid(`${operation.name} is not a write`);
  if (binding.values.length === 0) invalid("a write must set at least one field");
  const params: SqlParam[] = [];
  const written = new Map<string, number>();
  for (const value of binding.values) {
    field(value.field);
    if (written.has(value.field)) invalid(`${object.name}.${value.field} is set twice`);
    written.set(value.field, params.length);
    params.push("param" in value ? paramName(value.param) : Object.freeze({ constant: value.constant }));
  }
  for (const { path } of binding.projection) {
    if (path.length !== 1) invalid("a write can only return fields of the written row");
    field(path[0]);
  }
  const assignments = [...written.keys()];
  const returningSql = binding.projection.length ? ` RETURNING ${binding.projection.map(({ path, leaf }) => `${q(path[0])} AS ${q(leaf)}`).join(", ")}` : "";
  // MySQL has no RETURNING: a projected field is either the generated id or a value the statement itself bound.
  const echo = (keyIndex?: { field: string; index: number }) =>
    binding.projection.map(({ path: [name], leaf }) => {
      if (written.has(name)) return { leaf, from: written.get(name)! };
      if (keyIndex && keyIndex.field === name) return { leaf, from: keyIndex.index };
      const f = field(name);
      if (!keyIndex && f.primaryKey && f.generated) return { leaf, from: "insertId" as const };
      return invalid(`MySQL cannot return ${object.name}.${name} from this write; project the written fields or the generated id`);
    });

  if (operation.effect === "create") {
    for (const f of object.fields) if (f.required && !written.has(f.name)) invalid(`${object.name}.${f.name} is required on insert`);
    const values = assignments.map((_, i) => placeholder(dialect, i + 1)).join(", ");
    const insert = `INSERT INTO ${table} (${assignments.map(q).join(", ")}) VALUES (${values})`;
    return Object.freeze({
      operation: operation.name,
      dialect,
      statement: dialect === "postgres" ? insert + returningSql : insert,
      params: Object.freeze(params) as SqlParam[],
      write: true,
      effect: "create" as const,
      ...(dialect === "mysql" ? { returning: Object.freeze(echo()) as CompiledStatement["returning"] } : {}),
    });
  }
  if (operation.effect === "update") {
    const key = binding.key ?? invalid("an update needs the unique key field and the parameter carrying it");
    const keyField = field(key.field);
    if (!keyField.unique && !keyField.primaryKey) invalid(`${object.name}.${key.field} is not unique; an update must target one row`);
    const sets = assignments.map((name, i) => `${q(name)} = ${placeholder(dialect, i + 1)}`).join(", ");
    const keyIndex = params.length;
    params.push(paramName(key.param));
    const where = ` WHERE ${q(keyField.name)} = ${placeholder(dialect, keyIndex + 1)}`;
    return Object.freeze({
      operation: operation.name,
      dialect,
      statement: `UPDATE ${table} SET ${sets}${where}${dialect === "postgres" ? returningSql : " LIMIT 1"}`,
      params: Object.freeze(params) as SqlParam[],
      write: true,
      effect: "update" as const,
      ...(dialect === "mysql" ? { returning: Object.freeze(echo({ field: keyField.name, index: keyIndex })) as CompiledStatement["returning"] } : {}),
    });
  }
  return invalid(`${operation.name}: only single-row inserts and updates by key can be bound`);
}

/**
 * A template's `{param}` placeholders outside quotes and comments, replaced by the dialect's placeholders. One
 * statement only, and no placeholders of the dialect's own, so every value the statement sees is one we bound.
 */
export function compileTemplate(dialect: Dialect, sql: string): { statement: string; params: string[] } {
  if (typeof sql !== "string" || !sql.trim()) invalid("the query template is empty");
  if (sql.length > 20_000) invalid("the query template is too long");
  const params: string[] = [];
  let out = "";
  let i = 0;
  const closing: Record<string, string> = { "'": "'", '"': '"', "`": "`" };
  while (i < sql.length) {
    const c = sql[i]!;
    const next = sql[i + 1];
    if (c in closing) {
      const end = sql.indexOf(closing[c]!, i + 1);
      if (end < 0) invalid("the query template has an unclosed quote");
      out += sql.slice(i, end + 1);
      i = end + 1;
      continue;
    }
    if ((c === "-" && next === "-") || (c === "#" && dialect === "mysql")) {
      const end = sql.indexOf("\n", i);
      i = end < 0 ? sql.length : end;
      continue;
    }
    if (c === "/" && next === "*") {
      const end = sql.indexOf("*/", i + 2);
      if (end < 0) invalid("the query template has an unclosed comment");
      i = end + 2;
      continue;
    }
    if (c === "{") {
      const end = sql.indexOf("}", i);
      const name = end < 0 ? "" : sql.slice(i + 1, end).trim();
      if (!PARAM.test(name)) invalid("a template placeholder must be {name} with letters, digits and _");
      params.push(name);
      out += placeholder(dialect, params.length);
      i = end + 1;
      continue;
    }
    if (c === "?" || (c === "$" && next !== undefined && /[0-9]/.test(next))) invalid("write parameters as {name} in a query template");
    if (c === ";" && sql.slice(i + 1).trim()) invalid("a query template holds one statement");
    if (c !== ";") out += c;
    i++;
  }
  return { statement: out.trim(), params };
}
