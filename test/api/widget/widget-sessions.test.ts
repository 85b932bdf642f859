import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { agentBuilder, orderStatusSkill, startWebhookTarget } from "../../support/agent-builder.ts";
import { startTestApp, type TestApp } from "../../support/app.ts";

let app: TestApp;
let key: string;
let agentId: string;
let pk: { id: string; keyPublic: string };
const SITE = "https://shop.example.com";
const HOURS = { timezone: "America/New_York", weekly: { monday: [{ start: "09:00", end: "17:00" }], saturday: [{ start: "10:00", end: "14:00" }] } };

beforeAll(async () => {
  // As behind one reverse proxy: X-Forwarded-For's last entry names the visitor.
  app = await startTestApp({ PUBLIC_BASE_URL: "https://chat.example.net", TRUST_PROXY: "1", EGRESS_ALLOWLIST: "127.0.0.1" });
  ({ key } = await app.newOrg());
  agentId = (await app.api("POST", "/api/v1/agents", { key, body: { name: "Shop helper", greeting: "Hi! I'm the shop's assistant.", businessHours: HOURS } })).body.data.id;
  await app.api("POST", `/api/v1/agents/${agentId}/publish`, { key, body: {} });
  pk = await newKey();
});
afterAll(() => app.stop());

async function newKey(body: Record<string, unknown> = {}, agent = agentId) {
  return (await app.api("POST", `/api/v1/agents/${agent}/publishable-keys`, { key, body: { name: "Shop", allowedOrigins: [SITE], rateLimitRpm: 6000, ...body } })).body.data;
}

/** A widget call from a page on SITE; each test picks its own visitor address so the per-visitor limit stays apart. */
const widget = (method: string, path: string, opts: { pk?: string; body?: unknown; visitor?: string; origin?: string } = {}) =>
  app.api(method, `/api/v1/chat/widget${path}`, {
    key: opts.pk ?? pk.keyPublic,
    body: opts.body,
    headers: { origin: opts.origin ?? SITE, "x-forwarded-for": opts.visitor ?? "203.0.113.1" },
  });

const startSession = async (opts: { pk?: string; visitor?: string; body?: unknown } = {}) => {
  const res = await widget("POST", "/sessions", { body: {}, ...opts });
  expect(res.status).toBe(201);
  return res.body.data as { conversationId: string; visitorToken: string; transport: { kind: string; url: string; token: string; fallback: { kind: string; url: string; token: string } }; messages: { role: string; content: string }[] };
};

/** POST a message with stream:true and split the answer into SSE frames. */
async function streamMessage(conversationId: string, visitorToken: string, content: string, extra: Record<string, unknown> = {}) {
  const res = await fetch(`${app.url}/api/v1/chat/widget/sessions/${conversationId}/messages`, {
    method: "POST",
    headers: { authorization: `Bearer ${pk.keyPublic}`, origin: SITE, "content-type": "application/json" },
    body: JSON.stringify({ content, stream: true, visitorToken, ...extra }),
  });
  const raw = await res.text();
  const frames = raw
    .split("\n\n")
    .filter((f) => f.startsWith("event:"))
    .map((f) => {
      const [event, data] = f.split("\n");
      return { event: event!.slice("event:".length), data: JSON.parse(data!.slice("data:".length)) };
    });
  return { res, raw, frames };
}

