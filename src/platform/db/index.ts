// Storage: Postgres through postgres-js when DATABASE_URL is set, otherwise PGlite in DATA_DIR.
// Both speak the same Drizzle schema and migrations; migrations run at open, in one transaction.
import { PGlite } from "@electric-sql/pglite";
import { sql } from "drizzle-orm";
import type { PgDatabase, PgQueryResultHKT } from "drizzle-orm/pg-core";
import { drizzle as drizzlePglite } from "drizzle-orm/pglite";
import { migrate as migratePglite } from "drizzle-orm/pglite/migrator";
import { drizzle as drizzlePostgres } from "drizzle-orm/postgres-js";
import { migrate as migratePostgres } from "drizzle-orm/postgres-js/migrator";
import { mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import postgres from "postgres";
import type { Logger } from "../log.ts";
import { acquireDirectoryLock } from "./lock.ts";
import { createPrivateDir, makeTreePrivate } from "./private-dir.ts";
import { createChangeFeed, type ChangeFeed } from "./changes.ts";
import * as schema from "./schema/index.ts";

export type Db = PgDatabase<PgQueryResultHKT, typeof schema>;
export { schema };

export interface Database {
  db: Db;
  kind: "pglite" | "postgres";
  /** Cache invalidation across processes (LISTEN/NOTIFY on Postgres, in-process on PGlite). */
  changes: ChangeFeed;
  /**
   * Calls `onNotify` for each NOTIFY on `channel` (notifications are sent at commit, only if it commits). On Postgres
   * it is also called each time the listening connection (re)connects: notifications sent while it was down are lost.
   */
  listen(channel: string, onNotify: () => void): Promise<{ stop(): Promise<void> }>;
  /** The embedded client, for libraries that take one (pg-boss's PGlite adapter). */
  pglite: PGlite | null;
  /** Storage answers and every migration this build ships is applied. */
  ready(): Promise<boolean>;
  close(): Promise<void>;
}

const MIGRATIONS_FOLDER = join(import.meta.dir, "migrations");

/** Where the embedded database lives in DATA_DIR. */
export const embeddedStoreDir = (dataDir: string) => join(dataDir, "pglite");

// Postgres's default 128 MB buffer pool lives in the WASM heap, which never shrinks; an appliance's
// embedded database is small, and 32 MB cuts the server's resident memory by about a third.
export const PGLITE_OPTIONS = { postgresqlconf: ["shared_buffers = 32MB"] };

/** Postgres advisory-lock keys for the work replicas starting together must do one at a time. */
export const ADVISORY_LOCKS = {
  migrations: 7_231_001,
  bootstrap: 7_231_002,
} as const;

/**
 * Runs `fn` in a transaction holding the advisory lock `key` (released at commit or rollback), so replicas sharing
 * one Postgres take turns. On PGlite (one process) the lock is taken all the same and never waits.
 */
export async function inAdvisoryLock<T>(db: Db, key: number, fn: (tx: Db) => Promise<T>): Promise<T> {
  return db.transaction(async (tx) => {
    await tx.execute(sql`select pg_advisory_xact_lock(${key})`);
    return fn(tx as unknown as Db);
  });
}

export interface OpenOptions {
  databaseUrl: string | null;
  dataDir: string;
  log: Logger;
}

export async function openDatabase(opts: OpenOptions): Promise<Database> {
  return opts.databaseUrl ? openPostgres(opts.databaseUrl, opts.log) : openPglite(opts.dataDir, opts.log);
}

async function openPglite(dataDir: string, log: Logger): Promise<Database> {
  const dir = embeddedStoreDir(dataDir);
  createPrivateDir(dataDir);
  mkdirSync(dir, { recursive: true });
  // PGlite is single-process: a second process opening the same folder would corrupt it.
  const lock = acquireDirectoryLock(dir);
  let client: PGlite;
  try {
    client = await PGlite.create(dir, PGLITE_OPTIONS);
    const refused = makeTreePrivate(dataDir);
    if (refused.length) log.warn(`${refused.length} files in ${dataDir} are readable by other users and not ours to change, e.g. ${refused[0]}`);
    const db = drizzlePglite(client, { schema }) as unknown as Db;
    await migratePglite(db as never, { migrationsFolder: MIGRATIONS_FOLDER });
    log.debug("embedded database ready", { dir });
    return {
      db,
      kind: "pglite",
      changes: createChangeFeed(null, log),
      async listen(channel, onNotify) {
        const unlisten = await client.listen(channel, onNotify);
        return { stop: () => unlisten().catch(() => {}) };
      },
      pglite: client,
      ready: () => migrationsApplied(db),
      async close() {
        await client.close();
        lock.release();
      },
    };
  } catch (err) {
    lock.release();
    throw err;
  }
}

async function openPostgres(url: string, log: Logger): Promise<Database> {
  await migrateWithLock(url);
  const client = postgres(url, { max: 10, onnotice: () => {} });
  const db = drizzlePostgres(client, { schema }) as unknown as Db;
  const changes = createChangeFeed(client, log);
  await changes.start();
  log.debug("postgres ready");
  return {
    db,
    kind: "postgres",
    changes,
    async listen(channel, onNotify) {
      const listener = await client.listen(channel, onNotify, onNotify);
      return { stop: () => listener.unlisten().catch(() => {}) };
    },
    pglite: null,
    ready: () => migrationsApplied(db),
    async close() {
      await changes.stop();
      await client.end({ timeout: 5 });
    },
  };
}

async function migrateWithLock(url: string) {
  const client = postgres(url, { max: 1, onnotice: () => {} });
  try {
    // A session lock: the migrator runs its own transaction on this one connection.
    await client`select pg_advisory_lock(${ADVISORY_LOCKS.migrations})`;
    await migratePostgres(drizzlePostgres(client), { migrationsFolder: MIGRATIONS_FOLDER });
    await client`select pg_advisory_unlock(${ADVISORY_LOCKS.migrations})`;
  } finally {
    await client.end({ timeout: 5 });
  }
}

const expectedMigrations: number = JSON.parse(readFileSync(join(MIGRATIONS_FOLDER, "meta", "_journal.json"), "utf8")).entries.length;

async function migrationsApplied(db: Db): Promise<boolean> {
  try {
    const rows = (await db.execute(sql`select count(*)::int as n from drizzle.__drizzle_migrations`)) as unknown;
    const list = Array.isArray(rows) ? rows : (rows as { rows: unknown[] }).rows;
    return Number((list[0] as { n: number }).n) >= expectedMigrations;
  } catch {
    return false;
  }
}
