// MySQL and MariaDB through mysql2: the pool, and the catalog queries discovery and the connection test use.
import { connect } from "node:net";
import mysql, { type PoolConnection, type ResultSetHeader } from "mysql2/promise";
import type { RawCatalog } from "./catalog.ts";
import { refusePlaintext, type SqlCredentials } from "./credentials.ts";
import { sqlFailure } from "./errors.ts";
import { abortable, type Run, remainingMs, type SqlSession, timedOut } from "./session.ts";

export function openMysql(credentials: SqlCredentials, address: string, plaintextAllowed: boolean, max: number): SqlSession {
  const { sslmode, ca_pem } = credentials;
  refusePlaintext(credentials, plaintextAllowed);
  const port = Number(credentials.port);
  const pool = mysql.createPool({
    // The configured name is what TLS verifies; the socket goes to the address the egress check pinned.
    host: credentials.host,
    port,
    stream: () => connect({ host: address, port }),
    user: credentials.user,
    password: credentials.password,
    database: credentials.database,
    ssl: sslmode === "disable" ? undefined : { rejectUnauthorized: sslmode !== "require", verifyIdentity: sslmode === "verify-full", ...(ca_pem ? { ca: ca_pem } : {}) },
    connectionLimit: max,
    maxIdle: max,
    idleTimeout: 60_000,
    connectTimeout: 10_000,
    supportBigNumbers: true,
    bigNumberStrings: false,
    dateStrings: ["DATE"],
    timezone: "Z",
    multipleStatements: false,
    charset: "utf8mb4",
  });
  let flavor: Promise<"mariadb" | "mysql"> | null = null;
  const flavorOf = async (conn: PoolConnection) => {
    flavor ??= conn.query("SELECT VERSION() AS v").then(([rows]) => (/mariadb/i.test(String((rows as { v: unknown }[])[0]?.v)) ? "mariadb" : "mysql"));
    try {
      return await flavor;
    } catch (error) {
      flavor = null;
      throw error;
    }
  };

  return {
    dialect: "mysql",
    async transaction(options, work) {
      let conn: PoolConnection | null = null;
      let stopped = false;
      const body = async () => {
        const c = await pool.getConnection();
        // Aborted while waiting for a connection: nobody will use or release this one.
        if (stopped) {
          c.destroy();
          throw timedOut();
        }
        conn = c;
        const ms = remainingMs(options.deadline);
        // MariaDB bounds every statement (seconds); MySQL bounds reads (milliseconds) and lock waits for writes.
        if ((await flavorOf(c)) === "mariadb") await c.query(`SET SESSION max_statement_time = ${(ms / 1000).toFixed(3)}`);
        else await c.query(`SET SESSION max_execution_time = ${ms}`);
        await c.query(`SET SESSION innodb_lock_wait_timeout = ${Math.max(1, Math.ceil(ms / 1000))}`);
        await c.query(options.write ? "START TRANSACTION" : "START TRANSACTION READ ONLY");
        const run: Run = async (statement, params = []) => {
          if (stopped) throw timedOut();
          const [result] = params.length ? await c.execute(statement, params as never[]) : await c.query(statement);
          if (Array.isArray(result)) return { rows: result as Record<string, unknown>[], affected: 0 };
          const header = result as ResultSetHeader;
          return { rows: [], affected: header.affectedRows, insertId: header.insertId };
        };
        try {
          const value = await work(run);
          await c.query("COMMIT");
          return value;
        } catch (error) {
          if (!stopped) await c.query("ROLLBACK").catch(() => {});
          throw error;
        }
      };
      try {
        return await abortable(options.signal, body(), () => {
          stopped = true;
          // The server ends the statement at max_statement_time; dropping the connection frees the caller now.
          (conn as PoolConnection | null)?.destroy();
        });
      } catch (error) {
        throw sqlFailure(error);
      } finally {
        if (!stopped) (conn as PoolConnection | null)?.release();
      }
    },
    close: () => pool.end(),
  };
}

