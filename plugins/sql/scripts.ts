// Setup scripts an operator runs as the database's admin: a read-only login (SELECT on current and future tables)
// and a write login (SELECT everywhere, INSERT and UPDATE on the listed tables only). Every name is validated and
// quoted, the password is embedded as a quoted literal; nothing here connects to anything.
import { PluginError, type SetupScripts } from "../../src/api/integrations/contract.ts";
import { type Dialect, PLAIN_IDENTIFIER, quoteIdent, quoteLiteral } from "./identifiers.ts";

export interface ScriptOptions {
  database: string;
  tables: string[];
  password: string;
  /** Appended to the login names (`flowyte_ro_<suffix>`), e.g. to keep several environments apart. */
  suffix?: string;
}

function checked(kind: string, name: string): string {
  if (!PLAIN_IDENTIFIER.test(name)) throw new PluginError("invalid_input", `${kind} "${name.slice(0, 64)}" must be letters, digits, _ or $, starting with a letter or _`, [kind]);
  return name;
}

export function setupScripts(dialect: Dialect, options: ScriptOptions): SetupScripts {
  const database = checked("database", options.database);
  const tables = [...new Set(options.tables.map((t) => checked("tables", t.trim())))];
  const suffix = options.suffix ? `_${checked("suffix", options.suffix)}` : "";
  const { password } = options;
  if (password.length < 12 || password.length > 128 || /[\u0000-\u001f\u007f]/.test(password)) {
    throw new PluginError("invalid_input", "the password must be 12 to 128 printable characters", ["password"]);
  }
  const ro = `flowyte_ro${suffix}`;
  const rw = `flowyte_rw${suffix}`;
  return dialect === "postgres" ? postgresScripts(database, tables, password, ro, rw) : mysqlScripts(database, tables, password, ro, rw);
}

function postgresScripts(database: string, tables: string[], password: string, ro: string, rw: string): SetupScripts {
  const id = (name: string) => quoteIdent("postgres", name, "invalid_input");
  const lit = (value: string) => quoteLiteral("postgres", value);
  const reader = (role: string) => [
    `CREATE ROLE ${id(role)} LOGIN PASSWORD ${lit(password)};`,
    `GRANT CONNECT ON DATABASE ${id(database)} TO ${id(role)};`,
    `GRANT USAGE ON SCHEMA public TO ${id(role)};`,
    `GRANT SELECT ON ALL TABLES IN SCHEMA public TO ${id(role)};`,
    "-- Tables created later by the role running this script are readable too.",
    `ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT ON TABLES TO ${id(role)};`,
  ];
  const readOnly = [
    `-- Read-only login for Flowyte on database ${database}. Run as the database owner, connected to ${database}.`,
    ...reader(ro),
    `ALTER ROLE ${id(ro)} SET default_transaction_read_only = on;`,
    "-- PostgreSQL 15 already does this; older versions let every role create tables in schema public.",
    "REVOKE CREATE ON SCHEMA public FROM PUBLIC;",
  ];
  const write = [`-- Write login for Flowyte on database ${database}: reads everything, inserts and updates only the listed tables.`, ...reader(rw)];
  if (tables.length) {
    write.push(`GRANT INSERT, UPDATE ON ${tables.map(id).join(", ")} TO ${id(rw)};`);
    // Serial and identity columns draw from sequences the inserts need to advance.
    const list = tables.map((t) => lit(`public.${id(t)}`)).join(", ");
    write.push(
      "DO $$",
      "DECLARE seq regclass;",
      "BEGIN",
      `  FOR seq IN SELECT d.objid::regclass FROM pg_depend d JOIN pg_class c ON c.oid = d.objid AND c.relkind = 'S'`,
      `    WHERE d.refobjid = ANY (ARRAY[${list}]::regclass[]) AND d.deptype IN ('a', 'i') LOOP`,
      `    EXECUTE format('GRANT USAGE ON SEQUENCE %s TO %I', seq, ${lit(rw)});`,
      "  END LOOP;",
      "END $$;",
    );
  }
  return { readOnly: { user: ro, sql: `${readOnly.join("\n")}\n` }, write: { user: rw, sql: `${write.join("\n")}\n` } };
}

function mysqlScripts(database: string, tables: string[], password: string, ro: string, rw: string): SetupScripts {
  const id = (name: string) => quoteIdent("mysql", name, "invalid_input");
  const lit = (value: string) => quoteLiteral("mysql", value);
  const account = (user: string) => `${lit(user)}@'%'`;
  const readOnly = [
    `-- Read-only login for Flowyte on database ${database}: SELECT on every table, now and later.`,
    `CREATE USER ${account(ro)} IDENTIFIED BY ${lit(password)};`,
    `GRANT SELECT ON ${id(database)}.* TO ${account(ro)};`,
  ];
  const write = [
    `-- Write login for Flowyte on database ${database}: reads everything, inserts and updates only the listed tables.`,
    `CREATE USER ${account(rw)} IDENTIFIED BY ${lit(password)};`,
    `GRANT SELECT ON ${id(database)}.* TO ${account(rw)};`,
    ...tables.map((t) => `GRANT INSERT, UPDATE ON ${id(database)}.${id(t)} TO ${account(rw)};`),
  ];
  return { readOnly: { user: ro, sql: `${readOnly.join("\n")}\n` }, write: { user: rw, sql: `${write.join("\n")}\n` } };
}
