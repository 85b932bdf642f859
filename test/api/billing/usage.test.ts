// Usage metering over real HTTP: live conversations leave usage items once the metering job runs (called here
// directly, the same function the pg-boss cron runs every minute), test traffic leaves none, rates become credits and
// wallet debits; then GET /billing/usage/items and GET /billing/usage read them back.
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { randomBytes } from "node:crypto";
import { meterUsage } from "../../../src/api/billing/metering.ts";
import { creditWallet, walletBalance } from "../../../src/api/billing/wallet.ts";
import { createLogger } from "../../../src/platform/log.ts";
import { agentBuilder } from "../../support/agent-builder.ts";
import { startTestApp, type TestApp } from "../../support/app.ts";

const quiet = createLogger("error");
const RATES = "voice=5,chat=2,transfer_minute=3";

let app: TestApp;
beforeAll(async () => {
  app = await startTestApp({ USAGE_RATES: RATES });
});
afterAll(() => app.stop());

const meter = (target: TestApp = app) => meterUsage({ db: target.server.database.db, rates: target.config.usageRates, log: quiet });
const get = (path: string, key: string, target: TestApp = app) => target.api("GET", `/api/v1${path}`, { key });
const items = (key: string, query = "", target: TestApp = app) => get(`/billing/usage/items${query}`, key, target);

async function orgWithAgent(target: TestApp = app, creditCents = 10_000) {
  const { key, organizationId } = await target.newOrg();
  const b = agentBuilder(target, key);
  const agent = await b.agent({ name: "Front desk", greeting: "Hi! Ask me about our hours.", businessHours: { timezone: "UTC", weekly: { monday: [{ start: "09:00", end: "17:00" }] } } });
  await b.publish(agent.id);
  if (creditCents) await creditWallet(target.server.database.db, organizationId, creditCents, { kind: "credit" });
  return { key, organizationId, agentId: agent.id as string, b };
}

/** An ended conversation stored as the runtime stores one, for channels too heavy to drive here (a phone call needs Asterisk). */
async function insertConversation(
  o: { organizationId: string; agentId: string },
  c: { channel: "voice" | "chat"; source: string; seconds: number; endedAgoMs?: number; draftMode?: boolean },
  target: TestApp = app,
) {
  const id = `conv_${randomBytes(8).toString("hex")}`;
  const ended = Date.now() - (c.endedAgoMs ?? 0);
  const started = ended - c.seconds * 1000;
  await target.query(
    `insert into conversations (id, organization_id, agent_id, draft_mode, channel, source, status, state, metadata, started_at, ended_at)
     values ('${id}', '${o.organizationId}', '${o.agentId}', ${c.draftMode ?? false}, '${c.channel}', '${c.source}', 'ended', '{}', '{}',
       '${new Date(started).toISOString()}', '${new Date(ended).toISOString()}')`,
  );
  return { id, endedAt: new Date(ended).toISOString() };
}

const usageTransactions = (organizationId: string) =>
  app
    .query<{ amount_cents: string | number; reference: string; metadata: unknown }>(`select amount_cents, reference, metadata from wallet_transactions where organization_id = '${organizationId}' and kind = 'usage' order by id`)
    .then((rows) => rows.map((r) => ({ amountCents: Number(r.amount_cents), reference: r.reference, metadata: typeof r.metadata === "string" ? JSON.parse(r.metadata) : r.metadata })));

