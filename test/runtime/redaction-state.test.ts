// A conversation's state as stored with redactPii (pure logic): no raw value left, and what the guardrails held back
// from the brain before it was stored still held back once it is read again.
import { describe, expect, it } from "bun:test";
import { defaultConfig } from "../../src/api/agents/config.ts";
import { Guardrails } from "../../src/runtime/guardrails.ts";
import { redactedState } from "../../src/runtime/redaction.ts";
import { initialState } from "../../src/runtime/state.ts";

const NOW = Date.UTC(2026, 10, 24, 12, 0);
const guardrails = new Guardrails(
  {
    agent: { name: "Rules", ...defaultConfig() },
    skills: [],
    playbooks: [],
    guardrails: [{ id: "grd_0", appliesToSkillType: null, policyType: "verify_before_disclose", config: { fields: [{ field: "account", audience: "verified" }] } }],
    callerVerification: [],
  },
  () => NOW,
);

function lapsedState() {
  const s = initialState("en", { caller_number: "+14155550199", verified: false });
  s.verification = { ...s.verification, verified: true, expiresAt: NOW - 1 };
  // Kept while the caller was verified: an account number (a number, not a string) and a card on file.
  s.variables.account = 41111111111;
  s.variables.card_on_file = "4111 1111 1111 1111";
  s.variables.contact = "ann.payer@example.com";
  s.verifiedOnlyVariables = { account: "41111111111", card_on_file: '"4111 1111 1111 1111"' };
  s.history = [{ role: "user", content: "my email is ann.payer@example.com" }];
  s.pending = { kind: "confirm_skill", skillId: "skl_01JEK5123456789012", args: { card: "4111 1111 1111 1111" }, fromPlaybook: true };
  return s;
}

describe("a state stored redacted", () => {
  it("holds no raw card number or e-mail, and keeps the ids it points with", () => {
    const stored = JSON.stringify(redactedState(lapsedState()));
    for (const raw of ["4111 1111 1111 1111", "4111111111111111", "ann.payer@example.com"]) expect(stored).not.toContain(raw);
    expect(stored).toContain('"skillId":"skl_01JEK5123456789012"');
  });

  it("keeps from the brain what was kept from it before, once read back", () => {
    const live = lapsedState();
    expect(guardrails.brainView(live).withheldVariables).toEqual(["account", "card_on_file"]);
    const resumed = JSON.parse(JSON.stringify(redactedState(live)));
    expect(guardrails.brainView(resumed).withheldVariables).toEqual(["account", "card_on_file"]);
  });
});
