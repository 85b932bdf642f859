// Compiling a draft: the agent's configuration with its enabled skills, playbooks, guardrail policies and
// caller-verification settings, in the shape a published version freezes and the runtime runs.
import { and, asc, eq } from "drizzle-orm";
import type { Db } from "../../platform/db/index.ts";
import { agents, callerVerificationConfigs, guardrailPolicies, playbooks, skills } from "../../platform/db/schema/index.ts";
import type { CompiledConfig, CompiledSkill, PolicyType, SkillType, VerificationMethod } from "../../runtime/compiled.ts";
import { defaultConfig } from "./config.ts";
import type { AgentConfig } from "./model.ts";

type AgentRow = typeof agents.$inferSelect;

export function configOf(row: AgentRow): AgentConfig {
  // Merge over the defaults so rows written before a field existed still read complete.
  return { ...defaultConfig(), ...(row.config as Partial<AgentConfig>) };
}

export async function compileDraft(db: Db, row: AgentRow): Promise<CompiledConfig> {
  const byAgent = <T extends { agentId: unknown; organizationId: unknown }>(t: T) => and(eq(t.agentId as never, row.id), eq(t.organizationId as never, row.organizationId));
  const [skillRows, playbookRows, policyRows, verificationRows] = await Promise.all([
    db.select().from(skills).where(and(byAgent(skills), eq(skills.isEnabled, true))).orderBy(asc(skills.id)),
    db.select().from(playbooks).where(and(byAgent(playbooks), eq(playbooks.isEnabled, true))).orderBy(asc(playbooks.id)),
    db.select().from(guardrailPolicies).where(and(byAgent(guardrailPolicies), eq(guardrailPolicies.isEnabled, true))).orderBy(asc(guardrailPolicies.position)),
    db.select().from(callerVerificationConfigs).where(byAgent(callerVerificationConfigs)).orderBy(asc(callerVerificationConfigs.position)),
  ]);
  return {
    agent: { name: row.name, ...configOf(row) },
    skills: skillRows.map(
      (s): CompiledSkill => ({
        id: s.id,
        name: s.name,
        description: s.description,
        skillType: s.skillType as SkillType,
        parametersSchema: s.parametersSchema as CompiledSkill["parametersSchema"],
        requiredParams: s.requiredParams,
        executionConfig: s.executionConfig,
        dataEgressMap: s.dataEgressMap,
        allowedFields: s.allowedFields,
        isWrite: s.isWrite,
        requiresVerifiedIdentity: s.requiresVerifiedIdentity,
        requiresConfirmation: s.requiresConfirmation,
        nonParallelizable: s.nonParallelizable,
        stakes: s.stakes as CompiledSkill["stakes"],
        channels: s.channels,
        errorHandling: s.errorHandling as CompiledSkill["errorHandling"],
        expectedLatencyMs: s.expectedLatencyMs,
      }),
    ),
    playbooks: playbookRows.map((p) => ({ id: p.id, flowId: p.flowId, name: p.name, description: p.description, inputSchema: p.inputSchema, outputSchema: p.outputSchema, graph: p.graph })),
    guardrails: policyRows.map((g) => ({ id: g.id, policyType: g.policyType as PolicyType, appliesToSkillType: g.appliesToSkillType, config: g.config })),
    callerVerification: verificationRows.map((v) => ({
      id: v.id,
      method: v.method as VerificationMethod,
      verifierSkillId: v.verifierSkillId,
      requiredFields: v.requiredFields,
      tokenTtlSeconds: v.tokenTtlSeconds,
      maxAttempts: v.maxAttempts,
      stepUpFor: v.stepUpFor,
    })),
  };
}

/**
 * How a compiled configuration reads in a diff: agent fields at the top, skills and playbooks keyed by name,
 * policies by type, so a change reads `skills.Book visit.description` rather than an array position.
 */
export function diffView(compiled: Partial<CompiledConfig> & { agent: CompiledConfig["agent"] }): Record<string, unknown> {
  const keyed = <T>(items: T[] | undefined, key: (t: T, i: number) => string, strip: (t: T) => unknown) =>
    items === undefined ? undefined : Object.fromEntries(items.map((t, i) => [key(t, i), strip(t)]));
  const policyKey = (type: string, i: number, list: { policyType: string }[]) => (list.filter((p) => p.policyType === type).length > 1 ? `${type}[${i}]` : type);
  return {
    ...compiled.agent,
    skills: keyed(compiled.skills, (s) => s.name, ({ id: _, ...rest }) => rest),
    playbooks: keyed(compiled.playbooks, (p) => p.name, ({ id: _, ...rest }) => rest),
    guardrails: keyed(compiled.guardrails, (g, i) => policyKey(g.policyType, i, compiled.guardrails!), ({ id: _, ...rest }) => rest),
    callerVerification: keyed(compiled.callerVerification, (v) => v.method, ({ id: _, ...rest }) => rest),
  };
}
