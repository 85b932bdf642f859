// The runtime's rules, driven turn by turn on real storage with the real skill executors: what results and mapped
// variables may carry, skills that cannot run, confirmation (stakes, requiresConfirmation, write_gate), rate limits
// per conversation, allowed fields, channels, business hours, language switches, end-call phrases, transfers and
// data egress from templates. Webhooks go to a local endpoint; the OpenAI-compatible brain to a scripted server.
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import type { CompiledConfig, CompiledPlaybook } from "../../src/runtime/compiled.ts";
import { callsThisTurn, lastUser, startScriptedLlm, type ScriptedLlm } from "../support/scripted-llm.ts";
import { compiled, runtime, skill, startHarness, talk, webhookSkill, type Harness } from "./conversation-harness.ts";

let h: Harness;
let llm: ScriptedLlm;
beforeAll(async () => {
  h = await startHarness((path) => {
    if (path === "/flat") return { balance: "1234.56", plan: "Gold" };
    if (path === "/account") return { account: { balance: "1234.56", plan: "Gold" } };
    if (path === "/order") return { status: "shipped", eta: "Friday", warehouse: "W2", internal_code: "X9" };
    if (path === "/verify") return { match: true };
    return { message: "Done." };
  });
  llm = startScriptedLlm((req) => {
    const said = lastUser(req).toLowerCase();
    if (said.includes("balance")) return callsThisTurn(req) === 0 ? { toolCalls: [{ name: "lookup_account", arguments: {} }] } : { content: "I've looked that up." };
    if (said.includes("bye")) return { content: "Goodbye!", toolCalls: [{ name: "end_conversation", arguments: {} }] };
    return { content: "Anything else?" };
  });
});
afterAll(async () => {
  await h.stop();
  llm.stop();
});

const calls = (path: string) => h.webhook.calls.filter((c) => c.path === path).length;
const llmSettings = () => ({ baseUrl: llm.baseUrl, apiKey: null, model: "scripted", timeoutMs: 5000 });
const variablesOf = async (rt: ReturnType<typeof runtime>, id: string) => ((await rt.describe(h.organizationId, id))!.state as any).variables as Record<string, unknown>;
const verifiedOnlyBalance = { id: "grd_v", policyType: "verify_before_disclose" as const, appliesToSkillType: null, config: { fields: [{ field: "balance", audience: "verified" }] } };

describe("skill results and mapped variables", () => {
  it("never keeps a verified-only value mapped into a variable of another name", async () => {
    const lookup = webhookSkill(h, "lookup_account", "Look up the caller's account balance", "/flat", {}, { response_mapping: { bal: "balance", tier: "plan" } });
    const c = compiled({}, { skills: [lookup], guardrails: [verifiedOnlyBalance] });
    const rt = runtime(h, c);
    const t = await talk(rt, h, c);
    expect(await t.ask("what's my account balance")).toEqual(["Here's what I found. plan: Gold."]);
    const variables = await variablesOf(rt, t.id);
    expect(variables.tier).toBe("Gold");
    expect(variables).not.toHaveProperty("bal");
    expect(t.guardrails()).toContainEqual(expect.objectContaining({ policyType: "verify_before_disclose", decision: "redacted", fields: ["bal"] }));
  });

  it("withholds a nested verified-only field, and keeps it and its mapped variables out of the model's prompt", async () => {
    const lookup = webhookSkill(h, "lookup_account", "Look up the caller's account", "/account", {}, { response_mapping: { bal: "account.balance", acct: "account", tier: "account.plan" } });
    const c = compiled({}, { skills: [lookup], guardrails: [verifiedOnlyBalance] });
    const rt = runtime(h, c, { llm: llmSettings() });
    const t = await talk(rt, h, c);
    const before = llm.requests.length;
    await t.ask("what is my balance?");
    await t.ask("thanks, anything new?");
    const tool = t.payloads("tool_call")[0]!;
    expect(tool.result).toEqual({ account: { plan: "Gold" } });
    expect(t.guardrails()).toContainEqual(expect.objectContaining({ decision: "redacted", fields: ["account.balance"] }));
    expect(t.guardrails()).toContainEqual(expect.objectContaining({ decision: "redacted", fields: ["bal", "acct"] }));
    const sent = JSON.stringify(llm.requests.slice(before));
    expect(sent).not.toContain("1234.56");
    const lastPrompt = llm.requests.at(-1)!.messages[0]!.content!;
    expect(lastPrompt).toContain("tier=Gold");
    expect(await variablesOf(rt, t.id)).toMatchObject({ tier: "Gold" });
  });
});

