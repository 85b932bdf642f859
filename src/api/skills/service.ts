// Skills of an agent: part of its draft (publishing freezes them into the version). Every read and write is
// scoped by organization and needs the agent to exist; names are unique per agent, ignoring case. Writes lock
// the agent row so two requests cannot both claim a name.
import { and, desc, eq, isNull, lt, ne, sql, type SQL } from "drizzle-orm";
import type { Sealer } from "../../platform/crypto.ts";
import type { Database, Db } from "../../platform/db/index.ts";
import { agents, callerVerificationConfigs, playbooks, skills } from "../../platform/db/schema/index.ts";
import { decodeCursor, page } from "../../platform/http/pagination.ts";
import { notFound, Problem, validationProblem, type FieldError } from "../../platform/http/problem.ts";
import { newId } from "../../platform/ids.ts";
import type { SkillType } from "../../runtime/compiled.ts";
import type { ParametersSchemaInput, SkillCreateInput, SkillDto, SkillPatchInput } from "./model.ts";
import { maskSecrets, openSecrets, sealSecrets, unmaskSecrets } from "./secrets.ts";
import { checkExecutionConfig, checkParameters } from "./validation.ts";
import type { PhoneRegion } from "../../platform/e164.ts";

type SkillRow = typeof skills.$inferSelect;
type SkillFields = Omit<SkillRow, "id" | "organizationId" | "agentId" | "createdAt" | "updatedAt">;

const RESERVED_TYPES: ReadonlySet<SkillType> = new Set(["mcp"]);

export class SkillsService {
  constructor(
    private database: Database,
    private sealer: Sealer,
    /** How a transfer destination written without `+` is read (DEFAULT_PHONE_REGION). */
    private phoneRegion: PhoneRegion,
  ) {}

  private get db() {
    return this.database.db;
  }

  async list(organizationId: string, agentId: string, q: { cursor?: string; limit: number }) {
    await this.findAgent(this.db, organizationId, agentId);
    const after = decodeCursor(q.cursor);
    const where: SQL[] = [eq(skills.organizationId, organizationId), eq(skills.agentId, agentId)];
    if (after) where.push(lt(skills.id, after));
    const rows = await this.db.select().from(skills).where(and(...where)).orderBy(desc(skills.id)).limit(q.limit + 1);
    return page(rows, q.limit, (r) => r.id, (r) => this.toDto(r));
  }

  async get(organizationId: string, agentId: string, skillId: string): Promise<SkillDto> {
    await this.findAgent(this.db, organizationId, agentId);
    return this.toDto(await this.findRow(this.db, organizationId, agentId, skillId));
  }

  async create(organizationId: string, agentId: string, input: SkillCreateInput): Promise<SkillDto> {
    refuseReserved(input.skillType);
    const fields = this.prepare(
      {
        name: input.name.trim(),
        description: input.description.trim(),
        skillType: input.skillType,
        parametersSchema: input.parametersSchema ?? { type: "object", properties: {}, required: [] },
        requiredParams: input.requiredParams ?? input.parametersSchema?.required ?? [],
        executionConfig: input.executionConfig ?? {},
        dataEgressMap: input.dataEgressMap ?? {},
        allowedFields: input.allowedFields ?? [],
        isWrite: input.isWrite ?? false,
        requiresVerifiedIdentity: input.requiresVerifiedIdentity ?? false,
        requiresConfirmation: input.requiresConfirmation ?? false,
        nonParallelizable: input.nonParallelizable ?? false,
        stakes: input.stakes ?? "low",
        smsMode: input.smsMode ?? null,
        channels: input.channels ?? ["voice", "chat"],
        errorHandling: input.errorHandling ?? {},
        isEnabled: input.isEnabled ?? true,
        expectedLatencyMs: input.expectedLatencyMs ?? null,
      },
      null,
    );
    const row = await this.db.transaction(async (tx) => {
      const t = tx as unknown as Db;
      await this.findAgent(t, organizationId, agentId, true);
      await this.ensureUniqueName(t, agentId, fields.name, null);
      await this.checkPlaybookReference(t, organizationId, agentId, fields);
      const [inserted] = await t
        .insert(skills)
        .values({ id: newId("skl"), organizationId, agentId, ...fields })
        .returning();
      return inserted!;
    });
    return this.toDto(row);
  }