describe("widget sessions", () => {
  it("starts a conversation with the published agent and answers a visitor token, the realtime transport and its SSE fallback", async () => {
    const session = await startSession();
    expect(session.conversationId).toMatch(/^conv_/);
    expect(session.visitorToken).toMatch(/^vt1\./);
    const base = `chat.example.net/api/v1/chat/widget/sessions/${session.conversationId}`;
    expect(session.transport).toEqual({
      kind: "realtime",
      url: `wss://${base}/socket`,
      token: session.visitorToken,
      fallback: { kind: "sse", url: `https://${base}/messages`, token: session.visitorToken },
    });
    expect(session.messages).toEqual([expect.objectContaining({ role: "assistant", content: "Hi! I'm the shop's assistant." })]);

    const [row] = await app.query<{
      publishable_key_id: string;
      visitor_id: string;
      source: string;
      channel: string;
      agent_version_id: string | null;
      draft_mode: boolean;
      metadata: { origin: string };
    }>(`select publishable_key_id, visitor_id, source, channel, agent_version_id, draft_mode, metadata from conversations where id = '${session.conversationId}'`);
    expect(row).toMatchObject({ publishable_key_id: pk.id, source: "widget", channel: "chat", draft_mode: false, metadata: { origin: SITE } });
    expect(row!.visitor_id).toMatch(/^vis_/);
    expect(row!.agent_version_id).not.toBeNull();
  });

  it("streams the reply: delta frames as it becomes sayable, then the message, then done", async () => {
    const session = await startSession();
    const { res, raw, frames } = await streamMessage(session.conversationId, session.visitorToken, "What are your opening hours?");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toContain("text/event-stream");
    expect(res.headers.get("access-control-allow-origin")).toBe(SITE);
    expect(raw).toMatch(/^event:delta\ndata:\{/);

    const kinds = frames.map((f) => f.event);
    const firstOther = kinds.findIndex((k) => k !== "delta");
    expect(firstOther).toBeGreaterThan(0);
    expect(kinds.slice(firstOther)).toEqual(["message", "done"]);

    const message = frames[firstOther]!.data;
    expect(message.userMessage).toMatchObject({ role: "user", content: "What are your opening hours?" });
    expect(message.ended).toBe(false);
    expect(message.messages[0].content).toContain("Our hours are");
    const streamed = frames
      .filter((f) => f.event === "delta")
      .map((f) => f.data.text)
      .join("");
    expect(streamed.trim()).toBe(message.messages.map((m: { content: string }) => m.content).join(" "));
  });

  it("answers JSON when stream is false, and the transcript for a reconnecting widget", async () => {
    const session = await startSession();
    const res = await widget("POST", `/sessions/${session.conversationId}/messages`, { body: { content: "When are you open on Saturday?", visitorToken: session.visitorToken } });
    expect(res.status).toBe(200);
    expect(res.body.data.messages[0]).toMatchObject({ role: "assistant" });
    expect(res.body.data.messages[0].content).toContain("Saturday 10:00 to 14:00");

    const transcript = await widget("GET", `/sessions/${session.conversationId}/messages?visitorToken=${encodeURIComponent(session.visitorToken)}`);
    expect(transcript.status).toBe(200);
    expect(transcript.body.data.status).toBe("active");
    expect(transcript.body.data.messages.map((m: { role: string; content: string }) => [m.role, m.content])).toEqual([
      ["assistant", "Hi! I'm the shop's assistant."],
      ["user", "When are you open on Saturday?"],
      ["assistant", res.body.data.messages[0].content],
    ]);
    expect(transcript.body.data.messages[1].id).toBe(res.body.data.userMessage.id);
  });

  it("refuses a visitor token that belongs to another conversation or key (403), and one this server did not sign (401)", async () => {
    const mine = await startSession();
    const theirs = await startSession();
    const send = (conversationId: string, visitorToken: string, other?: string) =>
      widget("POST", `/sessions/${conversationId}/messages`, { pk: other, body: { content: "hello", visitorToken } });

    const crossed = await send(mine.conversationId, theirs.visitorToken);
    expect(crossed.status).toBe(403);
    expect(crossed.body.code).toBe("visitor_token_mismatch");
    expect((await widget("GET", `/sessions/${mine.conversationId}/messages?visitorToken=${encodeURIComponent(theirs.visitorToken)}`)).body.code).toBe("visitor_token_mismatch");

    const otherKey = await newKey();
    expect((await send(mine.conversationId, mine.visitorToken, otherKey.keyPublic)).body.code).toBe("visitor_token_mismatch");

    const [version, payload, signature] = mine.visitorToken.split(".");
    const claims = JSON.parse(Buffer.from(payload!, "base64url").toString());
    const forged = `${version}.${Buffer.from(JSON.stringify({ ...claims, c: theirs.conversationId })).toString("base64url")}.${signature}`;
    const refused = await send(theirs.conversationId, forged);
    expect(refused.status).toBe(401);
    expect(refused.body.code).toBe("invalid_visitor_token");
    expect((await send(mine.conversationId, "nonsense")).body.code).toBe("invalid_visitor_token");
    expect((await widget("POST", `/sessions/${mine.conversationId}/messages`, { body: { content: "hello" } })).status).toBe(400);
  });

  it("keeps a visitor's conversation going across a rotation of the key", async () => {
    const rotating = await newKey();
    const session = await startSession({ pk: rotating.keyPublic });
    const rotated = (await app.api("POST", `/api/v1/agents/${agentId}/publishable-keys/${rotating.id}/rotate`, { key })).body.data;
    const res = await widget("POST", `/sessions/${session.conversationId}/messages`, {
      pk: rotated.keyPublic,
      body: { content: "What are your hours?", visitorToken: session.visitorToken },
    });
    expect(res.status).toBe(200);
  });

  it("answers 409 session_ended once the conversation is over", async () => {
    const session = await startSession();
    const bye = await widget("POST", `/sessions/${session.conversationId}/messages`, { body: { content: "That's all, goodbye", visitorToken: session.visitorToken } });
    expect(bye.body.data.ended).toBe(true);
    const after = await widget("POST", `/sessions/${session.conversationId}/messages`, { body: { content: "hello?", visitorToken: session.visitorToken } });
    expect(after.status).toBe(409);
    expect(after.body.code).toBe("session_ended");
    const transcript = await widget("GET", `/sessions/${session.conversationId}/messages?visitorToken=${encodeURIComponent(session.visitorToken)}`);
    expect(transcript.body.data.status).toBe("ended");
  });

  it("answers 409 no_published_version for an agent never published", async () => {
    const draft = (await app.api("POST", "/api/v1/agents", { key, body: { name: "Draft only" } })).body.data.id;
    const draftKey = await newKey({}, draft);
    const res = await widget("POST", "/sessions", { pk: draftKey.keyPublic, body: {} });
    expect(res.status).toBe(409);
    expect(res.body.code).toBe("no_published_version");
  });

  it("needs an identityToken when the key requires identity verification", async () => {
    const strict = await newKey({ requireIdentityVerification: true });
    const refused = await widget("POST", "/sessions", { pk: strict.keyPublic, body: {} });
    expect(refused.status).toBe(403);
    expect(refused.body.code).toBe("identity_required");
    const session = await startSession({ pk: strict.keyPublic, body: { identityToken: "customer-42-signed-by-the-site" } });
    const [row] = await app.query<{ metadata: { identity: unknown } }>(`select metadata from conversations where id = '${session.conversationId}'`);
    expect(row!.metadata.identity).toEqual({ verified: false, subject: null });
  });

  it("limits new sessions per visitor address, apart from other visitors (one trusted proxy: X-Forwarded-For's last entry)", async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 21; i++) statuses.push((await widget("POST", "/sessions", { body: {}, visitor: "198.51.100.7" })).status);
    expect(statuses.slice(0, 20).every((s) => s === 201)).toBe(true);
    const limited = await widget("POST", "/sessions", { body: {}, visitor: "198.51.100.7" });
    expect(limited.status).toBe(429);
    expect(limited.body.code).toBe("too_many_sessions");
    expect(Number(limited.headers.get("retry-after"))).toBeGreaterThan(0);
    expect((await widget("POST", "/sessions", { body: {}, visitor: "198.51.100.8" })).status).toBe(201);
    // Entries a client prepends are not the proxy's: they do not make another visitor.
    expect((await widget("POST", "/sessions", { body: {}, visitor: "192.0.2.77, 198.51.100.7" })).status).toBe(429);
  });

  it("checks the Origin on the session routes too, and refuses secret keys there", async () => {
    expect((await widget("POST", "/sessions", { body: {}, origin: "https://evil.example" })).body.code).toBe("origin_not_allowed");
    const res = await app.api("POST", "/api/v1/chat/widget/sessions", { key, body: {}, headers: { origin: SITE } });
    expect(res.status).toBe(403);
    expect(res.body).toMatchObject({ code: "insufficient_scope", requiredScope: "chat:public" });
  });
});

