// Guardrail policies and caller-verification settings: each list is replaced whole, in one transaction, under a
// lock on the agent row. A sent id that belongs to one of the agent's current items is kept; anything else gets a
// new id. Items are stored with their position and always answered in the order last sent.
import { and, asc, eq } from "drizzle-orm";
import type { Db } from "../../platform/db/index.ts";
import { callerVerificationConfigs, guardrailPolicies, skills } from "../../platform/db/schema/index.ts";
import { validationProblem, type FieldError } from "../../platform/http/problem.ts";
import { newId } from "../../platform/ids.ts";
import type { PolicyType, VerificationMethod } from "../../runtime/compiled.ts";
import { requireAgent } from "../playbooks/service.ts";
import type { CallerVerificationConfigDto, CallerVerificationInputDto, GuardrailPolicyDto, GuardrailPolicyInputDto } from "./model.ts";
import { checkPolicyConfig } from "./policies.ts";
import type { PhoneRegion } from "../../platform/e164.ts";

type PolicyRow = typeof guardrailPolicies.$inferSelect;
type VerificationRow = typeof callerVerificationConfigs.$inferSelect;

const DEFAULT_REQUIRED_FIELDS: Record<VerificationMethod, string[] | null> = {
  dob_postcode: ["dob", "postcode"],
  account_pin: ["account_number", "pin"],
  otp_sms: ["phone"],
  knowledge_based: null,
};
const DEFAULT_TOKEN_TTL_SECONDS = 900;
const DEFAULT_MAX_ATTEMPTS = 3;

const toPolicyDto = (r: PolicyRow): GuardrailPolicyDto => ({
  id: r.id,
  agentId: r.agentId,
  organizationId: r.organizationId,
  policyType: r.policyType,
  appliesToSkillType: r.appliesToSkillType,
  config: r.config,
  isEnabled: r.isEnabled,
});

const toVerificationDto = (r: VerificationRow): CallerVerificationConfigDto => ({
  id: r.id,
  agentId: r.agentId,
  organizationId: r.organizationId,
  method: r.method,
  verifierSkillId: r.verifierSkillId,
  requiredFields: r.requiredFields,
  tokenTtlSeconds: r.tokenTtlSeconds,
  maxAttempts: r.maxAttempts,
  stepUpFor: r.stepUpFor,
});

export class GuardrailsService {
  constructor(
    private db: Db,
    /** How an after-hours number written without `+` is read (DEFAULT_PHONE_REGION). */
    private phoneRegion: PhoneRegion,
  ) {}

  async listPolicies(organizationId: string, agentId: string): Promise<GuardrailPolicyDto[]> {
    await requireAgent(this.db, organizationId, agentId);
    return (await this.policyRows(this.db, organizationId, agentId)).map(toPolicyDto);
  }

  async replacePolicies(organizationId: string, agentId: string, items: GuardrailPolicyInputDto[]): Promise<GuardrailPolicyDto[]> {
    const rows = await this.db.transaction(async (tx) => {
      const db = tx as unknown as Db;
      await requireAgent(db, organizationId, agentId, true);
      const errors = duplicateIds(items);
      const configs = items.map((item, i) => {
        const checked = checkPolicyConfig(item.policyType as PolicyType, item.config ?? {}, this.phoneRegion);
        for (const e of checked.errors) errors.push({ field: e.field ? `[${i}].config.${e.field}` : `[${i}].config`, message: e.message });
        return checked.config;
      });
      if (errors.length) throw validationProblem(errors);
      const current = new Set((await this.policyRows(db, organizationId, agentId)).map((r) => r.id));
      await db.delete(guardrailPolicies).where(and(eq(guardrailPolicies.organizationId, organizationId), eq(guardrailPolicies.agentId, agentId)));
      if (items.length) {
        await db.insert(guardrailPolicies).values(
          items.map((item, i) => ({
            id: item.id && current.has(item.id) ? item.id : newId("grd"),
            organizationId,
            agentId,
            policyType: item.policyType,
            appliesToSkillType: item.appliesToSkillType ?? null,
            config: configs[i]!,
            isEnabled: item.isEnabled ?? true,
            position: i,
          })),
        );
      }
      return this.policyRows(db, organizationId, agentId);
    });
    return rows.map(toPolicyDto);
  }

