// The guardrail engine's rules on their own (pure logic): what a skill result may carry back, which mapped
// variables are held back, when confirmation is required, and which caller-verification configuration applies.
import { describe, expect, it } from "bun:test";
import { defaultConfig } from "../../src/api/agents/config.ts";
import type { CompiledConfig, CompiledGuardrail, CompiledVerification } from "../../src/runtime/compiled.ts";
import { Guardrails } from "../../src/runtime/guardrails.ts";
import { initialState } from "../../src/runtime/state.ts";
import { compiledSkill } from "../support/skills-compiled.ts";

const NOW = Date.UTC(2026, 10, 24, 12, 0);

function guardrails(policies: Omit<CompiledGuardrail, "id" | "appliesToSkillType">[] = [], callerVerification: CompiledVerification[] = []) {
  const compiled: CompiledConfig = {
    agent: { name: "Rules", ...defaultConfig() },
    skills: [],
    playbooks: [],
    guardrails: policies.map((p, i) => ({ id: `grd_${i}`, appliesToSkillType: null, ...p })),
    callerVerification,
  };
  return new Guardrails(compiled, () => NOW);
}

const verifiedOnly = (...fields: string[]) => ({ policyType: "verify_before_disclose" as const, config: { fields: fields.map((field) => ({ field, audience: "verified" })) } });
const state = () => initialState("en", {});
const lookup = compiledSkill("http_webhook", {}, { name: "lookup_account" });

function verification(id: string, method: CompiledVerification["method"], stepUpFor: string[] = []): CompiledVerification {
  return { id, method, verifierSkillId: "skl_verify", requiredFields: [], tokenTtlSeconds: 900, maxAttempts: 3, stepUpFor };
}

describe("results: verify_before_disclose", () => {
  it("withholds a verified-only field nested anywhere, by its name, and keeps its value aside for the reply screen", () => {
    const g = guardrails([verifiedOnly("balance")]);
    const s = state();
    const out = g.filterResult(lookup, { name: "Ann", account: { balance: "1234.56", plan: "Gold" }, history: [{ balance: "99.10", month: "May" }] }, s);
    expect(out.data).toEqual({ name: "Ann", account: { plan: "Gold" }, history: [{ month: "May" }] });
    expect(out.withheld.verifiedOnly).toEqual(["account.balance", "history.balance"]);
    expect(out.events).toEqual([{ policyType: "verify_before_disclose", decision: "redacted", reason: "verified callers only", skill: "lookup_account", fields: ["account.balance", "history.balance"] }]);
    expect(s.guardedValues).toEqual(["1234.56", "99.10"]);
    expect(g.screenReply("Your balance is $1,234.56.", s).text).toBe("I can share that once I've verified your identity.");
  });

  it("withholds by dotted path only where the path says, and a whole object when the field names it", () => {
    const g = guardrails([verifiedOnly("account.balance", "card")]);
    const s = state();
    const out = g.filterResult(lookup, { balance: "shown", account: { balance: "10.00", id: "A1" }, card: { last4: "4242", expiry: "12/29" } }, s);
    expect(out.data).toEqual({ balance: "shown", account: { id: "A1" } });
    expect(out.withheld.verifiedOnly).toEqual(["account.balance", "card"]);
    expect(s.guardedValues).toEqual(["10.00", "4242", "12/29"]);
  });

  it("drops an object emptied by the rule rather than leaving a hollow shell", () => {
    const out = guardrails([verifiedOnly("balance")]).filterResult(lookup, { account: { balance: "5.00" }, ok: true }, state());
    expect(out.data).toEqual({ ok: true });
  });

  it("lets a verified caller see everything", () => {
    const g = guardrails([verifiedOnly("balance")]);
    const s = state();
    s.verification = { ...s.verification, verified: true, expiresAt: NOW + 60_000 };
    expect(g.filterResult(lookup, { account: { balance: "1.00" } }, s).data).toEqual({ account: { balance: "1.00" } });
  });

  it("keeps a verified caller's verified-only values aside too, so replies are screened once the verification lapses", () => {
    const g = guardrails([verifiedOnly("balance")]);
    const s = verifiedState(NOW + 60_000);
    const out = g.filterResult(lookup, { account: { balance: "1234.56", plan: "Gold" } }, s);
    expect(out.data).toEqual({ account: { balance: "1234.56", plan: "Gold" } });
    expect(out.events).toEqual([]);
    expect(out.withheld).toEqual({ notAllowed: [], verifiedOnly: [], verifiedOnlyShown: ["account.balance"] });
    expect(s.guardedValues).toEqual(["1234.56"]);
    expect(g.screenReply("Your balance is $1,234.56.", s).text).toBe("Your balance is $1,234.56.");
    s.verification.expiresAt = NOW;
    expect(g.screenReply("Your balance is $1,234.56.", s)).toEqual({
      text: "I can share that once I've verified your identity.",
      events: [{ policyType: "verify_before_disclose", decision: "blocked", reason: "reply disclosed a verified-only value to an unverified caller" }],
      replacedBy: { id: "guardrail.verified_only" },
    });
  });
});

