// Chat over HTTP, against the app started as its own process on the embedded store:
//  A. built-in brain: concurrent chat sessions sending streamed messages → messages/s and time to the first
//     SSE event (p50/p99);
//  B. OpenAI-compatible brain against a scripted instant LLM (the ceiling, measured in the same run): the time
//     /chat/completions adds to the LLM's own first token, chat turns/s with 10 clients and the server overhead
//     per turn, and the server's memory after the run.
// Usage: bun bench/chat.ts   (BENCH_CLIENTS=10, BENCH_MESSAGES=40 per client, BENCH_SAMPLES=200)
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const CLIENTS = Number(process.env.BENCH_CLIENTS ?? 10);
const MESSAGES = Number(process.env.BENCH_MESSAGES ?? 40);
const SAMPLES = Number(process.env.BENCH_SAMPLES ?? 200);
const REPLY = "Sure, we can help with that. Our technicians work every weekday. Is there anything else?";

const pct = (values: number[], p: number) => {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
};
const ms = (n: number) => `${n.toFixed(2)} ms`;

/** The scripted instant LLM: streams a fixed reply at once, OpenAI wire format. */
function startLlm() {
  const server = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    async fetch(req) {
      const body = (await req.json()) as { model: string; stream?: boolean };
      const chunk = (delta: object, finish: string | null = null) =>
        `data: ${JSON.stringify({ id: "c", object: "chat.completion.chunk", created: 0, model: body.model, choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`;
      const words = REPLY.split(/(?<= )/);
      return new Response([chunk({ role: "assistant", content: "" }), ...words.map((w) => chunk({ content: w })), chunk({}, "stop"), "data: [DONE]\n\n"].join(""), {
        headers: { "content-type": "text/event-stream" },
      });
    },
  });
  return { url: `http://127.0.0.1:${server.port}/v1`, stop: () => server.stop(true) };
}

async function startApp(env: Record<string, string>) {
  const dataDir = mkdtempSync(join(tmpdir(), "flowyte-bench-chat-"));
  const port = 20000 + Math.floor(Math.random() * 20000);
  const key = `flowyte_sk_live_${crypto.getRandomValues(new Uint8Array(32)).reduce((s, b) => s + b.toString(16).padStart(2, "0"), "")}`;
  const proc = Bun.spawn(["bun", "src/main.ts"], {
    env: { ...process.env, DATABASE_URL: "", PORT: String(port), HOST: "127.0.0.1", DATA_DIR: dataDir, LOG_LEVEL: "warn", RATE_LIMIT_PER_MINUTE: "0", MODELS_AUTO_DOWNLOAD: "false", FLOWYTE_ADMIN_KEY: key, MASTER_KEY: "ab".repeat(32), ...env },
    stdout: "ignore",
    stderr: "inherit",
  });
  const base = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 200; i++) {
    if (await fetch(`${base}/health`).then((r) => r.ok, () => false)) break;
    await Bun.sleep(100);
  }
  const api = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(base + path, { method, headers: { authorization: `Bearer ${key}`, "content-type": "application/json" }, body: body === undefined ? undefined : JSON.stringify(body) });
    if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`);
    return ((await res.json()) as { data: any }).data;
  };
  const agent = await api("POST", "/api/v1/agents", { name: "Bench", businessHours: {}, handoffConfig: { transferDestination: "+14155550100" } });
  await api("POST", `/api/v1/agents/${agent.id}/publish`, {});
  return {
    base,
    key,
    agentId: agent.id as string,
    api,
    rssMb: () => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${proc.pid}/status`, "utf8"))?.[1] ?? 0) / 1024,
    async stop() {
      proc.kill("SIGTERM");
      await proc.exited;
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Milliseconds until the first chunk of a streamed response whose text contains `marker`, and in total. */
async function timeStream(url: string, init: RequestInit, marker: string): Promise<{ first: number; total: number }> {
  const t0 = performance.now();
  const res = await fetch(url, init);
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let first = -1;
  let seen = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    seen += decoder.decode(value, { stream: true });
    if (first < 0 && seen.includes(marker)) first = performance.now() - t0;
  }
  if (first < 0) throw new Error(`no ${marker} in stream: ${seen.slice(0, 300)}`);
  return { first, total: performance.now() - t0 };
}