describe("skills that cannot run", () => {
  it("answers, and records why, when a playbook skill's playbook is missing or disabled", async () => {
    const start = skill("book_visit", "Book a repair visit at home", "playbook", { playbookId: "pbk_disabled" });
    const c = compiled({}, { skills: [start] });
    const t = await talk(runtime(h, c), h, c);
    expect(await t.ask("I want to book a repair visit")).toEqual(["I'm sorry, I couldn't complete that just now."]);
    expect(t.payloads("tool_call")).toEqual([expect.objectContaining({ skillName: "book_visit", status: "error", errorCode: "playbook_unavailable" })]);
    expect(t.payloads("error")).toContainEqual(expect.objectContaining({ code: "playbook_unavailable" }));
  });

  it("answers integration_not_connected for an integration-backed skill, and records it", async () => {
    const query = skill("order_lookup", "Look up an order in the orders database", "db_query", { sql_template: "select * from orders where id = {order_id}" }, { errorHandling: { message: "I can't reach our order system right now." } });
    const c = compiled({}, { skills: [query] });
    const t = await talk(runtime(h, c), h, c);
    expect(await t.ask("look up my order in the database")).toEqual(["I can't reach our order system right now."]);
    expect(t.payloads("tool_call")[0]).toMatchObject({ status: "error", errorCode: "integration_not_connected", error: "connect the postgres integration first" });
  });
});

describe("confirmation", () => {
  it("asks before a high-stakes skill even without a write_gate policy, and does nothing on a no", async () => {
    const cancel = webhookSkill(h, "cancel_subscription", "Cancel the caller's subscription", "/cancel", { stakes: "high" });
    const c = compiled({}, { skills: [cancel] });
    const t = await talk(runtime(h, c), h, c);
    const before = calls("/cancel");
    expect(await t.ask("please cancel my subscription")).toEqual(["Just to confirm: cancel the caller's subscription. This can't be undone. Shall I go ahead?"]);
    expect(await t.ask("no")).toEqual(["Okay, I won't do that."]);
    expect(calls("/cancel")).toBe(before);
    expect(t.guardrails()).toContainEqual(expect.objectContaining({ policyType: "write_gate", decision: "confirm_required", reason: "high-stakes action", skill: "cancel_subscription" }));
    await t.ask("please cancel my subscription");
    expect(await t.ask("yes")).toEqual(["Done."]);
    expect(calls("/cancel")).toBe(before + 1);
  });

  it("asks before a skill that requires confirmation, though it writes nothing", async () => {
    const quote = webhookSkill(h, "send_quote", "Send the caller a price quote", "/quote", { requiresConfirmation: true });
    const c = compiled({}, { skills: [quote] });
    const t = await talk(runtime(h, c), h, c);
    const before = calls("/quote");
    expect(await t.ask("send me a price quote")).toEqual(["Just to confirm: send the caller a price quote. Shall I go ahead?"]);
    expect(calls("/quote")).toBe(before);
    expect(await t.ask("yes please")).toEqual(["Done."]);
    expect(calls("/quote")).toBe(before + 1);
    expect(t.guardrails()).toContainEqual(expect.objectContaining({ decision: "confirm_required", reason: "skill asks for confirmation" }));
  });
});