describe("usage metering", () => {
  it("meters a chat session as the messages exchanged, at the chat rate, timed at its end, and debits the wallet with usage entries", async () => {
    const o = await orgWithAgent();
    const session = (await app.api("POST", "/api/v1/chat/sessions", { key: o.key, body: { agentId: o.agentId } })).body.data;
    await app.api("POST", `/api/v1/chat/sessions/${session.id}/messages`, { key: o.key, body: { content: "What are your hours?" } });
    // Metered while open: the item counts the messages so far, timed at the latest one.
    await meter();
    expect((await items(o.key)).body.data[0].description).toEndWith("messages so far");
    const ended = (await app.api("POST", `/api/v1/chat/sessions/${session.id}/end`, { key: o.key })).body.data;
    const transcript = (await get(`/chat/sessions/${session.id}/messages?limit=100`, o.key)).body.data;
    expect(transcript.length).toBeGreaterThanOrEqual(3); // greeting, question, answer

    await meter();
    const res = await items(o.key);
    expect(res.status).toBe(200);
    expect(res.body.data).toEqual([
      {
        id: expect.stringMatching(/^usage_/),
        time: ended.endedAt,
        type: "chat",
        channel: "chat",
        quantity: transcript.length,
        credits: transcript.length * 2,
        description: `Chat session: ${transcript.length} messages`,
        agentId: o.agentId,
        conversationId: session.id,
      },
    ]);
    expect(await walletBalance(app.server.database.db, o.organizationId)).toBe(10_000 - transcript.length * 2);
    const debits = await usageTransactions(o.organizationId);
    expect(debits.reduce((sum, d) => sum + d.amountCents, 0)).toBe(-transcript.length * 2);
    expect(debits[0]).toEqual({ amountCents: -debits[0]!.metadata.quantity * 2, reference: res.body.data[0].id, metadata: { conversationId: session.id, channel: "chat", quantity: debits[0]!.metadata.quantity, rate: 2, unpaidCents: 0 } });
  });

  it("meters an OpenAI-compatible conversation, which has no end, as it goes, and grows its item when it continues", async () => {
    const o = await orgWithAgent();
    const complete = (content: string, conversationId?: string) =>
      fetch(`${app.url}/api/v1/chat/completions`, {
        method: "POST",
        headers: { authorization: `Bearer ${o.key}`, "content-type": "application/json", ...(conversationId ? { "x-flowyte-conversation-id": conversationId } : {}) },
        body: JSON.stringify({ model: o.agentId, messages: [{ role: "user", content }] }),
      });
    const first = await complete("What are your hours?");
    expect(first.status).toBe(200);
    const conversationId = first.headers.get("x-flowyte-conversation-id")!;
    const count = async () => Number((await app.query<{ n: string | number }>(`select count(*) as n from conversation_messages where conversation_id = '${conversationId}'`))[0]!.n);

    await meter();
    const before = await count();
    let item = (await items(o.key)).body.data[0];
    expect(item).toMatchObject({ type: "chat", channel: "chat", quantity: before, credits: before * 2, conversationId, agentId: o.agentId, description: `OpenAI-compatible chat: ${before} messages so far` });

    expect((await complete("And on Monday?", conversationId)).status).toBe(200);
    await meter();
    const after = await count();
    expect(after).toBeGreaterThan(before);
    const listed = (await items(o.key)).body.data;
    expect(listed).toHaveLength(1);
    item = listed[0];
    expect(item).toMatchObject({ quantity: after, credits: after * 2, conversationId });
    // Each run debited only what the item did not count yet.
    expect((await usageTransactions(o.organizationId)).map((t) => t.amountCents)).toEqual([-before * 2, -(after - before) * 2]);
    expect(await walletBalance(app.server.database.db, o.organizationId)).toBe(10_000 - after * 2);
  });

  it("bills no test traffic: a simulate run, a draftMode chat session, probe runs and in-browser voice tests", async () => {
    const o = await orgWithAgent();
    const simulated = await o.b.simulate(o.agentId, { draftMode: false, transcript: ["What are your hours?", "goodbye"] });
    expect(simulated.status).toBe(200);
    const draft = (await app.api("POST", "/api/v1/chat/sessions", { key: o.key, body: { agentId: o.agentId, draftMode: true } })).body.data;
    await app.api("POST", `/api/v1/chat/sessions/${draft.id}/messages`, { key: o.key, body: { content: "What are your hours?" } });
    await app.api("POST", `/api/v1/chat/sessions/${draft.id}/end`, { key: o.key });
    // Probe runs and talk tests stored as the runtime stores them; a draftMode phone call too.
    await insertConversation(o, { channel: "chat", source: "probe", seconds: 30 });
    await insertConversation(o, { channel: "voice", source: "talk", seconds: 300 });
    await insertConversation(o, { channel: "voice", source: "voice", seconds: 300, draftMode: true });

    await meter();
    expect((await items(o.key)).body.data).toEqual([]);
    expect(await app.query(`select id from usage_items where organization_id = '${o.organizationId}'`)).toEqual([]);
    expect(await walletBalance(app.server.database.db, o.organizationId)).toBe(10_000);
  });

  it("meters a phone call in connected minutes rounded up per call (ended voice conversations inserted directly: driving a call needs Asterisk)", async () => {
    const o = await orgWithAgent();
    const calls = [
      await insertConversation(o, { channel: "voice", source: "voice", seconds: 125, endedAgoMs: 3000 }),
      await insertConversation(o, { channel: "voice", source: "voice", seconds: 60, endedAgoMs: 2000 }),
      await insertConversation(o, { channel: "voice", source: "voice", seconds: 0.4, endedAgoMs: 1000 }),
    ];
    await meter();
    const listed = (await items(o.key)).body.data;
    expect(listed.map((i: any) => [i.conversationId, i.type, i.channel, i.quantity, i.credits, i.time])).toEqual([
      [calls[2]!.id, "call", "voice", 1, 5, calls[2]!.endedAt],
      [calls[1]!.id, "call", "voice", 1, 5, calls[1]!.endedAt],
      [calls[0]!.id, "call", "voice", 3, 15, calls[0]!.endedAt],
    ]);
    expect(listed[2].description).toBe("Phone call: 125 s connected, 3 min billed");
    expect(await walletBalance(app.server.database.db, o.organizationId)).toBe(10_000 - 25);
  });

  it("meters nothing twice: runs again, and runs side by side, leave one item and one debit per conversation", async () => {
    const o = await orgWithAgent();
    const call = await insertConversation(o, { channel: "voice", source: "voice", seconds: 90 });
    await Promise.all([meter(), meter(), meter()]);
    expect((await meter()).metered).toBe(0);
    expect((await items(o.key)).body.data.map((i: any) => [i.conversationId, i.quantity, i.credits])).toEqual([[call.id, 2, 10]]);
    expect((await usageTransactions(o.organizationId)).map((t) => t.amountCents)).toEqual([-10]);
    expect(await walletBalance(app.server.database.db, o.organizationId)).toBe(10_000 - 10);
  });

  it("records usage in full when the wallet is short, takes what it holds, and never takes it below zero", async () => {
    const o = await orgWithAgent(app, 7);
    const first = await insertConversation(o, { channel: "voice", source: "voice", seconds: 150, endedAgoMs: 1000 });
    await meter();
    const second = await insertConversation(o, { channel: "voice", source: "voice", seconds: 30 });
    await meter();
    const listed = (await items(o.key)).body.data;
    expect(listed.map((i: any) => [i.conversationId, i.quantity, i.credits])).toEqual([
      [second.id, 1, 5],
      [first.id, 3, 15],
    ]);
    expect(await walletBalance(app.server.database.db, o.organizationId)).toBe(0);
    // The empty wallet gave nothing for the second call, so no transaction was written for it.
    expect(await usageTransactions(o.organizationId)).toEqual([
      { amountCents: -7, reference: listed[1].id, metadata: { conversationId: first.id, channel: "voice", quantity: 3, rate: 5, unpaidCents: 8 } },
    ]);
  });
});

