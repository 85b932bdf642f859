// The report's gate claims checked against the guardrail engine itself: for every combination of the settings
// that decide confirmation, verification and escalation, the report says "asks the caller to confirm first" exactly
// when authorize() holds the skill for a confirmation, and so on. Pure: no server, no storage.
import { describe, expect, it } from "bun:test";
import { defaultConfig } from "../../../src/api/agents/config.ts";
import { buildPrepublishReport } from "../../../src/api/agents/report.ts";
import type { CompiledConfig, CompiledGuardrail, CompiledSkill } from "../../../src/runtime/compiled.ts";
import { Guardrails } from "../../../src/runtime/guardrails.ts";
import { initialState } from "../../../src/runtime/state.ts";
import { compiledSkill } from "../../support/skills-compiled.ts";

const skill = (overrides: Partial<CompiledSkill>): CompiledSkill =>
  compiledSkill("http_webhook", { url: "https://bookings.example.com/change", method: "POST" }, { id: "skl_1", name: "Change booking", description: "Changes a booking", ...overrides });

const compiledWith = (s: CompiledSkill, guardrails: CompiledGuardrail[]): CompiledConfig => ({
  agent: { name: "Gates", ...defaultConfig() },
  skills: [s],
  playbooks: [],
  guardrails,
  callerVerification: [{ id: "cvc_1", method: "account_pin", verifierSkillId: "skl_1", requiredFields: ["account_number", "pin"], tokenTtlSeconds: 900, maxAttempts: 3, stepUpFor: [] }],
});

const NO_KNOWLEDGE = { sources: 0, indexed: 0, pending: 0, failed: 0, coverageScore: null };
const writeGates: (Record<string, unknown> | null)[] = [null, { confirmBeforeWrite: true }, { confirmBeforeWrite: false }, { confirmBeforeWrite: false, requireVerified: true }, { alwaysEscalate: ["Change booking"] }];

function* combinations() {
  for (const isWrite of [false, true])
    for (const requiresConfirmation of [false, true])
      for (const requiresVerifiedIdentity of [false, true])
        for (const stakes of ["low", "medium", "high"] as const)
          for (const gate of writeGates) yield { skill: skill({ isWrite, requiresConfirmation, requiresVerifiedIdentity, stakes }), gate };
}

describe("the report's gates agree with the guardrail engine", () => {
  it("claims confirmation, verification and escalation exactly when authorize() applies them", () => {
    let checked = 0;
    for (const { skill: s, gate } of combinations()) {
      const compiled = compiledWith(s, gate ? [{ id: "grp_1", policyType: "write_gate", appliesToSkillType: null, config: gate }] : []);
      const line = buildPrepublishReport({ isActive: true, compiled, everPublished: false, hasUnpublishedChanges: true, knowledge: NO_KNOWLEDGE, connectedIntegrations: new Set() }).willSay.find((l) => l.startsWith(`Uses the skill "${s.name}"`))!;
      const guardrails = new Guardrails(compiled, () => Date.UTC(2025, 0, 6, 15));
      const unverified = guardrails.authorize(s, initialState("en", {}), { channel: "chat", confirmed: false });
      const verifiedState = initialState("en", {});
      verifiedState.verification.verified = true;
      const verified = guardrails.authorize(s, verifiedState, { channel: "chat", confirmed: false });

      const context = { skill: { isWrite: s.isWrite, requiresConfirmation: s.requiresConfirmation, requiresVerifiedIdentity: s.requiresVerifiedIdentity, stakes: s.stakes }, gate };
      expect({ ...context, escalates: line.includes("never runs itself") }).toEqual({ ...context, escalates: verified.kind === "escalate" });
      expect({ ...context, verifies: line.includes("verified callers only") }).toEqual({ ...context, verifies: unverified.kind === "verify" });
      if (verified.kind !== "escalate") expect({ ...context, confirms: line.includes("asks the caller to confirm first") }).toEqual({ ...context, confirms: verified.kind === "confirm" });
      checked++;
    }
    expect(checked).toBe(2 * 2 * 2 * 3 * writeGates.length);
  });
});

describe("the report's after-hours and result claims agree with the guardrail engine", () => {
  // Monday 2025-01-06 22:00 in New York: outside the 09:00–17:00 schedule.
  const closed = () => Date.UTC(2025, 0, 7, 3);
  const hours = (afterHours: Record<string, unknown>) => ({
    ...defaultConfig(),
    businessHours: { timezone: "America/New_York", weekly: { monday: [{ start: "09:00", end: "17:00" }] }, afterHours },
  });

  it("claims 'not outside business hours' exactly when authorize() refuses the skill while closed", () => {
    let checked = 0;
    for (const mode of ["full", "take_message", "closed_message"])
      for (const allowHumanTransfer of [false, true])
        for (const s of [skill({ isWrite: true }), skill({ isWrite: false }), compiledSkill("transfer", { destination: "+15551230000" }, { id: "skl_2", name: "Transfer", description: "Transfers" })])
          for (const window of [null, "business_hours_only", "after_hours_only"]) {
            const guardrails: CompiledGuardrail[] = window ? [{ id: "grp_2", policyType: "business_hours", appliesToSkillType: null, config: { skills: { [s.name]: window } } }] : [];
            const compiled: CompiledConfig = { agent: { name: "Hours", ...hours({ mode, allowHumanTransfer }) } as CompiledConfig["agent"], skills: [s], playbooks: [], guardrails, callerVerification: [] };
            const line = buildPrepublishReport({ isActive: true, compiled, everPublished: false, hasUnpublishedChanges: true, knowledge: NO_KNOWLEDGE, connectedIntegrations: new Set() }).willSay.find((l) => l.startsWith(`Uses the skill "${s.name}"`))!;
            const decision = new Guardrails(compiled, closed).authorize(s, initialState("en", {}), { channel: "chat", confirmed: true });
            const context = { mode, allowHumanTransfer, skill: s.skillType, isWrite: s.isWrite, window };
            const refusedClosed = decision.kind === "block" && decision.events.some((e) => e.policyType === "business_hours");
            const claimed = line.includes("not outside business hours") || line.includes("during business hours only");
            expect({ ...context, refusedWhileClosed: claimed }).toEqual({ ...context, refusedWhileClosed: refusedClosed });
            checked++;
          }
    expect(checked).toBe(3 * 2 * 3 * 3);
  });

  it("names as passed on exactly the fields the engine lets through", () => {
    const s = skill({ allowedFields: ["status", "eta", "total"] });
    const policy: CompiledGuardrail = { id: "grp_3", policyType: "allowed_fields", appliesToSkillType: "http_webhook", config: { fields: ["status", "total", "owner"] } };
    const compiled = compiledWith(s, [policy]);
    const line = buildPrepublishReport({ isActive: true, compiled, everPublished: false, hasUnpublishedChanges: true, knowledge: NO_KNOWLEDGE, connectedIntegrations: new Set() }).willSay.find((l) => l.startsWith(`Uses the skill "${s.name}"`))!;
    const kept = new Guardrails(compiled, closed).filterResult(s, { status: "shipped", eta: "Friday", total: "$40", owner: "Ann", note: "x" }, initialState("en", {})).data;
    expect(Object.keys(kept).sort()).toEqual(["status", "total"]);
    expect(line).toContain("passes on only status and total from its result");
  });
});
