// Agents: the draft lives on the agent row; publishing freezes it into an immutable numbered version and
// points the agent at it; rollback only re-points. Every mutation bumps `version` (optimistic concurrency).
// Reads of one agent are served from an in-process cache that every mutation invalidates (across replicas too), with
// a TTL behind that in case an announcement is lost.
import { LRUCache } from "lru-cache";
import { and, desc, eq, ilike, isNotNull, isNull, lt, max, sql, type SQL } from "drizzle-orm";
import type { Principal } from "../../platform/auth/principal.ts";
import type { Database, Db } from "../../platform/db/index.ts";
import { agents, agentVersions, integrations, knowledgeGaps, knowledgeSources } from "../../platform/db/schema/index.ts";
import { appendEvents } from "../../platform/events/index.ts";
import { decodeCursor, page } from "../../platform/http/pagination.ts";
import { notFound, Problem } from "../../platform/http/problem.ts";
import { newId } from "../../platform/ids.ts";
import type { CompiledConfig } from "../../runtime/compiled.ts";
import { compileDraft, configOf, diffView } from "./compile.ts";
import { applyFields, checkVoices, defaultConfig, validateConfig, type InstalledVoices } from "./config.ts";
import { diffValues } from "./diff.ts";
import type { AgentCreateInput, AgentDto, AgentPatchInput, AgentVersionDto } from "./model.ts";
import { buildPrepublishReport } from "./report.ts";
import type { PhoneRegion } from "../../platform/e164.ts";

type AgentRow = typeof agents.$inferSelect;
type VersionRow = typeof agentVersions.$inferSelect;

const CACHE_MAX = 20_000;
/** Without CACHE_TTL_SECONDS (tools, tests of other things): as the server's default. */
const DEFAULT_TTL_MS = 30_000;

export function toAgentDto(row: AgentRow): AgentDto {
  return {
    id: row.id,
    organizationId: row.organizationId,
    name: row.name,
    version: row.version,
    status: row.publishedVersionId ? "published" : "draft",
    publishedVersionId: row.publishedVersionId,
    isActive: row.isActive,
    ...configOf(row),
    createdBy: row.createdBy,
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
  };
}

export function toVersionDto(row: VersionRow): AgentVersionDto {
  return {
    id: row.id,
    agentId: row.agentId,
    version: row.version,
    compiledConfig: row.compiledConfig,
    note: row.note,
    publishedAt: row.publishedAt.toISOString(),
    publishedBy: row.publishedBy,
  };
}

export class AgentsService {
  private cache: LRUCache<string, AgentDto>;
  /** How a number written without `+` is read when the agent's language names no region (DEFAULT_PHONE_REGION). */
  private readonly defaultPhoneRegion: PhoneRegion;
  /** Published versions never change: their compiled configuration is kept as long as it is used. */
  private versions = new LRUCache<string, CompiledConfig>({ max: CACHE_MAX });

  /**
   * `voices`: the installed voice catalog (create, PATCH and PUT /agents/{id}/voice refuse any other voice).
   * Without it (tests of other things, tools) any voice id is taken as given. `cacheTtlMs`: how long another
   * replica's change may go unseen here should its announcement be lost (CACHE_TTL_SECONDS).
   */
  constructor(
    private database: Database,
    private voices?: InstalledVoices,
    opts: { cacheTtlMs?: number; defaultPhoneRegion?: PhoneRegion } = {},
  ) {
    this.defaultPhoneRegion = opts.defaultPhoneRegion ?? "US";
    this.cache = new LRUCache({ max: CACHE_MAX, ttl: opts.cacheTtlMs ?? DEFAULT_TTL_MS });
    database.changes.subscribe("agent", { changed: (id) => this.cache.delete(id), flush: () => this.cache.clear() });
  }

  private get db() {
    return this.database.db;
  }

  private changed(row: AgentRow): AgentDto {
    this.database.changes.announce("agent", row.id);
    return toAgentDto(row);
  }

  async create(principal: Principal, input: AgentCreateInput): Promise<AgentDto> {
    const config = validateConfig(applyFields(defaultConfig(), input), this.defaultPhoneRegion, this.voices);
    if (input.languages && input.languages.length > 1 && input.languageMode === undefined) config.languageMode = "code_switch";
    const [row] = await this.db
      .insert(agents)
      .values({
        id: newId("agt"),
        organizationId: principal.organizationId,
        name: input.name.trim(),
        config: config as unknown as Record<string, unknown>,
        isActive: input.isActive ?? true,
        createdBy: principal.actorId,
      })
      .returning();
    return toAgentDto(row!);
  }

