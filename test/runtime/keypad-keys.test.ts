// Keys pressed outside a step that waits for digits (a keypad-only caller), the one hold line of a playbook
// transfer, and a playbook entered a second time: over the runtime harness, with the built-in brain and with the
// scripted OpenAI-compatible server (test/support/scripted-llm.ts).
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import type { CompiledPlaybook, PlaybookNode } from "../../src/runtime/compiled.ts";
import { declaredKeys, offeredKeys } from "../../src/runtime/keys.ts";
import { lastUser, startScriptedLlm, type ScriptedLlm } from "../support/scripted-llm.ts";
import { SLOW_SETUP } from "../support/voice.ts";
import { compiled, runtime, startHarness, talk, webhookSkill, type Harness } from "./conversation-harness.ts";

let h: Harness;
let llm: ScriptedLlm;
/** What the scripted model answers next. */
let modelSays = "";

beforeAll(async () => {
  h = await startHarness(() => ({ balance: "42 dollars" }));
  llm = startScriptedLlm(() => ({ content: modelSays }));
}, SLOW_SETUP);
afterAll(async () => {
  await h?.stop();
  llm?.stop();
});

const MENU = "Thanks for calling Acme. Press 1 for billing, or press 2 to speak to someone.";
const SALES = "+14155550122";
const DESK = "+14155550100";

function playbook(id: string, name: string, description: string, nodes: PlaybookNode[]): CompiledPlaybook {
  const connections = nodes.slice(1).map((n, i) => ({ id: `${id}_${i}`, source: nodes[i]!.id, target: n.id }));
  return { id, flowId: `flw_${id}`, name, description, inputSchema: {}, outputSchema: {}, graph: { nodes, connections } };
}

/** The menu: one keyed choice, said back at the end. */
const billing = playbook("pbk_billing", "Billing", "billing questions and invoices", [
  { id: "s", type: "start", data: {} },
  { id: "c", type: "collect", data: { variable: "choice", prompt: "For your balance press 1, for an invoice copy press 2.", slotType: "digits", dtmf: { enabled: true, expectedDigits: 1 } } },
  { id: "e", type: "end", data: { message: "You pressed {choice}. Goodbye." } },
]);
const orders = playbook("pbk_orders", "Order status", "check an order (press 3)", [
  { id: "s", type: "start", data: {} },
  { id: "c", type: "collect", data: { variable: "order_number", prompt: "What is your order number?", slotType: "digits", dtmf: { enabled: true } } },
  { id: "e", type: "end", data: { message: "Order {order_number} is on its way." } },
]);
const handoffConfig = { transferDestination: DESK, transferRules: [{ label: "Sales", when: "caller presses 4 or asks about buying", destination: SALES }] };

