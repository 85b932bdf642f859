// Caller verification in the runtime: each method asks for its fields and checks them with the verifier skill
// (a webhook on loopback); a pass lasts tokenTtlSeconds; stepUpFor demands a fresh check through its own
// configuration; maxAttempts locks; otp_sms, which needs an SMS sender, is reported unavailable.
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import type { CompiledSkill, CompiledVerification } from "../../src/runtime/compiled.ts";
import { compiled, runtime, startHarness, talk, webhookSkill, type Harness } from "./conversation-harness.ts";

let h: Harness;
beforeAll(async () => {
  h = await startHarness((path, body) => {
    if (path === "/verify-pin") return { match: body.account_number === "12345678" && body.pin === "4321" };
    if (path === "/verify-kba") return { match: String(body.mothers_maiden_name).toLowerCase() === "smith" };
    // A record found by the calling number, proven by its PIN.
    if (path === "/verify-number") return { match: body.caller_number === "+14155550123" && body.pin === "4321" };
    if (path === "/balance") return { balance: "42.00" };
    if (path === "/close") return { message: "Your account is closed." };
    return {};
  });
});
afterAll(() => h.stop());

const calls = (path: string) => h.webhook.calls.filter((c) => c.path === path).length;

function agent(configs: Partial<CompiledVerification>[], numberVerifier: Partial<CompiledSkill> = {}) {
  const balance = webhookSkill(h, "account_balance", "Tell the caller their account balance", "/balance", { requiresVerifiedIdentity: true });
  const close = webhookSkill(h, "close_account", "Close the caller's account for good", "/close");
  // Verifiers are voice-only so a chat caller never reaches them by what they say; verification calls them directly.
  const verifyPin = webhookSkill(h, "verify_pin", "Check an account number and PIN", "/verify-pin", { channels: ["voice"] });
  const verifyKba = webhookSkill(h, "verify_kba", "Check a security answer", "/verify-kba", { channels: ["voice"] });
  const verifyNumber = webhookSkill(h, "verify_number", "Find a record by phone and check its secret", "/verify-number", { channels: ["voice"], ...numberVerifier });
  const broken = { ...webhookSkill(h, "verify_broken", "A verifier that cannot be reached", "/x", { channels: ["voice"] }), executionConfig: { url: "http://127.0.0.1:9/verify", method: "POST", timeout_ms: 500 } };
  return compiled(
    {},
    {
      skills: [balance, close, verifyPin, verifyKba, verifyNumber, broken],
      callerVerification: configs.map((c, i) => ({ id: `cvf_${i}`, method: "account_pin", verifierSkillId: "skl_verify_pin", requiredFields: [], tokenTtlSeconds: 900, maxAttempts: 3, stepUpFor: [], ...c })),
    },
  );
}

const PIN = { method: "account_pin" as const, verifierSkillId: "skl_verify_pin", requiredFields: ["account_number", "pin"] };
const BY_NUMBER = { method: "account_pin" as const, verifierSkillId: "skl_verify_number", requiredFields: ["pin"] };
const KBA = { method: "knowledge_based" as const, verifierSkillId: "skl_verify_kba", requiredFields: ["mothers_maiden_name"] };
const statuses = (t: { payloads(type: "verification"): Record<string, any>[] }) => t.payloads("verification").map((v) => `${v.method}:${v.status}`);