describe("write_gate", () => {
  const refund = () => webhookSkill(h, "issue_refund", "Issue a refund for the last order", "/refund", { isWrite: true });

  it("hands an always-escalate action to a person instead of running it", async () => {
    const c = compiled({ handoffConfig: { transferDestination: "+14155550100" } }, { skills: [refund()], guardrails: [{ id: "g", policyType: "write_gate", appliesToSkillType: null, config: { confirmBeforeWrite: true, alwaysEscalate: ["issue_refund"] } }] });
    const t = await talk(runtime(h, c), h, c, "voice");
    const before = calls("/refund");
    const r = await t.send({ type: "text", text: "I want a refund for my last order" });
    expect(r.replies.map((m) => m.text)).toEqual(["That's something a member of our team needs to handle. Let me connect you."]);
    expect(r.transfer).toMatchObject({ destination: "+14155550100", reason: "escalation: issue_refund" });
    expect(calls("/refund")).toBe(before);
    expect(t.payloads("tool_call")).toEqual([expect.objectContaining({ skillName: "issue_refund", status: "escalated" })]);
    expect(t.guardrails()).toContainEqual(expect.objectContaining({ policyType: "write_gate", decision: "escalated", skill: "issue_refund" }));
  });

  it("requires a verified caller for writes under requireVerified, and refuses when verification is not configured", async () => {
    const gate = { id: "g", policyType: "write_gate" as const, appliesToSkillType: null, config: { confirmBeforeWrite: false, requireVerified: true } };
    const verifier = webhookSkill(h, "verify_caller", "Check a PIN", "/verify", { channels: ["voice"] });
    const withVerification = compiled({}, { skills: [refund(), verifier], guardrails: [gate], callerVerification: [{ id: "cvf", method: "account_pin", verifierSkillId: verifier.id, requiredFields: ["pin"], tokenTtlSeconds: 900, maxAttempts: 3, stepUpFor: [] }] });
    const before = calls("/refund");
    const t = await talk(runtime(h, withVerification), h, withVerification);
    expect(await t.ask("I want a refund for my last order")).toEqual(["Before I can do that, I need to verify your identity. What is your PIN?"]);
    expect(calls("/refund")).toBe(before);
    expect(await t.ask("1234")).toEqual(["Thank you, you're verified.", "Done."]);
    expect(calls("/refund")).toBe(before + 1);

    const without = compiled({}, { skills: [refund()], guardrails: [gate] });
    const u = await talk(runtime(h, without), h, without);
    expect(await u.ask("I want a refund for my last order")).toEqual(["I can't do that without verifying who you are, and I'm not able to verify callers here."]);
    expect(calls("/refund")).toBe(before + 1);
    expect(u.payloads("tool_call")).toEqual([expect.objectContaining({ status: "blocked" })]);
  });
});

describe("rate_limit", () => {
  it("stops tool calls beyond toolCallsPerCall in one conversation, however slowly they come", async () => {
    const clock = { now: Date.now() };
    const status = webhookSkill(h, "order_status", "Check the status of an order", "/order-status");
    const c = compiled({}, { skills: [status], guardrails: [{ id: "g", policyType: "rate_limit", appliesToSkillType: null, config: { toolCallsPerCall: 2 } }] });
    const rt = runtime(h, c, { clock: () => clock.now });
    const t = await talk(rt, h, c);
    const before = calls("/order-status");
    for (let i = 0; i < 2; i++) {
      expect(await t.ask("check the status of my order")).toEqual(["Done."]);
      clock.now += 5 * 60_000;
    }
    expect(await t.ask("check the status of my order")).toEqual(["I've done as much as I can in this conversation; a member of our team can help with the rest."]);
    expect(calls("/order-status")).toBe(before + 2);
    expect(t.guardrails()).toContainEqual(expect.objectContaining({ policyType: "rate_limit", decision: "blocked", reason: "2 tool calls in this conversation reached" }));
    // A new conversation starts with a fresh budget.
    const u = await talk(rt, h, c);
    expect(await u.ask("check the status of my order")).toEqual(["Done."]);
  });
});

describe("allowed fields", () => {
  it("lets a skill surface only its allowedFields, narrowed further by an allowed_fields policy for its type", async () => {
    const order = webhookSkill(h, "order_status", "Check the status of an order", "/order", { allowedFields: ["status", "eta", "warehouse"] });
    const c = compiled({}, { skills: [order], guardrails: [{ id: "g", policyType: "allowed_fields", appliesToSkillType: "http_webhook", config: { fields: ["status", "eta"] } }] });
    const t = await talk(runtime(h, c), h, c);
    expect(await t.ask("check the status of my order")).toEqual(["Here's what I found. status: shipped; eta: Friday."]);
    expect(t.payloads("tool_call")[0]!.result).toEqual({ status: "shipped", eta: "Friday" });
    expect(t.guardrails()).toContainEqual(expect.objectContaining({ policyType: "allowed_fields", decision: "redacted", fields: ["warehouse", "internal_code"] }));
  });
});

