// Server time per chat turn with the built-in brain, for a 10-turn playbook conversation, on the embedded
// store (PGlite). Measures the runtime in-process — brain, guardrails, playbook, receipt and the one storage
// transaction per turn — with no HTTP in the way, and, in the same run, the ceiling it is held against:
// the bare storage transaction a turn must make.
// Usage: bun bench/chat-turn.ts   (BENCH_CONVERSATIONS, default 150)
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { compileDraft } from "../src/api/agents/compile.ts";
import { AgentsService } from "../src/api/agents/service.ts";
import { createOrganization } from "../src/platform/auth/organizations.ts";
import { openDatabase } from "../src/platform/db/index.ts";
import { agents, playbooks } from "../src/platform/db/schema/index.ts";
import { newId } from "../src/platform/ids.ts";
import { createLogger } from "../src/platform/log.ts";
import { ConversationRuntime } from "../src/runtime/conversation.ts";
import { Receipt } from "../src/runtime/receipt.ts";
import { initialState } from "../src/runtime/state.ts";
import { ConversationStore } from "../src/runtime/store.ts";
import { eq } from "drizzle-orm";

const CONVERSATIONS = Number(process.env.BENCH_CONVERSATIONS ?? 150);
const log = createLogger("error");
const dir = mkdtempSync(join(tmpdir(), "flowyte-bench-turn-"));

const slots: [string, string, string][] = [
  ["problem", "text", "The kitchen sink is leaking"],
  ["name", "name", "My name is Alex Smith"],
  ["phone", "phone", "415 555 0100"],
  ["email", "email", "alex@example.com"],
  ["address", "address", "12 Main Street, Springfield"],
  ["day", "date", "next tuesday"],
  ["time", "time", "at 3pm"],
  ["people", "integer", "two"],
];
const TURNS = ["I need to book a repair visit for a plumbing problem", ...slots.map((s) => s[2]), "yes"]; // 10 turns

const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;

try {
  const database = await openDatabase({ databaseUrl: null, dataDir: dir, log });
  const { organization } = await createOrganization(database.db, "Bench");
  const principal = { organizationId: organization.id, actorType: "apiKey" as const, actorId: "bench", scopes: new Set<never>() };
  const agent = await new AgentsService(database).create(principal, { name: "Bench desk" });
  const nodes = [
    { id: "start", type: "start", position: { x: 0, y: 0 }, data: {} },
    ...slots.map(([variable, slotType], i) => ({ id: variable, type: "collect", position: { x: 0, y: i + 1 }, data: { variable, slotType, prompt: `What is your ${variable}?` } })),
    { id: "confirm", type: "confirm", position: { x: 0, y: 10 }, data: { prompt: "Shall I book {problem} for {name} at {address}?" } },
    { id: "end", type: "end", position: { x: 0, y: 11 }, data: { message: "Booked. Goodbye!", outcome: "completed" } },
    { id: "no", type: "end", position: { x: 1, y: 11 }, data: { outcome: "abandoned" } },
  ];
  const order = ["start", ...slots.map((s) => s[0]), "confirm"];
  const connections = order.slice(0, -1).map((id, i) => ({ id: `c${i}`, source: id, target: order[i + 1]! }));
  connections.push({ id: "yes", source: "confirm", target: "end", sourceHandle: "yes" } as never, { id: "no", source: "confirm", target: "no", sourceHandle: "no" } as never);
  await database.db.insert(playbooks).values({
    id: newId("pbk"),
    organizationId: organization.id,
    agentId: agent.id,
    flowId: newId("flw"),
    name: "Service request",
    description: "book a repair visit for a plumbing problem",
    inputSchema: {},
    outputSchema: {},
    graph: { nodes, connections },
  });
  const [row] = await database.db.select().from(agents).where(eq(agents.id, agent.id));
  const compiled = await compileDraft(database.db, row!);
  const store = new ConversationStore(database.db);
  const runtime = new ConversationRuntime({ store, runSkill: async () => ({ kind: "result", data: {} }), llm: null, retriever: null, loadCompiled: async () => compiled, log });

  const turnMs: number[] = [];
  let completed = 0;
  const started = performance.now();
  for (let c = 0; c < CONVERSATIONS; c++) {
    const { conversationId } = await runtime.start({ organizationId: organization.id, agentId: agent.id, agentVersionId: null, draftMode: true, compiled, channel: "chat", source: "bench" });
    for (const text of TURNS) {
      const t0 = performance.now();
      const r = await runtime.turn(organization.id, conversationId, { type: "text", text });
      if (c > 5) turnMs.push(performance.now() - t0); // the first conversations warm the JIT
      if (r.replies.some((m) => m.text === "Booked. Goodbye!")) completed++;
    }
    await runtime.end(organization.id, conversationId, "bench");
  }
  const elapsed = (performance.now() - started) / 1000;
  if (completed !== CONVERSATIONS) throw new Error(`only ${completed}/${CONVERSATIONS} conversations completed the playbook`);

  // Ceiling: the storage transaction alone, with a turn's typical writes (2 messages, 4 events, the state).
  const opened = await runtime.start({ organizationId: organization.id, agentId: agent.id, agentVersionId: null, draftMode: true, compiled, channel: "chat", source: "bench" });
  const ceilingConv = (await store.load(organization.id, opened.conversationId))!;
  const receipt = new Receipt(ceilingConv.id, "chat", Date.now(), (await store.events(ceilingConv.id)).length, Date.now);
  const state = initialState("en", {});
  const bare: number[] = [];
  for (let i = 0; i < 1000; i++) {
    for (const t of ["user_utterance", "agent_message", "guardrail", "latency"] as const) receipt.add(t, { text: "x" });
    const events = receipt.unsaved();
    const t0 = performance.now();
    const saved = await store.saveTurn(ceilingConv, { state }, events, [
      { id: newId("msg"), role: "user", content: "hello", language: "en", tsMs: i },
      { id: newId("msg"), role: "assistant", content: "hi", language: "en", tsMs: i },
    ]);
    bare.push(performance.now() - t0);
    if (!saved) throw new Error("the bare write was refused as stale");
    receipt.saved(events.length);
    ceilingConv.turnSeq++;
  }
  turnMs.sort((a, b) => a - b);
  bare.sort((a, b) => a - b);
  const p50 = pct(turnMs, 50);
  console.log(`chat turn, built-in brain, 10-turn playbook conversation, embedded store (PGlite), ${CONVERSATIONS} conversations, ${turnMs.length} turns measured`);
  console.log(`  turn server time   p50 ${p50.toFixed(2)} ms   p99 ${pct(turnMs, 99).toFixed(2)} ms   mean ${(turnMs.reduce((a, b) => a + b, 0) / turnMs.length).toFixed(2)} ms   (${((CONVERSATIONS * TURNS.length) / elapsed).toFixed(0)} turns/s in one conversation at a time)`);
  console.log(`  ceiling: bare storage transaction of one turn   p50 ${pct(bare, 50).toFixed(2)} ms   p99 ${pct(bare, 99).toFixed(2)} ms`);
  console.log(`  ratio turn / storage floor (p50): ${(p50 / pct(bare, 50)).toFixed(2)}x; runtime work on top of storage ≈ ${(p50 - pct(bare, 50)).toFixed(2)} ms`);
  console.log(`  target p50 < 15 ms: ${p50 < 15 ? "PASS" : "MISS"}`);
  await database.close();
} finally {
  rmSync(dir, { recursive: true, force: true });
}