  async get(organizationId: string, id: string): Promise<AgentDto> {
    const cached = this.cache.get(id);
    if (cached) {
      if (cached.organizationId !== organizationId) throw notFound("agent", id);
      return cached;
    }
    const row = await this.findRow(this.db, organizationId, id);
    const dto = toAgentDto(row);
    this.cache.set(id, dto);
    return dto;
  }

  async list(organizationId: string, q: { status?: "draft" | "published"; q?: string; cursor?: string; limit: number }) {
    const after = decodeCursor(q.cursor);
    const where: SQL[] = [eq(agents.organizationId, organizationId), isNull(agents.deletedAt)];
    if (after) where.push(lt(agents.id, after));
    if (q.status === "published") where.push(isNotNull(agents.publishedVersionId));
    if (q.status === "draft") where.push(isNull(agents.publishedVersionId));
    if (q.q) where.push(ilike(agents.name, `%${q.q.replace(/[\\%_]/g, (c) => `\\${c}`)}%`));
    const rows = await this.db.select().from(agents).where(and(...where)).orderBy(desc(agents.id)).limit(q.limit + 1);
    return page(rows, q.limit, (r) => r.id, toAgentDto);
  }

  async update(principal: Principal, id: string, patch: AgentPatchInput, ifMatch: number | null): Promise<AgentDto> {
    const row = await this.db.transaction(async (tx) => {
      const current = await this.findRow(tx as unknown as Db, principal.organizationId, id, true);
      if (ifMatch !== null && ifMatch !== current.version) throw versionConflict(current, ifMatch);
      const stored = configOf(current);
      const config = validateConfig(applyFields(stored, patch), this.defaultPhoneRegion, this.voices, stored);
      const [updated] = await tx
        .update(agents)
        .set({
          name: patch.name?.trim() ?? current.name,
          isActive: patch.isActive ?? current.isActive,
          config: config as unknown as Record<string, unknown>,
          version: sql`${agents.version} + 1`,
          updatedAt: sql`now()`,
        })
        .where(eq(agents.id, current.id))
        .returning();
      return updated!;
    });
    return this.changed(row);
  }

  async remove(organizationId: string, id: string): Promise<void> {
    const [row] = await this.db
      .update(agents)
      .set({ deletedAt: sql`now()`, isActive: false, version: sql`${agents.version} + 1`, updatedAt: sql`now()` })
      .where(and(eq(agents.id, id), eq(agents.organizationId, organizationId), isNull(agents.deletedAt)))
      .returning();
    if (!row) throw notFound("agent", id);
    this.changed(row);
  }

  async publish(principal: Principal, id: string, note: string | undefined): Promise<AgentVersionDto> {
    const { version, agent } = await this.db.transaction(async (tx) => {
      const t = tx as unknown as Db;
      const current = await this.findRow(t, principal.organizationId, id, true);
      const [last] = await t.select({ n: max(agentVersions.version) }).from(agentVersions).where(eq(agentVersions.agentId, id));
      const [version] = await t
        .insert(agentVersions)
        .values({
          id: newId("ver"),
          organizationId: principal.organizationId,
          agentId: id,
          version: (last?.n ?? 0) + 1,
          compiledConfig: (await compileDraft(t, current)) as unknown as Record<string, unknown>,
          note: note ?? null,
          publishedBy: principal.actorId,
        })
        .returning();
      const [agent] = await t
        .update(agents)
        .set({ publishedVersionId: version!.id, version: sql`${agents.version} + 1`, updatedAt: sql`now()` })
        .where(eq(agents.id, id))
        .returning();
      await appendEvents(t, [published(version!, principal.actorId, false)]);
      return { version: version!, agent: agent! };
    });
    this.changed(agent);
    return toVersionDto(version);
  }

  async listVersions(organizationId: string, id: string, q: { cursor?: string; limit: number }) {
    await this.findRow(this.db, organizationId, id);
    const after = decodeCursor(q.cursor);
    const where: SQL[] = [eq(agentVersions.agentId, id), eq(agentVersions.organizationId, organizationId)];
    if (after) where.push(lt(agentVersions.id, after));
    const rows = await this.db.select().from(agentVersions).where(and(...where)).orderBy(desc(agentVersions.id)).limit(q.limit + 1);
    return page(rows, q.limit, (r) => r.id, toVersionDto);
  }