describe("skill channels", () => {
  it("neither offers nor runs a voice-only skill in chat, and runs it on a call", async () => {
    const callback = webhookSkill(h, "schedule_callback", "Schedule a callback from a technician", "/callback", { channels: ["voice"] });
    const c = compiled({}, { skills: [callback] });
    const before = calls("/callback");
    const chat = await talk(runtime(h, c), h, c, "chat");
    expect(await chat.ask("schedule a callback from a technician")).toEqual(["I'm sorry, I don't know the answer to that."]);
    expect(chat.payloads("tool_call")).toEqual([]);
    expect(calls("/callback")).toBe(before);

    const modelChat = await talk(runtime(h, c, { llm: llmSettings() }), h, c, "chat");
    await modelChat.ask("schedule a callback from a technician");
    expect(llm.requests.at(-1)!.tools!.map((tool) => tool.function.name)).not.toContain("schedule_callback");

    const voice = await talk(runtime(h, c), h, c, "voice");
    expect(await voice.ask("schedule a callback from a technician")).toEqual(["Done."]);
    expect(calls("/callback")).toBe(before + 1);
  });
});

describe("business hours", () => {
  // Tuesday 2026-11-24 in UTC: open 09:00–17:00 on weekdays.
  const OPEN = Date.UTC(2026, 10, 24, 12, 0);
  const CLOSED = Date.UTC(2026, 10, 24, 20, 0);
  const weekdays = Object.fromEntries(["monday", "tuesday", "wednesday", "thursday", "friday"].map((d) => [d, [{ start: "09:00", end: "17:00" }]]));
  const policy = (extra: Record<string, unknown> = {}) => ({
    id: "g",
    policyType: "business_hours" as const,
    appliesToSkillType: null,
    config: { timezone: "UTC", weekly: weekdays, afterHours: { mode: "closed_message", message: "We're closed for the evening." }, ...extra },
  });

  it("follows a business_hours policy when the agent has no schedule of its own: no writes when closed", async () => {
    const book = webhookSkill(h, "book_visit", "Book a repair visit", "/book", { isWrite: true });
    const c = compiled({}, { skills: [book], guardrails: [policy()] });
    const before = calls("/book");
    const closed = await talk(runtime(h, c, { clock: () => CLOSED }), h, c);
    expect(closed.greeting).toEqual(["Hello! How can I help you today? We're closed for the evening."]);
    expect(await closed.ask("book a repair visit")).toEqual(["We're closed right now and open again Wednesday at 09:00, so I can't do that until then. I can take a message if you like."]);
    expect(closed.guardrails()).toContainEqual(expect.objectContaining({ policyType: "business_hours", decision: "blocked", skill: "book_visit" }));
    expect(calls("/book")).toBe(before);

    const open = await talk(runtime(h, c, { clock: () => OPEN }), h, c);
    expect(await open.ask("book a repair visit")).toEqual(["Done."]);
    expect(calls("/book")).toBe(before + 1);
  });

  it("holds each skill to its window: business_hours_only, after_hours_only, always", async () => {
    const quote = webhookSkill(h, "price_quote", "Give a price quote for a repair", "/quote-window");
    const voicemail = webhookSkill(h, "leave_voicemail", "Leave a voicemail for the night team", "/voicemail");
    const faq = webhookSkill(h, "opening_times", "Tell the caller our holiday opening times", "/faq");
    const windows = { skills: { price_quote: "business_hours_only", leave_voicemail: "after_hours_only", opening_times: "always" }, afterHours: { mode: "full" } };
    const c = compiled({}, { skills: [quote, voicemail, faq], guardrails: [policy(windows)] });

    const closed = await talk(runtime(h, c, { clock: () => CLOSED }), h, c);
    expect(await closed.ask("give me a price quote for a repair")).toEqual(["I can do that during business hours; we open Wednesday at 09:00."]);
    expect(await closed.ask("leave a voicemail for the night team")).toEqual(["Done."]);
    expect(await closed.ask("what are your holiday opening times")).toEqual(["Done."]);

    const open = await talk(runtime(h, c, { clock: () => OPEN }), h, c);
    expect(await open.ask("leave a voicemail for the night team")).toEqual(["That's only available outside business hours."]);
    expect(await open.ask("give me a price quote for a repair")).toEqual(["Done."]);
    expect(open.guardrails()).toContainEqual(expect.objectContaining({ policyType: "business_hours", decision: "blocked", reason: "skill is available after hours only", skill: "leave_voicemail" }));
  });
});

