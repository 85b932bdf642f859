// Real Postgres and MariaDB for the SQL plugin's tests: each fixture makes its own database and login names (logins
// are server-wide, so every run gets a unique suffix) and drops them afterwards, so parallel files and the PGlite and
// Postgres CI stages never collide. The plugin context is the contract's, built here as the app would build it.
import { randomBytes } from "node:crypto";
import mysql from "mysql2/promise";
import postgres from "postgres";
import type { IntegrationPlugin, PluginContext } from "../../../src/api/integrations/contract.ts";
import mysqlPlugin from "../../../plugins/mysql/index.ts";
import postgresPlugin from "../../../plugins/postgres/index.ts";

export type Dialect = "postgres" | "mysql";
export const DIALECTS: Dialect[] = ["postgres", "mysql"];

const URLS: Record<Dialect, URL> = {
  postgres: new URL(process.env.SQL_TEST_POSTGRES_URL ?? "postgres://postgres@127.0.0.1:5432/test"),
  mysql: new URL(process.env.SQL_TEST_MYSQL_URL ?? "mysql://root@127.0.0.1:3306/test"),
};

export const PLUGINS: Record<Dialect, IntegrationPlugin> = { postgres: postgresPlugin, mysql: mysqlPlugin };

export interface Credentials extends Record<string, unknown> {
  host: string;
  port: string;
  database: string;
  user: string;
  password: string;
  sslmode: "require" | "verify-ca" | "verify-full" | "disable";
}

export function context(credentials: Record<string, unknown>, options: { plaintext?: boolean; timeoutMs?: number; signal?: AbortSignal; connectionId?: string } = {}): PluginContext {
  const logs: unknown[] = [];
  return {
    organizationId: "org_test",
    connectionId: options.connectionId ?? `conn_${randomBytes(6).toString("hex")}`,
    credentials,
    fetch: () => Promise.reject(new Error("the SQL plugin does not fetch")),
    checkHost: async (host) => (host === "localhost" ? "127.0.0.1" : host),
    plaintextAllowed: (host) => (options.plaintext ?? true) && ["127.0.0.1", "localhost"].includes(host),
    log: { debug: (...a) => logs.push(a), info: (...a) => logs.push(a), warn: (...a) => logs.push(a), error: (...a) => logs.push(a) },
    signal: options.signal ?? AbortSignal.timeout(options.timeoutMs ?? 20_000),
    deadline: Date.now() + (options.timeoutMs ?? 20_000),
  };
}

/** An admin connection to one database: `exec` runs a script (several statements), `query` one bound statement. */
export interface Admin {
  exec(sql: string): Promise<void>;
  query(sql: string, params?: unknown[]): Promise<Record<string, unknown>[]>;
  close(): Promise<void>;
}

export interface Fixture {
  dialect: Dialect;
  plugin: IntegrationPlugin;
  database: string;
  suffix: string;
  admin: Admin;
  /** Credentials for a login of this fixture's database (the admin's when no user is given). */
  credentials(user?: string, password?: string): Credentials;
  /** Opens an admin connection as another login, to prove what that login may do. */
  as(user: string, password: string): Promise<Admin>;
  cleanup(): Promise<void>;
}

function pgAdmin(url: URL, database: string, user?: string, password?: string): Admin {
  const sql = postgres({ host: url.hostname, port: Number(url.port || 5432), database, username: user ?? (decodeURIComponent(url.username) || "postgres"), password: password ?? decodeURIComponent(url.password), max: 1, onnotice: () => {} });
  return {
    exec: async (script) => void (await sql.unsafe(script)),
    query: async (statement, params = []) => [...(await sql.unsafe(statement, params as never[]))] as Record<string, unknown>[],
    close: () => sql.end({ timeout: 5 }),
  };
}

async function myAdmin(url: URL, database: string | undefined, user?: string, password?: string): Promise<Admin> {
  const conn = await mysql.createConnection({ host: url.hostname, port: Number(url.port || 3306), database, user: user ?? (decodeURIComponent(url.username) || "root"), password: password ?? decodeURIComponent(url.password), multipleStatements: true });
  return {
    exec: async (script) => void (await conn.query(script)),
    query: async (statement, params = []) => {
      const [rows] = await conn.query(statement, params);
      return (Array.isArray(rows) ? rows : [rows]) as Record<string, unknown>[];
    },
    close: () => conn.end(),
  };
}

