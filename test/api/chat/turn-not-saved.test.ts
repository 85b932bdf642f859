// A turn storage refuses (here: a trigger the test puts on the receipt's table) stores nothing of itself, answers a
// retryable problem, and the conversation goes on from what storage holds.
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { startTestApp, type TestApp } from "../../support/app.ts";

let app: TestApp;
let key: string;
let agentId: string;
beforeAll(async () => {
  app = await startTestApp();
  ({ key } = await app.newOrg());
  agentId = (await app.api("POST", "/api/v1/agents", { key, body: { name: "Refused", greeting: "Hello." } })).body.data.id;
  await app.api("POST", `/api/v1/agents/${agentId}/publish`, { key, body: {} });
  await app.query(`create or replace function refuse_turn() returns trigger language plpgsql as $$ begin raise exception 'refused by the test'; end $$`);
});
afterAll(() => app.stop());

const send = (id: string, content: string, stream = false) => app.api("POST", `/api/v1/chat/sessions/${id}/messages`, { key, body: { content, stream } });

async function stored(id: string) {
  const messages = await app.query<{ role: string; content: string }>(`select role, content from conversation_messages where conversation_id = '${id}' order by id`);
  const events = await app.query<{ seq: number; event_type: string }>(`select seq, event_type from conversation_events where conversation_id = '${id}' order by seq`);
  const [row] = await app.query<{ turn_seq: number; user_turn_count: number; turn_lease: string | null; state: unknown }>(`select turn_seq, user_turn_count, turn_lease, state from conversations where id = '${id}'`);
  return { messages, events, row: row! };
}

async function refusing<T>(id: string, fn: () => Promise<T>): Promise<T> {
  await app.query(`create trigger refuse_turn before insert on conversation_events for each row when (new.conversation_id = '${id}') execute function refuse_turn()`);
  try {
    return await fn();
  } finally {
    await app.query(`drop trigger refuse_turn on conversation_events`);
  }
}

describe("a turn that is not stored", () => {
  it("answers 503 turn_not_saved with Retry-After, stores nothing of the turn, and the next turn carries on", async () => {
    const id = (await app.api("POST", "/api/v1/chat/sessions", { key, body: { agentId } })).body.data.id;
    expect((await send(id, "first question")).status).toBe(200);
    const before = await stored(id);

    const refused = await refusing(id, () => send(id, "a question storage refuses"));
    expect(refused.status).toBe(503);
    expect(refused.headers.get("content-type")).toContain("application/problem+json");
    expect(refused.headers.get("retry-after")).toBe("1");
    expect(refused.body).toMatchObject({ status: 503, code: "turn_not_saved" });
    expect(await stored(id)).toEqual(before);

    expect((await send(id, "second question")).status).toBe(200);
    const after = await stored(id);
    expect(after.messages.filter((m) => m.role === "user").map((m) => m.content)).toEqual(["first question", "second question"]);
    expect(after.events.map((e) => Number(e.seq))).toEqual(after.events.map((_, i) => i));
    expect(after.row).toMatchObject({ turn_seq: 3, user_turn_count: 2, turn_lease: null });
  });

  it("ends a streamed reply with a turn_not_saved problem frame", async () => {
    const id = (await app.api("POST", "/api/v1/chat/sessions", { key, body: { agentId } })).body.data.id;
    const refused = await refusing(id, async () => {
      const res = await fetch(`${app.url}/api/v1/chat/sessions/${id}/messages`, {
        method: "POST",
        headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
        body: JSON.stringify({ content: "streamed and refused", stream: true }),
      });
      return res.text();
    });
    const last = refused.split("\n\n").filter(Boolean).at(-1)!;
    expect(last.startsWith("event:error")).toBe(true);
    expect(JSON.parse(last.slice(last.indexOf("\ndata:") + 6))).toMatchObject({ status: 503, code: "turn_not_saved" });
    expect((await send(id, "after the stream")).status).toBe(200);
    expect((await stored(id)).row).toMatchObject({ turn_seq: 2, user_turn_count: 1 });
  });

  it("waits out the turn lease of a replica that died mid-turn, then runs the turn", async () => {
    const id = (await app.api("POST", "/api/v1/chat/sessions", { key, body: { agentId } })).body.data.id;
    // As a replica leaves it when it dies holding the conversation: nobody gives the lease back; it lapses.
    await app.query(`update conversations set turn_lease = 'turn_of_a_dead_replica', turn_lease_expires_at = now() + interval '1 second' where id = '${id}'`);
    const answered = await send(id, "anyone there?");
    expect(answered.status).toBe(200);
    expect((await stored(id)).row).toMatchObject({ turn_seq: 2, user_turn_count: 1, turn_lease: null });
  });

  it("opens no session whose greeting storage refuses", async () => {
    // The greeting is the conversation's first write: a refused one leaves no conversation behind.
    const count = async () => Number((await app.query<{ n: number }>(`select count(*)::int as n from conversations where agent_id = '${agentId}'`))[0]!.n);
    const before = await count();
    await app.query(`create trigger refuse_all before insert on conversation_events for each row execute function refuse_turn()`);
    try {
      const refused = await app.api("POST", "/api/v1/chat/sessions", { key, body: { agentId } });
      expect(refused.status).toBe(503);
      expect(refused.body.code).toBe("turn_not_saved");
      expect(await count()).toBe(before);
    } finally {
      await app.query(`drop trigger refuse_all on conversation_events`);
    }
    expect((await app.api("POST", "/api/v1/chat/sessions", { key, body: { agentId } })).status).toBe(201);
  });
});
