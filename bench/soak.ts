// Soak: two replicas of the appliance (`bun src/main.ts`, each its own process) on one fresh Postgres database, with
// no load balancer: the bench sends each conversation's turns to the replicas in turn, as a round-robin balancer
// without session affinity would, and retries a failed attempt on the other replica. N chat sessions run at once for
// a bounded time; then every conversation's stored transcript is checked against the turns the bench sent. Prints
// turns/s, p50/p99 turn time beside a bare HTTP round trip measured in the same run (the ceiling) and the same load
// with affinity (the peer), errors by status and code, conversations lost (must be 0) and each replica's RSS at the
// start and the end. A report: it exits 0 whatever the figures, 1 only when the bench itself could not run.
// Calls are not part of it: the voice bench's instant speech stand-ins (bench/voice-call.ts) go into an in-process
// server, and replicas as real processes have no speech models here.
// Usage: DATABASE_URL=postgres://postgres@127.0.0.1:5432/test bun bench/soak.ts
//        (BENCH_SECONDS=60, BENCH_SESSIONS=20, BENCH_TURNS=10 per conversation, BENCH_RETRIES=2,
//         BENCH_CEILING_SECONDS=5, BENCH_PEER_SECONDS=15: the same load with affinity first, 0 to skip it)
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { freshPostgres, newAdminKey } from "../test/support/app.ts";
import { type ServerProcess, startServerProcess } from "../test/support/server-process.ts";

const SECONDS = Number(process.env.BENCH_SECONDS ?? 60);
const SESSIONS = Number(process.env.BENCH_SESSIONS ?? 20);
const TURNS = Number(process.env.BENCH_TURNS ?? 10);
const CEILING_SECONDS = Number(process.env.BENCH_CEILING_SECONDS ?? 5);
const RETRIES = Number(process.env.BENCH_RETRIES ?? 2);
const PEER_SECONDS = Number(process.env.BENCH_PEER_SECONDS ?? 15);
const REQUEST_TIMEOUT_MS = 30_000;
const RSS_SAMPLE_MS = 10_000;

if (process.argv[2] === "ceiling") {
  // The ceiling's own process: a bare Bun.serve answering a JSON POST, the shape of a chat turn's request.
  const server = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: async (req) => Response.json({ data: { echo: ((await req.json()) as { content: string }).content } }) });
  console.log(`listening on http://127.0.0.1:${server.port}`);
  await new Promise(() => {});
}

const pct = (values: number[], p: number) => {
  if (!values.length) return Number.NaN;
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
};
const ms = (n: number) => `${n.toFixed(2)} ms`;
const rssMb = (pid: number) => {
  try {
    return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? 0) / 1024;
  } catch {
    return Number.NaN; // the process is gone
  }
};

if (!process.env.DATABASE_URL) {
  console.error("the soak runs two replicas on one Postgres: set DATABASE_URL (e.g. postgres://postgres@127.0.0.1:5432/test)");
  process.exit(1);
}

interface Outcome {
  ok: boolean;
  status: number;
  code: string;
  ms: number;
  body: any;
}