  async rollback(principal: Principal, id: string, versionId: string): Promise<AgentVersionDto> {
    const { version, agent } = await this.db.transaction(async (tx) => {
      const t = tx as unknown as Db;
      await this.findRow(t, principal.organizationId, id, true);
      const version = await this.findVersion(t, principal.organizationId, id, versionId);
      const [agent] = await t
        .update(agents)
        .set({ publishedVersionId: version.id, version: sql`${agents.version} + 1`, updatedAt: sql`now()` })
        .where(eq(agents.id, id))
        .returning();
      await appendEvents(t, [published(version, principal.actorId, true)]);
      return { version, agent: agent! };
    });
    this.changed(agent);
    return toVersionDto(version);
  }

  async diff(organizationId: string, id: string, versionId: string) {
    const row = await this.findRow(this.db, organizationId, id);
    const version = await this.findVersion(this.db, organizationId, id, versionId);
    const changes = diffValues(diffView(version.compiledConfig as unknown as CompiledConfig), diffView(await compileDraft(this.db, row)));
    return { versionId: version.id, version: version.version, changes };
  }

  async setVoice(principal: Principal, id: string, voiceId: string, language: string | undefined): Promise<AgentDto> {
    const row = await this.db.transaction(async (tx) => {
      const current = await this.findRow(tx as unknown as Db, principal.organizationId, id, true);
      const config = configOf(current);
      const lang = language ?? config.primaryLanguage;
      if (!config.languages.includes(lang)) {
        throw new Problem(422, "language_not_enabled", `${lang} is not one of this agent's languages (${config.languages.join(", ")})`, {
          errors: [{ field: "language", message: "is not one of the agent's languages" }],
        });
      }
      if (this.voices) checkVoices(this.voices, [{ field: "voiceId", voiceId, language: lang }]);
      config.voiceMap = { ...config.voiceMap, [lang]: voiceId };
      if (lang === config.primaryLanguage) config.defaultVoiceId = voiceId;
      const [updated] = await tx
        .update(agents)
        .set({ config: config as unknown as Record<string, unknown>, version: sql`${agents.version} + 1`, updatedAt: sql`now()` })
        .where(eq(agents.id, current.id))
        .returning();
      return updated!;
    });
    return this.changed(row);
  }

  async prepublishReport(organizationId: string, id: string) {
    const row = await this.findRow(this.db, organizationId, id);
    const live = row.publishedVersionId ? await this.findVersion(this.db, organizationId, id, row.publishedVersionId) : null;
    const draft = await compileDraft(this.db, row);
    const hasUnpublishedChanges = live ? diffValues(diffView(live.compiledConfig as unknown as CompiledConfig), diffView(draft)).length > 0 : true;
    return buildPrepublishReport({ isActive: row.isActive, compiled: draft, everPublished: live !== null, hasUnpublishedChanges, knowledge: await this.knowledgeCoverage(organizationId, id), connectedIntegrations: await this.connectedIntegrations(organizationId) });
  }

  private async connectedIntegrations(organizationId: string): Promise<Set<string>> {
    const rows = await this.db.select({ kind: integrations.kind }).from(integrations).where(and(eq(integrations.organizationId, organizationId), eq(integrations.status, "connected")));
    return new Set(rows.map((r) => r.kind));
  }

  /** Sources by state, and the share of recorded knowledge gaps (questions not answered) a source now covers. */
  private async knowledgeCoverage(organizationId: string, agentId: string) {
    const count = sql<number>`count(*)::int`;
    const [sources, gaps] = await Promise.all([
      this.db.select({ status: knowledgeSources.status, n: count }).from(knowledgeSources).where(and(eq(knowledgeSources.organizationId, organizationId), eq(knowledgeSources.agentId, agentId))).groupBy(knowledgeSources.status),
      this.db.select({ status: knowledgeGaps.status, n: count }).from(knowledgeGaps).where(and(eq(knowledgeGaps.organizationId, organizationId), eq(knowledgeGaps.agentId, agentId))).groupBy(knowledgeGaps.status),
    ]);
    const of = (rows: { status: string; n: number }[], ...statuses: string[]) => rows.filter((r) => statuses.includes(r.status)).reduce((sum, r) => sum + Number(r.n), 0);
    const recorded = of(gaps, "open", "in_progress", "covered");
    return {
      sources: sources.reduce((sum, r) => sum + Number(r.n), 0),
      indexed: of(sources, "indexed"),
      pending: of(sources, "pending", "indexing"),
      failed: of(sources, "error"),
      coverageScore: recorded ? Math.round((of(gaps, "covered") / recorded) * 1000) / 1000 : null,
    };
  }

