// The conversation runtime driven directly (as the voice channel will drive it): silence, call length,
// keyed digits into a playbook slot, transfers, and a failing brain — on the app's real storage.
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { defaultConfig } from "../../src/api/agents/config.ts";
import type { CompiledConfig } from "../../src/runtime/compiled.ts";
import { ConversationRuntime, type RuntimeDeps } from "../../src/runtime/conversation.ts";
import { ConversationStore } from "../../src/runtime/store.ts";
import { createLogger } from "../../src/platform/log.ts";
import { startTestApp, type TestApp } from "../support/app.ts";

let app: TestApp;
let organizationId: string;
let agentId: string;
beforeAll(async () => {
  app = await startTestApp();
  const org = await app.newOrg();
  organizationId = org.organizationId;
  agentId = (await app.api("POST", "/api/v1/agents", { key: org.key, body: { name: "Runtime" } })).body.data.id;
});
afterAll(() => app.stop());

function compiled(agent: Partial<CompiledConfig["agent"]> = {}, rest: Partial<CompiledConfig> = {}): CompiledConfig {
  return { agent: { name: "Runtime", ...defaultConfig(), ...agent }, skills: [], playbooks: [], guardrails: [], callerVerification: [], ...rest };
}

function runtime(overrides: Partial<RuntimeDeps> = {}, clock = { now: Date.now() }) {
  const config = overrides.loadCompiled;
  return new ConversationRuntime({
    store: new ConversationStore(app.server.database.db),
    runSkill: async () => ({ kind: "error", code: "unused", message: "no skills here" }),
    llm: null,
    retriever: null,
    loadCompiled: config ?? (async () => compiled()),
    clock: () => clock.now,
    log: createLogger("error"),
    ...overrides,
  });
}

const open = (rt: ConversationRuntime, c: CompiledConfig, channel: "voice" | "chat" = "voice") =>
  rt.start({ organizationId, agentId, agentVersionId: null, draftMode: true, compiled: c, channel, source: "test", callerNumber: "+14155550199" });