function verifiedState(expiresAt: number) {
  const s = state();
  s.verification = { ...s.verification, verified: true, expiresAt };
  return s;
}

describe("results: allowed fields", () => {
  it("keeps only listed fields at any depth, by name or dotted path, and reports what went", () => {
    const skill = compiledSkill("http_webhook", {}, { name: "order_status", allowedFields: ["status", "order.eta"] });
    const out = guardrails().filterResult(skill, { status: "shipped", internal_code: "X9", order: { eta: "Friday", warehouse: "W2", status: "packed" } }, state());
    expect(out.data).toEqual({ status: "shipped", order: { eta: "Friday", status: "packed" } });
    expect(out.withheld.notAllowed).toEqual(["internal_code", "order.warehouse"]);
    expect(out.events[0]).toMatchObject({ policyType: "allowed_fields", decision: "redacted", fields: ["internal_code", "order.warehouse"] });
  });

  it("applies an allowed_fields policy to the skill type it names, together with the skill's own list", () => {
    const g = new Guardrails(
      {
        agent: { name: "Rules", ...defaultConfig() },
        skills: [],
        playbooks: [],
        guardrails: [
          { id: "g1", policyType: "allowed_fields", appliesToSkillType: "http_webhook", config: { fields: ["status", "eta"] } },
          { id: "g2", policyType: "allowed_fields", appliesToSkillType: "geo", config: { fields: ["label"] } },
        ],
        callerVerification: [],
      },
      () => NOW,
    );
    const skill = compiledSkill("http_webhook", {}, { allowedFields: ["status", "carrier"] });
    // Only what every list allows survives: status (eta is not in the skill's list, carrier not in the policy's).
    expect(g.filterResult(skill, { status: "shipped", eta: "Friday", carrier: "UPS" }, state()).data).toEqual({ status: "shipped" });
    expect(g.filterResult(compiledSkill("geo", {}), { label: "North", phone: "+14155550100" }, state()).data).toEqual({ label: "North" });
    expect(g.filterResult(compiledSkill("email", {}), { sent: true, to: ["a@b.c"] }, state()).data).toEqual({ sent: true, to: ["a@b.c"] });
  });
});

describe("mapped variables", () => {
  const g = guardrails([verifiedOnly("balance")]);

  it("are held back when they come from a withheld field, whatever the variable is called", () => {
    const s = state();
    const out = g.filterResult(lookup, { account: { balance: "1234.56", plan: "Gold" } }, s);
    expect(g.variableHeldBy("bal", "1234.56", "account.balance", out.withheld, s)).toBe("verify_before_disclose");
    expect(g.variableHeldBy("acct", { balance: "1234.56", plan: "Gold" }, "account", out.withheld, s)).toBe("verify_before_disclose");
    expect(g.variableHeldBy("plan", "Gold", "account.plan", out.withheld, s)).toBeNull();
  });

  it("are held back when named like a verified-only field or carrying a guarded value without a known source", () => {
    const s = state();
    const out = g.filterResult(lookup, { balance: "1234.56" }, s);
    expect(g.variableHeldBy("balance", "anything", null, out.withheld, s)).toBe("verify_before_disclose");
    expect(g.variableHeldBy("amount_due", "$1,234.56", null, out.withheld, s)).toBe("verify_before_disclose");
    expect(g.variableHeldBy("plan", "Gold", null, out.withheld, s)).toBeNull();
  });

  it("are held back when they come from a field the allow lists removed", () => {
    const skill = compiledSkill("http_webhook", {}, { allowedFields: ["status"] });
    const s = state();
    const out = guardrails().filterResult(skill, { status: "shipped", internal: { code: "X9" } }, s);
    expect(guardrails().variableHeldBy("code", "X9", "internal.code", out.withheld, s)).toBe("allowed_fields");
    expect(guardrails().variableHeldBy("state", "shipped", "status", out.withheld, s)).toBeNull();
  });
});

describe("mapped variables kept for a verified caller", () => {
  const g = guardrails([verifiedOnly("balance")]);

  it("are marked verified-only when they hold what an unverified caller would lose", () => {
    const s = verifiedState(NOW + 60_000);
    const out = g.filterResult(lookup, { account: { balance: "1234.56", plan: "Gold" }, ref: "R-1" }, s);
    expect(g.variableHeldBy("bal", "1234.56", "account.balance", out.withheld, s)).toBeNull();
    expect(g.variableIsVerifiedOnly("bal", "1234.56", "account.balance", out.withheld, s)).toBe(true);
    expect(g.variableIsVerifiedOnly("acct", { balance: "1234.56", plan: "Gold" }, "account", out.withheld, s)).toBe(true);
    expect(g.variableIsVerifiedOnly("amount_due", "$1,234.56", null, out.withheld, s)).toBe(true);
    expect(g.variableIsVerifiedOnly("balance", "R-1", "ref", out.withheld, s)).toBe(true);
    expect(g.variableIsVerifiedOnly("plan", "Gold", "account.plan", out.withheld, s)).toBe(false);
  });
});

