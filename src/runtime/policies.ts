// An agent's guardrail policies merged into the rules the runtime applies: one write gate, the tightest limits, one
// schedule. The guardrail engine (guardrails.ts) enforces these rules and the pre-publish report
// (api/agents/report.ts) describes them; both read them from here, so the report can never describe a rule the
// runtime does not apply.
import { hasSchedule } from "./business-hours.ts";
import type { AgentSettings, CompiledConfig, CompiledGuardrail, CompiledSkill, CompiledVerification } from "./compiled.ts";

export type Hours = AgentSettings["businessHours"];
export type AfterHours = NonNullable<Hours["afterHours"]>;
export type SkillWindow = "always" | "business_hours_only" | "after_hours_only";

export interface WriteGate {
  confirmBeforeWrite: boolean;
  requireVerified: boolean;
  alwaysEscalate: string[];
}

export interface MergedPolicies {
  /** Every write_gate policy folded into one: any that confirms or requires verification makes it so. */
  writeGate: WriteGate | null;
  /** The tightest of the rate_limit policies. */
  rate: { perMinute: number | null; perCall: number | null };
  bannedTopics: string[];
  redactPii: boolean;
  /** The lowest content_policy escalation threshold. */
  escalationThreshold: number | null;
  /** The agent's own schedule, or the first business_hours policy's when the agent has none. */
  hours: Hours;
  /** A schedule in a time zone: without one the agent is always open and after-hours settings never apply. */
  scheduled: boolean;
  afterHours: AfterHours;
  skillWindows: Record<string, SkillWindow>;
  /** Fields a verify_before_disclose policy keeps for verified callers. */
  verifiedOnly: string[];
  /** Fields a verify_before_disclose policy lets anyone hear (and no policy keeps for verified callers). */
  anyone: string[];
  allowLists: CompiledGuardrail[];
}

const unique = <T>(items: T[]) => [...new Set(items)];
const AUDIENCE_VERIFIED = "verified";

export function mergePolicies(compiled: CompiledConfig): MergedPolicies {
  const ofType = (type: CompiledGuardrail["policyType"]) => compiled.guardrails.filter((g) => g.policyType === type).map((g) => g.config as Record<string, unknown>);
  const gates = ofType("write_gate");
  const limits = ofType("rate_limit");
  const min = (key: string) => {
    const values = limits.map((l) => l[key]).filter((v): v is number => typeof v === "number");
    return values.length ? Math.min(...values) : null;
  };
  const content = ofType("content_policy");
  const thresholds = content.map((c) => c.escalationThreshold).filter((v): v is number => typeof v === "number");
  const hoursPolicy = ofType("business_hours")[0] as Hours | undefined;
  const agentHours = compiled.agent.businessHours;
  const hours = hasSchedule(agentHours) || !hoursPolicy ? agentHours : hoursPolicy;
  const disclosure = ofType("verify_before_disclose").flatMap((p) => (p.fields as { field: string; audience: string }[] | undefined) ?? []);
  const verifiedOnly = unique(disclosure.filter((f) => f.audience === AUDIENCE_VERIFIED).map((f) => f.field));
  return {
    writeGate: gates.length
      ? {
          confirmBeforeWrite: gates.some((g) => g.confirmBeforeWrite !== false),
          requireVerified: gates.some((g) => g.requireVerified === true),
          alwaysEscalate: gates.flatMap((g) => (g.alwaysEscalate as string[] | undefined) ?? []),
        }
      : null,
    rate: { perMinute: min("toolCallsPerMinute"), perCall: min("toolCallsPerCall") },
    bannedTopics: unique(content.flatMap((c) => (c.bannedTopics as string[] | undefined) ?? [])),
    redactPii: content.some((c) => c.redactPii === true),
    escalationThreshold: thresholds.length ? Math.min(...thresholds) : null,
    hours,
    scheduled: Boolean(hours.timezone) && hasSchedule(hours),
    afterHours: agentHours.afterHours ?? hoursPolicy?.afterHours ?? {},
    skillWindows: Object.assign({}, ...ofType("business_hours").map((p) => (p.skills as Record<string, SkillWindow> | undefined) ?? {})),
    verifiedOnly,
    anyone: unique(disclosure.filter((f) => f.audience !== AUDIENCE_VERIFIED && !verifiedOnly.includes(f.field)).map((f) => f.field)),
    allowLists: compiled.guardrails.filter((g) => g.policyType === "allowed_fields"),
  };
}

/** Does a verification configuration demand that this skill verifies the caller again first? */
export function stepsUp(skill: CompiledSkill, verifications: CompiledVerification[]): boolean {
  return verifications.some((v) => v.stepUpFor.includes(skill.name));
}

/** Verified callers only: the skill says so, a write_gate requires it for writes, or a step-up names it. */
export function needsVerifiedCaller(skill: CompiledSkill, rules: MergedPolicies, verifications: CompiledVerification[]): boolean {
  return skill.requiresVerifiedIdentity || (skill.isWrite && rules.writeGate?.requireVerified === true) || stepsUp(skill, verifications);
}

/** The caller says yes first: the skill asks for it, its stakes are high, or a write_gate confirms writes. */
export function needsConfirmation(skill: CompiledSkill, rules: MergedPolicies): boolean {
  return skill.requiresConfirmation || skill.stakes === "high" || (skill.isWrite && rules.writeGate?.confirmBeforeWrite === true);
}

/** Why a skill needs confirmation, as the receipt records it (null: it does not). */
export function confirmationReason(skill: CompiledSkill, rules: MergedPolicies): string | null {
  if (!needsConfirmation(skill, rules)) return null;
  return skill.requiresConfirmation ? "skill asks for confirmation" : skill.stakes === "high" ? "high-stakes action" : "confirm before any write";
}

/**
 * Whether the after-hours mode stops this skill while the agent is closed: in any mode but `full`, skills that change
 * data or transfer the call wait for business hours, except a transfer the after-hours settings allow.
 */
export function closedAfterHours(skill: CompiledSkill, rules: MergedPolicies): boolean {
  const acting = skill.isWrite || skill.skillType === "transfer";
  return (rules.afterHours.mode ?? "full") !== "full" && acting && !(skill.skillType === "transfer" && rules.afterHours.allowHumanTransfer);
}

/** The allow lists that apply to a skill's result: its own allowedFields and the allowed_fields policies for its type. */
export function allowListsFor(skill: CompiledSkill, rules: MergedPolicies): string[][] {
  return [
    skill.allowedFields.length ? skill.allowedFields : null,
    ...rules.allowLists.filter((g) => !g.appliesToSkillType || g.appliesToSkillType === skill.skillType).map(allowListFields),
  ].filter((l): l is string[] => l !== null);
}

export const allowListFields = (g: CompiledGuardrail) => ((g.config.fields as string[] | undefined) ?? []).map(String);
