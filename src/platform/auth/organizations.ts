// Organizations (tenants): the default one made on first start, more from the operator CLI, each with a first key.
import { asc, eq } from "drizzle-orm";
import type { Db } from "../db/index.ts";
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
 */
export async function bootstrapOrganizations(db: Db, adminKey: string | null, log: Logger) {
  let [defaultOrg] = await db.select().from(organizations).where(eq(organizations.isDefault, true)).limit(1);
  if (!defaultOrg) {
    const created = await createOrganization(db, "Default organization", { isDefault: true });
    defaultOrg = created.organization;
    if (!adminKey) {
      log.warn(`created the default organization. Its owner key, shown only this once:\n\n    ${created.key.secret}\n`);
    } else {
      log.info("created the default organization");
    }
  }
  if (adminKey) {
    const described = describeSecret(adminKey);
    const [existing] = await db.select().from(apiKeys).where(eq(apiKeys.secretHash, described.secretHash)).limit(1);
    if (!existing) {
      await insertApiKey(db, { organizationId: defaultOrg.id, name: "FLOWYTE_ADMIN_KEY", scopes: SECRET_KEY_SCOPES, createdBy: null, secret: adminKey });
      log.info("FLOWYTE_ADMIN_KEY registered as a secret key with every scope");
    } else if (existing.revokedAt || existing.scopes.length !== SECRET_KEY_SCOPES.length) {
      // The operator asked for this exact key to work with every scope: restore it.
      await db.update(apiKeys).set({ revokedAt: null, scopes: SECRET_KEY_SCOPES }).where(eq(apiKeys.id, existing.id));
      log.warn("FLOWYTE_ADMIN_KEY was revoked or narrowed; restored it with every scope");
    }
  }
  return defaultOrg;
}
