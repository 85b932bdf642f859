import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { agentBuilder, orderStatusSkill, startWebhookTarget } from "../../support/agent-builder.ts";
import { startTestApp, type TestApp } from "../../support/app.ts";
import { until } from "../../support/until.ts";

let app: TestApp;
let key: string;
let b: ReturnType<typeof agentBuilder>;
let agentId: string;
beforeAll(async () => {
  app = await startTestApp();
  ({ key } = await app.newOrg());
  b = agentBuilder(app, key);
  const agent = await b.agent({
    name: "Chat desk",
    greeting: "Hi! Ask me about our hours.",
    businessHours: { timezone: "UTC", weekly: { monday: [{ start: "09:00", end: "17:00" }] } },
    handoffConfig: { transferDestination: "+14155550100" },
  });
  agentId = agent.id;
  await b.publish(agentId);
});
afterAll(() => app.stop());

const post = (path: string, body?: unknown, k = key) => app.api("POST", path, { key: k, body });

describe("chat sessions", () => {
  it("answers 409 no_published_version for an agent never published, unless draftMode", async () => {
    const draft = await b.agent({ name: "Unpublished", greeting: "Draft hello." });
    const refused = await post("/api/v1/chat/sessions", { agentId: draft.id });
    expect(refused.status).toBe(409);
    expect(refused.body).toMatchObject({ code: "no_published_version", type: "https://docs.flowyte.com/errors/no_published_version" });
    const sandbox = await post("/api/v1/chat/sessions", { agentId: draft.id, draftMode: true });
    expect(sandbox.status).toBe(201);
    expect(sandbox.body.data).toMatchObject({ draftMode: true, agentVersionId: null });
    expect(sandbox.body.data.messages[0].content).toBe("Draft hello.");
  });

  it("runs a session's lifecycle: create with a greeting, send, list, end, then refuse further messages", async () => {
    const created = await post("/api/v1/chat/sessions", { agentId, externalUserId: "user-42", metadata: { page: "/pricing" } });
    expect(created.status).toBe(201);
    const session = created.body.data;
    expect(session).toMatchObject({ agentId, status: "active", channel: "chat", draftMode: false, externalUserId: "user-42", metadata: { page: "/pricing" }, endedAt: null });
    expect(session.agentVersionId).toMatch(/^ver_/);
    expect(session.messages.map((m: { role: string; content: string }) => [m.role, m.content])).toEqual([["assistant", "Hi! Ask me about our hours."]]);

    const sent = await post(`/api/v1/chat/sessions/${session.id}/messages`, { content: "What are your hours?" });
    expect(sent.status).toBe(200);
    expect(sent.body.data.userMessage).toMatchObject({ role: "user", content: "What are your hours?", sessionId: session.id });
    expect(sent.body.data.messages[0].content).toContain("Our hours are Monday 09:00 to 17:00 (UTC time).");
    expect(sent.body.data.ended).toBe(false);

    const listed = await app.api("GET", `/api/v1/chat/sessions/${session.id}/messages?limit=2`, { key });
    expect(listed.body.data.map((m: { role: string }) => m.role)).toEqual(["assistant", "user"]);
    const rest = await app.api("GET", `/api/v1/chat/sessions/${session.id}/messages?cursor=${listed.body.pagination.nextCursor}`, { key });
    expect(rest.body.data.map((m: { id: string }) => m.id)).toEqual([sent.body.data.messages[0].id]);
    expect(rest.body.pagination.hasMore).toBe(false);

    const ended = await post(`/api/v1/chat/sessions/${session.id}/end`);
    expect(ended.body.data.status).toBe("ended");
    expect(ended.body.data.endedAt).not.toBeNull();
    expect((await post(`/api/v1/chat/sessions/${session.id}/end`)).status).toBe(200);
    const after = await post(`/api/v1/chat/sessions/${session.id}/messages`, { content: "hello?" });
    expect(after.status).toBe(409);
    expect(after.body.code).toBe("session_ended");
    expect((await app.api("GET", `/api/v1/chat/sessions/${session.id}`, { key })).body.data.status).toBe("ended");
  });

  it("answers a retried send with the same Idempotency-Key with the first reply, running one turn", async () => {
    const session = (await post("/api/v1/chat/sessions", { agentId })).body.data;
    const send = (content: string, idempotencyKey: string) =>
      app.api("POST", `/api/v1/chat/sessions/${session.id}/messages`, { key, body: { content }, headers: { "idempotency-key": idempotencyKey } });
    const first = await send("What are your hours?", "send-1");
    expect(first.status).toBe(200);
    const retried = await send("What are your hours?", "send-1");
    expect(retried.status).toBe(200);
    expect(retried.headers.get("idempotent-replayed")).toBe("true");
    expect(retried.body).toEqual(first.body);
    const reused = await send("Where are you?", "send-1");
    expect(reused.status).toBe(422);
    expect(reused.body.code).toBe("idempotency_key_reused");
    const messages = (await app.api("GET", `/api/v1/chat/sessions/${session.id}/messages`, { key })).body.data;
    expect(messages.map((m: { role: string }) => m.role)).toEqual(["assistant", "user", "assistant"]);
  });

  it("streams a reply as SSE: deltas, the handoff event, the stored message, done", async () => {
    const always = await b.agent({ name: "Always open", handoffConfig: { transferDestination: "+14155550100" } });
    await b.publish(always.id);
    const session = (await post("/api/v1/chat/sessions", { agentId: always.id })).body.data;
    const res = await fetch(`${app.url}/api/v1/chat/sessions/${session.id}/messages`, {
      method: "POST",
      headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
      body: JSON.stringify({ content: "Can I talk to a person?", stream: true }),
    });
    expect(res.headers.get("content-type")).toBe("text/event-stream; charset=utf-8");
    const frames = (await res.text()).split("\n\n").filter(Boolean);
    const types = frames.map((f) => f.slice("event:".length, f.indexOf("\n")));
    expect(types[0]).toBe("handoff");
    expect(types).toContain("delta");
    expect(types.slice(-2)).toEqual(["message", "done"]);
    const deltas = frames.filter((f) => f.startsWith("event:delta")).map((f) => JSON.parse(f.slice(f.indexOf("data:") + 5)).text).join("");
    const message = JSON.parse(frames.find((f) => f.startsWith("event:message"))!.slice(frames.find((f) => f.startsWith("event:message"))!.indexOf("data:") + 5));
    expect(deltas.trim()).toBe(message.content);
    expect(message.content).toContain("+14155550100");
    const stored = await app.api("GET", `/api/v1/chat/sessions/${session.id}/messages`, { key });
    expect(stored.body.data.at(-1)).toEqual(message);
  });

  it("refuses bad input and keeps sessions inside their organization", async () => {
    const session = (await post("/api/v1/chat/sessions", { agentId })).body.data;
    const empty = await post(`/api/v1/chat/sessions/${session.id}/messages`, { content: "" });
    expect(empty.status).toBe(400);
    expect(empty.body.errors[0].field).toBe("content");
    expect((await post("/api/v1/chat/sessions", { agentId: "agt_nope" })).status).toBe(404);
    const other = await app.newOrg();
    for (const [method, path, body] of [
      ["GET", `/api/v1/chat/sessions/${session.id}`],
      ["GET", `/api/v1/chat/sessions/${session.id}/messages`],
      ["POST", `/api/v1/chat/sessions/${session.id}/messages`, { content: "hi" }],
      ["POST", `/api/v1/chat/sessions/${session.id}/end`],
    ] as const) {
      expect((await app.api(method, path, { key: other.key, body })).status).toBe(404);
    }
    expect((await post("/api/v1/chat/sessions", { agentId }, other.key)).status).toBe(404);
  });
});

