// The widget's realtime transport over a real WebSocket (Bun's client) against the real app: the frames, the checks
// the upgrade and every message pass (key, Origin, visitor token, the key's rate limit shared with HTTP), and one
// turn per clientMessageId whichever door — socket or HTTP — the message comes through, on one replica or two.
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { startTestApp, type TestApp } from "../../support/app.ts";
import { clusterUnavailable, startCluster, type TestCluster } from "../../support/cluster.ts";

let app: TestApp;
let key: string;
let agentId: string;
let pk: { id: string; keyPublic: string };
const SITE = "https://shop.example.com";
const HOURS = { timezone: "America/New_York", weekly: { monday: [{ start: "09:00", end: "17:00" }], saturday: [{ start: "10:00", end: "14:00" }] } };

beforeAll(async () => {
  app = await startTestApp({ PUBLIC_BASE_URL: "https://chat.example.net" });
  ({ key } = await app.newOrg());
  agentId = (await app.api("POST", "/api/v1/agents", { key, body: { name: "Shop helper", greeting: "Hi! I'm the shop's assistant.", businessHours: HOURS } })).body.data.id;
  await app.api("POST", `/api/v1/agents/${agentId}/publish`, { key, body: {} });
  pk = await newKey();
});
afterAll(() => app.stop());

async function newKey(body: Record<string, unknown> = {}) {
  return (await app.api("POST", `/api/v1/agents/${agentId}/publishable-keys`, { key, body: { name: "Shop", allowedOrigins: [SITE], rateLimitRpm: 6000, ...body } })).body.data;
}

type Session = { conversationId: string; visitorToken: string; transport: { kind: string; url: string; token: string; fallback: { kind: string; url: string } } };

async function startSession(base: { api: TestApp["api"] } = app, keyPublic = pk.keyPublic): Promise<Session> {
  const res = await base.api("POST", "/api/v1/chat/widget/sessions", { key: keyPublic, body: {}, headers: { origin: SITE } });
  expect(res.status).toBe(201);
  return res.body.data;
}

/** The socket URL on this test server (transport.url names PUBLIC_BASE_URL's host), with the key and token. */
const dial = (serverUrl: string, session: Session, keyPublic = pk.keyPublic, token = session.transport.token) =>
  `${serverUrl.replace(/^http/, "ws")}${new URL(session.transport.url).pathname}?key=${encodeURIComponent(keyPublic)}&token=${encodeURIComponent(token)}`;

type Frame = { type: string; [field: string]: any };

/** A widget socket: frames as they arrive, and a way to wait for the next one of a type. */
class Client {
  readonly frames: Frame[] = [];
  closed: { code: number; reason: string } | null = null;
  private waiters: (() => void)[] = [];

  private constructor(readonly ws: WebSocket) {
    ws.onmessage = (e) => {
      this.frames.push(JSON.parse(String(e.data)));
      this.wake();
    };
    ws.onclose = (e) => {
      this.closed = { code: e.code, reason: e.reason };
      this.wake();
    };
  }

  static open(url: string, origin = SITE): Promise<Client> {
    // Bun's WebSocket client sends headers a browser would: the page's Origin.
    const ws = new WebSocket(url, { headers: { origin } } as never);
    return new Promise((resolve, reject) => {
      ws.onopen = () => resolve(new Client(ws));
      ws.onerror = () => reject(new Error("the socket did not open"));
    });
  }

  private wake() {
    for (const waiter of this.waiters.splice(0)) waiter();
  }