const transcriptOf = async (session: { conversationId: string; visitorToken: string }, key = pk.keyPublic) =>
  (await widget("GET", `/sessions/${session.conversationId}/messages?visitorToken=${encodeURIComponent(session.visitorToken)}`, { pk: key })).body.data as {
    status: string;
    messages: { id: string; role: string; content: string }[];
  };

describe("widget messages sent with a clientMessageId", () => {
  it("answers a repeat with the first reply, streamed or not, instead of running the turn again", async () => {
    const session = await startSession();
    const send = (body: Record<string, unknown>) => widget("POST", `/sessions/${session.conversationId}/messages`, { body: { visitorToken: session.visitorToken, ...body } });
    const first = await send({ content: "When are you open on Saturday?", clientMessageId: "m-1" });
    expect(first.status).toBe(200);
    expect(first.headers.get("idempotent-replayed")).toBeNull();
    expect(first.body.data.messages[0].content).toContain("Saturday 10:00 to 14:00");

    const again = await send({ content: "When are you open on Saturday?", clientMessageId: "m-1" });
    expect(again.status).toBe(200);
    expect(again.headers.get("idempotent-replayed")).toBe("true");
    expect(again.body.data).toEqual(first.body.data);

    const streamed = await streamMessage(session.conversationId, session.visitorToken, "When are you open on Saturday?", { clientMessageId: "m-1" });
    expect(streamed.res.headers.get("idempotent-replayed")).toBe("true");
    expect(streamed.frames.map((f) => f.event)).toEqual(["message", "done"]);
    expect(streamed.frames[0]!.data).toEqual(first.body.data);

    const reused = await send({ content: "Something else entirely", clientMessageId: "m-1" });
    expect(reused.status).toBe(422);
    expect(reused.body.code).toBe("idempotency_key_reused");

    const transcript = await transcriptOf(session);
    expect(transcript.messages.filter((m) => m.role === "user").map((m) => m.content)).toEqual(["When are you open on Saturday?"]);
    const [{ n }] = (await app.query<{ n: number }>(`select count(*)::int as n from conversation_events where conversation_id = '${session.conversationId}' and event_type = 'user_utterance'`)) as [{ n: number }];
    expect(n).toBe(1);
  });

  it("replays the goodbye that ended the conversation rather than answering 409, and refuses a new message", async () => {
    const session = await startSession();
    const send = (content: string, clientMessageId: string) => widget("POST", `/sessions/${session.conversationId}/messages`, { body: { content, clientMessageId, visitorToken: session.visitorToken } });
    const bye = await send("That's all, goodbye", "bye-1");
    expect(bye.body.data.ended).toBe(true);
    const repeat = await send("That's all, goodbye", "bye-1");
    expect(repeat.status).toBe(200);
    expect(repeat.body.data).toEqual(bye.body.data);
    const late = await send("One more thing", "late-1");
    expect(late.status).toBe(409);
    expect(late.body.code).toBe("session_ended");
  });

  it("finishes the turn when the connection drops mid-stream, and a resend gets that reply: the message is processed once", async () => {
    const lookups = startWebhookTarget(() => ({ status: "shipped" }), 800);
    try {
      const b = agentBuilder(app, key);
      const agent = await b.agent({ name: "Order desk" });
      await b.skill(agent.id, orderStatusSkill(lookups.url, 10000));
      await b.publish(agent.id);
      const orderKey = await newKey({}, agent.id);
      const session = await startSession({ pk: orderKey.keyPublic });
      const body = { content: "check the delivery status of my order", stream: true, visitorToken: session.visitorToken, clientMessageId: "c0ffee-1" };

      const controller = new AbortController();
      const res = await fetch(`${app.url}/api/v1/chat/widget/sessions/${session.conversationId}/messages`, {
        method: "POST",
        headers: { authorization: `Bearer ${orderKey.keyPublic}`, origin: SITE, "content-type": "application/json" },
        body: JSON.stringify(body),
        signal: controller.signal,
      });
      const reader = res.body!.getReader();
      let received = "";
      while (!received.includes("One moment")) received += new TextDecoder().decode((await reader.read()).value);
      controller.abort(); // the visitor's network drops while the lookup runs
      await Bun.sleep(150);

      // The widget's resend, while the turn still runs: it waits for that turn instead of starting another.
      const resent = await widget("POST", `/sessions/${session.conversationId}/messages`, { pk: orderKey.keyPublic, body: { ...body, stream: false } });
      expect(resent.status).toBe(200);
      expect(resent.headers.get("idempotent-replayed")).toBe("true");
      expect(resent.body.data.messages.map((m: { content: string }) => m.content)).toEqual(["One moment while I check that.", "Here's what I found. status: shipped."]);
      expect(lookups.calls).toHaveLength(1);

      const transcript = await transcriptOf(session, orderKey.keyPublic);
      expect(transcript.messages.map((m) => [m.role, m.content])).toEqual([
        ["assistant", "Hello! How can I help you today?"],
        ["user", "check the delivery status of my order"],
        ["assistant", "One moment while I check that."],
        ["assistant", "Here's what I found. status: shipped."],
      ]);
      const events = await app.query<{ event_type: string; payload: any }>(`select event_type, payload from conversation_events where conversation_id = '${session.conversationId}' and event_type in ('tool_call', 'error')`);
      expect(events.map((e) => [e.event_type, (typeof e.payload === "string" ? JSON.parse(e.payload) : e.payload).status])).toEqual([["tool_call", "ok"]]);
    } finally {
      lookups.stop();
    }
  });
});

