// The version check of ConversationStore.saveTurn: a turn written from a stale copy stores nothing, not even its
// receipt events or messages; a turn written from the current copy moves the version on by one.
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { newId } from "../../src/platform/ids.ts";
import type { AuditEvent } from "../../src/runtime/receipt.ts";
import { ConversationStore } from "../../src/runtime/store.ts";
import type { ConversationState } from "../../src/runtime/state.ts";
import { startTestApp, type TestApp } from "../support/app.ts";

let app: TestApp;
let store: ConversationStore;
let organizationId: string;
let conversationId: string;
beforeAll(async () => {
  app = await startTestApp();
  const org = await app.newOrg();
  organizationId = org.organizationId;
  store = new ConversationStore(app.server.database.db);
  const agentId = (await app.api("POST", "/api/v1/agents", { key: org.key, body: { name: "Versioned" } })).body.data.id;
  conversationId = (await app.api("POST", "/api/v1/chat/sessions", { key: org.key, body: { agentId, draftMode: true } })).body.data.id;
});
afterAll(() => app.stop());

const event = (seq: number): AuditEvent => ({ id: newId("evt"), conversationId, seq, tsMs: 1, channel: "chat", eventType: "user_utterance", payload: { text: "hi" }, traceId: null });
const message = () => ({ id: newId("msg"), role: "user" as const, content: "hi", language: "en", tsMs: 1 });
const counts = async () => (await app.query<{ events: number; messages: number; turn_seq: number }>(`select (select count(*)::int from conversation_events where conversation_id = '${conversationId}') as events, (select count(*)::int from conversation_messages where conversation_id = '${conversationId}') as messages, turn_seq from conversations where id = '${conversationId}'`))[0]!;

describe("saveTurn's version check", () => {
  it("refuses a turn from a stale copy and writes nothing of it, then stores one from the current copy", async () => {
    const row = (await store.load(organizationId, conversationId))!;
    expect(row.turnSeq).toBe(1);
    const before = await counts();
    const state = row.state as unknown as ConversationState;

    expect(await store.saveTurn({ ...row, turnSeq: 0 }, { state, userTurnCount: 1 }, [event(before.events)], [message()])).toBe(false);
    expect(await counts()).toEqual(before);

    expect(await store.saveTurn(row, { state, userTurnCount: 1 }, [event(before.events)], [message()])).toBe(true);
    expect(await counts()).toEqual({ events: before.events + 1, messages: before.messages + 1, turn_seq: 2 });
    // The same copy again is stale now.
    expect(await store.saveTurn(row, { state }, [event(before.events + 1)], [message()])).toBe(false);
  });
});
