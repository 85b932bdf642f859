// The domain events real API calls emit (docs/events.md), each with the change that caused it.
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import type { DomainEvent } from "../../../src/platform/events/index.ts";
import { startTestApp, type TestApp } from "../../support/app.ts";
import { until } from "../../support/until.ts";
import { html, startLocalSite } from "../../api/knowledge/local-site.ts";

const POOL_NUMBER = "+14155550701";

let app: TestApp;
let org: { organizationId: string; key: string };
const seen: DomainEvent[] = [];
const site = startLocalSite({ "/help": html("Help", "<p>We open at nine every weekday.</p>") });

beforeAll(async () => {
  app = await startTestApp({ TRUNK_NUMBERS: POOL_NUMBER, EGRESS_ALLOWLIST: "127.0.0.1" });
  org = await app.newOrg();
  await app.server.events.subscribe("emitted-test", (e) => void (e.organizationId === org.organizationId && seen.push(e)), { durable: false }).ready;
});
afterAll(async () => {
  await app?.stop();
  site.stop();
});

const call = async (method: string, path: string, body?: unknown) => {
  const res = await app.api(method, `/api/v1${path}`, { key: org.key, body });
  expect({ path, status: res.status < 300 }).toEqual({ path, status: true });
  return res.body?.data;
};
/** The next event of `type` about `aggregateId` after the `skip` first ones. */
const nextEvent = (type: string, aggregateId: string, skip = 0) => until(() => seen.filter((e) => e.type === type && e.aggregateId === aggregateId)[skip]);

describe("agent.published", () => {
  it("is emitted by a publish with the version, and by a rollback marked as one", async () => {
    const agent = await call("POST", "/agents", { name: "Front desk" });
    const v1 = await call("POST", `/agents/${agent.id}/publish`, { note: "first" });
    expect(await nextEvent("agent.published", agent.id)).toMatchObject({
      aggregateType: "agent",
      organizationId: org.organizationId,
      payload: { agentId: agent.id, versionId: v1.id, version: 1, note: "first", rollback: false, publishedBy: expect.any(String) },
    });
    const v2 = await call("POST", `/agents/${agent.id}/publish`, {});
    expect((await nextEvent("agent.published", agent.id, 1)).payload).toMatchObject({ versionId: v2.id, version: 2, note: null });
    await call("POST", `/agents/${agent.id}/rollback`, { versionId: v1.id });
    expect((await nextEvent("agent.published", agent.id, 2)).payload).toMatchObject({ versionId: v1.id, version: 1, rollback: true });
  });
});

describe("number events", () => {
  it("follows a number through import with an agent, reassignment, unassignment and release", async () => {
    const first = await call("POST", "/agents", { name: "Day line" });
    const second = await call("POST", "/agents", { name: "Night line" });
    const number = await call("POST", "/numbers/import", { e164: POOL_NUMBER, agentId: first.id });
    expect(await nextEvent("number.assigned", number.id)).toMatchObject({
      aggregateType: "number",
      payload: { numberId: number.id, e164: POOL_NUMBER, agentId: first.id, previousAgentId: null },
    });
    await call("POST", `/numbers/${number.id}/assign`, { agentId: second.id });
    expect((await nextEvent("number.assigned", number.id, 1)).payload).toMatchObject({ agentId: second.id, previousAgentId: first.id });
    await call("DELETE", `/numbers/${number.id}/assign`);
    expect((await nextEvent("number.unassigned", number.id)).payload).toEqual({ numberId: number.id, e164: POOL_NUMBER, previousAgentId: second.id });
    // Unassigning a number that rings nobody changes nothing, and says nothing.
    await call("DELETE", `/numbers/${number.id}/assign`);
    await call("DELETE", `/numbers/${number.id}`);
    expect((await nextEvent("number.released", number.id)).payload).toEqual({ numberId: number.id, e164: POOL_NUMBER, previousAgentId: null });
    expect(seen.filter((e) => e.aggregateId === number.id).map((e) => e.type)).toEqual(["number.assigned", "number.assigned", "number.unassigned", "number.released"]);
  });
});