/** One request; never throws: a refused connection or a timeout is an outcome with status 0. */
async function send(base: string, key: string, method: string, path: string, body?: unknown): Promise<Outcome> {
  const t0 = performance.now();
  try {
    const res = await fetch(base + path, {
      method,
      headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
    const text = await res.text();
    let parsed: any = null;
    try {
      parsed = JSON.parse(text);
    } catch {}
    return { ok: res.ok, status: res.status, code: res.ok ? "" : (parsed?.code ?? "?"), ms: performance.now() - t0, body: parsed };
  } catch (err) {
    return { ok: false, status: 0, code: (err as Error).name === "TimeoutError" ? "timeout" : "connection", ms: performance.now() - t0, body: null };
  }
}

/** The bare round trip, with as many concurrent clients as the soak has sessions. */
async function measureCeiling(): Promise<{ perSecond: number; p50: number; p99: number }> {
  const proc = Bun.spawn(["bun", import.meta.path, "ceiling"], { stdout: "pipe", stderr: "inherit" });
  try {
    const reader = proc.stdout.getReader();
    let seen = "";
    while (!/listening on (\S+)/.test(seen)) {
      const { value, done } = await reader.read();
      if (done) throw new Error("the ceiling server did not start");
      seen += new TextDecoder().decode(value);
    }
    const base = /listening on (\S+)/.exec(seen)![1]!;
    const times: number[] = [];
    const deadline = performance.now() + CEILING_SECONDS * 1000;
    const started = performance.now();
    await Promise.all(
      Array.from({ length: SESSIONS }, async () => {
        while (performance.now() < deadline) {
          const r = await send(base, "none", "POST", "/x", { content: "What are your hours?" });
          if (!r.ok) throw new Error(`ceiling answered ${r.status}`);
          times.push(r.ms);
        }
      }),
    );
    return { perSecond: times.length / ((performance.now() - started) / 1000), p50: pct(times, 50), p99: pct(times, 99) };
  } finally {
    proc.kill();
    await proc.exited;
  }
}

interface Conversation {
  id: string;
  /** Every turn the bench sent, in order. */
  sent: string[];
  /** Turns no attempt delivered (every one answered an error, or nothing). */
  undelivered: string[];
}

interface LoadResult {
  seconds: number;
  conversations: number;
  sent: number;
  attempts: number;
  answeredBy: number[];
  turnTimes: number[];
  errors: Map<string, number>;
  lost: { conversations: number; missing: number; undelivered: number; duplicated: number; outOfOrder: number; storedThoughFailed: number; unreadable: number };
}

/**
 * SESSIONS concurrent sessions for `seconds`, each a run of conversations of up to TURNS turns. `alternate`: each turn
 * goes to the other replica than the one before (round robin); otherwise to the replica that started the conversation.
 * Then every conversation is read back and checked against what was sent.
 */
async function soak(bases: string[], agentId: string, seconds: number, alternate: boolean): Promise<LoadResult> {
  const turnTimes: number[] = [];
  const errors = new Map<string, number>();
  const countError = (what: string, r: Outcome) => {
    const kind = [what, r.status || "", r.code].filter(Boolean).join(" ");
    errors.set(kind, (errors.get(kind) ?? 0) + 1);
  };
  const conversations: Conversation[] = [];
  let attempts = 0;
  const answeredBy = [0, 0];

  const started = performance.now();
  const deadline = started + seconds * 1000;
  await Promise.all(
    Array.from({ length: SESSIONS }, async (_, worker) => {
      for (let n = 0; performance.now() < deadline; n++) {
        const first = (worker + n) % 2;
        const created = await send(bases[first]!, adminKey, "POST", "/api/v1/chat/sessions", { agentId, externalUserId: `soak-${worker}` });
        if (!created.ok) {
          countError("session", created);
          continue;
        }
        const conversation: Conversation = { id: created.body.data.id, sent: [], undelivered: [] };
        conversations.push(conversation);
        let last = first;
        for (let turn = 0; turn < TURNS && performance.now() < deadline; turn++) {
          const content = `What are your hours? (worker ${worker}, conversation ${n}, turn ${turn})`;
          conversation.sent.push(content);
          let delivered = false;
          // A failed attempt goes to the other replica, as a client retrying through a balancer; only a refusal of the
          // request itself (4xx other than 409 and 429) is not worth repeating.
          for (let attempt = 0; attempt <= RETRIES && !delivered; attempt++) {
            const to = alternate || attempt > 0 ? (last + 1) % 2 : first;
            last = to;
            const r = await send(bases[to]!, adminKey, "POST", `/api/v1/chat/sessions/${conversation.id}/messages`, { content });
            attempts++;
            if (r.ok) {
              delivered = true;
              turnTimes.push(r.ms);
              answeredBy[to]!++;
            } else {
              countError("turn", r);
              if (r.status >= 400 && r.status < 500 && r.status !== 409 && r.status !== 429) break;
            }
          }
          if (!delivered) conversation.undelivered.push(content);
        }
      }
    }),
  );
  const elapsed = (performance.now() - started) / 1000;

  // Every conversation as storage holds it: its user turns must be exactly the turns the bench sent, each once, in
  // order. A turn no attempt delivered is missing; one stored although every attempt failed was half-saved.
  const lost = { conversations: 0, missing: 0, undelivered: 0, duplicated: 0, outOfOrder: 0, storedThoughFailed: 0, unreadable: 0 };
  for (const [i, conversation] of conversations.entries()) {
    const stored: string[] = [];
    let cursor: string | null = null;
    let readable = true;
    do {
      const r = await send(bases[i % 2]!, adminKey, "GET", `/api/v1/chat/sessions/${conversation.id}/messages?limit=100${cursor ? `&cursor=${cursor}` : ""}`);
      if (!r.ok) {
        readable = false;
        countError("transcript read", r);
        break;
      }
      stored.push(...(r.body.data as { role: string; content: string }[]).filter((m) => m.role === "user").map((m) => m.content));
      cursor = r.body.pagination?.hasMore ? r.body.pagination.nextCursor : null;
    } while (cursor);
    if (!readable) {
      lost.unreadable++;
      lost.conversations++;
      continue;
    }
    const missing = conversation.sent.filter((c) => !stored.includes(c));
    const duplicated = stored.length - new Set(stored).size;
    const storedThoughFailed = conversation.undelivered.filter((c) => stored.includes(c)).length;
    const outOfOrder = !missing.length && !duplicated && stored.some((c, k) => c !== conversation.sent[k]) ? 1 : 0;
    lost.missing += missing.length;
    lost.undelivered += missing.filter((c) => conversation.undelivered.includes(c)).length;
    lost.duplicated += duplicated;
    lost.storedThoughFailed += storedThoughFailed;
    lost.outOfOrder += outOfOrder;
    if (missing.length || duplicated || storedThoughFailed || outOfOrder) lost.conversations++;
  }
  const sent = conversations.reduce((a, c) => a + c.sent.length, 0);
  return { seconds: elapsed, conversations: conversations.length, sent, attempts, answeredBy, turnTimes, errors, lost };
}

function report(title: string, r: LoadResult, ceiling: { p50: number; p99: number }): string[] {
  const p50 = pct(r.turnTimes, 50);
  const p99 = pct(r.turnTimes, 99);
  const failures = [...r.errors.values()].reduce((a, b) => a + b, 0);
  const { lost } = r;
  return [
    title,
    `  turns: ${r.sent} sent in ${r.attempts} requests, ${r.turnTimes.length} answered 2xx in ${r.seconds.toFixed(1)} s → ${(r.turnTimes.length / r.seconds).toFixed(1)} turns/s (replica 0 answered ${r.answeredBy[0]}, replica 1 ${r.answeredBy[1]})`,
    `  turn time (answered attempts): p50 ${ms(p50)} p99 ${ms(p99)}; overhead over the bare round trip: p50 ${ms(p50 - ceiling.p50)} p99 ${ms(p99 - ceiling.p99)}`,
    `  errors: ${failures}${failures ? ` (${[...r.errors].map(([k, v]) => `${k} ×${v}`).join(", ")})` : ""}`,
    `  conversations: ${r.conversations} checked, ${lost.conversations} lost → ${lost.conversations === 0 ? "PASS" : "MISS"} (must be 0): turns missing ${lost.missing} (never delivered ${lost.undelivered}),`,
    `    duplicated ${lost.duplicated}, out of order ${lost.outOfOrder}, stored although every attempt failed ${lost.storedThoughFailed}; transcripts unreadable ${lost.unreadable}`,
  ];
}

const signed = (n: number) => `${n >= 0 ? "+" : ""}${n.toFixed(0)}`;
const errorLines = (r: ServerProcess) => r.log().split("\n").filter((l) => / ERROR /.test(l)).length;

const database = await freshPostgres(process.env.DATABASE_URL);
const dataDir = mkdtempSync(join(tmpdir(), "flowyte-bench-soak-"));
const adminKey = newAdminKey();
const replicas: ServerProcess[] = [];
let exitCode = 0;
try {
  const ceiling = await measureCeiling();

  // One at a time, as a rollout starts them: the first migrates, the second finds it done.
  const env = { DATABASE_URL: database.url, FLOWYTE_ADMIN_KEY: adminKey, MASTER_KEY: randomBytes(32).toString("hex"), RATE_LIMIT_PER_MINUTE: "0", NODE_ENV: "production" };
  const bases: string[] = [];
  for (let i = 0; i < 2; i++) {
    const replica = await startServerProcess(dataDir, { env });
    replicas.push(replica);
    const url = await replica.ready;
    if (!url) throw new Error(`replica ${i} did not start:\n${replica.log()}`);
    bases.push(url);
  }

  const setup = async (path: string, body: unknown) => {
    const r = await send(bases[0]!, adminKey, "POST", path, body);
    if (!r.ok) throw new Error(`POST ${path}: ${r.status} ${JSON.stringify(r.body)}`);
    return r.body.data;
  };
  const agent = await setup("/api/v1/agents", {
    name: "Soak desk",
    greeting: "Hello! Ask me about our hours.",
    businessHours: { timezone: "UTC", weekly: { monday: [{ start: "09:00", end: "17:00" }] } },
    handoffConfig: { transferDestination: "+14155550100" },
  });
  await setup(`/api/v1/agents/${agent.id}/publish`, {});

  const rssStart = replicas.map((r) => rssMb(r.pid));
  const errorLinesBefore = replicas.map((r) => errorLines(r));
  // The peer: the same sessions with affinity (every turn to the replica that started the conversation, as a sticky
  // balancer sends them), so what the alternation costs shows beside it.
  const peer = PEER_SECONDS > 0 ? await soak(bases, agent.id, PEER_SECONDS, false) : null;
  const rssAfterPeer = replicas.map((r) => rssMb(r.pid));
  // Sampled through the soak, so a climb shows apart from a warm-up step.
  const samples: number[][] = replicas.map(() => []);
  const sampler = setInterval(() => {
    for (const [i, r] of replicas.entries()) samples[i]!.push(rssMb(r.pid));
  }, RSS_SAMPLE_MS);
  const main = await soak(bases, agent.id, SECONDS, true).finally(() => clearInterval(sampler));
  const rssEnd = replicas.map((r) => rssMb(r.pid));
  const logged = replicas.map((r, i) => errorLines(r) - errorLinesBefore[i]!);

  console.log(
    [
      `soak: 2 replicas (bun src/main.ts, each its own process) on one Postgres database, built-in brain (no model time); ${SESSIONS} concurrent`,
      `      chat sessions of up to ${TURNS} turns; a failed attempt is retried up to ${RETRIES} times on the other replica; calls: not run`,
      `ceiling: bare HTTP round trip (Bun.serve in its own process, JSON POST, ${SESSIONS} clients, ${CEILING_SECONDS} s): ${ceiling.perSecond.toFixed(0)} req/s, p50 ${ms(ceiling.p50)} p99 ${ms(ceiling.p99)}`,
      ...(peer ? report(`peer, affinity: every turn to the replica that started the conversation, ${PEER_SECONDS} s`, peer, ceiling) : []),
      ...report(`soak, round robin: every turn to the other replica than the one before, ${SECONDS} s`, main, ceiling),
      `ERROR lines the replicas logged during the load: ${logged.map((n, i) => `replica ${i} ${n}`).join(", ")}`,
      ...replicas.map(
        (r, i) =>
          `replica ${i} RSS: start ${rssStart[i]!.toFixed(0)} MB${peer ? `, after the peer ${rssAfterPeer[i]!.toFixed(0)} MB` : ""}, end ${rssEnd[i]!.toFixed(0)} MB (${signed(rssEnd[i]! - rssStart[i]!)} MB); during the soak every ${RSS_SAMPLE_MS / 1000} s: ${samples[i]!.map((m) => m.toFixed(0)).join(" ")}`,
      ),
    ].join("\n"),
  );
} catch (err) {
  console.error(`soak failed: ${(err as Error).stack ?? err}`);
  exitCode = 1;
} finally {
  const kill = (r: ServerProcess, signal: NodeJS.Signals) => {
    try {
      r.signal(signal);
    } catch {} // already gone
  };
  for (const r of replicas) kill(r, "SIGTERM");
  await Promise.all(replicas.map((r) => Promise.race([r.exited, Bun.sleep(10_000).then(() => kill(r, "SIGKILL"))])));
  await database.drop();
  rmSync(dataDir, { recursive: true, force: true });
}
process.exit(exitCode);