describe("GET /billing/usage/items and GET /billing/usage", () => {
  it("need billing:read", async () => {
    const { organizationId } = await app.newOrg();
    const narrow = await app.keyWith(organizationId, ["numbers:read"]);
    for (const path of ["/billing/usage/items", "/billing/usage"]) {
      const res = await get(path, narrow);
      expect(res.status).toBe(403);
      expect(res.body).toMatchObject({ code: "insufficient_scope", requiredScope: "billing:read" });
    }
    const reader = await app.keyWith(organizationId, ["billing:read"]);
    expect((await items(reader)).status).toBe(200);
    expect((await get("/billing/usage", reader)).status).toBe(200);
  });

  it("show only the caller's organization", async () => {
    const mine = await orgWithAgent();
    const theirs = await orgWithAgent();
    const call = await insertConversation(theirs, { channel: "voice", source: "voice", seconds: 45 });
    await meter();
    expect((await items(theirs.key)).body.data.map((i: any) => i.conversationId)).toEqual([call.id]);
    expect((await items(mine.key)).body.data).toEqual([]);
    expect((await get("/billing/usage", mine.key)).body.data).toEqual([]);
    expect((await get(`/billing/usage?agentId=${theirs.agentId}`, mine.key)).body.data).toEqual([]);
  });

  it("filter items by time and page through them newest first with a cursor", async () => {
    const o = await orgWithAgent();
    const calls = [];
    for (const ago of [8, 6, 4, 2]) calls.push(await insertConversation(o, { channel: "voice", source: "voice", seconds: 30, endedAgoMs: ago * 60_000 }));
    await meter();
    const newestFirst = calls.map((c) => c.id).reverse();

    const first = await items(o.key, "?limit=3");
    expect(first.body.data.map((i: any) => i.conversationId)).toEqual(newestFirst.slice(0, 3));
    expect(first.body.pagination).toMatchObject({ limit: 3, hasMore: true });
    const rest = await items(o.key, `?limit=3&cursor=${first.body.pagination.nextCursor}`);
    expect(rest.body.data.map((i: any) => i.conversationId)).toEqual(newestFirst.slice(3));
    expect(rest.body.pagination).toEqual({ limit: 3, nextCursor: null, hasMore: false });

    const window = await items(o.key, `?from=${encodeURIComponent(calls[1]!.endedAt)}&to=${encodeURIComponent(calls[2]!.endedAt)}`);
    expect(window.body.data.map((i: any) => i.conversationId)).toEqual([calls[2]!.id, calls[1]!.id]);
  });

  it("sum usage per UTC day and agent, filtered by dates and agent, newest day first, paginated (items inserted directly on fixed days)", async () => {
    const o = await orgWithAgent();
    const other = (await o.b.agent({ name: "Second desk" })).id as string;
    const rows: [string, string, string, number, number][] = [
      ["2025-03-01T09:00:00.000Z", o.agentId, "voice", 3, 15],
      ["2025-03-01T23:59:59.999Z", o.agentId, "chat", 6, 12],
      ["2025-03-01T12:00:00.000Z", other, "voice", 1, 5],
      ["2025-03-02T00:00:00.000Z", o.agentId, "voice", 2, 10],
    ];
    for (const [i, [time, agentId, channel, quantity, credits]] of rows.entries()) {
      await app.query(
        `insert into usage_items (id, organization_id, agent_id, conversation_id, channel, quantity, credits, description, time)
         values ('usage_fixed_${o.organizationId}_${i}', '${o.organizationId}', '${agentId}', 'conv_fixed_${o.organizationId}_${i}', '${channel}', ${quantity}, ${credits}, 'fixed', '${time}')`,
      );
    }
    const [firstAgent, secondAgent] = [o.agentId, other].sort();
    const day1 = (agentId: string) =>
      agentId === o.agentId ? { date: "2025-03-01", agentId, minutes: 3, chatMessages: 6, credits: 27, costUsd: 0.27 } : { date: "2025-03-01", agentId, minutes: 1, chatMessages: 0, credits: 5, costUsd: 0.05 };
    const all = await get("/billing/usage", o.key);
    expect(all.status).toBe(200);
    expect(all.body.data).toEqual([{ date: "2025-03-02", agentId: o.agentId, minutes: 2, chatMessages: 0, credits: 10, costUsd: 0.1 }, day1(firstAgent!), day1(secondAgent!)]);

    const first = await get("/billing/usage?limit=2", o.key);
    expect(first.body.data).toEqual(all.body.data.slice(0, 2));
    expect(first.body.pagination.hasMore).toBe(true);
    const rest = await get(`/billing/usage?limit=2&cursor=${first.body.pagination.nextCursor}`, o.key);
    expect(rest.body.data).toEqual(all.body.data.slice(2));
    expect(rest.body.pagination).toEqual({ limit: 2, nextCursor: null, hasMore: false });

    expect((await get("/billing/usage?from=2025-03-01&to=2025-03-01", o.key)).body.data).toEqual([day1(firstAgent!), day1(secondAgent!)]);
    expect((await get(`/billing/usage?agentId=${other}`, o.key)).body.data).toEqual([day1(other)]);
    expect((await get("/billing/usage?from=2025-03-01T12:00:00Z&to=2025-03-01T23:00:00Z", o.key)).body.data).toEqual([
      { date: "2025-03-01", agentId: other, minutes: 1, chatMessages: 0, credits: 5, costUsd: 0.05 },
    ]);
    expect((await items(o.key, "?from=2025-03-02&to=2025-03-02")).body.data.map((i: any) => [i.time, i.quantity])).toEqual([["2025-03-02T00:00:00.000Z", 2]]);
  });

  it("answer 400 naming the field for a bad date, a reversed range or a bad cursor", async () => {
    const { key } = await app.newOrg();
    for (const path of ["/billing/usage/items", "/billing/usage"]) {
      const bad = await get(`${path}?from=yesterday`, key);
      expect(bad.status).toBe(400);
      expect(bad.headers.get("content-type")).toContain("application/problem+json");
      expect(bad.body).toMatchObject({ code: "validation_error", errors: [{ field: "from" }] });
      expect((await get(`${path}?to=2025-02-30`, key)).body).toMatchObject({ code: "validation_error", errors: [{ field: "to" }] });
      expect((await get(`${path}?from=2025-03-02&to=2025-03-01`, key)).body).toMatchObject({ code: "validation_error", errors: [{ field: "to", message: "must not be before from" }] });
      expect((await get(`${path}?cursor=nonsense`, key)).body).toMatchObject({ code: "invalid_cursor", errors: [{ field: "cursor" }] });
      expect((await get(`${path}?cursor=${Buffer.from(JSON.stringify({ k: "x" })).toString("base64url")}`, key)).body).toMatchObject({ code: "invalid_cursor" });
    }
  });
});