  async listVerification(organizationId: string, agentId: string): Promise<CallerVerificationConfigDto[]> {
    await requireAgent(this.db, organizationId, agentId);
    return (await this.verificationRows(this.db, organizationId, agentId)).map(toVerificationDto);
  }

  async replaceVerification(organizationId: string, agentId: string, items: CallerVerificationInputDto[]): Promise<CallerVerificationConfigDto[]> {
    const rows = await this.db.transaction(async (tx) => {
      const db = tx as unknown as Db;
      await requireAgent(db, organizationId, agentId, true);
      const skillIds = new Set(
        (await db.select({ id: skills.id }).from(skills).where(and(eq(skills.organizationId, organizationId), eq(skills.agentId, agentId)))).map((s) => s.id),
      );
      const errors = duplicateIds(items);
      const requiredFields = items.map((item, i) => {
        if (!skillIds.has(item.verifierSkillId)) errors.push({ field: `[${i}].verifierSkillId`, message: `${item.verifierSkillId} is not a skill of this agent` });
        const fields = item.requiredFields ?? DEFAULT_REQUIRED_FIELDS[item.method as VerificationMethod];
        if (!fields) errors.push({ field: `[${i}].requiredFields`, message: `is required for ${item.method}: list what the caller must answer` });
        return fields ?? [];
      });
      if (errors.length) throw validationProblem(errors);

      const current = new Set((await this.verificationRows(db, organizationId, agentId)).map((r) => r.id));
      await db.delete(callerVerificationConfigs).where(and(eq(callerVerificationConfigs.organizationId, organizationId), eq(callerVerificationConfigs.agentId, agentId)));
      if (items.length) {
        await db.insert(callerVerificationConfigs).values(
          items.map((item, i) => ({
            id: item.id && current.has(item.id) ? item.id : newId("cvf"),
            organizationId,
            agentId,
            method: item.method,
            verifierSkillId: item.verifierSkillId,
            requiredFields: requiredFields[i]!,
            tokenTtlSeconds: item.tokenTtlSeconds ?? DEFAULT_TOKEN_TTL_SECONDS,
            maxAttempts: item.maxAttempts ?? DEFAULT_MAX_ATTEMPTS,
            stepUpFor: item.stepUpFor ?? [],
            position: i,
          })),
        );
      }
      return this.verificationRows(db, organizationId, agentId);
    });
    return rows.map(toVerificationDto);
  }

  private policyRows(db: Db, organizationId: string, agentId: string) {
    return db
      .select()
      .from(guardrailPolicies)
      .where(and(eq(guardrailPolicies.organizationId, organizationId), eq(guardrailPolicies.agentId, agentId)))
      .orderBy(asc(guardrailPolicies.position));
  }

  private verificationRows(db: Db, organizationId: string, agentId: string) {
    return db
      .select()
      .from(callerVerificationConfigs)
      .where(and(eq(callerVerificationConfigs.organizationId, organizationId), eq(callerVerificationConfigs.agentId, agentId)))
      .orderBy(asc(callerVerificationConfigs.position));
  }
}

/** The same id twice in one list would make two items out of one; refuse rather than guess. */
function duplicateIds(items: { id?: string }[]): FieldError[] {
  const seen = new Set<string>();
  const errors: FieldError[] = [];
  items.forEach((item, i) => {
    if (!item.id) return;
    if (seen.has(item.id)) errors.push({ field: `[${i}].id`, message: `${item.id} appears earlier in this list` });
    seen.add(item.id);
  });
  return errors;
}