// MariaDB lists a column whose default is NULL with the unquoted word NULL (string defaults are quoted).
export async function mysqlCatalog(run: Run): Promise<RawCatalog> {
  const bool = (v: unknown) => v === true || Number(v) === 1;
  const { rows: db } = await run("SELECT DATABASE() AS name");
  const { rows: tables } = await run(
    "SELECT TABLE_NAME AS name, TABLE_TYPE = 'BASE TABLE' AS writable FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() ORDER BY TABLE_NAME",
  );
  const { rows: columns } = await run(`SELECT TABLE_NAME AS table_name, COLUMN_NAME AS name, COLUMN_TYPE AS native, DATA_TYPE AS base,
      IS_NULLABLE = 'NO' AS not_null,
      COLUMN_DEFAULT IS NOT NULL AND COLUMN_DEFAULT <> 'NULL' AS has_default, EXTRA AS extra, COLUMN_COMMENT AS description
    FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() ORDER BY TABLE_NAME, ORDINAL_POSITION`);
  const { rows: statistics } = await run(`SELECT TABLE_NAME AS table_name, INDEX_NAME AS index_name, NON_UNIQUE AS non_unique, COLUMN_NAME AS column_name
    FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = DATABASE() ORDER BY TABLE_NAME, INDEX_NAME, SEQ_IN_INDEX`);
  const { rows: keys } = await run(`SELECT TABLE_NAME AS table_name, CONSTRAINT_NAME AS constraint_name, COLUMN_NAME AS column_name,
      REFERENCED_TABLE_NAME AS ref_table, REFERENCED_COLUMN_NAME AS ref_column
    FROM information_schema.KEY_COLUMN_USAGE WHERE TABLE_SCHEMA = DATABASE() AND REFERENCED_TABLE_NAME IS NOT NULL AND REFERENCED_TABLE_SCHEMA = DATABASE()`);

  const indexes = new Map<string, RawCatalog["indexes"][number]>();
  for (const s of statistics) {
    const id = `${s.table_name}\u0000${s.index_name}`;
    const index = indexes.get(id) ?? { table: String(s.table_name), columns: [], primary: s.index_name === "PRIMARY", unique: !bool(s.non_unique) };
    index.columns.push(s.column_name == null ? null : String(s.column_name));
    indexes.set(id, index);
  }
  const constraints = new Map<string, Record<string, unknown>[]>();
  for (const k of keys) {
    const id = `${k.table_name}\u0000${k.constraint_name}`;
    constraints.set(id, [...(constraints.get(id) ?? []), k]);
  }
  return {
    namespace: String(db[0]?.name ?? ""),
    tables: tables.map((t) => ({ name: String(t.name), writable: bool(t.writable) })),
    columns: columns.map((c) => {
      const native = String(c.native);
      const extra = String(c.extra ?? "").toLowerCase();
      return {
        table: String(c.table_name),
        name: String(c.name),
        nativeType: native,
        type: mysqlType(String(c.base).toLowerCase(), native.toLowerCase()),
        notNull: bool(c.not_null),
        hasDefault: bool(c.has_default),
        identity: extra.includes("auto_increment"),
        computed: /virtual|stored|persistent/.test(extra),
        enumValues: String(c.base).toLowerCase() === "enum" ? enumValues(native) : null,
        description: c.description ? String(c.description) : undefined,
      };
    }),
    indexes: [...indexes.values()],
    foreignKeys: [...constraints.values()]
      .filter((parts) => parts.length === 1)
      .map(([k]) => ({ table: String(k!.table_name), column: String(k!.column_name), refTable: String(k!.ref_table), refColumn: String(k!.ref_column) })),
  };
}

/** `enum('a','it''s')` → ["a", "it's"]. */
function enumValues(columnType: string): string[] {
  return [...columnType.matchAll(/'((?:[^'\\]|''|\\.)*)'/g)].map((m) => m[1]!.replaceAll("''", "'").replace(/\\(.)/g, "$1"));
}

function mysqlType(base: string, native: string) {
  if (native.startsWith("tinyint(1)")) return "boolean" as const;
  if (["tinyint", "smallint", "mediumint", "int", "integer", "bigint", "year", "bit"].includes(base)) return "integer" as const;
  if (["decimal", "numeric", "float", "double", "real"].includes(base)) return "number" as const;
  if (base === "date") return "date" as const;
  if (base === "datetime" || base === "timestamp") return "datetime" as const;
  if (base === "time") return "time" as const;
  if (base === "json") return "json" as const;
  if (base === "uuid") return "uuid" as const;
  if (/blob|binary/.test(base)) return "binary" as const;
  return "string" as const;
}

const WRITE_PRIVILEGES = ["INSERT", "UPDATE", "DELETE", "CREATE", "DROP", "ALTER", "INDEX", "TRIGGER", "CREATE VIEW", "CREATE ROUTINE", "ALTER ROUTINE", "EVENT"];

/** What this login could change, from the grants the server lists for the current account. */
export async function mysqlWriteAccess(run: Run): Promise<string[]> {
  const { rows: me } = await run("SELECT CURRENT_USER() AS me");
  const current = String(me[0]?.me ?? "");
  const at = current.lastIndexOf("@");
  const grantee = `'${current.slice(0, at)}'@'${current.slice(at + 1)}'`;
  const list = WRITE_PRIVILEGES.map((p) => `'${p}'`).join(", ");
  const { rows } = await run(
    `SELECT CONCAT('all databases (', PRIVILEGE_TYPE, ')') AS what FROM information_schema.USER_PRIVILEGES WHERE GRANTEE = ? AND PRIVILEGE_TYPE IN (${list})
    UNION ALL SELECT CONCAT('database ', DATABASE(), ' (', PRIVILEGE_TYPE, ')') FROM information_schema.SCHEMA_PRIVILEGES
      WHERE GRANTEE = ? AND DATABASE() LIKE TABLE_SCHEMA AND PRIVILEGE_TYPE IN (${list})
    UNION ALL SELECT CONCAT(TABLE_NAME, ' (', PRIVILEGE_TYPE, ')') FROM information_schema.TABLE_PRIVILEGES
      WHERE GRANTEE = ? AND TABLE_SCHEMA = DATABASE() AND PRIVILEGE_TYPE IN (${list})`,
    [grantee, grantee, grantee],
  );
  return rows.map((r) => String(r.what));
}

export async function mysqlTls(run: Run): Promise<string | null> {
  const { rows } = await run("SHOW SESSION STATUS LIKE 'Ssl_version'");
  const value = rows[0] ? String(Object.values(rows[0])[1] ?? "") : "";
  return value || null;
}