describe("usage at the default rates", () => {
  it("records usage items with 0 credits and moves no money (a self-hosted install charges nothing until the operator sets prices), from the scheduled job too", async () => {
    const plain = await startTestApp();
    try {
      expect(plain.config.usageRates).toEqual({ voice: 0, chat: 0, transfer_minute: 0 });
      const o = await orgWithAgent(plain, 500);
      const session = (await plain.api("POST", "/api/v1/chat/sessions", { key: o.key, body: { agentId: o.agentId } })).body.data;
      await plain.api("POST", `/api/v1/chat/sessions/${session.id}/end`, { key: o.key });
      await meter(plain);
      expect((await items(o.key, "", plain)).body.data.map((i: any) => [i.conversationId, i.quantity, i.credits])).toEqual([[session.id, 1, 0]]);
      expect(await walletBalance(plain.server.database.db, o.organizationId)).toBe(500);
      expect(await plain.query(`select id from wallet_transactions where organization_id = '${o.organizationId}' and kind = 'usage'`)).toEqual([]);
      // The job the server schedules (every minute, and once at start) meters on its own: restart, and wait for it.
      const call = await insertConversation(o, { channel: "voice", source: "voice", seconds: 61 }, plain);
      await plain.restart();
      let listed: { conversationId: string; quantity: number }[] = [];
      for (const until = Date.now() + 20_000; Date.now() < until && !listed.some((i) => i.conversationId === call.id); await Bun.sleep(250)) {
        listed = (await items(o.key, "", plain)).body.data;
      }
      expect(listed.find((i) => i.conversationId === call.id)).toMatchObject({ channel: "voice", quantity: 2, credits: 0 });
    } finally {
      await plain.stop();
    }
  });
});
