// The `config` of each guardrail policyType: one schema per type (documented in the OpenAPI document and read by
// the runtime's guardrail engine) and the checks a schema cannot express. Defaults are filled in on save, so
// what GET answers is exactly what the runtime enforces.
import { Type, type TSchema } from "@sinclair/typebox";
import { Value } from "@sinclair/typebox/value";
import { t } from "elysia";
import { normalizePhoneNumber, notAPhoneNumber, type PhoneRegion } from "../../platform/e164.ts";
import { fieldErrors } from "../../platform/http/errors.ts";
import type { FieldError } from "../../platform/http/problem.ts";
import type { PolicyType } from "../../runtime/compiled.ts";
import { BusinessHours, WEEKDAYS } from "../agents/model.ts";

const Names = (description: string) => t.Array(t.String({ minLength: 1, maxLength: 200 }), { maxItems: 200, description });

export const VerifyBeforeDiscloseConfig = t.Object(
  {
    fields: t.Array(
      t.Object({
        field: t.String({ minLength: 1, maxLength: 200, description: "A field a skill can return, e.g. appointment_time" }),
        audience: t.Union([t.Literal("anyone"), t.Literal("verified")], { description: "verified = only after caller verification" }),
      }),
      { maxItems: 200 },
    ),
  },
  { description: "verify_before_disclose: who may hear each field read back" },
);

export const AllowedFieldsConfig = t.Object(
  { fields: Names("The only fields a skill (of appliesToSkillType, when set) may surface") },
  { description: "allowed_fields: an allowlist of disclosable fields" },
);

export const WriteGateConfig = t.Object(
  {
    confirmBeforeWrite: t.Optional(t.Boolean({ default: true, description: "Ask the caller to confirm before any write skill runs" })),
    requireVerified: t.Optional(t.Boolean({ default: false, description: "Writes need a verified caller" })),
    alwaysEscalate: t.Optional(Names("Skill or action names handed to a person instead of run, e.g. issue_refund")),
  },
  { description: "write_gate: nothing changes in an outside system without passing this gate" },
);

export const RateLimitConfig = t.Object(
  {
    toolCallsPerMinute: t.Optional(Type.Integer({ minimum: 1, maximum: 1000 })),
    toolCallsPerCall: t.Optional(Type.Integer({ minimum: 1, maximum: 10_000, description: "Per conversation" })),
  },
  { description: "rate_limit: a hard budget of skill calls; at least one limit" },
);

const SKILL_WINDOWS = ["always", "business_hours_only", "after_hours_only"] as const;
const { weekly, holidays, afterHours } = BusinessHours.properties;

export const BusinessHoursConfig = t.Object(
  {
    timezone: t.String({ minLength: 1, maxLength: 64, description: "IANA time zone, e.g. America/New_York" }),
    weekly: Type.Optional(weekly, false),
    holidays,
    afterHours,
    skills: t.Optional(
      t.Record(t.String({ minLength: 1, maxLength: 200 }), t.Union(SKILL_WINDOWS.map((w) => t.Literal(w))), { description: "Skill name → when it may run; unlisted skills always may" }),
    ),
  },
  { description: "business_hours: the same schedule shape as an agent's businessHours, plus per-skill windows" },
);

export const ContentPolicyConfig = t.Object(
  {
    bannedTopics: t.Optional(Names("Topics the agent declines to discuss")),
    redactPii: t.Optional(t.Boolean({ default: false, description: "Redact personal data in transcripts" })),
    escalationThreshold: t.Optional(Type.Integer({ minimum: 1, maximum: 100, description: "Negative turns before the agent offers a person" })),
  },
  { description: "content_policy: topics, PII redaction and escalation on frustration" },
);

export const POLICY_CONFIGS = {
  verify_before_disclose: VerifyBeforeDiscloseConfig,
  allowed_fields: AllowedFieldsConfig,
  write_gate: WriteGateConfig,
  rate_limit: RateLimitConfig,
  business_hours: BusinessHoursConfig,
  content_policy: ContentPolicyConfig,
} as const satisfies Record<PolicyType, TSchema>;

// Lists default to empty so the runtime never meets a missing one.
const LIST_DEFAULTS: Partial<Record<PolicyType, Record<string, unknown[]>>> = {
  write_gate: { alwaysEscalate: [] },
  content_policy: { bannedTopics: [] },
};

/** A policy's config checked and completed with its defaults; `errors` name fields relative to the config. */
export function checkPolicyConfig(policyType: PolicyType, config: Record<string, unknown>, region: PhoneRegion): { config: Record<string, unknown>; errors: FieldError[] } {
  const schema = POLICY_CONFIGS[policyType];
  const schemaErrors = fieldErrors([...Value.Errors(schema, config)], "");
  if (schemaErrors.length) return { config, errors: schemaErrors };
  const errors: FieldError[] = [];
  if (policyType === "business_hours") errors.push(...checkBusinessHours(config, region));
  if (policyType === "rate_limit" && config.toolCallsPerMinute === undefined && config.toolCallsPerCall === undefined) {
    errors.push({ field: "", message: "needs toolCallsPerMinute, toolCallsPerCall or both" });
  }
  const completed = Value.Clean(schema, Value.Default(schema, { ...LIST_DEFAULTS[policyType], ...structuredClone(config) })) as Record<string, unknown>;
  return { config: completed, errors };
}

/** Time zone, weekday names and phone numbers (normalized to E.164 in place), as on an agent's businessHours. */
function checkBusinessHours(config: Record<string, unknown>, region: PhoneRegion): FieldError[] {
  const errors: FieldError[] = [];
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: config.timezone as string });
  } catch {
    errors.push({ field: "timezone", message: "is not an IANA time zone, e.g. America/New_York" });
  }
  for (const day of Object.keys(config.weekly as object)) {
    if (!(WEEKDAYS as readonly string[]).includes(day)) errors.push({ field: `weekly.${day}`, message: `is not a weekday (${WEEKDAYS.join(", ")})` });
  }
  const after = config.afterHours as { number?: string | null; emergencyNumber?: string | null; allowHumanTransfer?: boolean } | undefined;
  for (const key of ["number", "emergencyNumber"] as const) {
    const value = after?.[key];
    if (!value) continue;
    const e164 = normalizePhoneNumber(value, region);
    if (e164) after[key] = e164;
    else errors.push({ field: `afterHours.${key}`, message: notAPhoneNumber(region) });
  }
  if (after?.allowHumanTransfer && !after.number) errors.push({ field: "afterHours.number", message: "is required when allowHumanTransfer is true" });
  return errors;
}