describe("conversation runtime", () => {
  it("reminds a silent caller, then ends the call as configured", async () => {
    const rt = runtime();
    const c = compiled({ callControl: { maxIdleReminders: 2 } });
    const { conversationId } = await open(rt, c);
    expect((await rt.turn(organizationId, conversationId, { type: "silence" })).replies.map((m) => m.text)).toEqual(["Are you still there?"]);
    expect((await rt.turn(organizationId, conversationId, { type: "silence" })).replies.map((m) => m.text)).toEqual(["Are you still there?"]);
    const last = await rt.turn(organizationId, conversationId, { type: "silence" });
    expect(last).toMatchObject({ ended: true, endReason: "no_response" });
    await expect(rt.turn(organizationId, conversationId, { type: "text", text: "hello?" })).rejects.toThrow();
  });

  it("transfers on no response when told to, warm, with a summary for the human", async () => {
    const rt = runtime();
    const c = compiled({ callControl: { maxIdleReminders: 0, onNoResponseAction: "transfer" }, handoffConfig: { warm: true, transferDestination: "+14155550100" } });
    const { conversationId } = await open(rt, c);
    const r = await rt.turn(organizationId, conversationId, { type: "silence" });
    expect(r.transfer).toEqual({ destination: "+14155550100", warm: true, reason: "no response from the caller", summary: "Call from +14155550199 about: no response from the caller." });
    // The voice channel carries the transfer out, then reports: the conversation ends as transferred.
    expect(r.ended).toBe(false);
    await rt.end(organizationId, conversationId, "transferred");
    const [row] = await app.query<{ outcome: string }>(`select outcome from conversations where id = '${conversationId}'`);
    expect(row!.outcome).toBe("transferred");
  });

  it("falls back to taking a message when the transfer cannot be completed", async () => {
    const rt = runtime();
    const c = compiled({ handoffConfig: { transferDestination: "+14155550100" } });
    const { conversationId } = await open(rt, c);
    expect((await rt.turn(organizationId, conversationId, { type: "text", text: "let me talk to a person" })).transfer!.destination).toBe("+14155550100");
    const failed = await rt.turn(organizationId, conversationId, { type: "transfer_failed", reason: "no_answer" });
    expect(failed.replies.map((m) => m.text)).toEqual(["I'm sorry, I couldn't reach anyone just now. I can take a message for the team instead. What would you like me to pass on?"]);
    const message = await rt.turn(organizationId, conversationId, { type: "text", text: "please call me back about my boiler" });
    expect(message.replies[0]!.text).toBe("Thanks. What's the best number to reach you on?");
  });

  it("ends the call at its maximum length even while the caller is silent", async () => {
    const rt = runtime();
    const { conversationId } = await open(rt, compiled({ callControl: { maxDurationMessage: "Out of time, goodbye." } }));
    const r = await rt.turn(organizationId, conversationId, { type: "call_timeout" });
    expect(r.replies.map((m) => m.text)).toEqual(["Out of time, goodbye."]);
    expect(r).toMatchObject({ ended: true, endReason: "max_duration" });
  });

  it("ends a call that reaches its maximum length with the configured message", async () => {
    const clock = { now: Date.now() };
    const rt = runtime({}, clock);
    const c = compiled({ callControl: { maxCallSeconds: 60, maxDurationMessage: "Time's up, thanks for calling!" } });
    const { conversationId } = await open(rt, c);
    clock.now += 61_000;
    const r = await rt.turn(organizationId, conversationId, { type: "text", text: "one more thing" });
    expect(r.replies.at(-1)!.text).toBe("Time's up, thanks for calling!");
    expect(r).toMatchObject({ ended: true, endReason: "max_duration" });
  });

  it("fills a playbook slot from keyed digits, keeping leading zeros", async () => {
    const rt = runtime();
    const c = compiled(
      {},
      {
        playbooks: [
          {
            id: "pbk_zip",
            flowId: "flw_zip",
            name: "Delivery check",
            description: "check whether we deliver to a ZIP code",
            inputSchema: {},
            outputSchema: {},
            graph: {
              nodes: [
                { id: "s", type: "start", data: {} },
                { id: "zip", type: "collect", data: { variable: "zip", prompt: "Say or key in your ZIP code.", slotType: "digits", dtmf: { enabled: true, expectedDigits: 5 } } },
                { id: "e", type: "end", data: { message: "Thanks, ZIP {zip} noted.", outcome: "completed" } },
              ],
              connections: [
                { id: "1", source: "s", target: "zip" },
                { id: "2", source: "zip", target: "e" },
              ],
            },
          },
        ],
      },
    );
    const { conversationId } = await open(rt, c);
    const asked = await rt.turn(organizationId, conversationId, { type: "text", text: "do you deliver to my ZIP code?" });
    expect(asked.replies.map((m) => m.text)).toEqual(["Say or key in your ZIP code."]);
    expect(asked.awaitingDtmf).toEqual({ expectedDigits: 5, submitKey: "#" });
    const wrong = await rt.turn(organizationId, conversationId, { type: "dtmf", digits: "021" });
    expect(wrong.replies.map((m) => m.text)[0]).toContain("didn't catch that");
    const done = await rt.turn(organizationId, conversationId, { type: "dtmf", digits: "02139#" });
    expect(done.replies.map((m) => m.text)).toEqual(["Thanks, ZIP 02139 noted."]);
    expect(done.awaitingDtmf).toBeNull();
  });

  it("answers with an apology instead of silence when the brain fails", async () => {
    const rt = runtime({ llm: { baseUrl: "http://127.0.0.1:9/v1", apiKey: null, model: "gone", timeoutMs: 2000 } });
    const { conversationId } = await open(rt, compiled(), "chat");
    const r = await rt.turn(organizationId, conversationId, { type: "text", text: "hello there" });
    expect(r.replies.map((m) => m.text)).toEqual(["I'm sorry, something went wrong on my side. Could you say that again?"]);
    expect(r.ended).toBe(false);
    const events = await app.query<{ event_type: string }>(`select event_type from conversation_events where conversation_id = '${conversationId}' order by seq`);
    expect(events.map((e) => e.event_type)).toContain("error");
  });

  it("picks up a stored conversation in a fresh runtime (another process or after a restart)", async () => {
    const c = compiled({ greeting: "Hi there." });
    const first = runtime({ loadCompiled: async () => c });
    const { conversationId } = await open(first, c, "chat");
    await first.turn(organizationId, conversationId, { type: "text", text: "can I talk to a person" });
    const second = runtime({ loadCompiled: async () => c });
    const r = await second.turn(organizationId, conversationId, { type: "text", text: "bye" });
    expect(r.replies.map((m) => m.text)).toEqual(["Thanks for chatting. Goodbye!"]);
    const seqs = await app.query<{ seq: number }>(`select seq from conversation_events where conversation_id = '${conversationId}' order by seq`);
    expect(seqs.map((s) => Number(s.seq))).toEqual(seqs.map((_, i) => i));
  });
});
