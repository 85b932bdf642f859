// TypeBox shapes of the Guardrails tag: policies and caller-verification settings, as sent in a replace and as answered.
import { Type } from "@sinclair/typebox";
import { t, type Static } from "elysia";
import { POLICY_TYPES, SKILL_TYPES, VERIFICATION_METHODS } from "../../runtime/compiled.ts";
import { POLICY_CONFIGS } from "./policies.ts";

const oneOf = (values: readonly string[], description?: string) => t.Union(values.map((v) => t.Literal(v)), description ? { description } : {});
const Id = (description: string) => t.Optional(t.String({ maxLength: 64, description }));
const Names = (description: string) => t.Array(t.String({ minLength: 1, maxLength: 200 }), { minItems: 1, maxItems: 50, description });

export const GuardrailPolicyInput = t.Object({
  id: Id("Keep a policy by sending its id; a missing or unknown id makes a new policy"),
  policyType: oneOf(POLICY_TYPES),
  appliesToSkillType: t.Optional(t.Union([oneOf(SKILL_TYPES), t.Null()], { description: "Narrow the policy to skills of one type" })),
  config: t.Optional(
    t.Record(t.String(), t.Unknown(), {
      description: `Settings of the policyType (default {}): ${Object.entries(POLICY_CONFIGS)
        .map(([type, schema]) => `${type} ${Object.keys(schema.properties).join("/")}`)
        .join("; ")}`,
    }),
  ),
  isEnabled: t.Optional(t.Boolean({ description: "Default true" })),
});
export type GuardrailPolicyInputDto = Static<typeof GuardrailPolicyInput>;

export const GuardrailPolicies = t.Array(GuardrailPolicyInput, {
  maxItems: 50,
  description: "The complete policy set, in order: omitted policies are deleted. agentId and organizationId come from the path and the key.",
});

export const GuardrailPolicy = t.Object({
  id: t.String(),
  agentId: t.String(),
  organizationId: t.String(),
  policyType: t.String(),
  appliesToSkillType: t.Union([t.String(), t.Null()]),
  config: t.Record(t.String(), t.Unknown()),
  isEnabled: t.Boolean(),
}, { $id: "GuardrailPolicy" });
export type GuardrailPolicyDto = Static<typeof GuardrailPolicy>;

export const CallerVerificationInput = t.Object({
  id: Id("Keep a config by sending its id; a missing or unknown id makes a new one"),
  method: oneOf(VERIFICATION_METHODS),
  verifierSkillId: t.String({ minLength: 1, maxLength: 64, description: "The agent's skill that checks the claimed identity and answers match or no match" }),
  requiredFields: t.Optional(Names("What the caller gives; default per method: dob_postcode dob/postcode, account_pin account_number/pin, otp_sms phone; required for knowledge_based")),
  tokenTtlSeconds: t.Optional(Type.Integer({ minimum: 60, maximum: 86_400, description: "How long a verification holds within a conversation; default 900" })),
  maxAttempts: t.Optional(Type.Integer({ minimum: 1, maximum: 10, description: "Default 3" })),
  stepUpFor: t.Optional(t.Array(t.String({ minLength: 1, maxLength: 200 }), { maxItems: 50, description: "Skill names that need verifying again even after a pass" })),
});
export type CallerVerificationInputDto = Static<typeof CallerVerificationInput>;

export const CallerVerificationConfigs = t.Array(CallerVerificationInput, { maxItems: 10, description: "The complete list, in order: omitted configs are deleted" });

export const CallerVerificationConfig = t.Object({
  id: t.String(),
  agentId: t.String(),
  organizationId: t.String(),
  method: t.String(),
  verifierSkillId: t.String(),
  requiredFields: t.Array(t.String()),
  tokenTtlSeconds: Type.Integer(),
  maxAttempts: Type.Integer(),
  stepUpFor: t.Array(t.String()),
}, { $id: "CallerVerificationConfig" });
export type CallerVerificationConfigDto = Static<typeof CallerVerificationConfig>;
