// PostgreSQL through postgres.js: the pool, and the catalog queries discovery and the connection test use.
import { connect } from "node:net";
import postgres from "postgres";
import { sqlFailure } from "./errors.ts";
import type { SqlCredentials } from "./credentials.ts";
import { tlsOptions } from "./credentials.ts";
import type { RawCatalog } from "./catalog.ts";
import { abortable, type Run, remainingMs, type SqlSession, timedOut } from "./session.ts";

const asText = (x: unknown) => (typeof x === "boolean" ? (x ? "t" : "f") : x instanceof Date ? x.toISOString() : String(x));

export function openPostgres(credentials: SqlCredentials, address: string, plaintextAllowed: boolean, max: number): SqlSession {
  const tls = tlsOptions(credentials, plaintextAllowed);
  const sql = postgres({
    host: address,
    port: Number(credentials.port),
    database: credentials.database,
    username: credentials.user,
    password: credentials.password,
    ssl: tls ?? false,
    max,
    idle_timeout: 60,
    connect_timeout: 10,
    fetch_types: false,
    onnotice: () => {},
    connection: { application_name: "flowyte" },
    types: {
      // postgres.js would turn a caller's "maybe" into false for a boolean and parse date strings in local time;
      // every value goes to the server as text instead, so the server parses it or refuses it (invalid_input).
      boolean: { to: 16, from: [16], serialize: asText, parse: (x: string) => x === "t" },
      date: { to: 1184, from: [1114, 1184], serialize: asText, parse: (x: string) => new Date(x) },
      // A `date` stays the calendar day it is; timestamps arrive as Date and leave as ISO strings.
      day: { to: 1082, from: [1082], serialize: asText, parse: (x: string) => x },
      json: { to: 114, from: [114, 3802], serialize: asText, parse: (x: string) => JSON.parse(x) },
      bytea: { to: 17, from: [17], serialize: asText, parse: (x: string) => Buffer.from(x.slice(2), "hex") },
    },
  });
  return {
    dialect: "postgres",
    async transaction(options, work) {
      const timeout = remainingMs(options.deadline);
      let current: { cancel(): void } | null = null;
      let stopped = false;
      const body = async (tx: postgres.TransactionSql) => {
        await tx.unsafe(`SET LOCAL statement_timeout = ${timeout}`);
        const run: Run = async (statement, params = []) => {
          if (stopped) throw timedOut();
          const query = tx.unsafe(statement, params as never[]);
          current = query;
          const result = await query;
          current = null;
          return { rows: [...result] as Record<string, unknown>[], affected: result.count ?? 0 };
        };
        return work(run);
      };
      const transaction = options.write ? sql.begin(body) : sql.begin("read only", body);
      try {
        return (await abortable(options.signal, transaction, () => {
          stopped = true;
          (current as { cancel(): void } | null)?.cancel();
        })) as Awaited<ReturnType<typeof work>>;
      } catch (error) {
        throw sqlFailure(error);
      }
    },
    close: () => sql.end({ timeout: 5 }),
  };
}

/** PostgreSQL's SSLRequest: whether the server at all offers TLS, answered before any credentials are sent. */
export function postgresOffersTls(address: string, port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: address, port });
    const timer = setTimeout(() => socket.destroy(new Error("ETIMEDOUT")), timeoutMs);
    socket.once("connect", () => socket.write(Buffer.from([0, 0, 0, 8, 4, 210, 22, 47])));
    socket.once("data", (data) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(data[0] === 0x53);
    });
    socket.once("error", (error) => {
      clearTimeout(timer);
      reject(error);
    });
  });
}

const IN_SCHEMA = "n.nspname = current_schema()";