describe("language switches", () => {
  it("records a language_switch when a code-switching agent hears one of its languages, and only then", async () => {
    const multi = compiled({ languages: ["en", "es"], languageMode: "code_switch" });
    const t = await talk(runtime(h, multi), h, multi);
    await t.ask("hola, necesito ayuda", "es");
    await t.ask("bonjour", "fr");
    await t.ask("thanks, back to English", "en");
    expect(t.payloads("language_switch")).toEqual([
      { from: "en", to: "es" },
      { from: "es", to: "en" },
    ]);
    expect(t.payloads("agent_message").at(-1)!.language).toBe("en");

    const single = compiled({ languages: ["en", "es"], languageMode: "single_language" });
    const u = await talk(runtime(h, single), h, single);
    await u.ask("hola, necesito ayuda", "es");
    expect(u.payloads("language_switch")).toEqual([]);
  });
});

describe("end-call phrases", () => {
  it("end the conversation on a goodbye by default", async () => {
    const c = compiled();
    const t = await talk(runtime(h, c), h, c, "voice");
    expect(await t.send({ type: "text", text: "that's all, bye" })).toMatchObject({ ended: true, endReason: "caller_done" });
  });

  it("keep the line open when callControl.endCallPhrasesEnabled is false, with either brain", async () => {
    const c = compiled({ callControl: { endCallPhrasesEnabled: false } });
    const t = await talk(runtime(h, c), h, c, "voice");
    const r = await t.send({ type: "text", text: "that's all, bye" });
    expect(r).toMatchObject({ ended: false });
    expect(r.replies.map((m) => m.text)).toEqual(["Okay. Is there anything else I can help with?"]);

    const m = await talk(runtime(h, c, { llm: llmSettings() }), h, c, "voice");
    const said = await m.send({ type: "text", text: "ok bye" });
    expect(llm.requests.at(-1)!.tools!.map((tool) => tool.function.name)).not.toContain("end_conversation");
    // The scripted model calls end_conversation anyway: the runtime does not hang up.
    expect(said.ended).toBe(false);
    expect(m.guardrails()).toContainEqual(expect.objectContaining({ policyType: "call_control", decision: "blocked" }));
  });

  it("do not end a take-message step when disabled: the goodbye is taken as the message", async () => {
    const enabled = compiled({ handoffConfig: { transferDestination: "+14155550100" } });
    const e = await talk(runtime(h, enabled), h, enabled, "voice");
    await e.send({ type: "text", text: "let me talk to a person" });
    await e.send({ type: "transfer_failed", reason: "no_answer" });
    expect(await e.send({ type: "text", text: "goodbye" })).toMatchObject({ ended: true });

    const disabled = compiled({ handoffConfig: { transferDestination: "+14155550100" }, callControl: { endCallPhrasesEnabled: false } });
    const d = await talk(runtime(h, disabled), h, disabled, "voice");
    await d.send({ type: "text", text: "let me talk to a person" });
    await d.send({ type: "transfer_failed", reason: "no_answer" });
    const r = await d.send({ type: "text", text: "goodbye" });
    expect(r.ended).toBe(false);
    expect(r.replies.map((x) => x.text)).toEqual(["Thanks. What's the best number to reach you on?"]);
  });
});

