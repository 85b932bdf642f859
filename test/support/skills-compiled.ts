// Compiled skills and call contexts for executor tests, in the shape the runtime hands to RunSkill.
import type { CompiledSkill, SkillType } from "../../src/runtime/compiled.ts";
import type { SkillCallContext } from "../../src/runtime/tools/types.ts";

export function compiledSkill(skillType: SkillType, executionConfig: Record<string, unknown>, overrides: Partial<CompiledSkill> = {}): CompiledSkill {
  return {
    id: "skl_test",
    name: `${skillType} skill`,
    description: "test skill",
    skillType,
    parametersSchema: { type: "object", properties: {}, required: [] },
    requiredParams: [],
    executionConfig,
    dataEgressMap: {},
    allowedFields: [],
    isWrite: false,
    requiresVerifiedIdentity: false,
    requiresConfirmation: false,
    nonParallelizable: false,
    stakes: "low",
    channels: ["voice", "chat"],
    errorHandling: {},
    expectedLatencyMs: null,
    ...overrides,
  };
}

export function callContext(overrides: Partial<SkillCallContext> = {}): SkillCallContext {
  return {
    organizationId: "org_test",
    agentId: "agt_test",
    conversationId: "cnv_test",
    channel: "voice",
    variables: {},
    signal: new AbortController().signal,
    ...overrides,
  };
}
