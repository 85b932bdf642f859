// Test harness: starts the real server on an ephemeral port and talks HTTP to it.
// Storage follows the environment: with DATABASE_URL, a fresh Postgres database per app (dropped at stop);
// otherwise a PGlite folder copied from a template migrated once per test process (opening is the slow part).
// Tests isolate themselves by organization: `newOrg()` gives a fresh tenant with an owner key.
import { cpSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { sql } from "drizzle-orm";
import postgres from "postgres";
import { loadConfig, type Config } from "../../src/config.ts";
import { insertApiKey } from "../../src/platform/auth/keys.ts";
import { createOrganization } from "../../src/platform/auth/organizations.ts";
import type { Scope } from "../../src/platform/auth/scopes.ts";
import { openDatabase } from "../../src/platform/db/index.ts";
import { createLogger, type Logger } from "../../src/platform/log.ts";
import { startServer, type RunningServer } from "../../src/server.ts";
import { OpenApiCheck } from "./openapi-check.ts";

export const storageKind = process.env.DATABASE_URL ? "postgres" : "pglite";
const quiet = createLogger((process.env.TEST_LOG_LEVEL as "error") ?? "error");

let template: string | null = null;
async function pgliteTemplate(): Promise<string> {
  if (template) return template;
  const dir = mkdtempSync(join(tmpdir(), "flowyte-template-"));
  const db = await openDatabase({ databaseUrl: null, dataDir: dir, log: quiet });
  await db.close();
  process.on("exit", () => rmSync(dir, { recursive: true, force: true }));
  return (template = dir);
}

export async function freshPostgres(baseUrl: string): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `flowyte_t_${randomBytes(6).toString("hex")}`;
  const admin = postgres(baseUrl, { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database ${name}`);
  await admin.end();
  const url = new URL(baseUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const a = postgres(baseUrl, { max: 1, onnotice: () => {} });
      await a.unsafe(`drop database if exists ${name} with (force)`);
      await a.end();
    },
  };
}

export interface ApiResult<T = any> {
  status: number;
  headers: Headers;
  body: T;
}

/** A request to a running server, with the harness's defaults (a JSON body, a bearer key). */
export async function callApi<T = any>(base: string, defaultKey: string, method: string, path: string, opts: { key?: string | null; body?: unknown; headers?: Record<string, string>; raw?: string } = {}): Promise<ApiResult<T>> {
  const headers: Record<string, string> = { ...opts.headers };
  const key = opts.key === undefined ? defaultKey : opts.key;
  if (key) headers.authorization = `Bearer ${key}`;
  let body: string | undefined = opts.raw;
  if (opts.body !== undefined) {
    body = JSON.stringify(opts.body);
    headers["content-type"] ??= "application/json";
  }
  const res = await fetch(base + path, { method, headers, body });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {}
  return { status: res.status, headers: res.headers, body: parsed as any };
}

/** The configuration every test server starts from; `env` overrides it. */
export function testConfig(dataDir: string, databaseUrl: string | undefined, adminKey: string, env: Record<string, string>, masterKey = randomBytes(32).toString("hex")): Config {
  return loadConfig({
    PORT: "0",
    HOST: "127.0.0.1",
    DATA_DIR: dataDir,
    DATABASE_URL: databaseUrl,
    FLOWYTE_ADMIN_KEY: adminKey,
    MASTER_KEY: masterKey,
    LOG_LEVEL: "error",
    RATE_LIMIT_PER_MINUTE: "0",
    // No test fetches models from the internet; the model tests point the hosts at a stand-in.
    MODELS_AUTO_DOWNLOAD: "false",
    ...env,
  });
}

export const newAdminKey = () => `flowyte_sk_live_${randomBytes(32).toString("base64url")}`;

export interface TestApp {
  url: string;
  config: Config;
  adminKey: string;
  server: RunningServer;
  /** A fresh organization and its owner key (every scope). */
  newOrg(name?: string): Promise<{ organizationId: string; key: string }>;
  /** A key in an organization holding only the given scopes. */
  keyWith(organizationId: string, scopes: Scope[]): Promise<string>;
  api<T = any>(method: string, path: string, opts?: { key?: string | null; body?: unknown; headers?: Record<string, string>; raw?: string }): Promise<ApiResult<T>>;
  /** Raw SQL against the app's storage, for assertions on what was stored. */
  query<T = Record<string, unknown>>(text: string): Promise<T[]>;
  /** Stop and start the server again on the same storage. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

/** `log`: where the server's log lines go (default: errors only, to stderr), for tests that check what is logged. */
export async function startTestApp(env: Record<string, string> = {}, { log = quiet, ...overrides }: Parameters<typeof startServer>[2] & { log?: Logger } = {}): Promise<TestApp> {
  const dataDir = mkdtempSync(join(tmpdir(), "flowyte-test-"));
  let pg: Awaited<ReturnType<typeof freshPostgres>> | null = null;
  if (process.env.DATABASE_URL) pg = await freshPostgres(process.env.DATABASE_URL);
  else cpSync(await pgliteTemplate(), dataDir, { recursive: true });

  const adminKey = newAdminKey();
  const config = testConfig(dataDir, pg?.url, adminKey, env);
  // Every answer is checked against the served OpenAPI document; a mismatch fails the test file at stop().
  const openapi = new OpenApiCheck();
  overrides = { ...overrides, wrap: openapi.wrap };
  let server = await startServer(config, log, overrides);
  let base = server.url;

  const app: TestApp = {
    get url() {
      return base;
    },
    config,
    adminKey,
    get server() {
      return server;
    },
    async newOrg(name = "Test org") {
      const { organization, key } = await createOrganization(server.database.db, name);
      return { organizationId: organization.id, key: key.secret };
    },
    async keyWith(organizationId, scopes) {
      const { secret } = await insertApiKey(server.database.db, { organizationId, name: "test key", scopes, createdBy: null });
      return secret;
    },
    api: (method, path, opts = {}) => callApi(base, adminKey, method, path, opts),
    async query<T>(text: string) {
      const result = (await server.database.db.execute(sql.raw(text))) as unknown as { rows?: T[] } | T[];
      return Array.isArray(result) ? result : (result.rows ?? []);
    },
    async restart() {
      await server.stop();
      server = await startServer({ ...config, port: 0 }, log, overrides);
      base = server.url;
    },
    async stop() {
      await server.stop();
      await pg?.drop();
      rmSync(dataDir, { recursive: true, force: true });
      if (openapi.violations.length) throw new Error(`answers that break the OpenAPI document:\n${openapi.violations.join("\n")}`);
    },
  };
  return app;
}