describe("knowledge source events", () => {
  it("reports a first indexing, a refresh that found changes, and a refresh that failed", async () => {
    const agent = await call("POST", "/agents", { name: "Help desk" });
    const source = await call("POST", `/agents/${agent.id}/knowledge/sources`, { kind: "url", label: "Help", url: `${site.url}/help` });
    expect(await nextEvent("knowledge_source.indexed", source.id)).toMatchObject({
      aggregateType: "knowledge_source",
      payload: { sourceId: source.id, agentId: agent.id, kind: "url", chunkCount: 1, refresh: false },
    });
    site.pages["/help"] = html("Help", "<p>We open at ten every weekday.</p>");
    await call("POST", `/agents/${agent.id}/knowledge/sources/${source.id}/refresh`);
    expect((await nextEvent("knowledge_source.indexed", source.id, 1)).payload).toMatchObject({ chunkCount: 1, refresh: true });
    delete site.pages["/help"];
    await call("POST", `/agents/${agent.id}/knowledge/sources/${source.id}/refresh`);
    expect((await nextEvent("knowledge_source.failed", source.id)).payload).toEqual({
      sourceId: source.id,
      agentId: agent.id,
      kind: "url",
      reason: `${site.url}/help answered 404`,
      refresh: true,
    });
  });

  it("reports a first indexing that failed", async () => {
    const agent = await call("POST", "/agents", { name: "Broken links" });
    const source = await call("POST", `/agents/${agent.id}/knowledge/sources`, { kind: "url", label: "Gone", url: `${site.url}/nowhere` });
    expect((await nextEvent("knowledge_source.failed", source.id)).payload).toEqual({
      sourceId: source.id,
      agentId: agent.id,
      kind: "url",
      reason: `${site.url}/nowhere answered 404`,
      refresh: false,
    });
    expect(seen.filter((e) => e.aggregateId === source.id).map((e) => e.type)).toEqual(["knowledge_source.failed"]);
  });
});

describe("conversation events", () => {
  it("follows a chat conversation: started with its first stored turn, a handoff completed, ended once", async () => {
    const agent = await call("POST", "/agents", { name: "Events desk", greeting: "Hello.", handoffConfig: { transferDestination: "+14155550100" } });
    await call("POST", `/agents/${agent.id}/publish`, {});
    const session = await call("POST", "/chat/sessions", { agentId: agent.id });
    expect(await nextEvent("conversation.started", session.id)).toMatchObject({
      aggregateType: "conversation",
      payload: { conversationId: session.id, agentId: agent.id, agentVersionId: expect.any(String), channel: "chat", draftMode: false },
    });
    await call("POST", `/chat/sessions/${session.id}/messages`, { content: "Can I talk to a person?" });
    expect((await nextEvent("handoff.completed", session.id)).payload).toMatchObject({ conversationId: session.id, channel: "chat", target: "+14155550100" });
    await call("POST", `/chat/sessions/${session.id}/end`);
    const ended = await nextEvent("conversation.ended", session.id);
    expect(ended.payload).toMatchObject({ conversationId: session.id, agentId: agent.id, channel: "chat", userTurnCount: 1, endedAt: expect.any(String) });
    // Ending again changes nothing and says nothing; the conversation started once.
    await app.api("POST", `/api/v1/chat/sessions/${session.id}/end`, { key: org.key });
    const events = await app.query<{ type: string }>(`select type from domain_events where aggregate_id = '${session.id}' order by tx_id, position`);
    expect(events.map((e) => e.type)).toEqual(["conversation.started", "handoff.completed", "conversation.ended"]);
  });

  it("writes no event for a turn that was not stored", async () => {
    const agent = await call("POST", "/agents", { name: "Refused desk", greeting: "Hello." });
    await call("POST", `/agents/${agent.id}/publish`, {});
    const session = await call("POST", "/chat/sessions", { agentId: agent.id });
    await app.query(`create function refuse_events() returns trigger language plpgsql as $$ begin raise exception 'refused'; end $$`);
    await app.query(`create trigger refuse_events before insert on conversation_events for each row when (new.conversation_id = '${session.id}') execute function refuse_events()`);
    try {
      const refused = await app.api("POST", `/api/v1/chat/sessions/${session.id}/end`, { key: org.key });
      expect(refused.status).toBe(503);
    } finally {
      await app.query("drop trigger refuse_events on conversation_events");
      await app.query("drop function refuse_events()");
    }
    const events = await app.query<{ type: string }>(`select type from domain_events where aggregate_id = '${session.id}'`);
    expect(events.map((e) => e.type)).toEqual(["conversation.started"]);
  });
});
