// Observe over HTTP: conversations created through simulate and chat, then listed, filtered, searched, read.
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { agentBuilder, type SimulateResult } from "../../support/agent-builder.ts";
import { startTestApp, type TestApp } from "../../support/app.ts";

let app: TestApp;
let key: string;
let organizationId: string;
let deliveries: { id: string };
let plumbing: { id: string };
/** Conversations of the main organization, by what they show; `newestFirst` is their expected list order. */
const ids = { abandoned: "", question: "", transfer: "", redacted: "", active: "" };
let newestFirst: string[];
let question: SimulateResult;
let transfer: SimulateResult;
let other: { key: string; conversationId: string; agentId: string };

const QUESTION = ["Do you deliver to the zanzibar depot?", "You can write to me at sam@example.org"];
const TRANSFER = ["This is terrible, I need to speak to someone about my invoice"];
const REDACTED = ["My email is jane.doe@example.com and my sink is leaking"];

const get = (path: string, k: string | null = key) => app.api("GET", `/api/v1${path}`, { key: k });
const list = async (query: string, k = key) => {
  const res = await get(`/conversations?${query}`, k);
  expect(res.status).toBe(200);
  return (res.body.data as { id: string }[]).map((c) => c.id);
};

beforeAll(async () => {
  app = await startTestApp();
  ({ key, organizationId } = await app.newOrg());
  const b = agentBuilder(app, key);
  deliveries = await b.agent({
    name: "Deliveries",
    handoffConfig: { transferRules: [{ label: "Billing", when: "caller asks about an invoice or a bill", destination: "+14155550100" }] },
  });
  plumbing = await b.agent({ name: "Plumbing" });
  await b.guardrails(plumbing.id, [{ policyType: "content_policy", config: { redactPii: true } }]);

  ids.abandoned = (await b.simulate(deliveries.id, { transcript: [] })).events[0]!.conversationId;
  question = await b.simulate(deliveries.id, { transcript: QUESTION });
  ids.question = question.events[0]!.conversationId;
  transfer = await b.simulate(deliveries.id, { mode: "voice", transcript: TRANSFER });
  ids.transfer = transfer.events[0]!.conversationId;
  ids.redacted = (await b.simulate(plumbing.id, { transcript: REDACTED })).events[0]!.conversationId;
  const session = await b.call("POST", "/api/v1/chat/sessions", { agentId: deliveries.id, draftMode: true });
  await b.call("POST", `/api/v1/chat/sessions/${session.id}/messages`, { content: "What are your opening hours on saturday?" });
  ids.active = session.id;
  newestFirst = [ids.active, ids.redacted, ids.transfer, ids.question, ids.abandoned];

  const stranger = await app.newOrg("Other org");
  const sb = agentBuilder(app, stranger.key);
  const agent = await sb.agent({ name: "Elsewhere" });
  const result = await sb.simulate(agent.id, { transcript: ["Do you deliver to the zanzibar depot?"] });
  other = { key: stranger.key, conversationId: result.events[0]!.conversationId, agentId: agent.id };
});
afterAll(() => app.stop());

