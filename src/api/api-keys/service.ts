// Secret API keys of an organization: create (secret shown once), list and get (never the secret), revoke, rotate.
import { and, desc, eq, lt, sql, type SQL } from "drizzle-orm";
import { describeSecret, generateSecretKey, insertApiKey, type ApiKeyRow } from "../../platform/auth/keys.ts";
import type { Principal } from "../../platform/auth/principal.ts";
import type { Scope } from "../../platform/auth/scopes.ts";
import type { Database } from "../../platform/db/index.ts";
import { apiKeys } from "../../platform/db/schema/index.ts";
import { decodeCursor, page } from "../../platform/http/pagination.ts";
import { notFound, Problem } from "../../platform/http/problem.ts";

const iso = (d: Date | null) => d?.toISOString() ?? null;

export function toApiKeyDto(row: ApiKeyRow) {
  return {
    id: row.id,
    name: row.name,
    prefix: row.prefix,
    last4: row.last4,
    scopes: row.scopes,
    status: row.revokedAt ? ("revoked" as const) : ("active" as const),
    createdBy: row.createdBy,
    createdAt: row.createdAt.toISOString(),
    lastUsedAt: iso(row.lastUsedAt),
    rotatedAt: iso(row.rotatedAt),
    revokedAt: iso(row.revokedAt),
  };
}

/**
 * A key may only act on keys holding no scope it lacks itself: rotating a stronger key would hand the caller a
 * secret with more scopes, and revoking one would let a narrow key lock out the keys that administer it.
 */
function refuseStrongerKey(principal: Principal, target: ApiKeyRow, action: "rotate" | "revoke") {
  const beyond = target.scopes.filter((s) => !principal.scopes.has(s as Scope));
  if (!beyond.length) return;
  throw new Problem(403, "scope_escalation", `a key cannot ${action} a key holding scopes it does not hold itself: ${beyond.join(", ")}`, {
    errors: beyond.map((s) => ({ field: "scopes", message: `${s} is not held by the calling key` })),
  });
}

export class ApiKeysService {
  constructor(private database: Database) {}

  /** A key grants only scopes it holds itself. The route checks this before an Idempotency-Key replay, too. */
  authorizeCreate(principal: Principal, input: { scopes: Scope[] }) {
    const beyond = input.scopes.filter((s) => !principal.scopes.has(s));
    if (beyond.length) {
      throw new Problem(403, "scope_escalation", `a key cannot grant scopes it does not hold itself: ${beyond.join(", ")}`, {
        errors: beyond.map((s) => ({ field: "scopes", message: `${s} is not held by the calling key` })),
      });
    }
  }

  /** A key rotates only keys holding no scope it lacks. The route checks this before an Idempotency-Key replay, too. */
  async authorizeRotate(principal: Principal, id: string) {
    refuseStrongerKey(principal, await this.find(principal.organizationId, id), "rotate");
  }

  async create(principal: Principal, input: { name: string; scopes: Scope[] }) {
    this.authorizeCreate(principal, input);
    const { row, secret } = await insertApiKey(this.database.db, { organizationId: principal.organizationId, name: input.name.trim(), scopes: input.scopes, createdBy: principal.actorId });
    return { secret, ...toApiKeyDto(row) };
  }

  async list(organizationId: string, q: { cursor?: string; limit: number }) {
    const after = decodeCursor(q.cursor);
    const where: SQL[] = [eq(apiKeys.organizationId, organizationId)];
    if (after) where.push(lt(apiKeys.id, after));
    const rows = await this.database.db.select().from(apiKeys).where(and(...where)).orderBy(desc(apiKeys.id)).limit(q.limit + 1);
    return page(rows, q.limit, (r) => r.id, toApiKeyDto);
  }

  async get(organizationId: string, id: string) {
    return toApiKeyDto(await this.find(organizationId, id));
  }

  /** Revoking is immediate and final; revoking again answers the same revoked key. */
  async revoke(principal: Principal, id: string) {
    const { organizationId } = principal;
    refuseStrongerKey(principal, await this.find(organizationId, id), "revoke");
    const [row] = await this.database.db
      .update(apiKeys)
      .set({ revokedAt: sql`coalesce(${apiKeys.revokedAt}, now())` })
      .where(and(eq(apiKeys.id, id), eq(apiKeys.organizationId, organizationId)))
      .returning();
    this.database.changes.announce("api_key", id);
    return toApiKeyDto(row!);
  }

  /** A new secret for the same key (id, name, scopes); the old secret stops working at once. */
  async rotate(principal: Principal, id: string) {
    const { organizationId } = principal;
    const current = await this.find(organizationId, id);
    refuseStrongerKey(principal, current, "rotate");
    if (current.revokedAt) throw new Problem(409, "key_revoked", "a revoked key cannot be rotated; create a new one");
    const secret = generateSecretKey();
    const [row] = await this.database.db
      .update(apiKeys)
      .set({ ...describeSecret(secret), rotatedAt: sql`now()` })
      .where(and(eq(apiKeys.id, id), eq(apiKeys.organizationId, organizationId)))
      .returning();
    this.database.changes.announce("api_key", id);
    return { secret, ...toApiKeyDto(row!) };
  }

  private async find(organizationId: string, id: string) {
    const [row] = await this.database.db.select().from(apiKeys).where(and(eq(apiKeys.id, id), eq(apiKeys.organizationId, organizationId))).limit(1);
    if (!row) throw notFound("api key", id);
    return row;
  }
}