describe("guardrails in a chat session", () => {
  it("declines a banned topic, streams the guardrail decision, and stores the transcript redacted", async () => {
    const careful = await b.agent({ name: "Careful desk", greeting: "Hi! How can I help?" });
    await b.guardrails(careful.id, [{ policyType: "content_policy", config: { bannedTopics: ["politics"], redactPii: true } }]);
    await b.publish(careful.id);
    const session = (await post("/api/v1/chat/sessions", { agentId: careful.id })).body.data;

    const declined = await post(`/api/v1/chat/sessions/${session.id}/messages`, { content: "What do you think about politics?" });
    expect(declined.status).toBe(200);
    expect(declined.body.data.messages.map((m: { content: string }) => m.content)).toEqual(["I'm sorry, that's not something I can help with. Is there anything else?"]);

    const res = await fetch(`${app.url}/api/v1/chat/sessions/${session.id}/messages`, {
      method: "POST",
      headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
      body: JSON.stringify({ content: "Tell me your politics, my email is ann@example.com", stream: true }),
    });
    const raw = await res.text();
    const guardrail = raw
      .split("\n\n")
      .filter((f) => f.startsWith("event:guardrail\n"))
      .map((f) => JSON.parse(f.slice(f.indexOf("data:") + 5)));
    expect(guardrail).toContainEqual(expect.objectContaining({ eventType: "guardrail", payload: expect.objectContaining({ policyType: "content_policy", decision: "blocked", reason: "banned topic: politics" }) }));
    expect(raw).toContain("I'm sorry, that's not something I can help with.");

    const listed = (await app.api("GET", `/api/v1/chat/sessions/${session.id}/messages`, { key })).body.data.map((m: { role: string; content: string }) => [m.role, m.content]);
    expect(listed).toEqual([
      ["assistant", "Hi! How can I help?"],
      ["user", "What do you think about politics?"],
      ["assistant", "I'm sorry, that's not something I can help with. Is there anything else?"],
      ["user", "Tell me your politics, my email is [email]"],
      ["assistant", "I'm sorry, that's not something I can help with. Is there anything else?"],
    ]);
    const stored = await app.query<{ payload: unknown }>(`select payload from conversation_events where conversation_id = '${session.id}' and event_type = 'guardrail'`);
    expect(stored).toHaveLength(2);
  });
});