export async function postgresCatalog(run: Run): Promise<RawCatalog> {
  const [{ rows: schemaRows }, { rows: tables }, { rows: columns }, { rows: indexes }, { rows: foreignKeys }] = [
    await run("SELECT current_schema() AS name"),
    await run(`SELECT c.relname AS name, c.relkind IN ('r', 'p') AS writable FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE ${IN_SCHEMA} AND c.relkind IN ('r', 'p', 'v', 'm') AND has_table_privilege(c.oid, 'SELECT') ORDER BY c.relname`),
    await run(`SELECT c.relname AS table_name, a.attname AS name, format_type(a.atttypid, a.atttypmod) AS native,
        COALESCE(bt.typname, t.typname) AS base, t.typcategory AS category, a.attnotnull AS not_null, a.atthasdef AS has_default,
        a.attidentity <> '' AS identity, a.attgenerated <> '' AS computed, col_description(c.oid, a.attnum) AS description,
        CASE WHEN t.typtype = 'e' THEN (SELECT json_agg(e.enumlabel ORDER BY e.enumsortorder) FROM pg_enum e WHERE e.enumtypid = t.oid) END AS enum_values
      FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
      JOIN pg_type t ON t.oid = a.atttypid LEFT JOIN pg_type bt ON t.typtype = 'd' AND bt.oid = t.typbasetype
      WHERE ${IN_SCHEMA} AND c.relkind IN ('r', 'p', 'v', 'm') AND a.attnum > 0 AND NOT a.attisdropped AND has_table_privilege(c.oid, 'SELECT')
      ORDER BY c.relname, a.attnum`),
    await run(`SELECT c.relname AS table_name, i.indisprimary AS is_primary, i.indisunique AND i.indpred IS NULL AS is_unique,
        json_agg(a.attname ORDER BY k.ord) AS columns
      FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid JOIN pg_namespace n ON n.oid = c.relnamespace
      CROSS JOIN LATERAL unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord)
      LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = k.attnum
      WHERE ${IN_SCHEMA} AND k.ord <= i.indnkeyatts
      GROUP BY i.indexrelid, c.relname, i.indisprimary, i.indisunique, i.indpred IS NULL`),
    await run(`SELECT c.relname AS table_name, a.attname AS column_name, rc.relname AS ref_table, ra.attname AS ref_column
      FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace
      JOIN pg_class rc ON rc.oid = k.confrelid
      JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = k.conkey[1]
      JOIN pg_attribute ra ON ra.attrelid = k.confrelid AND ra.attnum = k.confkey[1]
      WHERE k.contype = 'f' AND ${IN_SCHEMA} AND array_length(k.conkey, 1) = 1 AND rc.relnamespace = c.relnamespace`),
  ];
  return {
    namespace: String(schemaRows[0]?.name ?? "public"),
    tables: tables.map((t) => ({ name: String(t.name), writable: t.writable === true })),
    columns: columns.map((c) => ({
      table: String(c.table_name),
      name: String(c.name),
      nativeType: String(c.native),
      type: c.category === "A" ? "json" : postgresType(String(c.base)),
      notNull: c.not_null === true,
      hasDefault: c.has_default === true,
      identity: c.identity === true,
      computed: c.computed === true,
      enumValues: jsonList(c.enum_values),
      description: typeof c.description === "string" ? c.description : undefined,
    })),
    indexes: indexes.map((i) => ({ table: String(i.table_name), columns: jsonList(i.columns) ?? [], primary: i.is_primary === true, unique: i.is_unique === true })),
    foreignKeys: foreignKeys.map((f) => ({ table: String(f.table_name), column: String(f.column_name), refTable: String(f.ref_table), refColumn: String(f.ref_column) })),
  };
}

function jsonList(value: unknown): (string | null)[] | null {
  const list = typeof value === "string" ? JSON.parse(value) : value;
  return Array.isArray(list) ? list.map((v) => (v === null ? null : String(v))) : null;
}

function postgresType(base: string) {
  if (["int2", "int4", "int8", "oid"].includes(base)) return "integer" as const;
  if (["numeric", "float4", "float8", "money"].includes(base)) return "number" as const;
  if (base === "bool") return "boolean" as const;
  if (base === "date") return "date" as const;
  if (base === "timestamp" || base === "timestamptz") return "datetime" as const;
  if (base === "time" || base === "timetz") return "time" as const;
  if (base === "json" || base === "jsonb") return "json" as const;
  if (base === "bytea") return "binary" as const;
  if (base === "uuid") return "uuid" as const;
  return "string" as const;
}

/** What this login could change: tables it may write, and the schema or database it may create objects in. */
export async function postgresWriteAccess(run: Run): Promise<string[]> {
  const { rows } = await run(`SELECT 'superuser' AS what FROM pg_roles WHERE rolname = current_user AND rolsuper
    UNION ALL SELECT c.relname || ' (' || concat_ws(', ',
        CASE WHEN has_table_privilege(c.oid, 'INSERT') THEN 'INSERT' END, CASE WHEN has_table_privilege(c.oid, 'UPDATE') THEN 'UPDATE' END,
        CASE WHEN has_table_privilege(c.oid, 'DELETE') THEN 'DELETE' END, CASE WHEN has_table_privilege(c.oid, 'TRUNCATE') THEN 'TRUNCATE' END) || ')'
      FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE ${IN_SCHEMA} AND c.relkind IN ('r', 'p') AND has_table_privilege(c.oid, 'INSERT, UPDATE, DELETE, TRUNCATE')
    UNION ALL SELECT 'schema ' || current_schema() || ' (CREATE)' WHERE has_schema_privilege(current_schema(), 'CREATE')
    UNION ALL SELECT 'database ' || current_database() || ' (CREATE)' WHERE has_database_privilege(current_database(), 'CREATE')`);
  return rows.map((r) => String(r.what));
}

export async function postgresTls(run: Run): Promise<string | null> {
  const { rows } = await run("SELECT version FROM pg_stat_ssl WHERE pid = pg_backend_pid() AND ssl");
  return rows[0] ? String(rows[0].version) : null;
}