describe("keys outside a step that waits for digits, built-in brain", () => {
  const c = () => compiled({ greeting: MENU, handoffConfig }, { playbooks: [billing, orders], skills: [webhookSkill(h, "balance", "Tell the caller their balance; press 5", "/balance")] });

  it("selects what the agent's last reply offered: a menu choice, then a person", async () => {
    const rt = runtime(h, c());
    const t = await talk(rt, h, c(), "voice");
    expect(rt.awaitingDtmf(t.id)).toEqual({ expectedDigits: 1, submitKey: "#" });
    const menu = await t.send({ type: "dtmf", digits: "1" });
    expect(menu.replies.map((r) => r.text)).toEqual(["For your balance press 1, for an invoice copy press 2."]);
    expect(t.payloads("user_utterance").at(-1)).toMatchObject({ text: "1", dtmf: true });

    const u = await talk(rt, h, c(), "voice");
    const person = await u.send({ type: "dtmf", digits: "2" });
    expect(person.transfer).toMatchObject({ destination: DESK });
    expect(person.replies.map((r) => r.text)).toEqual(["Let me connect you with someone who can help. Please hold."]);
  });

  it("selects a playbook, a transfer rule or a skill that declares its key, once no offer is in the way", async () => {
    const plain = () => compiled({ handoffConfig }, { playbooks: [billing, orders], skills: [webhookSkill(h, "balance", "Tell the caller their balance; press 5", "/balance")] });
    const rt = runtime(h, plain());
    const t = await talk(rt, h, plain(), "voice");
    expect((await t.send({ type: "dtmf", digits: "3" })).replies.map((r) => r.text)).toEqual(["What is your order number?"]);
    const u = await talk(rt, h, plain(), "voice");
    const sales = await u.send({ type: "dtmf", digits: "4" });
    expect(sales.transfer).toMatchObject({ destination: SALES });
    expect(u.payloads("handoff")[0]).toMatchObject({ ruleLabel: "Sales" });
    const v = await talk(rt, h, plain(), "voice");
    const balance = await v.send({ type: "dtmf", digits: "5" });
    expect(v.payloads("tool_call")[0]).toMatchObject({ skillName: "balance", status: "ok" });
    expect(balance.replies.map((r) => r.text).join(" ")).toContain("42 dollars");
  });

  it("says which keys it understands for any other key, and still understands the menu afterwards", async () => {
    const rt = runtime(h, c());
    const t = await talk(rt, h, c(), "voice");
    const wrong = await t.send({ type: "dtmf", digits: "7" });
    expect(wrong.replies.map((r) => r.text)).toEqual(["Sorry, I didn't get that key. You can press 1, 2, 3, 4, and 5."]);
    expect(t.payloads("agent_message").at(-1)!.phrases).toEqual([{ id: "keypad.options", params: { keys: ["1", "2", "3", "4", "5"] } }]);
    expect((await t.send({ type: "dtmf", digits: "1" })).replies.map((r) => r.text)).toEqual(["For your balance press 1, for an invoice copy press 2."]);

    const again = compiled({ greeting: "Press 1 for billing, or press 9 to hear these options again." });
    const r = await talk(runtime(h, again), h, again, "voice");
    expect((await r.send({ type: "dtmf", digits: "9" })).replies.map((m) => m.text)).toEqual(["Press 1 for billing, or press 9 to hear these options again."]);

    const bare = compiled({ greeting: "Hello, how can I help?" });
    const u = await talk(runtime(h, bare), h, bare, "voice");
    expect((await u.send({ type: "dtmf", digits: "1" })).replies.map((r) => r.text)).toEqual(["Sorry, there is nothing to choose with the keypad right now."]);
  });

  it("answers an offered transfer with 1 for yes", async () => {
    const c2 = compiled({ handoffConfig: { transferDestination: DESK } });
    const t = await talk(runtime(h, c2), h, c2, "voice");
    const unknown = await t.send({ type: "text", text: "what is the airspeed of a swallow?" });
    expect(unknown.replies.at(-1)!.text).toContain("connect you");
    expect((await t.send({ type: "dtmf", digits: "1" })).transfer).toMatchObject({ destination: DESK });
  });
});

describe("keys outside a step that waits for digits, OpenAI-compatible brain", () => {
  const c = () => compiled({ greeting: MENU, handoffConfig }, { playbooks: [billing, orders] });
  const llmRuntime = () => runtime(h, c(), { llm: { baseUrl: llm.baseUrl, apiKey: null, model: "scripted" } });

  it("shows the model an offered key as a key press, not as words", async () => {
    const t = await talk(llmRuntime(), h, c(), "voice");
    const before = llm.requests.length;
    modelSays = "Billing it is. What can I help you with on your bill?";
    const r = await t.send({ type: "dtmf", digits: "1" });
    expect(llm.requests.length).toBe(before + 1);
    expect(lastUser(llm.requests.at(-1)!)).toBe("[pressed key 1]");
    expect(r.replies.map((m) => m.text)).toEqual(["Billing it is. What can I help you with on your bill?"]);
  });

  it("runs a declared key without asking the model, and refuses an unknown key itself", async () => {
    const rt = llmRuntime();
    const t = await talk(rt, h, c(), "voice");
    modelSays = "Hi.";
    await t.send({ type: "text", text: "hello" });
    const before = llm.requests.length;
    expect((await t.send({ type: "dtmf", digits: "3" })).replies.map((m) => m.text)).toEqual(["What is your order number?"]);
    const u = await talk(rt, h, c(), "voice");
    await u.send({ type: "text", text: "hello" });
    expect((await u.send({ type: "dtmf", digits: "8" })).replies.map((m) => m.text)).toEqual(["Sorry, I didn't get that key. You can press 3 and 4."]);
    expect(llm.requests.length).toBe(before + 1);
    // A model waits for a whole keyed entry (it may have asked for a number): no single-key submission.
    expect(rt.awaitingDtmf(u.id)).toBeNull();
  });

  it("gets a longer keyed entry marked as keys", async () => {
    const t = await talk(llmRuntime(), h, c(), "voice");
    modelSays = "What is your account number? Key it in, then press pound.";
    await t.send({ type: "text", text: "I need my account" });
    modelSays = "Thanks, found it.";
    await t.send({ type: "dtmf", digits: "55501" });
    expect(lastUser(llm.requests.at(-1)!)).toBe("[pressed keys 55501]");
  });
});