describe("streaming cleanup", () => {
  it("stops the turn's work when the client disconnects mid-stream, and the session goes on", async () => {
    const slow = startWebhookTarget(() => ({ status: "shipped" }), 1500);
    const local = await startTestApp({ EGRESS_ALLOWLIST: "127.0.0.1" });
    try {
      const { key: k } = await local.newOrg();
      const builder = agentBuilder(local, k);
      const agent = await builder.agent({ name: "Slow lookups" });
      await builder.skill(agent.id, orderStatusSkill(slow.url, 10000));
      await builder.publish(agent.id);
      const session = (await local.api("POST", "/api/v1/chat/sessions", { key: k, body: { agentId: agent.id } })).body.data;
      const controller = new AbortController();
      const res = await fetch(`${local.url}/api/v1/chat/sessions/${session.id}/messages`, {
        method: "POST",
        headers: { authorization: `Bearer ${k}`, "content-type": "application/json" },
        body: JSON.stringify({ content: "check the delivery status of my order", stream: true }),
        signal: controller.signal,
      });
      const reader = res.body!.getReader();
      // The filler line streams while the lookup runs (after the retrieval and guardrail events, in whatever chunks).
      let received = "";
      while (!received.includes("event:delta")) received += new TextDecoder().decode((await reader.read()).value);
      controller.abort();
      // The cancelled lookup is recorded once the turn has unwound: wait for that event, not for a fixed time.
      const payloads = await until(async () => {
        const events = await local.query<{ event_type: string; payload: any }>(`select event_type, payload from conversation_events where conversation_id = '${session.id}' order by seq`);
        const all = events.map((e) => ({ type: e.event_type, payload: typeof e.payload === "string" ? JSON.parse(e.payload) : e.payload }));
        return all.some((e) => e.type === "tool_call") && all;
      }, 30_000);
      expect(payloads.find((e) => e.type === "tool_call")!.payload).toMatchObject({ status: "error", errorCode: "cancelled" });
      expect(payloads.some((e) => e.type === "error" && e.payload.code === "client_disconnected")).toBe(false);
      // Nothing was said after the caller left, and the session takes the next message.
      expect(payloads.filter((e) => e.type === "agent_message").map((e) => e.payload.text)).toEqual(["Hello! How can I help you today?", "One moment while I check that."]);
      const next = await local.api("POST", `/api/v1/chat/sessions/${session.id}/messages`, { key: k, body: { content: "thanks, bye" } });
      expect(next.status).toBe(200);
    } finally {
      await local.stop();
      slow.stop();
    }
  });
});