describe("what a brain sees", () => {
  const g = guardrails([verifiedOnly("balance")]);

  function lapsed() {
    const s = verifiedState(NOW + 60_000);
    s.variables = { caller_number: "+14155550199", verified: true, bal: "1234.56", tier: "Gold", nickname: "R-1", acct: { balance: "1234.56", plan: "Gold" } };
    s.guardedValues = ["1234.56"];
    // `nickname` was marked (say, mapped from a field named like a verified-only one) with a value nothing else guards.
    s.verifiedOnlyVariables = { bal: '"1234.56"', nickname: '"R-1"' };
    s.history = [
      { role: "user", content: "what's my balance?" },
      { role: "assistant", content: "Your balance is $1,234.56 today." },
    ];
    return s;
  }

  it("is everything while the caller is verified", () => {
    const s = lapsed();
    expect(g.brainView(s)).toEqual({ variables: s.variables, history: s.history, withheldVariables: [], maskedMessages: 0 });
  });

  it("leaves out verified-only variables and masks guarded values in earlier messages once the verification lapses", () => {
    const s = lapsed();
    s.verification.expiresAt = NOW;
    s.variables.verified = false;
    const view = g.brainView(s);
    expect(view.variables).toEqual({ caller_number: "+14155550199", verified: false, tier: "Gold" });
    expect(view.withheldVariables).toEqual(["bal", "nickname", "acct"]);
    expect(view.history).toEqual([
      { role: "user", content: "what's my balance?" },
      { role: "assistant", content: "Your balance is $[withheld] today." },
    ]);
    expect(view.maskedMessages).toBe(1);
    // The state itself keeps them for when the caller is verified again.
    expect(s.variables.bal).toBe("1234.56");
    expect(s.history[1]!.content).toBe("Your balance is $1,234.56 today.");
  });

  it("shows a marked variable again once something else is stored under its name", () => {
    const s = lapsed();
    s.verification.expiresAt = NOW;
    s.variables.nickname = "Annie";
    expect(g.brainView(s).withheldVariables).toEqual(["bal", "acct"]);
  });
});

describe("authorize", () => {
  it("asks a high-stakes skill for confirmation even with no write_gate policy", () => {
    const g = guardrails();
    const refund = compiledSkill("http_webhook", {}, { name: "issue_refund", stakes: "high" });
    const asked = g.authorize(refund, state(), { channel: "chat", confirmed: false });
    expect(asked).toEqual({ kind: "confirm", events: [{ policyType: "write_gate", decision: "confirm_required", reason: "high-stakes action", skill: "issue_refund" }] });
    expect(g.authorize(refund, state(), { channel: "chat", confirmed: true }).kind).toBe("allow");
    expect(g.authorize(compiledSkill("http_webhook", {}, { stakes: "medium" }), state(), { channel: "chat", confirmed: false }).kind).toBe("allow");
  });

  it("verifies through the configuration whose stepUpFor names the skill, else the first that can run here", () => {
    const pin = verification("cvf_pin", "account_pin");
    const otp = verification("cvf_otp", "otp_sms");
    const kba = verification("cvf_kba", "knowledge_based", ["close_account"]);
    const g = guardrails([], [otp, pin, kba]);
    const protectedSkill = compiledSkill("http_webhook", {}, { name: "account_balance", requiresVerifiedIdentity: true });
    const closing = compiledSkill("http_webhook", {}, { name: "close_account" });
    expect(g.authorize(protectedSkill, state(), { channel: "voice", confirmed: false })).toMatchObject({ kind: "verify", config: { id: "cvf_pin" } });
    expect(g.authorize(closing, state(), { channel: "voice", confirmed: false })).toMatchObject({ kind: "verify", config: { id: "cvf_kba" }, events: [{ method: "knowledge_based" }] });
    // Verified already, the step-up skill still asks again; once stepped up it runs.
    const s = state();
    s.verification = { ...s.verification, verified: true, expiresAt: NOW + 60_000 };
    expect(g.authorize(closing, s, { channel: "voice", confirmed: false })).toMatchObject({ kind: "verify", events: [{ reason: "step-up verification for this action" }] });
    s.verification.steppedUp.push("close_account");
    expect(g.authorize(closing, s, { channel: "voice", confirmed: false }).kind).toBe("allow");
    // Only otp_sms configured: it is chosen, and the runtime reports it unavailable.
    expect(guardrails([], [otp]).authorize(protectedSkill, state(), { channel: "voice", confirmed: false })).toMatchObject({ kind: "verify", config: { method: "otp_sms" } });
  });
});