describe("one hold line per transfer", () => {
  const step = (data: Record<string, unknown>) =>
    playbook("pbk_escalate", "Complaint", "report a complaint about a technician", [
      { id: "s", type: "start", data: {} },
      { id: "t", type: "transfer", data: { destination: SALES, ...data } },
    ]);

  it("says the step's message alone, else the agent's hold message, else the default line", async () => {
    const holdMessage = "Hold on, I'm putting you through.";
    for (const [data, hold, line] of [
      [{ message: "Connecting you to our complaints team, {caller_name}." }, holdMessage, "Connecting you to our complaints team, Ada."],
      [{}, holdMessage, holdMessage],
      [{}, null, "Let me connect you with someone who can help. Please hold."],
    ] as const) {
      const c = compiled({ handoffConfig: { holdMessage: hold } }, { playbooks: [step(data)] });
      const rt = runtime(h, c);
      const opened = await rt.start({ organizationId: h.organizationId, agentId: h.agentId, agentVersionId: null, draftMode: true, compiled: c, channel: "voice", source: "test", callerNumber: "+14155550199", callerName: "Ada" });
      const r = await rt.turn(h.organizationId, opened.conversationId, { type: "text", text: "I want to report a complaint about a technician" });
      expect(r.transfer).toMatchObject({ destination: SALES });
      expect(r.replies.map((m) => m.text)).toEqual([line]);
    }
  });
});

describe("a playbook entered again", () => {
  it("asks its question again instead of repeating the last choice", async () => {
    const c = compiled({}, { playbooks: [billing] });
    const t = await talk(runtime(h, c), h, c, "voice");
    expect(await t.ask("I have a billing question")).toEqual(["For your balance press 1, for an invoice copy press 2."]);
    expect((await t.send({ type: "dtmf", digits: "9" })).replies.map((r) => r.text)).toEqual(["You pressed 9. Goodbye."]);
    expect(await t.ask("another billing question please")).toEqual(["For your balance press 1, for an invoice copy press 2."]);
    expect((await t.send({ type: "dtmf", digits: "2" })).replies.map((r) => r.text)).toEqual(["You pressed 2. Goodbye."]);
  });

  it("keeps a persist step's answer and what no question gave (the caller's number)", async () => {
    const callback = playbook("pbk_callback", "Callback", "request a callback", [
      { id: "s", type: "start", data: {} },
      { id: "n", type: "collect", data: { variable: "customer_name", prompt: "What is your name?", slotType: "name", persist: true } },
      { id: "w", type: "collect", data: { variable: "when", prompt: "When should we call?", slotType: "text" } },
      { id: "e", type: "end", data: { message: "We'll call {customer_name} at {caller_number}: {when}." } },
    ]);
    const c = compiled({}, { playbooks: [callback] });
    const t = await talk(runtime(h, c), h, c, "voice");
    expect(await t.ask("please request a callback")).toEqual(["What is your name?"]);
    expect(await t.ask("Ada Lovelace")).toEqual(["When should we call?"]);
    expect(await t.ask("tomorrow morning")).toEqual(["We'll call Ada Lovelace at +14155550199: tomorrow morning."]);
    expect(await t.ask("request a callback again")).toEqual(["When should we call?"]);
  });
});

describe("reading keys from text", () => {
  it("reads menus in the agent's languages, and keys an operator names", () => {
    expect([...offeredKeys("Press 1 for billing, 2 for support or 3 to speak to someone.")]).toEqual([["1", "billing"], ["2", "support"], ["3", "speak to someone"]]);
    expect([...offeredKeys("For billing, press one. For sales press 2.")]).toEqual([["1", "billing"], ["2", "sales"]]);
    expect([...offeredKeys("Für Rechnungen drücken Sie die 1, für den Vertrieb die 2.")]).toEqual([["1", "Rechnungen"], ["2", "den Vertrieb"]]);
    expect([...offeredKeys("Pulse 1 para facturación o 2 para ventas.")]).toEqual([["1", "facturación"], ["2", "ventas"]]);
    expect([...offeredKeys("Appuyez sur 1 pour la facturation ou sur 2 pour un conseiller.")]).toEqual([["1", "la facturation"], ["2", "un conseiller"]]);
    // A choice said back is no offer (found on a real call: "You pressed 1. Goodbye." took key 1 away from the menu).
    expect([...offeredKeys("You pressed 1. Goodbye.")]).toEqual([]);
    expect([...offeredKeys("You can reach billing by pressing 1.").keys()]).toEqual(["1"]);
    // Not a menu: a number of digits, hours, a two-digit number.
    expect(offeredKeys("Please enter your 5 digit ZIP code. We are open 9 to 5. Press 12 for nothing.").size).toBe(0);
    const keys = declaredKeys(compiled({ handoffConfig }, { playbooks: [orders] }), []);
    expect([...keys.keys()]).toEqual(["3", "4"]);
  });
});
