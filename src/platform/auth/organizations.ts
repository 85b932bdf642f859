// Organizations (tenants): the default one made on first start, more from the operator CLI, each with a first key.
import { asc, eq } from "drizzle-orm";
import { ADVISORY_LOCKS, inAdvisoryLock, type Db } from "../db/index.ts";
import { apiKeys, organizations } from "../db/schema/index.ts";
import { newId } from "../ids.ts";
import type { Logger } from "../log.ts";
import { describeSecret, insertApiKey } from "./keys.ts";
import { SECRET_KEY_SCOPES } from "./scopes.ts";

export type Organization = typeof organizations.$inferSelect;

export async function createOrganization(db: Db, name: string, opts: { isDefault?: boolean } = {}) {
  return db.transaction(async (tx) => {
    const [org] = await tx.insert(organizations).values({ id: newId("org"), name, isDefault: opts.isDefault ?? false }).returning();
    const key = await insertApiKey(tx as unknown as Db, {
      organizationId: org!.id,
      name: "Owner key",
      scopes: SECRET_KEY_SCOPES,
      createdBy: null,
    });
    return { organization: org!, key };
  });
}

export async function listOrganizations(db: Db) {
  return db.select().from(organizations).orderBy(asc(organizations.id));
}

/**
 * First start: make the default organization and print its owner key once. When FLOWYTE_ADMIN_KEY is set,
 * make sure a key with exactly that value and every scope exists (how compose, Helm and scripts bootstrap).
 * Replicas starting together on one Postgres take turns (an advisory lock for the transaction), so exactly one
 * makes the default organization and the admin key; the others find them. Storage allows a single default
 * organization in any case (a partial unique index).
 */
export async function bootstrapOrganizations(db: Db, adminKey: string | null, log: Logger) {
  const notes: (() => void)[] = [];
  const defaultOrg = await inAdvisoryLock(db, ADVISORY_LOCKS.bootstrap, async (tx) => {
    let [org] = await tx.select().from(organizations).where(eq(organizations.isDefault, true)).limit(1);
    if (!org) {
      const created = await createOrganization(tx, "Default organization", { isDefault: true });
      org = created.organization;
      if (!adminKey) notes.push(() => log.warn(`created the default organization. Its owner key, shown only this once:\n\n    ${created.key.secret}\n`));
      else notes.push(() => log.info("created the default organization"));
    }
    if (adminKey) notes.push(await ensureAdminKey(tx, org.id, adminKey, log));
    return org;
  });
  // Said once the transaction committed: a rolled-back organization's key would be no use to anyone.
  for (const note of notes) note();
  return defaultOrg;
}

async function ensureAdminKey(db: Db, organizationId: string, adminKey: string, log: Logger): Promise<() => void> {
  const scopes = [...SECRET_KEY_SCOPES].sort();
  const described = describeSecret(adminKey);
  const inserted = await db
    .insert(apiKeys)
    .values({ id: newId("key"), organizationId, name: "FLOWYTE_ADMIN_KEY", scopes, createdBy: null, ...described })
    .onConflictDoNothing({ target: apiKeys.secretHash })
    .returning({ id: apiKeys.id });
  if (inserted.length) return () => log.info("FLOWYTE_ADMIN_KEY registered as a secret key with every scope");
  const [existing] = await db.select().from(apiKeys).where(eq(apiKeys.secretHash, described.secretHash)).limit(1);
  if (!existing!.revokedAt && sameScopes(existing!.scopes, scopes)) return () => {};
  // The operator asked for this exact key to work with every scope: restore it.
  await db.update(apiKeys).set({ revokedAt: null, scopes }).where(eq(apiKeys.id, existing!.id));
  return () => log.warn("FLOWYTE_ADMIN_KEY was revoked or its scopes changed; restored it with every scope");
}

/** The same set of scopes, held once each (order does not matter). */
const sameScopes = (held: string[], wanted: string[]) => held.length === wanted.length && new Set(held).size === held.length && wanted.every((s) => held.includes(s));
