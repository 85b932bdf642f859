// Publishable keys (flowyte_pk_live_…): public by design, so stored as they are and shown again on request.
// They resolve to a `visitor` principal holding only chat:public, pinned to one agent. After a rotation the
// previous value keeps working until its grace window closes; a revoked key stops at once.
import { randomBytes } from "node:crypto";
import { and, eq, gt, isNull, or } from "drizzle-orm";
import type { Database } from "../db/index.ts";
import { publishableKeys } from "../db/schema/index.ts";
import type { Principal } from "./principal.ts";

export const PUBLISHABLE_KEY_PREFIX = "flowyte_pk_";
export const ROTATION_GRACE_MS = 24 * 60 * 60 * 1000;

export function generatePublishableKey(env: "live" | "test"): string {
  return `${PUBLISHABLE_KEY_PREFIX}${env}_${randomBytes(24).toString("base64url")}`;
}

const TTL_MS = 30_000;
const MAX_ENTRIES = 10_000;

interface Entry {
  principal: Principal | null;
  keyId: string | null;
  expires: number;
}

export class PublishableKeyAuthenticator {
  private cache = new Map<string, Entry>();

  constructor(private database: Database) {
    database.changes.subscribe("publishable_key", (id) => {
      for (const [value, entry] of this.cache) if (entry.keyId === id) this.cache.delete(value);
    });
  }

  async authenticate(value: string, now = Date.now()): Promise<Principal | null> {
    const hit = this.cache.get(value);
    if (hit && hit.expires > now) return hit.principal;
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
    if (this.cache.size >= MAX_ENTRIES) this.cache.clear();
    // A previous value's grace window may close before the cache entry would expire.
    const expires = Math.min(now + TTL_MS, row && row.keyPublic !== value && row.previousKeyExpiresAt ? row.previousKeyExpiresAt.getTime() : Infinity);
    this.cache.set(value, { principal, keyId: row?.id ?? null, expires });
    return principal;
  }
}