describe("GET /conversations", () => {
  it("lists the organization's conversations newest first, as history rows", async () => {
    const res = await get("/conversations");
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ success: true, pagination: { limit: 20, nextCursor: null, hasMore: false } });
    expect(res.body.data.map((c: { id: string }) => c.id)).toEqual(newestFirst);
    const row = res.body.data.find((c: { id: string }) => c.id === ids.question);
    expect(Object.keys(row).sort()).toEqual(
      [
        "id", "agentId", "channel", "source", "status", "startedAt", "endedAt", "durationS", "language", "callerNumber", "goalCompleted",
        "userTurnCount", "outcome", "summary", "primaryTopic", "sentiment", "sentimentScore", "draftMode",
      ].sort(),
    );
    expect(row).toMatchObject({ agentId: deliveries.id, channel: "chat", source: "simulate", status: "ended", language: "en", userTurnCount: 2, outcome: "completed", draftMode: true, goalCompleted: false, callerNumber: null });
    expect(typeof row.summary).toBe("string");
    expect(row.durationS).toBeGreaterThanOrEqual(0);
    expect(row.durationS).toBe((Date.parse(row.endedAt) - Date.parse(row.startedAt)) / 1000);
  });

  it("shows a conversation still in progress with no end, outcome or summary", async () => {
    const row = (await get("/conversations?source=chat")).body.data[0];
    expect(row).toMatchObject({ id: ids.active, status: "active", source: "chat", channel: "chat", endedAt: null, durationS: null, outcome: null, summary: null, sentiment: null, userTurnCount: 1 });
  });

  it("filters by agent, channel, outcome and source", async () => {
    expect(await list(`agentId=${plumbing.id}`)).toEqual([ids.redacted]);
    expect(await list(`agentId=${other.agentId}`)).toEqual([]);
    expect(await list("channel=voice")).toEqual([ids.transfer]);
    expect(await list("channel=chat")).toEqual(newestFirst.filter((id) => id !== ids.transfer));
    expect(await list("outcome=transferred")).toEqual([ids.transfer]);
    expect(await list("outcome=abandoned")).toEqual([ids.abandoned]);
    expect(await list("outcome=completed")).toEqual([ids.redacted, ids.question]);
    expect(await list("outcome=error")).toEqual([]);
    expect(await list("source=simulate")).toEqual(newestFirst.filter((id) => id !== ids.active));
    expect(await list("source=probe")).toEqual([]);
    expect(await list(`agentId=${deliveries.id}&channel=chat&outcome=completed`)).toEqual([ids.question]);
  });

  it("filters by start time, both bounds inclusive", async () => {
    const rows = (await get("/conversations")).body.data as { id: string; startedAt: string }[];
    const startOf = (id: string) => rows.find((r) => r.id === id)!.startedAt;
    const from = encodeURIComponent(startOf(ids.question));
    const to = encodeURIComponent(startOf(ids.transfer));
    expect(await list(`from=${from}&to=${to}`)).toEqual([ids.transfer, ids.question]);
    expect(await list(`from=${encodeURIComponent(startOf(ids.active))}`)).toEqual([ids.active]);
    expect(await list(`to=${from}`)).toEqual([ids.question, ids.abandoned]);
    expect(await list(`from=${to}&to=${from}`)).toEqual([]);
  });

  it("searches transcripts: a word or phrase finds the conversation that said it and no other", async () => {
    expect(await list("q=zanzibar")).toEqual([ids.question]);
    expect(await list(`q=${encodeURIComponent("zanzibar depot")}`)).toEqual([ids.question]);
    expect(await list(`q=${encodeURIComponent("Zanzibar!")}`)).toEqual([ids.question]);
    expect(await list(`q=${encodeURIComponent("sam@example.org")}`)).toEqual([ids.question]);
    expect(await list("q=invoice")).toEqual([ids.transfer]);
    expect(await list("q=leaking")).toEqual([ids.redacted]);
    expect(await list(`q=${encodeURIComponent("zanzibar invoice")}`)).toEqual([]);
    expect(await list("q=zanzibar&outcome=transferred")).toEqual([]);
    expect(await list("q=zanzibar", other.key)).toEqual([other.conversationId]);
  });

  it("searches summaries", async () => {
    const detail = (await get(`/conversations/${ids.transfer}`)).body.data;
    const said = new Set(words([...TRANSFER, ...transfer.said].join(" ")));
    const summaryOnly = words(detail.summary).filter((w) => !said.has(w));
    expect(summaryOnly.length).toBeGreaterThan(0);
    for (const word of summaryOnly) expect(await list(`q=${encodeURIComponent(word)}`)).toContain(ids.transfer);
    // On voice the agent never reads out the number it transfers to: only the summary holds it.
    expect(detail.summary).toContain("+14155550100");
    expect(await list(`q=${encodeURIComponent("+14155550100")}`)).toEqual([ids.transfer]);
  });

  it("walks every page without duplicates or gaps", async () => {
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const res = await get(`/conversations?limit=2${cursor ? `&cursor=${cursor}` : ""}`);
      expect(res.status).toBe(200);
      expect(res.body.data.length).toBeLessThanOrEqual(2);
      expect(res.body.pagination.limit).toBe(2);
      expect(res.body.pagination.hasMore).toBe(res.body.pagination.nextCursor !== null);
      seen.push(...res.body.data.map((c: { id: string }) => c.id));
      cursor = res.body.pagination.nextCursor;
      pages++;
    } while (cursor);
    expect(pages).toBe(3);
    expect(seen).toEqual(newestFirst);
    expect(await list(`limit=1&q=zanzibar`)).toEqual([ids.question]);
  });

  it("also pages by number as the reference does, with the total and the number of pages", async () => {
    const total = newestFirst.length;
    const seen: string[] = [];
    for (let n = 1; n <= 3; n++) {
      const res = await get(`/conversations?limit=2&page=${n}`);
      expect(res.status).toBe(200);
      expect(res.body.pagination).toMatchObject({ page: n, limit: 2, total, totalPages: Math.ceil(total / 2), hasMore: n < 3 });
      seen.push(...res.body.data.map((c: { id: string }) => c.id));
    }
    expect(seen).toEqual(newestFirst);
    const past = await get(`/conversations?limit=2&page=4`);
    expect(past.body).toMatchObject({ data: [], pagination: { page: 4, total, hasMore: false, nextCursor: null } });
    // The total counts what the filters match; a page asked for by cursor has no number.
    const first = await get(`/conversations?limit=1&q=zanzibar`);
    expect(first.body.pagination).toMatchObject({ page: 1, total: 1, totalPages: 1 });
    const byCursor = await get(`/conversations?limit=2&cursor=${(await get("/conversations?limit=2")).body.pagination.nextCursor}`);
    expect(byCursor.body.pagination).toMatchObject({ page: null, total, totalPages: Math.ceil(total / 2) });
    const both = await get(`/conversations?page=2&cursor=${byCursor.body.pagination.nextCursor}`);
    expect(both.status).toBe(400);
    expect(both.body.errors).toEqual([{ field: "page", message: "cannot be combined with cursor" }]);
  });

  it("refuses malformed filters with a 400 naming the field", async () => {
    for (const [query, field] of [
      ["outcome=finished", "outcome"],
      ["channel=sms", "channel"],
      ["source=email", "source"],
      ["from=yesterday", "from"],
      [`to=${encodeURIComponent('"2026-02-03T10:00:00Z"')}`, "to"],
      ["limit=0", "limit"],
      ["limit=101", "limit"],
      ["page=0", "page"],
    ]) {
      const res = await get(`/conversations?${query}`);
      expect(res.status).toBe(400);
      expect(res.body.code).toBe("validation_error");
      expect(res.body.errors.map((e: { field: string }) => e.field)).toContain(field);
    }
    const res = await get("/conversations?cursor=bm90LWEtY3Vyc29y");
    expect(res.status).toBe(400);
    expect(res.body.code).toBe("invalid_cursor");
  });
});