describe("transfers", () => {
  const handoff = { warm: true, transferDestination: "+14155550100", transferRules: [{ label: "Billing", when: "invoice, charge or refund", destination: "+14155550111" }, { label: "Supervisor", when: "escalated cases", destination: "+14155550144" }] };

  it("a transfer skill without warm follows the agent's handoffConfig.warm; one that sets it keeps it", async () => {
    const inherit = skill("billing_desk", "Send the caller to the billing department about an invoice", "transfer", { destination: "+14155550111" });
    const c = compiled({ handoffConfig: handoff }, { skills: [inherit] });
    const t = await talk(runtime(h, c), h, c, "voice");
    expect((await t.send({ type: "text", text: "I have a question about an invoice from billing" })).transfer).toMatchObject({ destination: "+14155550111", warm: true });

    const cold = skill("billing_desk", "Send the caller to the billing department about an invoice", "transfer", { destination: "+14155550111", warm: false });
    const d = compiled({ handoffConfig: handoff }, { skills: [cold] });
    const u = await talk(runtime(h, d), h, d, "voice");
    expect((await u.send({ type: "text", text: "I have a question about an invoice from billing" })).transfer).toMatchObject({ destination: "+14155550111", warm: false });
  });

  const escalation = (ruleLabel: string): CompiledPlaybook => ({
    id: "pbk_complaint",
    flowId: "flw_complaint",
    name: "Complaint",
    description: "report a complaint about a technician",
    inputSchema: {},
    outputSchema: {},
    graph: {
      nodes: [
        { id: "s", type: "start", data: {} },
        { id: "t", type: "transfer", data: { ruleLabel, message: "I'll pass you to someone who can sort this out." } },
      ],
      connections: [{ id: "1", source: "s", target: "t" }],
    },
  });

  it("a playbook transfer step with ruleLabel goes to that handoff rule's destination", async () => {
    const c: CompiledConfig = compiled({ handoffConfig: handoff }, { playbooks: [escalation("supervisor")] });
    const t = await talk(runtime(h, c), h, c, "voice");
    const r = await t.send({ type: "text", text: "I want to report a complaint about a technician" });
    // The step's own line is the one hold line: no "let me connect you" after it.
    expect(r.replies.map((m) => m.text)).toEqual(["I'll pass you to someone who can sort this out."]);
    expect(r.transfer).toMatchObject({ destination: "+14155550144", warm: true });
    expect(t.payloads("handoff")[0]).toMatchObject({ destination: "+14155550144", ruleLabel: "Supervisor" });
  });

  it("a ruleLabel that no longer names a rule is recorded, and the transfer routes as any other", async () => {
    const c: CompiledConfig = compiled({ handoffConfig: handoff }, { playbooks: [escalation("Night desk")] });
    const t = await talk(runtime(h, c), h, c, "voice");
    const r = await t.send({ type: "text", text: "I want to report a complaint about a technician" });
    expect(r.transfer).toMatchObject({ destination: "+14155550100" });
    expect(t.payloads("error")).toContainEqual(expect.objectContaining({ code: "transfer_rule_not_found" }));
  });
});

describe("data egress", () => {
  it("refuses a webhook whose templates name a conversation variable its dataEgressMap does not declare", async () => {
    const lookup = webhookSkill(h, "find_customer", "Find the customer record", "/customers?from={caller_number}", { dataEgressMap: { customer_id: "CRM" } });
    const c = compiled({}, { skills: [lookup] });
    const t = await talk(runtime(h, c), h, c);
    const before = h.webhook.calls.filter((x) => x.path.startsWith("/customers")).length;
    expect(await t.ask("find my customer record")).toEqual(["I'm sorry, I couldn't complete that just now."]);
    expect(h.webhook.calls.filter((x) => x.path.startsWith("/customers")).length).toBe(before);
    expect(t.payloads("tool_call")[0]).toMatchObject({ status: "blocked", errorCode: "data_egress_refused" });
    expect(t.guardrails()).toContainEqual(expect.objectContaining({ policyType: "data_egress", decision: "blocked", skill: "find_customer", fields: ["caller_number"] }));

    const declared = webhookSkill(h, "find_customer", "Find the customer record", "/customers?from={caller_number}", { dataEgressMap: { caller_number: "CRM" } });
    const d = compiled({}, { skills: [declared] });
    const u = await talk(runtime(h, d), h, d);
    expect(await u.ask("find my customer record")).toEqual(["Done."]);
    expect(h.webhook.calls.at(-1)!.path).toBe("/customers?from=%2B14155550199");
  });
});
