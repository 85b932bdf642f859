// Operator CLI: `bun run admin <command>`. Works on the configured storage (DATA_DIR or DATABASE_URL).
// With the embedded store the server must be stopped first (PGlite is single-process); with Postgres it can run.
import { parseArgs } from "node:util";
import { creditWallet, toCents, toUsd } from "./api/billing/wallet.ts";
import { type Config, ConfigError, loadConfig } from "./config.ts";
import { insertApiKey } from "./platform/auth/keys.ts";
import { createOrganization, listOrganizations } from "./platform/auth/organizations.ts";
import { isScope, SECRET_KEY_SCOPES, type Scope } from "./platform/auth/scopes.ts";
import { type Database, openDatabase } from "./platform/db/index.ts";
import { DirectoryLockedError } from "./platform/db/lock.ts";
import { createLogger } from "./platform/log.ts";

const USAGE = `usage:
  bun run admin org create --name <name>           create an organization and print its owner key
  bun run admin org list                           list organizations
  bun run admin key create --org <id> --name <name> [--scopes a,b,...]
                                                   mint a secret key (every scope unless --scopes)
  bun run admin wallet credit --org <id> --usd <amount> [--note <text>]
                                                   add prepaid credit to an organization's wallet`;

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
if (!["org create", "org list", "key create", "wallet credit"].includes(command)) fail(USAGE);

let config: Config;
try {
  config = loadConfig();
} catch (err) {
  fail(err instanceof ConfigError ? err.message : String(err));
}
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