describe("caller verification", () => {
  it("account_pin: asks for the account number and PIN, checks them with the verifier, then runs the protected skill", async () => {
    const c = agent([PIN]);
    const t = await talk(runtime(h, c), h, c);
    const before = calls("/balance");
    expect(await t.ask("what is my account balance")).toEqual(["Before I can do that, I need to verify your identity. What is your account number?"]);
    expect(await t.ask("it's 12345678")).toEqual(["Thanks. And your PIN?"]);
    expect(calls("/balance")).toBe(before);
    expect(await t.ask("4321")).toEqual(["Thank you, you're verified.", "Here's what I found. balance: 42.00."]);
    expect(calls("/balance")).toBe(before + 1);
    expect(h.webhook.calls.findLast((x) => x.path === "/verify-pin")!.body).toEqual({ caller_number: "+14155550199", account_number: "12345678", pin: "4321", method: "account_pin" });
    expect(statuses(t)).toEqual(["account_pin:started", "account_pin:passed"]);
    // The verifier's call in the receipt names what was sent, never the values.
    expect(t.payloads("tool_call").find((p) => p.purpose === "verification")!.arguments).toEqual({ caller_number: "[redacted]", account_number: "[redacted]", pin: "[redacted]" });
  });

  it("sends the caller's number as caller_number, so the verifier finds the record by it and the caller proves it with a PIN", async () => {
    const c = agent([BY_NUMBER]);
    const t = await talk(runtime(h, c), h, c, "voice", { callerNumber: "+14155550123" });
    expect(await t.ask("what is my account balance")).toEqual(["Before I can do that, I need to verify your identity. What is your PIN?"]);
    expect(await t.ask("4321")).toEqual(["Thank you, you're verified.", "Here's what I found. balance: 42.00."]);
    expect(h.webhook.calls.findLast((x) => x.path === "/verify-number")!.body).toEqual({ caller_number: "+14155550123", pin: "4321", method: "account_pin" });
    expect(t.payloads("tool_call").find((p) => p.purpose === "verification")!.arguments).toEqual({ caller_number: "[redacted]", pin: "[redacted]" });

    // The same PIN from a number with no record is no match.
    const other = await talk(runtime(h, c), h, c, "voice", { callerNumber: "+14155550999" });
    await other.ask("what is my account balance");
    expect(await other.ask("4321")).toEqual(["That doesn't match our records. Let's try again. What is your PIN?"]);
    expect(h.webhook.calls.findLast((x) => x.path === "/verify-number")!.body).toMatchObject({ caller_number: "+14155550999" });
  });

  it("sends no caller_number when the conversation has no caller number", async () => {
    const c = agent([PIN]);
    const t = await talk(runtime(h, c), h, c, "chat", { callerNumber: null });
    await t.ask("what is my account balance");
    await t.ask("12345678");
    expect(await t.ask("4321")).toContain("Thank you, you're verified.");
    expect(h.webhook.calls.findLast((x) => x.path === "/verify-pin")!.body).toEqual({ account_number: "12345678", pin: "4321", method: "account_pin" });
  });

  it("sends caller_number to a verifier with a dataEgressMap only when the map declares it", async () => {
    const undeclared = agent([BY_NUMBER], { dataEgressMap: { pin: "Records API", method: "Records API" } });
    const t = await talk(runtime(h, undeclared), h, undeclared, "voice", { callerNumber: "+14155550123" });
    await t.ask("what is my account balance");
    expect(await t.ask("4321")).toEqual(["That doesn't match our records. Let's try again. What is your PIN?"]);
    expect(h.webhook.calls.findLast((x) => x.path === "/verify-number")!.body).toEqual({ pin: "4321", method: "account_pin" });
    expect(t.guardrails()).toContainEqual({ policyType: "data_egress", decision: "redacted", reason: "arguments outside the skill's dataEgressMap were not sent", skill: "verify_number", fields: ["caller_number"] });
    expect(t.payloads("tool_call").find((p) => p.purpose === "verification")!.arguments).toEqual({ pin: "[redacted]" });

    const declared = agent([BY_NUMBER], { dataEgressMap: { caller_number: "Records API", pin: "Records API", method: "Records API" } });
    const d = await talk(runtime(h, declared), h, declared, "voice", { callerNumber: "+14155550123" });
    await d.ask("what is my account balance");
    expect(await d.ask("4321")).toContain("Thank you, you're verified.");
    expect(h.webhook.calls.findLast((x) => x.path === "/verify-number")!.body).toEqual({ caller_number: "+14155550123", pin: "4321", method: "account_pin" });
    expect(d.guardrails().filter((g) => g.policyType === "data_egress")).toEqual([]);
  });

  it("knowledge_based: takes the caller's free-text answer to the operator's question", async () => {
    const c = agent([KBA]);
    const t = await talk(runtime(h, c), h, c);
    expect(await t.ask("what is my account balance")).toEqual(["Before I can do that, I need to verify your identity. What is your mothers maiden name?"]);
    expect(await t.ask("Jones")).toEqual(["That doesn't match our records. Let's try again. What is your mothers maiden name?"]);
    expect(await t.ask("Smith.")).toEqual(["Thank you, you're verified.", "Here's what I found. balance: 42.00."]);
    expect(h.webhook.calls.findLast((x) => x.path === "/verify-kba")!.body).toEqual({ caller_number: "+14155550199", mothers_maiden_name: "Smith", method: "knowledge_based" });
    expect(statuses(t)).toEqual(["knowledge_based:started", "knowledge_based:failed", "knowledge_based:passed"]);
  });

  it("lets a pass lapse after tokenTtlSeconds: the next protected request verifies again and `verified` reads false", async () => {
    const clock = { now: Date.now() };
    const c = agent([{ ...PIN, tokenTtlSeconds: 60 }]);
    const rt = runtime(h, c, { clock: () => clock.now });
    const t = await talk(rt, h, c);
    await t.ask("what is my account balance");
    await t.ask("12345678");
    expect(await t.ask("4321")).toContain("Thank you, you're verified.");
    clock.now += 30_000;
    expect(await t.ask("what is my account balance")).toEqual(["Here's what I found. balance: 42.00."]);
    clock.now += 31_000;
    expect(await t.ask("what is my account balance")).toEqual(["Before I can do that, I need to verify your identity. What is your account number?"]);
    expect(statuses(t)).toEqual(["account_pin:started", "account_pin:passed", "account_pin:started"]);
    const row = await rt.describe(h.organizationId, t.id);
    expect((row!.state as any).variables.verified).toBe(false);
  });

  it("stepUpFor: a verified caller is checked again, through the configuration that names the action", async () => {
    const c = agent([PIN, { ...KBA, stepUpFor: ["close_account"] }]);
    const t = await talk(runtime(h, c), h, c);
    await t.ask("what is my account balance");
    await t.ask("12345678");
    expect(await t.ask("4321")).toContain("Here's what I found. balance: 42.00.");
    const before = calls("/close");
    expect(await t.ask("please close my account")).toEqual(["Before I can do that, I need to verify your identity. What is your mothers maiden name?"]);
    expect(calls("/close")).toBe(before);
    expect(t.guardrails()).toContainEqual(expect.objectContaining({ decision: "verification_required", reason: "step-up verification for this action", skill: "close_account", method: "knowledge_based" }));
    expect(await t.ask("Smith")).toEqual(["Thank you, you're verified.", "Your account is closed."]);
    expect(calls("/close")).toBe(before + 1);
    expect(statuses(t)).toEqual(["account_pin:started", "account_pin:passed", "knowledge_based:started", "knowledge_based:passed"]);
  });

  it("locks after maxAttempts failures and never runs the protected skill", async () => {
    const c = agent([{ ...PIN, maxAttempts: 2 }]);
    const t = await talk(runtime(h, c), h, c);
    const before = calls("/balance");
    await t.ask("what is my account balance");
    await t.ask("12345678");
    expect(await t.ask("1111")).toEqual(["That doesn't match our records. Let's try again. What is your account number?"]);
    await t.ask("12345678");
    expect(await t.ask("2222")).toEqual(["I'm sorry, I couldn't verify your identity, so I can't help with that here."]);
    expect(await t.ask("what is my account balance")).toEqual(["I'm not able to verify you right now, so I can't do that."]);
    expect(calls("/balance")).toBe(before);
    expect(statuses(t)).toEqual(["account_pin:started", "account_pin:failed", "account_pin:locked"]);
  });

  it("does not count a verifier that cannot answer as a failed attempt", async () => {
    const c = agent([{ ...PIN, verifierSkillId: "skl_verify_broken", maxAttempts: 1 }]);
    const t = await talk(runtime(h, c), h, c);
    await t.ask("what is my account balance");
    await t.ask("12345678");
    expect(await t.ask("4321")).toEqual(["I'm sorry, I can't check your details right now, so I can't do that."]);
    expect(t.payloads("verification").at(-1)).toMatchObject({ status: "error", code: "unreachable", attempts: 0 });
    expect(await t.ask("what is my account balance")).toEqual(["Before I can do that, I need to verify your identity. What is your account number?"]);
  });

  it("otp_sms: reports in the receipt that no SMS sender is connected, and says it cannot verify", async () => {
    const c = agent([{ method: "otp_sms", requiredFields: ["phone"] }]);
    const t = await talk(runtime(h, c), h, c);
    const before = calls("/balance");
    expect(await t.ask("what is my account balance")).toEqual(["I'm not able to send you a verification code right now, so I can't do that. A member of our team can help you with it."]);
    expect(calls("/balance")).toBe(before);
    expect(t.payloads("verification")).toEqual([
      expect.objectContaining({ method: "otp_sms", status: "unavailable", code: "integration_not_connected", reason: expect.stringContaining("no sms integration is connected") }),
    ]);
    expect(t.guardrails()).toContainEqual(expect.objectContaining({ policyType: "verify_before_disclose", decision: "blocked", skill: "account_balance" }));
  });

  it("prefers a method that can run here over otp_sms when several are configured", async () => {
    const c = agent([{ method: "otp_sms", requiredFields: ["phone"] }, PIN]);
    const t = await talk(runtime(h, c), h, c);
    expect(await t.ask("what is my account balance")).toEqual(["Before I can do that, I need to verify your identity. What is your account number?"]);
    expect(statuses(t)).toEqual(["account_pin:started"]);
  });
});
