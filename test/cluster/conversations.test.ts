// One conversation served by several replicas on one Postgres: every turn stored once, in order, with its whole
// receipt, whichever replica answers it and however the turns overlap; a turn storage refuses leaves storage as it was.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { clusterUnavailable, startCluster, type Replica, type TestCluster } from "../support/cluster.ts";

describe.skipIf(clusterUnavailable !== null)("a conversation on three replicas", () => {
  let cluster: TestCluster;
  let key: string;
  let agentId: string;
  beforeAll(async () => {
    cluster = await startCluster({ replicas: 3 });
    ({ key } = await cluster.newOrg());
    const [a] = cluster.replicas;
    agentId = (await a!.api("POST", "/api/v1/agents", { key, body: { name: "Clustered", greeting: "Hello from the cluster." } })).body.data.id;
    expect((await a!.api("POST", `/api/v1/agents/${agentId}/publish`, { key, body: {} })).status).toBe(201);
  });
  afterAll(async () => {
    await cluster?.stop();
  });

  const open = async (via: Replica) => {
    const created = await via.api("POST", "/api/v1/chat/sessions", { key, body: { agentId } });
    expect(created.status).toBe(201);
    return created.body.data.id as string;
  };
  const send = (via: Replica, id: string, content: string) => via.api("POST", `/api/v1/chat/sessions/${id}/messages`, { key, body: { content } });

  /** What storage holds of the conversation: transcript, receipt and version, checked for gaps and duplicates. */
  async function stored(id: string) {
    const messages = await cluster.query<{ role: string; content: string }>(`select role, content from conversation_messages where conversation_id = '${id}' order by id`);
    const events = await cluster.query<{ seq: number; event_type: string; payload: { text?: string } }>(`select seq, event_type, payload from conversation_events where conversation_id = '${id}' order by seq`);
    const [row] = await cluster.query<{ turn_seq: number; user_turn_count: number; turn_lease: string | null }>(`select turn_seq, user_turn_count, turn_lease from conversations where id = '${id}'`);
    // The receipt has no gap: seq runs 0, 1, 2, … whichever replica wrote each turn.
    expect(events.map((e) => Number(e.seq))).toEqual(events.map((_, i) => i));
    // Each user message is answered before the next one is heard.
    messages.forEach((m, i) => {
      if (m.role === "user") expect(messages[i + 1]?.role).toBe("assistant");
    });
    const said = messages.filter((m) => m.role === "user").map((m) => m.content);
    const heard = events.filter((e) => e.event_type === "user_utterance").map((e) => e.payload.text);
    expect(heard).toEqual(said);
    return { messages, events, said, row: row! };
  }

  test("turns sent alternately through each replica are all stored, once and in order", async () => {
    const [a, b, c] = cluster.replicas;
    const id = await open(a!);
    const sent: string[] = [];
    // A, B, A …: each replica's copy is stale by the time it serves the conversation again.
    for (const [i, via] of [a, b, a, c, b, a, c].entries()) {
      const content = `question number ${i + 1} for the cluster`;
      const res = await send(via!, id, content);
      expect(res.status).toBe(200);
      expect(res.body.data.userMessage.content).toBe(content);
      sent.push(content);
    }
    const { said, row, messages } = await stored(id);
    expect(said).toEqual(sent);
    expect(row).toMatchObject({ turn_seq: 1 + sent.length, user_turn_count: sent.length, turn_lease: null });
    expect(messages[0]).toEqual({ role: "assistant", content: "Hello from the cluster." });
    // Every replica lists the same transcript.
    for (const via of cluster.replicas) {
      const listed = await via.api("GET", `/api/v1/chat/sessions/${id}/messages?limit=100`, { key });
      expect(listed.body.data.map((m: { content: string }) => m.content)).toEqual(messages.map((m) => m.content));
    }
  });

  test("turns sent at once through all replicas are serialized: none refused, none lost, none twice", async () => {
    const id = await open(cluster.replicas[1]!);
    const contents = Array.from({ length: 12 }, (_, i) => `concurrent message ${i + 1}`);
    const answers = await Promise.all(contents.map((content, i) => send(cluster.replicas[i % 3]!, id, content)));
    expect(answers.map((r) => r.status)).toEqual(contents.map(() => 200));
    const { said, row, messages } = await stored(id);
    expect([...said].sort()).toEqual([...contents].sort());
    expect(row).toMatchObject({ turn_seq: 1 + contents.length, user_turn_count: contents.length, turn_lease: null });
    // Each caller got the reply stored right after its own message.
    for (const [i, content] of contents.entries()) {
      const at = messages.findIndex((m) => m.role === "user" && m.content === content);
      expect(messages[at + 1]?.content).toBe(answers[i]!.body.data.messages[0].content);
    }
  });

  test("a turn storage refuses is a retryable 503 that stores nothing, and the next turn goes on from storage", async () => {
    const [a, b] = cluster.replicas;
    const id = await open(a!);
    expect((await send(b!, id, "first question")).status).toBe(200);
    expect((await send(a!, id, "second question")).status).toBe(200);
    const before = await stored(id);

    await cluster.query(`create or replace function refuse_turn() returns trigger language plpgsql as $$ begin raise exception 'refused by the test'; end $$`);
    await cluster.query(`create trigger refuse_turn before insert on conversation_events for each row when (new.conversation_id = '${id}') execute function refuse_turn()`);
    try {
      const refused = await send(a!, id, "a question storage refuses");
      expect(refused.status).toBe(503);
      expect(refused.headers.get("content-type")).toContain("application/problem+json");
      expect(refused.headers.get("retry-after")).toBe("1");
      expect(refused.body.code).toBe("turn_not_saved");
      const after = await stored(id);
      expect(after.messages).toEqual(before.messages);
      expect(after.events.length).toBe(before.events.length);
      expect(after.row).toEqual(before.row);
    } finally {
      await cluster.query(`drop trigger refuse_turn on conversation_events`);
    }

    expect((await send(a!, id, "third question")).status).toBe(200);
    expect((await send(b!, id, "fourth question")).status).toBe(200);
    const { said, row } = await stored(id);
    expect(said).toEqual(["first question", "second question", "third question", "fourth question"]);
    expect(row).toMatchObject({ turn_seq: 5, user_turn_count: 4, turn_lease: null });
  });

  test("a session ended through one replica is ended on the others", async () => {
    const [a, b] = cluster.replicas;
    const id = await open(a!);
    expect((await send(a!, id, "hello")).status).toBe(200);
    expect((await b!.api("POST", `/api/v1/chat/sessions/${id}/end`, { key })).status).toBe(200);
    const after = await send(a!, id, "still there?");
    expect(after.status).toBe(409);
    expect(after.body.code).toBe("session_ended");
    expect((await a!.api("GET", `/api/v1/chat/sessions/${id}`, { key })).body.data.status).toBe("ended");
  });
});