  /** The first frame of `type` (after `from`), waiting for it; rejects when the socket closes first. */
  async next(type: string, from = 0): Promise<Frame> {
    for (;;) {
      const found = this.frames.slice(from).find((f) => f.type === type);
      if (found) return found;
      if (this.closed) throw new Error(`the socket closed (${this.closed.code} ${this.closed.reason}) before a ${type} frame`);
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
  }

  async whenClosed() {
    while (!this.closed) await new Promise<void>((resolve) => this.waiters.push(resolve));
    return this.closed;
  }

  /** Send a message and wait for its answer: its message frame, or an error frame. */
  async say(content: string, clientMessageId: string): Promise<Frame> {
    const from = this.frames.length;
    this.ws.send(JSON.stringify({ type: "message", content, clientMessageId }));
    for (;;) {
      const answer = this.frames.slice(from).find((f) => (f.type === "message" || f.type === "error") && f.clientMessageId === clientMessageId);
      if (answer) return answer;
      if (this.closed) throw new Error(`the socket closed (${this.closed.code}) before an answer`);
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
  }
}

/** The status line and body of an upgrade request the server refuses (a WebSocket client only sees "error"). */
async function refusedUpgrade(url: string, origin: string | null = SITE) {
  const target = new URL(url);
  const chunks: Uint8Array[] = [];
  let done!: () => void;
  const ended = new Promise<void>((resolve) => (done = resolve));
  const socket = await Bun.connect({
    hostname: target.hostname,
    port: Number(target.port),
    socket: { data: (_s, chunk) => void chunks.push(chunk), close: () => done(), error: () => done() },
  });
  socket.write(
    `GET ${target.pathname}${target.search} HTTP/1.1\r\nHost: ${target.host}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n` +
      `Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n${origin ? `Origin: ${origin}\r\n` : ""}\r\n`,
  );
  // The answer is complete once its JSON body has arrived; the server may keep the connection open.
  for (;;) {
    const text = Buffer.concat(chunks).toString();
    const body = text.split("\r\n\r\n")[1] ?? "";
    if (text.includes("\r\n\r\n") && body.trim().endsWith("}")) {
      socket.end();
      return { status: Number(text.split(" ")[1]), body: JSON.parse(body) };
    }
    await Promise.race([ended, Bun.sleep(10)]);
  }
}

const transcript = async (session: Session) =>
  (await app.api("GET", `/api/v1/chat/widget/sessions/${session.conversationId}/messages?visitorToken=${encodeURIComponent(session.visitorToken)}`, { key: pk.keyPublic, headers: { origin: SITE } }))
    .body.data;

describe("the widget's realtime transport", () => {
  it("converses over the socket: ready, delta frames, then the message, stored as the HTTP route stores it", async () => {
    const session = await startSession();
    expect(session.transport.kind).toBe("realtime");
    const client = await Client.open(dial(app.url, session));
    expect(await client.next("ready")).toEqual({ type: "ready", conversationId: session.conversationId });

    const from = client.frames.length;
    const answer = await client.say("When are you open on Saturday?", "m1");
    const deltas = client.frames.slice(from).filter((f) => f.type === "delta");
    expect(deltas.length).toBeGreaterThan(0);
    expect(deltas.every((d) => d.clientMessageId === "m1")).toBe(true);
    expect(answer).toMatchObject({ type: "message", clientMessageId: "m1", replayed: false, ended: false, userMessage: { role: "user", content: "When are you open on Saturday?" } });
    // The deltas spell out the reply the message frame carries.
    expect(deltas.map((d) => d.text).join("").trim()).toBe(answer.messages.map((m: { content: string }) => m.content).join(" "));
    expect(answer.messages[0].content).toContain("10:00");

    // Storage holds exactly what the socket said, as the transcript every transport reads.
    const stored = await transcript(session);
    expect(stored.messages.map((m: { id: string; role: string; content: string }) => [m.id, m.role, m.content])).toEqual([
      [expect.any(String), "assistant", "Hi! I'm the shop's assistant."],
      [answer.userMessage.id, "user", "When are you open on Saturday?"],
      ...answer.messages.map((m: { id: string; content: string }) => [m.id, "assistant", m.content]),
    ]);
    client.ws.close(1000);
    await client.whenClosed();
  });

  it("runs a clientMessageId's turn once whichever door repeats it: the socket again, or HTTP", async () => {
    const session = await startSession();
    const client = await Client.open(dial(app.url, session));
    const first = await client.say("What are your hours on Monday?", "same-1");
    const again = await client.say("What are your hours on Monday?", "same-1");
    expect(again).toMatchObject({ type: "message", replayed: true });
    expect(again.userMessage.id).toBe(first.userMessage.id);
    expect(again.messages).toEqual(first.messages);

    const http = await app.api("POST", `/api/v1/chat/widget/sessions/${session.conversationId}/messages`, {
      key: pk.keyPublic,
      headers: { origin: SITE },
      body: { content: "What are your hours on Monday?", visitorToken: session.visitorToken, clientMessageId: "same-1" },
    });
    expect(http.status).toBe(200);
    expect(http.headers.get("idempotent-replayed")).toBe("true");
    expect(http.body.data.messages).toEqual(first.messages);

    const reused = await client.say("Something else", "same-1");
    expect(reused).toMatchObject({ type: "error", status: 422, code: "idempotency_key_reused" });
    expect((await transcript(session)).messages.filter((m: { role: string }) => m.role === "user")).toHaveLength(1);
    client.ws.close(1000);
  });

  it("answers frames that are not a message with invalid_message and stays open", async () => {
    const session = await startSession();
    const client = await Client.open(dial(app.url, session));
    await client.next("ready");
    client.ws.send(JSON.stringify({ type: "message", content: "", clientMessageId: "bad id!" }));
    const error = await client.next("error");
    expect(error).toMatchObject({ status: 400, code: "invalid_message", clientMessageId: "bad id!" });
    expect(error.errors.map((e: { field: string }) => e.field).sort()).toEqual(["clientMessageId", "content"]);
    client.ws.send("not json");
    expect((await client.say("hello", "after-bad")).type).toBe("message");
    expect(client.closed).toBeNull();
    client.ws.close(1000);
  });

  it("says the conversation ended and closes normally after the goodbye; a new socket for it is refused", async () => {
    const session = await startSession();
    const client = await Client.open(dial(app.url, session));
    const bye = await client.say("That's all, goodbye", "bye");
    expect(bye).toMatchObject({ type: "message", ended: true });
    expect(await client.next("ended")).toEqual({ type: "ended", reason: "session_ended" });
    expect(await client.whenClosed()).toEqual({ code: 1000, reason: "session_ended" });
    // The conversation is over: the socket opens (the token is good) but a new message is 409 session_ended.
    const late = await Client.open(dial(app.url, session));
    expect(await late.say("hello?", "late")).toMatchObject({ type: "error", status: 409, code: "session_ended" });
    expect((await late.whenClosed()).code).toBe(1000);
  });

  it("refuses the upgrade without an allowed Origin, a good key, or the conversation's visitor token", async () => {
    const session = await startSession();
    const other = await startSession();
    const url = dial(app.url, session);
    expect(await refusedUpgrade(url, "https://evil.example.org")).toMatchObject({ status: 403, body: { code: "origin_not_allowed" } });
    expect(await refusedUpgrade(url, null)).toMatchObject({ status: 403, body: { code: "origin_not_allowed" } });
    expect(await refusedUpgrade(dial(app.url, session, "flowyte_pk_live_nope"))).toMatchObject({ status: 401, body: { code: "invalid_api_key" } });
    expect(await refusedUpgrade(dial(app.url, session, pk.keyPublic, "vt1.forged.token"))).toMatchObject({ status: 401, body: { code: "invalid_visitor_token" } });
    expect(await refusedUpgrade(dial(app.url, session, pk.keyPublic, other.visitorToken))).toMatchObject({ status: 403, body: { code: "visitor_token_mismatch" } });
    // Without an upgrade the URL says what it is for.
    const plain = await fetch(url.replace(/^ws/, "http"), { headers: { origin: SITE } });
    expect(plain.status).toBe(426);
  });

  it("counts each socket message against the key's rateLimitRpm, in the same budget as its HTTP requests", async () => {
    const limited = await newKey({ rateLimitRpm: 4 });
    const session = await startSession(app, limited.keyPublic); // 1
    const client = await Client.open(dial(app.url, session, limited.keyPublic)); // 2: the upgrade
    expect((await client.say("hello", "r1")).type).toBe("message"); // 3
    const read = () => app.api("GET", `/api/v1/chat/widget/sessions/${session.conversationId}/messages?visitorToken=${encodeURIComponent(session.visitorToken)}`, { key: limited.keyPublic, headers: { origin: SITE } });
    expect((await read()).status).toBe(200); // 4: over HTTP
    expect((await read()).status).toBe(429);
    const refused = await client.say("hello again", "r2");
    expect(refused).toMatchObject({ type: "error", status: 429, code: "rate_limited", clientMessageId: "r2" });
    expect(refused.retryAfter).toBeGreaterThan(0);
    expect(client.closed).toBeNull();
    client.ws.close(1000);
  });

  it("stops the socket when its key is revoked or the page's origin is no longer allowed", async () => {
    const revoked = await newKey();
    const session = await startSession(app, revoked.keyPublic);
    const client = await Client.open(dial(app.url, session, revoked.keyPublic));
    expect((await client.say("hello", "k1")).type).toBe("message");
    await app.api("DELETE", `/api/v1/agents/${agentId}/publishable-keys/${revoked.id}`, { key });
    expect(await client.say("still there?", "k2")).toMatchObject({ type: "error", status: 401, code: "invalid_api_key" });
    expect((await client.whenClosed()).code).toBe(1008);

    const narrowed = await newKey();
    const second = await startSession(app, narrowed.keyPublic);
    const socket = await Client.open(dial(app.url, second, narrowed.keyPublic));
    await app.api("PATCH", `/api/v1/agents/${agentId}/publishable-keys/${narrowed.id}`, { key, body: { allowedOrigins: ["https://other.example.com"] } });
    expect(await socket.say("hello", "o1")).toMatchObject({ type: "error", status: 403, code: "origin_not_allowed" });
    expect((await socket.whenClosed()).code).toBe(1008);
  });
});

describe.skipIf(clusterUnavailable !== null)("the realtime transport on two replicas (one Postgres)", () => {
  let cluster: TestCluster;
  beforeAll(async () => {
    cluster = await startCluster({ replicas: 2 });
  });
  afterAll(() => cluster?.stop());

  it("answers a message on the replica holding the socket, and its repeat on the other replica from storage", async () => {
    const [a, b] = cluster.replicas as [TestCluster["replicas"][number], TestCluster["replicas"][number]];
    const org = await cluster.newOrg();
    const agent = (await a.api("POST", "/api/v1/agents", { key: org.key, body: { name: "Clustered", businessHours: HOURS } })).body.data.id;
    await a.api("POST", `/api/v1/agents/${agent}/publish`, { key: org.key, body: {} });
    const keyPublic = (await a.api("POST", `/api/v1/agents/${agent}/publishable-keys`, { key: org.key, body: { name: "Site", allowedOrigins: [SITE], rateLimitRpm: 6000 } })).body.data.keyPublic;
    const session = await startSession(a, keyPublic);

    const onB = await Client.open(dial(b.url, session, keyPublic));
    const first = await onB.say("When are you open on Saturday?", "x1");
    expect(first.type).toBe("message");
    const onA = await Client.open(dial(a.url, session, keyPublic));
    const repeat = await onA.say("When are you open on Saturday?", "x1");
    expect(repeat).toMatchObject({ type: "message", replayed: true, messages: first.messages });
    const viaHttp = await a.api("POST", `/api/v1/chat/widget/sessions/${session.conversationId}/messages`, {
      key: keyPublic,
      headers: { origin: SITE },
      body: { content: "When are you open on Saturday?", visitorToken: session.visitorToken, clientMessageId: "x1" },
    });
    expect(viaHttp.body.data.messages).toEqual(first.messages);
    onA.ws.close(1000);
    onB.ws.close(1000);
  });
});