  async update(organizationId: string, agentId: string, skillId: string, patch: SkillPatchInput): Promise<SkillDto> {
    if (patch.skillType) refuseReserved(patch.skillType);
    const row = await this.db.transaction(async (tx) => {
      const t = tx as unknown as Db;
      await this.findAgent(t, organizationId, agentId, true);
      const current = await this.findRow(t, organizationId, agentId, skillId);
      const stored = current.skillType === "http_webhook" ? openSecrets(current.executionConfig, this.sealer) : current.executionConfig;
      const fields = this.prepare(
        {
          name: patch.name?.trim() ?? current.name,
          description: patch.description?.trim() ?? current.description,
          skillType: patch.skillType ?? current.skillType,
          parametersSchema: patch.parametersSchema ?? current.parametersSchema,
          // New parameters without new requiredParams: take the ones the new schema requires.
          requiredParams: patch.requiredParams ?? patch.parametersSchema?.required ?? current.requiredParams,
          executionConfig: patch.executionConfig ?? stored,
          dataEgressMap: patch.dataEgressMap ?? current.dataEgressMap,
          allowedFields: patch.allowedFields ?? current.allowedFields,
          isWrite: patch.isWrite ?? current.isWrite,
          requiresVerifiedIdentity: patch.requiresVerifiedIdentity ?? current.requiresVerifiedIdentity,
          requiresConfirmation: patch.requiresConfirmation ?? current.requiresConfirmation,
          nonParallelizable: patch.nonParallelizable ?? current.nonParallelizable,
          stakes: patch.stakes ?? current.stakes,
          smsMode: patch.smsMode === undefined ? current.smsMode : patch.smsMode,
          channels: patch.channels ?? current.channels,
          errorHandling: patch.errorHandling ?? current.errorHandling,
          isEnabled: patch.isEnabled ?? current.isEnabled,
          expectedLatencyMs: patch.expectedLatencyMs === undefined ? current.expectedLatencyMs : patch.expectedLatencyMs,
        },
        current.skillType === "http_webhook" ? stored : null,
      );
      if (fields.name.toLowerCase() !== current.name.toLowerCase()) await this.ensureUniqueName(t, agentId, fields.name, current.id);
      // Checked when the reference is written: a playbook deleted since must not stop the skill being disabled or
      // renamed (the pre-publish report warns about it instead).
      if (patch.skillType || patch.executionConfig) await this.checkPlaybookReference(t, organizationId, agentId, fields);
      const [updated] = await t
        .update(skills)
        .set({ ...fields, updatedAt: sql`now()` })
        .where(eq(skills.id, current.id))
        .returning();
      return updated!;
    });
    return this.toDto(row);
  }

  /** Deletes a skill nothing points at: a playbook step calling it or a caller-verification config using it is a 409. */
  async remove(organizationId: string, agentId: string, skillId: string): Promise<void> {
    await this.db.transaction(async (tx) => {
      // The agent row lock orders this against graph and verification saves, which take it too.
      await this.findAgent(tx, organizationId, agentId, true);
      const scope = and(eq(playbooks.agentId, agentId), eq(playbooks.organizationId, organizationId));
      const callers = await tx
        .select({ name: playbooks.name })
        .from(playbooks)
        .where(and(scope, sql`${playbooks.graph} @> ${JSON.stringify({ nodes: [{ data: { skillId } }] })}::jsonb`));
      const verifiers = await tx
        .select({ method: callerVerificationConfigs.method })
        .from(callerVerificationConfigs)
        .where(and(eq(callerVerificationConfigs.agentId, agentId), eq(callerVerificationConfigs.organizationId, organizationId), eq(callerVerificationConfigs.verifierSkillId, skillId)));
      const users = [...callers.map((p) => `playbook "${p.name}"`), ...verifiers.map((v) => `the ${v.method} caller verification`)];
      if (users.length) {
        throw new Problem(409, "skill_in_use", `${users.join(", ")} ${users.length === 1 ? "uses" : "use"} this skill: change ${users.length === 1 ? "it" : "them"} first`);
      }
      const deleted = await tx
        .delete(skills)
        .where(and(eq(skills.id, skillId), eq(skills.agentId, agentId), eq(skills.organizationId, organizationId)))
        .returning({ id: skills.id });
      if (deleted.length === 0) throw notFound("skill", skillId);
    });
  }

  /** 404 unless the agent exists in the organization (the geocode roster needs no skill, only the agent). */
  async assertAgent(organizationId: string, agentId: string): Promise<void> {
    await this.findAgent(this.db, organizationId, agentId);
  }