describe("one conversation", () => {
  it("answers the row with the transfer destination, version, metadata and no recording", async () => {
    const res = await get(`/conversations/${ids.transfer}`);
    expect(res.status).toBe(200);
    expect(res.body.data).toMatchObject({
      id: ids.transfer,
      agentId: deliveries.id,
      channel: "voice",
      source: "simulate",
      status: "ended",
      outcome: "transferred",
      transferredTo: "+14155550100",
      agentVersionId: null,
      draftMode: true,
      metadata: {},
      recordingUrl: null,
      userTurnCount: 1,
      sentiment: "negative",
    });
    expect(res.body.data.sentimentScore).toBeLessThan(0);
    expect(res.body.data.sentimentScore).toBeGreaterThanOrEqual(-1);
    expect(res.body.data.endedAt).not.toBeNull();
    expect((await get(`/conversations/${ids.question}`)).body.data).toMatchObject({ transferredTo: null, sentiment: "neutral", sentimentScore: 0 });
  });

  it("answers the transcript in order, as simulate streamed it", async () => {
    const res = await get(`/conversations/${ids.question}/transcript`);
    expect(res.status).toBe(200);
    const turns = res.body.data.turns as { role: string; text: string; tsMs: number; language: string; quickReplies: string[] }[];
    const spoken = question.events.filter((e) => e.eventType === "user_utterance" || e.eventType === "agent_message");
    expect(turns.map((t) => [t.role, t.text])).toEqual(spoken.map((e) => [e.eventType === "user_utterance" ? "user" : "assistant", e.payload.text]));
    expect(turns.filter((t) => t.role === "user").map((t) => t.text)).toEqual(QUESTION);
    for (const turn of turns) expect(turn).toMatchObject({ language: "en", quickReplies: [] });
    for (let i = 1; i < turns.length; i++) expect(turns[i]!.tsMs).toBeGreaterThanOrEqual(turns[i - 1]!.tsMs);
  });

  it("answers the receipt: the very events simulate streamed, ordered by seq", async () => {
    const res = await get(`/conversations/${ids.transfer}/receipt`);
    expect(res.status).toBe(200);
    const events = res.body.data.events as SimulateResult["events"];
    expect(events).toEqual(transfer.events as typeof events);
    expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i));
    expect(events[0]!.eventType).toBe("call_started");
    expect(events.find((e) => e.eventType === "handoff")!.payload).toMatchObject({ destination: "+14155550100", ruleLabel: "Billing" });
    // The runtime's own sentences carry their phrase ids; the greeting (the operator's words) has none.
    const said = events.filter((e) => e.eventType === "agent_message").map((e) => e.payload as { text: string; phrases?: { id: string }[] });
    expect(said[0]!.phrases).toBeUndefined();
    expect(said.at(-1)).toMatchObject({ text: "Let me connect you with someone who can help. Please hold.", phrases: [{ id: "handoff.connecting" }] });
    expect(Object.keys(events[0]!).sort()).toEqual(["channel", "conversationId", "eventType", "id", "payload", "seq", "traceId", "tsMs"]);
  });

  it("stores and serves redacted text when the content policy asks, so an address said in the chat is not searchable", async () => {
    expect(await list(`q=${encodeURIComponent("jane.doe@example.com")}`)).toEqual([]);
    expect(await list("q=jane")).toEqual([]);
    const transcript = (await get(`/conversations/${ids.redacted}/transcript`)).body.data;
    expect(transcript.turns.find((t: { role: string }) => t.role === "user").text).toBe("My email is [email] and my sink is leaking");
    const receipt = (await get(`/conversations/${ids.redacted}/receipt`)).body.data;
    const detail = (await get(`/conversations/${ids.redacted}`)).body.data;
    expect(JSON.stringify([transcript, receipt, detail])).not.toContain("jane.doe");
  });
});