describe("widget sessions with no trusted proxy (TRUST_PROXY unset)", () => {
  let direct: TestApp;
  let directKey: string;
  beforeAll(async () => {
    direct = await startTestApp();
    const org = await direct.newOrg();
    const agent = (await direct.api("POST", "/api/v1/agents", { key: org.key, body: { name: "Direct" } })).body.data.id;
    await direct.api("POST", `/api/v1/agents/${agent}/publish`, { key: org.key, body: {} });
    directKey = (await direct.api("POST", `/api/v1/agents/${agent}/publishable-keys`, { key: org.key, body: { name: "Site", allowedOrigins: [SITE], rateLimitRpm: 6000 } })).body.data.keyPublic;
  });
  afterAll(() => direct.stop());

  it("counts visitors by the connection's address, so a forged X-Forwarded-For does not escape the limit", async () => {
    const start = (forged: string) =>
      direct.api("POST", "/api/v1/chat/widget/sessions", { key: directKey, body: {}, headers: { origin: SITE, "x-forwarded-for": forged } });
    const statuses: number[] = [];
    for (let i = 0; i < 20; i++) statuses.push((await start(`203.0.113.${i + 1}`)).status);
    expect(statuses.every((s) => s === 201)).toBe(true);
    const limited = await start("203.0.113.200");
    expect(limited.status).toBe(429);
    expect(limited.body.code).toBe("too_many_sessions");
    expect((await start("198.51.100.1, 203.0.113.201")).status).toBe(429);
  });
});
