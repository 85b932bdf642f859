// Publishable keys of an agent: create, list, update, rotate (with a grace window for the old value), revoke.
// Every change is announced so the key authenticator's cache, in this process and on other replicas, drops it.
import { and, asc, desc, eq, isNull, lt, type SQL } from "drizzle-orm";
import { generatePublishableKey, ROTATION_GRACE_MS } from "../../platform/auth/publishable.ts";
import type { Database } from "../../platform/db/index.ts";
import { publishableKeys } from "../../platform/db/schema/index.ts";
import { decodeCursor, page } from "../../platform/http/pagination.ts";
import { notFound, Problem } from "../../platform/http/problem.ts";
import { newId } from "../../platform/ids.ts";
import type { AgentsService } from "../agents/service.ts";
import { DEFAULT_RATE_LIMIT_RPM, type PublishableKeyCreateInput, type PublishableKeyDto, type PublishableKeyPatchInput } from "./model.ts";
import { normalizeOrigins } from "./origins.ts";

type KeyRow = typeof publishableKeys.$inferSelect;

export function toPublishableKeyDto(row: KeyRow): PublishableKeyDto {
  return {
    id: row.id,
    agentId: row.agentId,
    organizationId: row.organizationId,
    name: row.name,
    keyPublic: row.keyPublic,
    env: row.env === "test" ? "test" : "live",
    allowedOrigins: row.allowedOrigins,
    rateLimitRpm: row.rateLimitRpm,
    requireIdentityVerification: row.requireIdentityVerification,
    status: row.revokedAt ? "revoked" : "active",
    previousKeyExpiresAt: row.previousKeyExpiresAt?.toISOString() ?? null,
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
    revokedAt: row.revokedAt?.toISOString() ?? null,
  };
}

export class PublishableKeysService {
  constructor(
    private database: Database,
    private agents: AgentsService,
    private clock: () => number = Date.now,
  ) {}

  private get db() {
    return this.database.db;
  }

  async list(organizationId: string, agentId: string, q: { cursor?: string; limit: number }) {
    await this.agents.get(organizationId, agentId);
    const after = decodeCursor(q.cursor);
    const where: SQL[] = [eq(publishableKeys.organizationId, organizationId), eq(publishableKeys.agentId, agentId)];
    if (after) where.push(lt(publishableKeys.id, after));
    const rows = await this.db
      .select()
      .from(publishableKeys)
      .where(and(...where))
      .orderBy(desc(publishableKeys.id))
      .limit(q.limit + 1);
    return page(rows, q.limit, (r) => r.id, toPublishableKeyDto);
  }

  async create(organizationId: string, agentId: string, input: PublishableKeyCreateInput): Promise<PublishableKeyDto> {
    await this.agents.get(organizationId, agentId);
    const env = input.env ?? "live";
    const [row] = await this.db
      .insert(publishableKeys)
      .values({
        id: newId("pk"),
        organizationId,
        agentId,
        name: input.name.trim(),
        keyPublic: generatePublishableKey(env),
        env,
        allowedOrigins: normalizeOrigins(input.allowedOrigins),
        rateLimitRpm: input.rateLimitRpm ?? DEFAULT_RATE_LIMIT_RPM,
        requireIdentityVerification: input.requireIdentityVerification ?? false,
      })
      .returning();
    return toPublishableKeyDto(row!);
  }

  async get(organizationId: string, agentId: string, id: string): Promise<PublishableKeyDto> {
    return toPublishableKeyDto(await this.find(organizationId, agentId, id));
  }

  /** The key the embed snippet shows when none is named: the oldest active one. 404 for an agent not in the organization. */
  async firstActive(organizationId: string, agentId: string): Promise<PublishableKeyDto | null> {
    await this.agents.get(organizationId, agentId);
    const [row] = await this.db
      .select()
      .from(publishableKeys)
      .where(and(eq(publishableKeys.organizationId, organizationId), eq(publishableKeys.agentId, agentId), isNull(publishableKeys.revokedAt)))
      .orderBy(asc(publishableKeys.id))
      .limit(1);
    return row ? toPublishableKeyDto(row) : null;
  }

  async update(organizationId: string, agentId: string, id: string, patch: PublishableKeyPatchInput): Promise<PublishableKeyDto> {
    const current = await this.findActive(organizationId, agentId, id);
    return this.save(current, {
      name: patch.name?.trim(),
      allowedOrigins: patch.allowedOrigins && normalizeOrigins(patch.allowedOrigins),
      rateLimitRpm: patch.rateLimitRpm,
      requireIdentityVerification: patch.requireIdentityVerification,
    });
  }

  /**
   * A new value for the same key (same id, agent, origins). The old value becomes `previousKey` and keeps working
   * for ROTATION_GRACE_MS, so sites can swap their snippet without downtime; a second rotation ends that grace early.
   */
  async rotate(organizationId: string, agentId: string, id: string): Promise<PublishableKeyDto> {
    const current = await this.findActive(organizationId, agentId, id);
    return this.save(current, {
      keyPublic: generatePublishableKey(current.env === "test" ? "test" : "live"),
      previousKey: current.keyPublic,
      previousKeyExpiresAt: new Date(this.clock() + ROTATION_GRACE_MS),
    });
  }

  /** Immediate and final: neither the value nor a previous one in its grace window works again. */
  async revoke(organizationId: string, agentId: string, id: string): Promise<PublishableKeyDto> {
    const current = await this.find(organizationId, agentId, id);
    return this.save(current, { revokedAt: current.revokedAt ?? new Date(this.clock()) });
  }

  private async save(current: KeyRow, changes: Partial<typeof publishableKeys.$inferInsert>): Promise<PublishableKeyDto> {
    const [row] = await this.db
      .update(publishableKeys)
      .set({ ...changes, updatedAt: new Date(this.clock()) })
      .where(eq(publishableKeys.id, current.id))
      .returning();
    this.database.changes.announce("publishable_key", current.id);
    return toPublishableKeyDto(row!);
  }

  private async findActive(organizationId: string, agentId: string, id: string): Promise<KeyRow> {
    const row = await this.find(organizationId, agentId, id);
    if (row.revokedAt) throw new Problem(409, "key_revoked", "this publishable key is revoked; create a new one");
    return row;
  }

  private async find(organizationId: string, agentId: string, id: string): Promise<KeyRow> {
    await this.agents.get(organizationId, agentId);
    const [row] = await this.db
      .select()
      .from(publishableKeys)
      .where(and(eq(publishableKeys.id, id), eq(publishableKeys.organizationId, organizationId), eq(publishableKeys.agentId, agentId)))
      .limit(1);
    if (!row) throw notFound("publishable key", id);
    return row;
  }
}
