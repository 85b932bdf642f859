// Operator CLI: `bun run admin <command>`. Works on the configured storage (DATA_DIR or DATABASE_URL).
// With the embedded store the server must be stopped first (PGlite is single-process); with Postgres it can run.
// `backup` and `restore` are the embedded store's: Postgres has pg_dump and pg_restore.
import { existsSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { creditWallet, toCents, toUsd } from "./api/billing/wallet.ts";
import { type Config, ConfigError, loadConfig } from "./config.ts";
import { insertApiKey } from "./platform/auth/keys.ts";
import { createOrganization, listOrganizations } from "./platform/auth/organizations.ts";
import { isScope, SECRET_KEY_SCOPES, type Scope } from "./platform/auth/scopes.ts";
import { BackupRefusedError, backupEmbeddedStore, restoreEmbeddedStore } from "./platform/db/backup.ts";
import { type Database, openDatabase } from "./platform/db/index.ts";
import { DirectoryLockedError } from "./platform/db/lock.ts";
import { createLogger } from "./platform/log.ts";

const USAGE = `usage:
  bun run admin org create --name <name>           create an organization and print its owner key
  bun run admin org list                           list organizations
  bun run admin key create --org <id> --name <name> [--scopes a,b,...]
                                                   mint a secret key (every scope unless --scopes)
  bun run admin wallet credit --org <id> --usd <amount> [--note <text>]
                                                   add prepaid credit to an organization's wallet
  bun run admin backup <file>                      write the embedded database to a new file (server stopped)
  bun run admin restore <file>                     load such a file into a DATA_DIR without a database (server stopped)`;

const fail = (message: string): never => {
  console.error(message);
  process.exit(2);
};

const { values, positionals } = parseArgs({
  args: process.argv.slice(2),
  options: { name: { type: "string" }, org: { type: "string" }, scopes: { type: "string" }, usd: { type: "string" }, note: { type: "string" } },
  allowPositionals: true,
});
const command = positionals.join(" ");
const [verb, file] = positionals;
const copying = (verb === "backup" || verb === "restore") && positionals.length === 2;
if (!copying && !["org create", "org list", "key create", "wallet credit"].includes(command)) fail(USAGE);

let config: Config;
try {
  config = loadConfig();
} catch (err) {
  fail(err instanceof ConfigError ? err.message : String(err));
}
if (copying) await copyStore(verb as "backup" | "restore", file!);
const log = createLogger("warn");
let database: Database;
try {
  database = await openDatabase({ databaseUrl: config!.databaseUrl, dataDir: config!.dataDir, log });
} catch (err) {
  fail(err instanceof DirectoryLockedError ? err.message : `could not open storage: ${(err as Error).message}`);
}
const db = database!.db;

try {
  if (command === "org create") {
    const name = values.name?.trim() || fail("--name is required");
    const { organization, key } = await createOrganization(db, name);
    console.log(`organization ${organization.id} "${organization.name}"`);
    console.log(`owner key (shown once): ${key.secret}`);
  } else if (command === "org list") {
    for (const org of await listOrganizations(db)) console.log(`${org.id}\t${org.name}${org.isDefault ? "\t(default)" : ""}`);
  } else if (command === "wallet credit") {
    const organizationId = values.org ?? fail("--org is required");
    const usd = Number(values.usd ?? fail("--usd is required"));
    if (!/^\d+(\.\d{1,2})?$/.test(values.usd!) || usd <= 0 || usd > 1_000_000) fail("--usd must be an amount in dollars between 0.01 and 1000000, e.g. 25 or 12.50");
    const orgs = await listOrganizations(db);
    if (!orgs.some((o) => o.id === organizationId)) fail(`no organization ${organizationId} (see: bun run admin org list)`);
    const balance = await creditWallet(db, organizationId, toCents(usd), { kind: "credit", metadata: { source: "admin", ...(values.note ? { note: values.note } : {}) } });
    console.log(`credited $${usd.toFixed(2)} to ${organizationId}; balance $${toUsd(balance).toFixed(2)}`);
  } else {
    const organizationId = values.org ?? fail("--org is required");
    const name = values.name?.trim() || fail("--name is required");
    const requested = values.scopes ? values.scopes.split(",").map((s) => s.trim()).filter(Boolean) : SECRET_KEY_SCOPES;
    const unknown = requested.filter((s) => !isScope(s) || s === "chat:public");
    if (unknown.length) fail(`unknown scopes: ${unknown.join(", ")}`);
    const orgs = await listOrganizations(db);
    if (!orgs.some((o) => o.id === organizationId)) fail(`no organization ${organizationId} (see: bun run admin org list)`);
    const { row, secret } = await insertApiKey(db, { organizationId, name, scopes: requested as Scope[], createdBy: null });
    console.log(`key ${row.id} with ${row.scopes.length} scopes (shown once): ${secret}`);
  }
} finally {
  await database!.close();
}

async function copyStore(verb: "backup" | "restore", file: string): Promise<never> {
  if (config.databaseUrl) fail(`${verb} copies the embedded store; with DATABASE_URL use pg_dump --format=custom and pg_restore (docs/operator-guide.md, "Backup and restore")`);
  try {
    if (verb === "backup") {
      const { bytes } = await backupEmbeddedStore(config.dataDir, file);
      console.log(`wrote ${file} (${(bytes / 1e6).toFixed(1)} MB)`);
      const keyFile = join(config.dataDir, "master.key");
      if (config.masterKey) console.log("the secrets in it are sealed with MASTER_KEY: a restore needs that key too");
      else if (existsSync(keyFile)) console.log(`keep ${keyFile} with it: the secrets in the backup are sealed with that key`);
    } else {
      const { migrations } = await restoreEmbeddedStore(config.dataDir, file);
      console.log(`restored ${file} into ${config.dataDir} (${migrations} migrations applied; a newer server applies the rest at start)`);
      console.log("start the server with the master key the backup was made under (MASTER_KEY, or master.key copied into DATA_DIR)");
    }
  } catch (err) {
    fail(err instanceof BackupRefusedError || err instanceof DirectoryLockedError ? err.message : `${verb} failed: ${(err as Error).message}`);
  }
  process.exit(0);
}