async function sessions(app: Awaited<ReturnType<typeof startApp>>, stream: boolean, text: string, clients = CLIENTS) {
  const firstEvent: number[] = [];
  const turn: number[] = [];
  const started = performance.now();
  await Promise.all(
    Array.from({ length: clients }, async () => {
      const session = await app.api("POST", "/api/v1/chat/sessions", { agentId: app.agentId });
      const url = `${app.base}/api/v1/chat/sessions/${session.id}/messages`;
      for (let i = 0; i < MESSAGES; i++) {
        const init = { method: "POST", headers: { authorization: `Bearer ${app.key}`, "content-type": "application/json" }, body: JSON.stringify({ content: text, stream }) };
        if (stream) {
          const t = await timeStream(url, init, "event:");
          firstEvent.push(t.first);
          turn.push(t.total);
        } else {
          const t0 = performance.now();
          const res = await fetch(url, init);
          if (!res.ok) throw new Error(`message: ${res.status}`);
          await res.arrayBuffer();
          turn.push(performance.now() - t0);
        }
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  return { perSecond: (clients * MESSAGES) / seconds, firstEvent, turn };
}

const llm = startLlm();
const results: string[] = [];
try {
  // A. Built-in brain.
  const builtin = await startApp({});
  try {
    await sessions(builtin, true, "warm up");
    const a = await sessions(builtin, true, "What are your hours?");
    results.push(
      `A. built-in brain, ${CLIENTS} concurrent sessions × ${MESSAGES} streamed messages`,
      `   ${a.perSecond.toFixed(0)} messages/s; time to first SSE event p50 ${ms(pct(a.firstEvent, 50))} p99 ${ms(pct(a.firstEvent, 99))}; whole reply p50 ${ms(pct(a.turn, 50))} p99 ${ms(pct(a.turn, 99))}`,
    );
  } finally {
    await builtin.stop();
  }

  // B. OpenAI-compatible brain against the scripted instant LLM, on the embedded store and, when one
  // answers, on Postgres (DATABASE_URL): the memory budget depends on which holds the data.
  for (const storage of process.env.DATABASE_URL ? ["embedded", "postgres"] : ["embedded"]) {
  const app = await startApp({ LLM_BASE_URL: llm.url, LLM_MODEL: "scripted", DATABASE_URL: storage === "postgres" ? process.env.DATABASE_URL! : "" });
  try {
    const direct: number[] = [];
    const directTotal: number[] = [];
    const viaApp: number[] = [];
    const llmInit = { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ model: "scripted", stream: true, messages: [{ role: "user", content: "Do you repair boilers?" }] }) };
    const appInit = { method: "POST", headers: { authorization: `Bearer ${app.key}`, "content-type": "application/json" }, body: JSON.stringify({ model: app.agentId, stream: true, messages: [{ role: "user", content: "Do you repair boilers?" }] }) };
    for (let i = 0; i < 20; i++) await timeStream(`${app.base}/api/v1/chat/completions`, appInit, '"content":"S'); // warm up
    for (let i = 0; i < SAMPLES; i++) {
      const d = await timeStream(`${llm.url}/chat/completions`, llmInit, '"content":"S');
      direct.push(d.first);
      directTotal.push(d.total);
      viaApp.push((await timeStream(`${app.base}/api/v1/chat/completions`, appInit, '"content":"S')).first);
    }
    const overhead = pct(viaApp, 50) - pct(direct, 50);
    await sessions(app, false, "warm up");
    // Overhead per turn is measured one turn at a time (no queueing); throughput with all clients at once.
    const single = await sessions(app, false, "Do you repair boilers?", 1);
    const b = await sessions(app, false, "Do you repair boilers?");
    const turnOverhead = pct(single.turn, 50) - pct(directTotal, 50);
    results.push(
      `B. OpenAI-compatible brain, scripted instant LLM (ceiling measured directly in this run), ${storage} store`,
      `   LLM alone: first token p50 ${ms(pct(direct, 50))}, whole reply p50 ${ms(pct(directTotal, 50))}`,
      `   /chat/completions (stream): first token p50 ${ms(pct(viaApp, 50))} p99 ${ms(pct(viaApp, 99))} → adds ${ms(overhead)} p50 (target < 5 ms: ${overhead < 5 ? "PASS" : "MISS"})`,
      `   chat session turns, ${CLIENTS} clients: ${b.perSecond.toFixed(0)} turns/s (target ≥ 350: ${b.perSecond >= 350 ? "PASS" : "MISS"}); turn p50 ${ms(pct(b.turn, 50))} p99 ${ms(pct(b.turn, 99))} under that load`,
      `   one turn at a time: p50 ${ms(pct(single.turn, 50))} → server overhead over the LLM p50 ≈ ${ms(turnOverhead)} (target ≤ 4 ms: ${turnOverhead <= 4 ? "PASS" : "MISS"})`,
      `   server memory after the run: ${app.rssMb().toFixed(0)} MB RSS (target ≤ 200 MB: ${app.rssMb() <= 200 ? "PASS" : "MISS"})`,
    );
  } finally {
    await app.stop();
  }
  }
} finally {
  llm.stop();
}
console.log(results.join("\n"));
