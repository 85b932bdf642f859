// Secret API keys: `flowyte_sk_live_` + 32 random bytes (base64url). Only the SHA-256 is stored; the value is
// shown once. Lookups are cached in-process and dropped on revoke/rotate (announced to other replicas too); the
// cache's TTL bounds how long a revoke whose announcement was lost goes unseen on another replica.
import { randomBytes } from "node:crypto";
import { eq, sql } from "drizzle-orm";
import { LRUCache } from "lru-cache";
import { sha256Hex } from "../crypto.ts";
import type { Database, Db } from "../db/index.ts";
import { apiKeys } from "../db/schema/index.ts";
import { newId } from "../ids.ts";
import type { Principal } from "./principal.ts";
import { isScope, type Scope } from "./scopes.ts";

export const SECRET_KEY_PREFIX = "flowyte_sk_live_";

export function generateSecretKey(): string {
  return SECRET_KEY_PREFIX + randomBytes(32).toString("base64url");
}

export const describeSecret = (secret: string) => ({
  secretHash: sha256Hex(secret),
  prefix: secret.slice(0, SECRET_KEY_PREFIX.length + 4),
  last4: secret.slice(-4),
});

export type ApiKeyRow = typeof apiKeys.$inferSelect;

export async function insertApiKey(
  db: Db,
  input: { organizationId: string; name: string; scopes: Scope[]; createdBy: string | null; secret?: string },
): Promise<{ row: ApiKeyRow; secret: string }> {
  const secret = input.secret ?? generateSecretKey();
  const [row] = await db
    .insert(apiKeys)
    .values({
      id: newId("key"),
      organizationId: input.organizationId,
      name: input.name,
      scopes: [...new Set(input.scopes)].sort(),
      createdBy: input.createdBy,
      ...describeSecret(secret),
    })
    .returning();
  return { row: row!, secret };
}

const DEFAULT_TTL_MS = 30_000;
/** An unknown secret is looked up again this soon: a key just created on another replica works within it. */
const NEGATIVE_TTL_MS = 5_000;
const MAX_ENTRIES = 10_000;
const TOUCH_EVERY_MS = 60_000;

interface Entry {
  principal: Principal | null;
  keyId: string | null;
}

/** Resolves a bearer secret to a principal, with an in-process cache. */
export class SecretKeyAuthenticator {
  private cache: LRUCache<string, Entry>;
  /** When each key's lastUsedAt was last written: one entry per key in use, so bounded by the keys that exist. */
  private touched = new Map<string, number>();

  /** `ttlMs`: CACHE_TTL_SECONDS. */
  constructor(
    private database: Database,
    opts: { ttlMs?: number } = {},
  ) {
    const ttl = opts.ttlMs ?? DEFAULT_TTL_MS;
    this.cache = new LRUCache({ max: MAX_ENTRIES, ttl, ttlResolution: 0 });
    database.changes.subscribe("api_key", {
      changed: (id) => {
        const stale = [...this.cache.entries()].filter(([, entry]) => entry.keyId === id);
        for (const [hash] of stale) this.cache.delete(hash);
      },
      flush: () => this.cache.clear(),
    });
  }

  async authenticate(secret: string, now = Date.now()): Promise<Principal | null> {
    const hash = sha256Hex(secret);
    const hit = this.cache.get(hash);
    if (hit) {
      if (hit.keyId) this.touch(hit.keyId, now);
      return hit.principal;
    }
    const [row] = await this.database.db.select().from(apiKeys).where(eq(apiKeys.secretHash, hash)).limit(1);
    const principal: Principal | null =
      row && !row.revokedAt
        ? { organizationId: row.organizationId, actorType: "apiKey", actorId: row.id, scopes: new Set(row.scopes.filter(isScope)) }
        : null;
    this.cache.set(hash, { principal, keyId: row?.id ?? null }, principal ? {} : { ttl: Math.min(NEGATIVE_TTL_MS, this.cache.ttl) });
    if (principal) this.touch(principal.actorId, now);
    return principal;
  }

  /** Record `lastUsedAt`, at most once a minute per key and off the request path. */
  private touch(keyId: string, now: number) {
    const last = this.touched.get(keyId) ?? 0;
    if (now - last < TOUCH_EVERY_MS) return;
    this.touched.set(keyId, now);
    this.database.db
      .update(apiKeys)
      .set({ lastUsedAt: sql`now()` })
      .where(eq(apiKeys.id, keyId))
      .catch(() => {});
  }
}