export async function fixture(dialect: Dialect): Promise<Fixture> {
  const url = URLS[dialect];
  const suffix = `${Date.now().toString(36)}${randomBytes(3).toString("hex")}`;
  const database = `flowyte_sqlt_${suffix}`;
  const bootstrap = dialect === "postgres" ? pgAdmin(url, url.pathname.slice(1) || "test") : await myAdmin(url, undefined);
  await bootstrap.exec(`CREATE DATABASE ${database}`);
  await bootstrap.close();
  const admin = dialect === "postgres" ? pgAdmin(url, database) : await myAdmin(url, database);
  const others: Admin[] = [];
  const adminUser = decodeURIComponent(url.username) || (dialect === "postgres" ? "postgres" : "root");
  return {
    dialect,
    plugin: PLUGINS[dialect],
    database,
    suffix,
    admin,
    credentials: (user, password) => ({
      host: url.hostname,
      port: url.port || (dialect === "postgres" ? "5432" : "3306"),
      database,
      user: user ?? adminUser,
      password: password ?? decodeURIComponent(url.password),
      sslmode: "disable",
    }),
    async as(user, password) {
      const other = dialect === "postgres" ? pgAdmin(url, database, user, password) : await myAdmin(url, database, user, password);
      others.push(other);
      return other;
    },
    async cleanup() {
      for (const other of others) await other.close().catch(() => {});
      const roles = [`flowyte_ro_${suffix}`, `flowyte_rw_${suffix}`];
      if (dialect === "postgres") {
        for (const role of roles) await admin.exec(`DO $$ BEGIN IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '${role}') THEN EXECUTE 'DROP OWNED BY ${role}'; END IF; END $$`);
        await admin.close();
        const root = pgAdmin(url, url.pathname.slice(1) || "test");
        await root.exec(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
        for (const role of roles) await root.exec(`DROP ROLE IF EXISTS ${role}`);
        await root.close();
      } else {
        await admin.exec(`DROP DATABASE IF EXISTS ${database}`);
        for (const role of roles) await admin.exec(`DROP USER IF EXISTS '${role}'@'%'`);
        await admin.close();
      }
    },
  };
}

/** The tables every test works on: customers, appointments pointing at them, and requests. */
export async function createTables(f: Fixture): Promise<void> {
  if (f.dialect === "postgres") {
    await f.admin.exec(`
      CREATE TYPE appointment_status AS ENUM ('booked', 'cancelled', 'done');
      CREATE TABLE customers (id serial PRIMARY KEY, name text NOT NULL, email text UNIQUE, phone text NOT NULL, contact text, billing_ref text, password_hash text, created_at timestamptz NOT NULL DEFAULT now());
      CREATE INDEX customers_phone ON customers (phone);
      CREATE TABLE appointments (id serial PRIMARY KEY, customer_id int REFERENCES customers (id), phone text NOT NULL, starts_at timestamptz NOT NULL, day date, status appointment_status NOT NULL DEFAULT 'booked', notes text, photo bytea);
      CREATE INDEX appointments_phone ON appointments (phone);
      CREATE TABLE requests (id int GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, ref text NOT NULL UNIQUE, summary text NOT NULL, total bigint);
    `);
  } else {
    await f.admin.exec(`
      CREATE TABLE customers (id int AUTO_INCREMENT PRIMARY KEY, name varchar(100) NOT NULL, email varchar(200) UNIQUE, phone varchar(40) NOT NULL, contact varchar(200), billing_ref varchar(40), password_hash varchar(200), created_at timestamp NOT NULL DEFAULT CURRENT_TIMESTAMP, INDEX customers_phone (phone));
      CREATE TABLE appointments (id int AUTO_INCREMENT PRIMARY KEY, customer_id int, phone varchar(40) NOT NULL, starts_at datetime NOT NULL, day date, status enum('booked','cancelled','done') NOT NULL DEFAULT 'booked', notes text, photo blob,
        INDEX appointments_phone (phone), CONSTRAINT appointments_customer FOREIGN KEY (customer_id) REFERENCES customers (id));
      CREATE TABLE requests (id int AUTO_INCREMENT PRIMARY KEY, ref varchar(100) NOT NULL UNIQUE, summary text NOT NULL, total bigint);
    `);
  }
  await f.admin.exec(`
    INSERT INTO customers (name, email, phone, contact, billing_ref, password_hash) VALUES
      ('Ada Lovelace', 'ada@example.com', '+15550001', 'ada@example.org', '4111 1111 1111 1111', 'x'),
      ('Alan Turing', 'alan@example.com', '+15550002', 'alan@example.net', '5555555555554444', 'y');
    INSERT INTO appointments (customer_id, phone, starts_at, day, status, notes) VALUES
      (1, '+15550001', '2026-03-01 09:30:00', '2026-03-01', 'booked', 'first visit'),
      (1, '+15550001', '2026-03-08 10:00:00', '2026-03-08', 'done', NULL),
      (2, '+15550002', '2026-03-02 14:00:00', '2026-03-02', 'booked', NULL);
    INSERT INTO requests (ref, summary, total) VALUES ('R-1', 'call back', 9007199254740993);
  `);
}

export async function count(f: Fixture, table: string): Promise<number> {
  const [row] = await f.admin.query(`SELECT COUNT(*) AS n FROM ${table}`);
  return Number(row?.n);
}
