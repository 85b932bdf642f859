// A language-model brain once received each of its own answers before the question it answered: the caller's
// message was remembered after the reply. Every channel, through the scripted OpenAI-compatible stand-in: the
// messages array the model gets on turns 2 and 3 alternates user/assistant in the order things were said, and the
// stored transcript reads in that order too.
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { randomBytes } from "node:crypto";
import OpenAI from "openai";
import { createSealer } from "../../src/platform/crypto.ts";
import { firstIdAt } from "../../src/platform/ids.ts";
import { offlineGeocoder } from "../../src/platform/geo/index.ts";
import { createLogger } from "../../src/platform/log.ts";
import { ConversationRuntime } from "../../src/runtime/conversation.ts";
import { ConversationStore } from "../../src/runtime/store.ts";
import { createSkillRunner } from "../../src/runtime/tools/index.ts";
import { agentBuilder } from "../support/agent-builder.ts";
import { startTestApp, type TestApp } from "../support/app.ts";
import { lastUser, startScriptedLlm, type ChatRequest, type ScriptedLlm } from "../support/scripted-llm.ts";
import { compiled } from "./conversation-harness.ts";

const GREETING = "Hello from the order desk.";
const WIDGET_SITE = "https://shop.example.com";

let app: TestApp;
let llm: ScriptedLlm;
let key: string;
let agentId: string;
let b: ReturnType<typeof agentBuilder>;
beforeAll(async () => {
  llm = startScriptedLlm((req) => ({ content: `Reply to ${lastUser(req)}` }));
  app = await startTestApp({ LLM_BASE_URL: llm.baseUrl, LLM_MODEL: "scripted" });
  ({ key } = await app.newOrg());
  b = agentBuilder(app, key);
  agentId = (await b.agent({ name: "Order desk", greeting: GREETING })).id;
  await b.publish(agentId);
});
afterAll(async () => {
  await app.stop();
  llm.stop();
});

/** What the model was sent (system prompt left out) when the caller had just said `said`. */
function sentWhen(said: string): [string, string | null][] {
  const request = llm.requests.find((r: ChatRequest) => lastUser(r) === said);
  if (!request) throw new Error(`the model was never asked about "${said}"`);
  return request.messages.filter((m) => m.role !== "system").map((m) => [m.role, m.content]);
}

/** The exchange in the order it happened: each question, then the model's reply to it. */
function inOrder(greeting: string[], questions: string[]): [string, string][] {
  return [...greeting.map((g): [string, string] => ["assistant", g]), ...questions.flatMap((q): [string, string][] => [["user", q], ["assistant", `Reply to ${q}`]])];
}

/** Turns 2 and 3 each show the earlier turns question-first, then end with the caller's new message. */
function expectModelSawTurnsInOrder(questions: string[], greeting: string[]) {
  const [q1, q2, q3] = questions as [string, string, string];
  expect(sentWhen(q2)).toEqual([...inOrder(greeting, [q1]), ["user", q2]]);
  expect(sentWhen(q3)).toEqual([...inOrder(greeting, [q1, q2]), ["user", q3]]);
}

async function expectTranscriptInOrder(conversationId: string, questions: string[], greeting: string[]) {
  const transcript = await app.api("GET", `/api/v1/conversations/${conversationId}/transcript`, { key });
  expect(transcript.status).toBe(200);
  expect(transcript.body.data.turns.map((t: { role: string; text: string }) => [t.role, t.text])).toEqual(inOrder(greeting, questions));
}

const questions = (channel: string) => [1, 2, 3].map((n) => `${channel} question ${n}?`);

