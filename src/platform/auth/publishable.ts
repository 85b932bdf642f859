// Publishable keys (flowyte_pk_live_…): public by design, so stored as they are and shown again on request.
// They resolve to a `visitor` principal holding only chat:public, pinned to one agent. After a rotation the
// previous value keeps working until its grace window closes; a revoked key stops at once (on another replica, at
// once when the announcement arrives, within CACHE_TTL_SECONDS if it is lost).
import { randomBytes } from "node:crypto";
import { and, eq, gt, isNull, or } from "drizzle-orm";
import { LRUCache } from "lru-cache";
import type { Database } from "../db/index.ts";
import { publishableKeys } from "../db/schema/index.ts";
import type { Principal } from "./principal.ts";

export const PUBLISHABLE_KEY_PREFIX = "flowyte_pk_";
export const ROTATION_GRACE_MS = 24 * 60 * 60 * 1000;

export function generatePublishableKey(env: "live" | "test"): string {
  return `${PUBLISHABLE_KEY_PREFIX}${env}_${randomBytes(24).toString("base64url")}`;
}

const DEFAULT_TTL_MS = 30_000;
const MAX_ENTRIES = 10_000;

interface Entry {
  principal: Principal | null;
  keyId: string | null;
}

export class PublishableKeyAuthenticator {
  private cache: LRUCache<string, Entry>;

  /** `ttlMs`: CACHE_TTL_SECONDS. */
  constructor(
    private database: Database,
    opts: { ttlMs?: number } = {},
  ) {
    this.cache = new LRUCache({ max: MAX_ENTRIES, ttl: opts.ttlMs ?? DEFAULT_TTL_MS, ttlResolution: 0 });
    database.changes.subscribe("publishable_key", {
      changed: (id) => {
        const stale = [...this.cache.entries()].filter(([, entry]) => entry.keyId === id);
        for (const [value] of stale) this.cache.delete(value);
      },
      flush: () => this.cache.clear(),
    });
  }

  async authenticate(value: string, now = Date.now()): Promise<Principal | null> {
    const hit = this.cache.get(value);
    if (hit) return hit.principal;
    const [row] = await this.database.db
      .select()
      .from(publishableKeys)
      .where(
        and(
          isNull(publishableKeys.revokedAt),
          or(eq(publishableKeys.keyPublic, value), and(eq(publishableKeys.previousKey, value), gt(publishableKeys.previousKeyExpiresAt, new Date(now)))),
        ),
      )
      .limit(1);
    const principal: Principal | null = row
      ? {
          organizationId: row.organizationId,
          actorType: "visitor",
          actorId: row.id,
          scopes: new Set(["chat:public"]),
          publishableKey: {
            id: row.id,
            agentId: row.agentId,
            allowedOrigins: row.allowedOrigins,
            rateLimitRpm: row.rateLimitRpm,
            requireIdentityVerification: row.requireIdentityVerification,
          },
        }
      : null;
    // A previous value's grace window may close before the cache entry would expire.
    const graceLeft = row && row.keyPublic !== value && row.previousKeyExpiresAt ? row.previousKeyExpiresAt.getTime() - now : Infinity;
    this.cache.set(value, { principal, keyId: row?.id ?? null }, { ttl: Math.max(1, Math.min(this.cache.ttl, graceLeft)) });
    return principal;
  }
}
