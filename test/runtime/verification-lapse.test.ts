// What a caller was told while verified, once the verification lapses (tokenTtlSeconds): verified-only values in
// conversation variables (mapped from a result, or a verifier's caller_info) and in earlier messages are kept from the
// brain, and a reply that says one anyway is stopped, as for a caller never verified; a fresh pass makes them usable
// again. The OpenAI-compatible brain talks to an adversarial scripted model that repeats whatever it can see.
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import type { CompiledConfig } from "../../src/runtime/compiled.ts";
import { callsThisTurn, lastUser, startScriptedLlm, toolResults, type ScriptedLlm } from "../support/scripted-llm.ts";
import { compiled, runtime, startHarness, talk, webhookSkill, type Harness } from "./conversation-harness.ts";

let h: Harness;
let llm: ScriptedLlm;
beforeAll(async () => {
  h = await startHarness((path, body) => {
    if (path === "/summary") return { balance: "1234.56", plan: "Gold" };
    if (path === "/verify") return { match: body.account_number === "12345678" && body.pin === "4321", caller_info: { first_name: "Ann", balance: "1234.56" } };
    return {};
  });
  llm = startScriptedLlm((req) => {
    const said = lastUser(req).toLowerCase();
    if (callsThisTurn(req) > 0) {
      const result = toolResults(req).at(-1) as { balance?: string } | null;
      return { content: result?.balance ? `Your balance is ${result.balance}.` : "Done." };
    }
    if (said.includes("balance")) return { toolCalls: [{ name: "account_summary", arguments: {} }] };
    // Adversarial: it makes the figure up when asked to guess, and otherwise repeats it from wherever it can see it.
    if (said.includes("guess")) return { content: "Your balance is $1,234.56." };
    const seen = /bal=([\d.]+)/.exec(req.messages[0]!.content ?? "")?.[1] ?? /balance is \$?(\d[\d.,]*\d)/.exec(JSON.stringify(req.messages.slice(1)))?.[1];
    return { content: seen ? `Your balance is ${seen}.` : "I can't see your balance." };
  });
});
afterAll(async () => {
  await h.stop();
  llm.stop();
});

const TTL_SECONDS = 60;

function agent(): CompiledConfig {
  const summary = webhookSkill(h, "account_summary", "Tell the caller their account balance", "/summary", { requiresVerifiedIdentity: true }, { response_mapping: { bal: "balance", tier: "plan" } });
  // Voice-only so a chat caller never reaches it by what they say; verification calls it directly.
  const verifier = webhookSkill(h, "verify_pin", "Check an account number and PIN", "/verify", { channels: ["voice"] });
  return compiled(
    {},
    {
      skills: [summary, verifier],
      guardrails: [{ id: "grd_v", policyType: "verify_before_disclose", appliesToSkillType: null, config: { fields: [{ field: "balance", audience: "verified" }] } }],
      callerVerification: [{ id: "cvf_pin", method: "account_pin", verifierSkillId: "skl_verify_pin", requiredFields: ["account_number", "pin"], tokenTtlSeconds: TTL_SECONDS, maxAttempts: 3, stepUpFor: [] }],
    },
  );
}

const llmSettings = () => ({ baseUrl: llm.baseUrl, apiKey: null, model: "scripted", timeoutMs: 5000 });
const prompt = () => llm.requests.at(-1)!.messages[0]!.content!;

describe("verified-only values after the verification lapses", () => {
  it("keeps them out of the model's prompt and earlier messages, stops a reply that says one, and lets them back after a fresh pass", async () => {
    const clock = { now: Date.UTC(2026, 10, 24, 12, 0) };
    const c = agent();
    const rt = runtime(h, c, { llm: llmSettings(), clock: () => clock.now });
    const t = await talk(rt, h, c);

    expect(await t.ask("what's my balance?")).toEqual(["Before I can do that, I need to verify your identity. What is your account number?"]);
    await t.ask("12345678");
    expect(await t.ask("4321")).toEqual(["Thank you, you're verified.", "Your balance is 1234.56."]);

    // Verified: the mapped value and the verifier's caller_info are the model's to use.
    clock.now += 30_000;
    expect(await t.ask("what was it again?")).toEqual(["Your balance is 1234.56."]);
    expect(prompt()).toContain("bal=1234.56");
    expect(prompt()).toContain('caller_info={"first_name":"Ann","balance":"1234.56"}');

    // Lapsed: the model sees neither the variables nor the figure in what was said before.
    clock.now += TTL_SECONDS * 1000;
    const guardrailsBefore = t.guardrails().length;
    expect(await t.ask("what was it again?")).toEqual(["I can't see your balance."]);
    const sent = JSON.stringify(llm.requests.at(-1));
    expect(sent).not.toContain("1234.56");
    expect(sent).toContain("Your balance is [withheld].");
    expect(prompt()).toContain("The caller is NOT verified.");
    expect(prompt()).toContain("tier=Gold");
    expect(prompt()).not.toContain("caller_info=");
    const kept = t.guardrails().slice(guardrailsBefore);
    expect(kept).toEqual([{ policyType: "verify_before_disclose", decision: "redacted", reason: expect.stringContaining("kept from the brain"), fields: ["caller_info", "bal"] }]);
    // Still stored: they are the caller's again once verified.
    const state = (await rt.describe(h.organizationId, t.id))!.state as any;
    expect(state.variables).toMatchObject({ verified: false, bal: "1234.56", tier: "Gold" });

    // A model that says the figure anyway is stopped, as for a caller never verified.
    expect(await t.ask("just guess")).toEqual(["I can share that once I've verified your identity."]);
    expect(t.guardrails().at(-1)).toEqual({ policyType: "verify_before_disclose", decision: "blocked", reason: "reply disclosed a verified-only value to an unverified caller" });

    // A fresh pass makes them usable again.
    expect(await t.ask("what's my balance?")).toEqual(["Before I can do that, I need to verify your identity. What is your account number?"]);
    await t.ask("12345678");
    expect(await t.ask("4321")).toEqual(["Thank you, you're verified.", "Your balance is 1234.56."]);
    expect(await t.ask("what was it again?")).toEqual(["Your balance is 1234.56."]);
    expect(prompt()).toContain("bal=1234.56");
    expect(prompt()).toContain("caller_info=");
  });

  it("does not repeat an answer given while verified once the pass has lapsed (built-in brain)", async () => {
    const clock = { now: Date.UTC(2026, 10, 24, 12, 0) };
    const c = agent();
    const t = await talk(runtime(h, c, { clock: () => clock.now }), h, c);
    await t.ask("what is my account balance");
    await t.ask("12345678");
    expect(await t.ask("4321")).toEqual(["Thank you, you're verified.", "Here's what I found. balance: 1234.56; plan: Gold."]);
    expect(await t.ask("can you repeat that")).toEqual(["Here's what I found. balance: 1234.56; plan: Gold."]);
    clock.now += (TTL_SECONDS + 1) * 1000;
    expect(await t.ask("can you repeat that")).toEqual(["I can share that once I've verified your identity."]);
    expect(t.guardrails().at(-1)).toEqual({ policyType: "verify_before_disclose", decision: "blocked", reason: "reply disclosed a verified-only value to an unverified caller" });
  });
});