  /**
   * What a conversation runs: the live version (`draftMode` false) or the draft compiled now.
   * Throws 409 no_published_version when there is nothing live, and 409 agent_paused when isActive is false.
   */
  async compiledFor(organizationId: string, id: string, draftMode: boolean): Promise<{ compiled: CompiledConfig; versionId: string | null; agent: AgentDto }> {
    const agent = await this.get(organizationId, id);
    if (draftMode) {
      const row = await this.findRow(this.db, organizationId, id);
      return { compiled: await compileDraft(this.db, row), versionId: null, agent };
    }
    if (!agent.isActive) throw new Problem(409, "agent_paused", "this agent is paused (isActive is false); set isActive to true to serve live traffic");
    if (!agent.publishedVersionId) {
      throw new Problem(409, "no_published_version", "agent has no published version; publish it or retry with draftMode:true", { title: "No published version" });
    }
    return { compiled: await this.versionConfig(organizationId, id, agent.publishedVersionId), versionId: agent.publishedVersionId, agent };
  }

  /** The compiled configuration of one published version (cached: versions are immutable). */
  async versionConfig(organizationId: string, agentId: string, versionId: string): Promise<CompiledConfig> {
    const cached = this.versions.get(versionId);
    if (cached) return cached;
    const version = await this.findVersion(this.db, organizationId, agentId, versionId);
    const compiled = normalizeCompiled(version.compiledConfig);
    this.versions.set(versionId, compiled);
    return compiled;
  }

  /** The current draft compiled, for conversations run in draft mode. */
  async draftConfig(organizationId: string, agentId: string): Promise<CompiledConfig> {
    return compileDraft(this.db, await this.findRow(this.db, organizationId, agentId));
  }

  private async findRow(db: Db, organizationId: string, id: string, forUpdate = false): Promise<AgentRow> {
    const query = db
      .select()
      .from(agents)
      .where(and(eq(agents.id, id), eq(agents.organizationId, organizationId), isNull(agents.deletedAt)))
      .limit(1);
    const [row] = forUpdate ? await query.for("update") : await query;
    if (!row) throw notFound("agent", id);
    return row;
  }

  private async findVersion(db: Db, organizationId: string, agentId: string, versionId: string): Promise<VersionRow> {
    const [row] = await db
      .select()
      .from(agentVersions)
      .where(and(eq(agentVersions.id, versionId), eq(agentVersions.agentId, agentId), eq(agentVersions.organizationId, organizationId)))
      .limit(1);
    if (!row) throw notFound("version", versionId);
    return row;
  }
}

/** The event of a version going live, by `actorId` (`rollback`: an earlier version made live again). */
function published(version: VersionRow, actorId: string | null, rollback: boolean) {
  return {
    type: "agent.published" as const,
    organizationId: version.organizationId,
    aggregateId: version.agentId,
    payload: { agentId: version.agentId, versionId: version.id, version: version.version, publishedBy: actorId, note: version.note, rollback },
  };
}

/** Versions published before skills, playbooks and guardrails were compiled in have only `agent`. */
function normalizeCompiled(stored: Record<string, unknown>): CompiledConfig {
  const c = stored as Partial<CompiledConfig> & { agent: CompiledConfig["agent"] };
  return { agent: { ...defaultConfig(), ...c.agent }, skills: c.skills ?? [], playbooks: c.playbooks ?? [], guardrails: c.guardrails ?? [], callerVerification: c.callerVerification ?? [] };
}

function versionConflict(current: AgentRow, sent: number) {
  return new Problem(409, "version_conflict", `the agent is at version ${current.version}, not ${sent}: refetch, re-apply your changes and retry`, {
    extensions: { currentVersion: current.version, agent: toAgentDto(current) },
  });
}
