import { Type } from "@sinclair/typebox";
import { t, type Static } from "elysia";

export const SimulateBody = t.Object({
  mode: t.Optional(t.Union([t.Literal("text"), t.Literal("voice"), t.Literal("voice_browser"), t.Literal("probe_loopback")], { description: "text = chat tester; voice modes run the voice channel's rules", default: "text" })),
  draftMode: t.Optional(t.Boolean({ description: "Run the draft (default true, never billed); false runs the published version", default: true })),
  transcript: t.Optional(t.Array(t.String({ minLength: 1, maxLength: 4000 }), { maxItems: 50, description: "Scripted user turns, in order" })),
  callerNumber: t.Optional(t.String({ maxLength: 32, description: "Caller number to pretend (voice modes)" })),
});
export type SimulateInput = Static<typeof SimulateBody>;

export const ScenarioExpectations = t.Object({
  saysAny: t.Optional(t.Array(t.String({ maxLength: 500 }), { description: "The agent says at least one of these phrases (case-insensitive)" })),
  neverSays: t.Optional(t.Array(t.String({ maxLength: 500 }), { description: "Phrases the agent must never say" })),
  toolCalls: t.Optional(t.Array(t.String({ maxLength: 100 }), { description: "Skill names that must run successfully" })),
  handoff: t.Optional(t.Boolean({ description: "A handoff must (true) or must not (false) happen" })),
  goalCompleted: t.Optional(t.Boolean()),
  maxTurnLatencyMs: t.Optional(Type.Integer({ minimum: 1, maximum: 600_000 })),
});

export const Scenario = t.Object({
  name: t.Optional(t.String({ maxLength: 200 })),
  turns: t.Array(t.String({ minLength: 1, maxLength: 4000 }), { maxItems: 50 }),
  expect: ScenarioExpectations,
});
export type ScenarioInput = Static<typeof Scenario>;

export const ProbeRunBody = t.Object({
  scenarioId: t.String({ minLength: 1, maxLength: 200, description: "greeting | handoff | unknown_question | playbook:<playbookId> | custom (with `scenario`)" }),
  mode: t.Union([t.Literal("loopback"), t.Literal("phone")]),
  draftMode: t.Optional(t.Boolean({ description: "Probe the draft (default) or the published version", default: true })),
  scenario: t.Optional(Scenario),
});

export const ProbeRun = t.Object({
  runId: t.String(),
  scenarioId: t.String(),
  mode: t.String(),
  status: t.Union([t.Literal("queued"), t.Literal("running"), t.Literal("completed"), t.Literal("failed")]),
  conversationId: t.Union([t.String(), t.Null()]),
  gatesPassed: t.Boolean(),
  failures: t.Array(t.String()),
  latency: t.Object({ perTurn: t.Array(t.Object({ turnIndex: Type.Integer(), responseLatencyMs: Type.Integer() })) }),
  conversation: t.Object({ goalCompleted: t.Boolean(), goalCompletionScore: t.Number(), languageFidelity: t.Number() }),
  createdAt: t.String({ format: "date-time" }),
  finishedAt: t.Union([t.String({ format: "date-time" }), t.Null()]),
}, { $id: "ProbeRun" });
export type ProbeRunDto = Static<typeof ProbeRun>;
