// Backup and restore of the embedded store (PGlite) as one file: PGlite's own dump of its data folder (a gzipped
// tarball of PGDATA), taken and loaded with the folder locked, so never while a server has it open. Postgres
// installs use pg_dump / pg_restore instead (docs/operator-guide.md, "Backup and restore").
import { PGlite } from "@electric-sql/pglite";
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { embeddedStoreDir, PGLITE_OPTIONS } from "./index.ts";
import { acquireDirectoryLock } from "./lock.ts";
import { createPrivateDir, makeTreePrivate } from "./private-dir.ts";

/** A backup or restore refused before anything was changed; the message says what to do. */
export class BackupRefusedError extends Error {}

const LOCK_FILE = "flowyte.lock";

/**
 * Writes the embedded database in `dataDir` to `file` (which must not exist). It is opened as is: no migration runs,
 * so a backup taken with a newer release installed is still the database the older one left.
 */
export async function backupEmbeddedStore(dataDir: string, file: string): Promise<{ bytes: number }> {
  const dir = embeddedStoreDir(dataDir);
  if (!existsSync(join(dir, "PG_VERSION"))) throw new BackupRefusedError(`there is no embedded database in ${dir} to back up`);
  if (existsSync(file)) throw new BackupRefusedError(`${file} already exists; name a new file`);
  const lock = acquireDirectoryLock(dir);
  try {
    const client = await PGlite.create(dir, PGLITE_OPTIONS);
    let dump: Blob;
    try {
      // Flushes what the write-ahead log holds into the tables, so a restore starts without replaying it.
      await client.exec("checkpoint");
      dump = await client.dumpDataDir("gzip");
    } finally {
      await client.close();
    }
    // Written beside and renamed into place, so a backup cut short never carries the final name.
    const partial = `${file}.partial`;
    try {
      writeFileSync(partial, new Uint8Array(await dump.arrayBuffer()), { flag: "w", mode: 0o600 });
      renameSync(partial, file);
    } catch (err) {
      rmSync(partial, { force: true });
      throw err;
    }
    return { bytes: dump.size };
  } finally {
    lock.release();
  }
}

/**
 * Loads a backup made by backupEmbeddedStore into `dataDir`, which must hold no embedded database yet. The server
 * migrates it at its next start if the backup came from an older release. Answers how many migrations it carries.
 */
export async function restoreEmbeddedStore(dataDir: string, file: string): Promise<{ migrations: number }> {
  if (!existsSync(file)) throw new BackupRefusedError(`${file} does not exist`);
  const dump = new Blob([readFileSync(file)]);
  const dir = embeddedStoreDir(dataDir);
  createPrivateDir(dataDir);
  mkdirSync(dir, { recursive: true });
  const lock = acquireDirectoryLock(dir);
  try {
    if (existsSync(join(dir, "PG_VERSION"))) {
      throw new BackupRefusedError(`${dir} already holds a database; move it aside first (e.g. mv ${dir} ${dir}.before-restore) and run the restore again`);
    }
    try {
      const client = await PGlite.create(dir, { ...PGLITE_OPTIONS, loadDataDir: dump });
      try {
        const rows = await client.query<{ n: number }>("select count(*)::int as n from drizzle.__drizzle_migrations");
        return { migrations: rows.rows[0]!.n };
      } finally {
        await client.close();
      }
    } catch (err) {
      // A file that is not such a backup leaves part of a folder behind: take it away so a server does not start on it.
      for (const entry of readdirSync(dir)) if (entry !== LOCK_FILE) rmSync(join(dir, entry), { recursive: true, force: true });
      throw new BackupRefusedError(`${file} is not a backup of the embedded store (${(err as Error).message})`);
    } finally {
      makeTreePrivate(dataDir);
    }
  } finally {
    lock.release();
  }
}
