// Two runtimes on one storage, as two replicas on one Postgres (and on the embedded store, two in one process): the
// turns of one conversation are serialized by its turn lease, each runtime's copy is checked against the stored
// version, and a lease another turn holds for too long is a retryable conversation_busy.
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { ConversationUnavailableError } from "../../src/runtime/conversation.ts";
import { ConversationStore } from "../../src/runtime/store.ts";
import { until } from "../support/until.ts";
import { compiled, runtime, skill, startHarness, talk, type Harness } from "./conversation-harness.ts";

let h: Harness;
/** A skill endpoint that answers only once the test opens the gate: a turn that runs as long as the test wants. */
let gate: { open(): void; promise: Promise<void> };
let held = 0;
const slow = Bun.serve({
  port: 0,
  hostname: "127.0.0.1",
  async fetch() {
    held++;
    await gate.promise;
    return Response.json({ balance: "12.00" });
  },
});
const newGate = () => {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => (open = resolve));
  return { open, promise };
};

beforeAll(async () => {
  h = await startHarness(() => ({ ok: true }));
});
afterAll(async () => {
  slow.stop(true);
  await h.stop();
});

const c = compiled({}, { skills: [skill("lookup_account", "Look up the caller's account balance", "http_webhook", { url: `http://127.0.0.1:${slow.port}/balance`, method: "POST", timeout_ms: 30_000 })] });

async function stored(id: string) {
  const messages = await h.app.query<{ role: string; content: string }>(`select role, content from conversation_messages where conversation_id = '${id}' order by id`);
  const events = await h.app.query<{ seq: number }>(`select seq from conversation_events where conversation_id = '${id}' order by seq`);
  const [row] = await h.app.query<{ turn_seq: number; user_turn_count: number; turn_lease: string | null }>(`select turn_seq, user_turn_count, turn_lease from conversations where id = '${id}'`);
  expect(events.map((e) => Number(e.seq))).toEqual(events.map((_, i) => i));
  return { said: messages.filter((m) => m.role === "user").map((m) => m.content), row: row!, messages };
}

describe("a conversation on two runtimes sharing storage", () => {
  it("runs a turn that arrives while the other runtime's turn runs after it, on that turn's state", async () => {
    // The second runtime's storage notes when a claim of the turn lease finds it held: the turn is waiting.
    let waiting = false;
    const store = new ConversationStore(h.app.server.database.db);
    const claim = store.claimTurn.bind(store);
    store.claimTurn = async (...args) => {
      const claimed = await claim(...args);
      if (claimed === "held") waiting = true;
      return claimed;
    };
    const [a, b] = [runtime(h, c), runtime(h, c, { store })];
    const t = await talk(a, h, c);
    gate = newGate();
    held = 0;
    const first = a.turn(h.organizationId, t.id, { type: "text", text: "what's my account balance" });
    await until(() => held === 1);
    const second = b.turn(h.organizationId, t.id, { type: "text", text: "thank you very much" });
    await until(() => waiting);
    gate.open();
    const [one, two] = await Promise.all([first, second]);
    expect(one.replies.map((r) => r.text).join(" ")).toContain("12.00");
    expect(two.replies.length).toBeGreaterThan(0);
    const { said, row } = await stored(t.id);
    expect(said).toEqual(["what's my account balance", "thank you very much"]);
    // The second turn counted on from the first one's state.
    expect(row).toEqual({ turn_seq: 3, user_turn_count: 2, turn_lease: null });
    // The first runtime's copy is stale now: it reloads, and goes on.
    await a.turn(h.organizationId, t.id, { type: "text", text: "one more thing" });
    expect((await stored(t.id)).said).toEqual(["what's my account balance", "thank you very much", "one more thing"]);
  });

  it("answers conversation_busy, storing nothing, when another turn holds the conversation past the wait", async () => {
    const a = runtime(h, c);
    const b = runtime(h, c, { turnWaitMs: 200 });
    const t = await talk(a, h, c);
    gate = newGate();
    held = 0;
    const first = a.turn(h.organizationId, t.id, { type: "text", text: "what's my account balance" });
    await until(() => held === 1);
    const refused = await b.turn(h.organizationId, t.id, { type: "text", text: "hello?" }).catch((error) => error);
    expect(refused).toBeInstanceOf(ConversationUnavailableError);
    expect(refused).toMatchObject({ status: 503, code: "conversation_busy", headers: { "retry-after": "1" } });
    gate.open();
    await first;
    expect((await stored(t.id)).said).toEqual(["what's my account balance"]);
    // Once the turn is over, the other runtime's turn runs.
    await b.turn(h.organizationId, t.id, { type: "text", text: "hello?" });
    expect((await stored(t.id)).said).toEqual(["what's my account balance", "hello?"]);
  });
});