  private async findAgent(db: Db, organizationId: string, agentId: string, forUpdate = false): Promise<void> {
    const query = db
      .select({ id: agents.id })
      .from(agents)
      .where(and(eq(agents.id, agentId), eq(agents.organizationId, organizationId), isNull(agents.deletedAt)))
      .limit(1);
    const [row] = forUpdate ? await query.for("update") : await query;
    if (!row) throw notFound("agent", agentId);
  }

  /** Validate a whole skill, taking masked header values from `storedConfig`; answers what to store. */
  private prepare(fields: SkillFields, storedConfig: Record<string, unknown> | null): SkillFields {
    const errors: FieldError[] = [];
    const skillType = fields.skillType as SkillType;
    const parameters = checkParameters({ parametersSchema: fields.parametersSchema as ParametersSchemaInput, requiredParams: fields.requiredParams }, errors);
    const webhook = skillType === "http_webhook";
    const plain = webhook ? unmaskSecrets(fields.executionConfig, storedConfig, errors) : fields.executionConfig;
    const executionConfig = checkExecutionConfig(skillType, plain, errors, this.phoneRegion);
    if (errors.length) throw validationProblem(errors);
    return { ...fields, ...parameters, executionConfig: webhook ? sealSecrets(executionConfig, this.sealer) : executionConfig };
  }

  /** A playbook skill starts one of its own agent's playbooks; any other id (another agent's, another organization's) is refused alike. */
  private async checkPlaybookReference(db: Db, organizationId: string, agentId: string, fields: SkillFields) {
    if (fields.skillType !== "playbook") return;
    const playbookId = String(fields.executionConfig.playbookId);
    const [found] = await db
      .select({ id: playbooks.id })
      .from(playbooks)
      .where(and(eq(playbooks.id, playbookId), eq(playbooks.agentId, agentId), eq(playbooks.organizationId, organizationId)))
      .limit(1);
    if (!found) throw validationProblem([{ field: "executionConfig.playbookId", message: `"${playbookId}" is not a playbook of this agent (GET /agents/${agentId}/playbooks lists them)` }]);
  }

  private async ensureUniqueName(db: Db, agentId: string, name: string, exceptId: string | null) {
    const where: SQL[] = [eq(skills.agentId, agentId), eq(sql`lower(${skills.name})`, name.toLowerCase())];
    if (exceptId) where.push(ne(skills.id, exceptId));
    const [clash] = await db.select({ id: skills.id }).from(skills).where(and(...where)).limit(1);
    if (clash) {
      throw new Problem(409, "duplicate_name", `this agent already has a skill named "${name}" (${clash.id})`, {
        errors: [{ field: "name", message: "is already used by another skill of this agent" }],
      });
    }
  }

  private async findRow(db: Db, organizationId: string, agentId: string, skillId: string): Promise<SkillRow> {
    const [row] = await db
      .select()
      .from(skills)
      .where(and(eq(skills.id, skillId), eq(skills.agentId, agentId), eq(skills.organizationId, organizationId)))
      .limit(1);
    if (!row) throw notFound("skill", skillId);
    return row;
  }

  private toDto(row: SkillRow): SkillDto {
    return {
      id: row.id,
      agentId: row.agentId,
      organizationId: row.organizationId,
      name: row.name,
      description: row.description,
      skillType: row.skillType as SkillType,
      parametersSchema: row.parametersSchema as SkillDto["parametersSchema"],
      requiredParams: row.requiredParams,
      executionConfig: row.skillType === "http_webhook" ? maskSecrets(row.executionConfig, this.sealer) : row.executionConfig,
      smsMode: row.smsMode as SkillDto["smsMode"],
      dataEgressMap: row.dataEgressMap,
      allowedFields: row.allowedFields,
      isWrite: row.isWrite,
      requiresVerifiedIdentity: row.requiresVerifiedIdentity,
      requiresConfirmation: row.requiresConfirmation,
      nonParallelizable: row.nonParallelizable,
      stakes: row.stakes as SkillDto["stakes"],
      channels: row.channels,
      errorHandling: row.errorHandling as SkillDto["errorHandling"],
      isEnabled: row.isEnabled,
      expectedLatencyMs: row.expectedLatencyMs,
      createdAt: row.createdAt.toISOString(),
      updatedAt: row.updatedAt.toISOString(),
    };
  }
}

function refuseReserved(skillType: SkillType) {
  if (!RESERVED_TYPES.has(skillType)) return;
  throw new Problem(403, "reserved_skill_type", `the ${skillType} skill type is reserved for the managed MCP gateway, which is not released yet; use http_webhook meanwhile`, {
    errors: [{ field: "skillType", message: "is reserved" }],
  });
}