describe("the model sees the conversation in order", () => {
  it("on a chat session: the model's messages alternate question then answer, and the session's messages list them so", async () => {
    const qs = questions("chat");
    const session = (await app.api("POST", "/api/v1/chat/sessions", { key, body: { agentId } })).body.data;
    for (const q of qs) expect((await app.api("POST", `/api/v1/chat/sessions/${session.id}/messages`, { key, body: { content: q } })).status).toBe(200);
    expectModelSawTurnsInOrder(qs, [GREETING]);
    const listed = await app.api("GET", `/api/v1/chat/sessions/${session.id}/messages`, { key });
    expect(listed.body.data.map((m: { role: string; content: string }) => [m.role, m.content])).toEqual(inOrder([GREETING], qs));
    await expectTranscriptInOrder(session.id, qs, [GREETING]);
  });

  it("on a streamed chat session too", async () => {
    const qs = questions("streamed chat");
    const session = (await app.api("POST", "/api/v1/chat/sessions", { key, body: { agentId } })).body.data;
    for (const q of qs) {
      const res = await fetch(`${app.url}/api/v1/chat/sessions/${session.id}/messages`, { method: "POST", headers: { authorization: `Bearer ${key}`, "content-type": "application/json" }, body: JSON.stringify({ content: q, stream: true }) });
      expect(await res.text()).toContain(`Reply to ${q}`);
    }
    expectModelSawTurnsInOrder(qs, [GREETING]);
    await expectTranscriptInOrder(session.id, qs, [GREETING]);
  });

  it("on the widget", async () => {
    const qs = questions("widget");
    const pk = (await app.api("POST", `/api/v1/agents/${agentId}/publishable-keys`, { key, body: { name: "Shop", allowedOrigins: [WIDGET_SITE], rateLimitRpm: 6000 } })).body.data;
    const widget = (path: string, body: unknown) => app.api("POST", `/api/v1/chat/widget${path}`, { key: pk.keyPublic, body, headers: { origin: WIDGET_SITE } });
    const session = (await widget("/sessions", {})).body.data;
    for (const q of qs) expect((await widget(`/sessions/${session.conversationId}/messages`, { content: q, visitorToken: session.visitorToken })).status).toBe(200);
    expectModelSawTurnsInOrder(qs, [GREETING]);
    await expectTranscriptInOrder(session.conversationId, qs, [GREETING]);
  });

  it("on /chat/completions continued by its conversation id", async () => {
    const qs = questions("completions");
    const client = new OpenAI({ baseURL: `${app.url}/api/v1`, apiKey: key, maxRetries: 0 });
    const first = await client.chat.completions.create({ model: agentId, messages: [{ role: "user", content: qs[0]! }] }).withResponse();
    const conversationId = first.response.headers.get("x-flowyte-conversation-id")!;
    for (const q of qs.slice(1)) await client.chat.completions.create({ model: agentId, messages: [{ role: "user", content: q }] }, { headers: { "x-flowyte-conversation-id": conversationId } });
    expectModelSawTurnsInOrder(qs, []);
    await expectTranscriptInOrder(conversationId, qs, []);
  });

  it("on simulate", async () => {
    const qs = questions("simulate");
    const result = await b.simulate(agentId, { transcript: qs });
    expect(result.status).toBe(200);
    expectModelSawTurnsInOrder(qs, [GREETING]);
    await expectTranscriptInOrder(result.events[0]!.conversationId, qs, [GREETING]);
  });

  it("on the voice channel, driven as a call drives the runtime (recognized text with its language and confidence)", async () => {
    const qs = questions("voice");
    const log = createLogger("error", () => {});
    const config = compiled({ name: "Order desk", greeting: GREETING });
    const runtime = new ConversationRuntime({
      store: new ConversationStore(app.server.database.db),
      runSkill: createSkillRunner({ sealer: createSealer(randomBytes(32)), config: { egressAllowlist: [], smtp: null }, geocoder: offlineGeocoder(), log }),
      llm: { baseUrl: llm.baseUrl, apiKey: null, model: "scripted" },
      retriever: null,
      loadCompiled: async () => config,
      log,
    });
    const organizationId = (await app.query<{ organization_id: string }>(`select organization_id from agents where id = '${agentId}'`))[0]!.organization_id;
    const call = await runtime.start({ organizationId, agentId, agentVersionId: null, draftMode: true, compiled: config, channel: "voice", source: "phone", callerNumber: "+14155550123" });
    for (const q of qs) await runtime.turn(organizationId, call.conversationId, { type: "text", text: q, language: "en", asrConfidence: 0.9 });
    expectModelSawTurnsInOrder(qs, [GREETING]);
    await expectTranscriptInOrder(call.conversationId, qs, [GREETING]);
  });

  it("lists a conversation's new messages last when it resumes on a server whose clock is behind the one that stored the earlier ones", async () => {
    const qs = questions("skewed");
    const session = (await app.api("POST", "/api/v1/chat/sessions", { key, body: { agentId } })).body.data;
    await app.api("POST", `/api/v1/chat/sessions/${session.id}/messages`, { key, body: { content: qs[0] } });
    // As if another replica, its clock an hour ahead, had stored these (in the same order).
    const stored = await app.query<{ id: string }>(`select id from conversation_messages where conversation_id = '${session.id}' order by id`);
    const ahead = firstIdAt("msg", Date.now() + 3_600_000);
    for (const [i, m] of stored.entries()) await app.query(`update conversation_messages set id = '${ahead}${String(i).padStart(16, "0")}' where id = '${m.id}'`);
    await app.restart();
    for (const q of qs.slice(1)) expect((await app.api("POST", `/api/v1/chat/sessions/${session.id}/messages`, { key, body: { content: q } })).status).toBe(200);
    await expectTranscriptInOrder(session.id, qs, [GREETING]);
    const listed = await app.api("GET", `/api/v1/chat/sessions/${session.id}/messages`, { key });
    expect(listed.body.data.map((m: { role: string; content: string }) => [m.role, m.content])).toEqual(inOrder([GREETING], qs));
  });

  it("reads a conversation stored with its history out of order (before this fix) in the order it was said", async () => {
    const qs = questions("stored");
    const session = (await app.api("POST", "/api/v1/chat/sessions", { key, body: { agentId } })).body.data;
    for (const q of qs.slice(0, 2)) await app.api("POST", `/api/v1/chat/sessions/${session.id}/messages`, { key, body: { content: q } });
    // The history as the old runtime stored it: each question after the reply to it, and no historyInOrder mark.
    const wrong = [["assistant", GREETING], ["assistant", `Reply to ${qs[0]}`], ["user", qs[0]], ["assistant", `Reply to ${qs[1]}`], ["user", qs[1]]].map(([role, content]) => ({ role, content }));
    await app.query(`update conversations set state = (state - 'historyInOrder') || jsonb_build_object('history', '${JSON.stringify(wrong).replace(/'/g, "''")}'::jsonb) where id = '${session.id}'`);
    await app.restart();
    const third = await app.api("POST", `/api/v1/chat/sessions/${session.id}/messages`, { key, body: { content: qs[2] } });
    expect(third.status).toBe(200);
    expect(sentWhen(qs[2]!)).toEqual([...inOrder([GREETING], qs.slice(0, 2)), ["user", qs[2]!]]);
    const [stored] = await app.query<{ state: { history: { role: string; content: string }[]; historyInOrder: boolean } }>(`select state from conversations where id = '${session.id}'`);
    expect(stored!.state.historyInOrder).toBe(true);
    expect(stored!.state.history.map((m) => [m.role, m.content])).toEqual(inOrder([GREETING], qs));
  });
});