describe("GET /agents/{id}/calls", () => {
  it("lists one agent's conversations with the same filters", async () => {
    const res = await get(`/agents/${deliveries.id}/calls`);
    expect(res.status).toBe(200);
    expect(res.body.data.map((c: { id: string }) => c.id)).toEqual([ids.active, ids.transfer, ids.question, ids.abandoned]);
    expect(res.body.pagination).toEqual({ limit: 20, nextCursor: null, hasMore: false, page: 1, total: 4, totalPages: 1 });
    const ids_ = async (query: string) => (await get(`/agents/${deliveries.id}/calls?${query}`)).body.data.map((c: { id: string }) => c.id);
    expect(await ids_("outcome=completed")).toEqual([ids.question]);
    expect(await ids_("channel=voice&source=simulate")).toEqual([ids.transfer]);
    expect(await ids_("q=leaking")).toEqual([]);
    expect(await ids_("limit=1")).toEqual([ids.active]);
    expect((await get(`/agents/${plumbing.id}/calls?q=leaking`)).body.data.map((c: { id: string }) => c.id)).toEqual([ids.redacted]);
  });

  it("answers 404 for an agent that is not the organization's", async () => {
    for (const id of [other.agentId, "agt_01JNOPE0000000000000000000"]) {
      const res = await get(`/agents/${id}/calls`);
      expect(res.status).toBe(404);
      expect(res.body.code).toBe("agent_not_found");
    }
  });
});

describe("organization scoping and scopes", () => {
  const routes = () => [`/conversations/${ids.question}`, `/conversations/${ids.question}/transcript`, `/conversations/${ids.question}/receipt`];

  it("answers 404 for another organization's conversation on every route, and lists only the caller's own", async () => {
    for (const path of [...routes(), `/agents/${deliveries.id}/calls`]) {
      const res = await get(path, other.key);
      expect(res.status).toBe(404);
      expect(res.body.code).toBe(path.startsWith("/agents") ? "agent_not_found" : "conversation_not_found");
    }
    expect(await list("", other.key)).toEqual([other.conversationId]);
    expect(await list(`agentId=${deliveries.id}`, other.key)).toEqual([]);
    expect((await get("/conversations/conv_01JNOPE0000000000000000000")).status).toBe(404);
  });

  it("needs calls:read or analytics:read on every route, naming them when both are missing", async () => {
    const paths = ["/conversations", ...routes(), `/agents/${deliveries.id}/calls`];
    const without = await app.keyWith(organizationId, ["agents:read", "agents:write", "analytics:write"]);
    for (const path of paths) {
      const res = await get(path, without);
      expect(res.status).toBe(403);
      expect(res.body).toMatchObject({ code: "insufficient_scope", requiredScope: "calls:read" });
      expect(res.body.detail).toContain("calls:read or analytics:read");
    }
    for (const scope of ["calls:read", "analytics:read"] as const) {
      const reader = await app.keyWith(organizationId, [scope]);
      for (const path of paths) expect({ scope, path, status: (await get(path, reader)).status }).toEqual({ scope, path, status: 200 });
    }
    expect((await get("/conversations", null)).status).toBe(401);
  });
});

function words(text: string): string[] {
  return text.toLowerCase().split(/[^a-z]+/).filter((w) => w.length > 2);
}
