// Soak: two replicas of the appliance (`bun src/main.ts`, each its own process) on one fresh Postgres database, with
// no load balancer: the bench sends each conversation's turns to the replicas in turn, as a round-robin balancer
// without session affinity would, and retries a failed attempt on the other replica. N chat sessions run at once for
// a bounded time; then every conversation's stored transcript is checked against the turns the bench sent. Prints
// turns/s, p50/p99 turn time beside a bare HTTP round trip measured in the same run (the ceiling) and the same load
// with affinity (the peer), errors by status and code, conversations lost (must be 0) and each replica's RSS at the
// start and the end. A report: it exits 0 whatever the figures, 1 only when the bench itself could not run or clean up.
// Beside the chat soak, M phone calls on loopback for the same time: the bench runs the ARI stand-in
// (test/support/ari-stand-in.ts) as the one Asterisk and an OpenAI-compatible speech server stand-in
// (test/voice/speech/openai-speech-stand-in.ts) that both replicas are pointed at; the replica holding the ARI
// lease answers every call, with real RTP on loopback and Silero VAD endpointing the caller's espeak-ng speech.
// Each call: answered, greeting heard, BENCH_CALL_TURNS caller turns (speak, hear the reply start and end), hang-up;
// then every call's conversation is checked in storage: present, ended, each answered turn stored.
// Usage: DATABASE_URL=postgres://postgres@127.0.0.1:5432/test bun bench/soak.ts
//        (BENCH_SECONDS=60, BENCH_SESSIONS=20, BENCH_TURNS=10 per conversation, BENCH_RETRIES=2,
//         BENCH_CEILING_SECONDS=5, BENCH_PEER_SECONDS=15: the same load with affinity first, 0 to skip it,
//         BENCH_CALLS=4 concurrent calls, 0 for none, BENCH_CALL_TURNS=3 caller turns per call)
import { audible } from "./audible.ts";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import postgres from "postgres";
import { encodeUlaw, serializeRtp } from "../voice/media/index.ts";
import { freshPostgres, newAdminKey } from "../test/support/app.ts";
import { type AriStandIn, type StandInMedia, startAriStandIn } from "../test/support/ari-stand-in.ts";
import { type ServerProcess, startServerProcess } from "../test/support/server-process.ts";
import { spoken } from "../test/support/voice.ts";
import { type SpeechStandIn, startSpeechStandIn } from "../test/voice/speech/openai-speech-stand-in.ts";

const SECONDS = Number(process.env.BENCH_SECONDS ?? 60);
const SESSIONS = Number(process.env.BENCH_SESSIONS ?? 20);
const TURNS = Number(process.env.BENCH_TURNS ?? 10);
const CEILING_SECONDS = Number(process.env.BENCH_CEILING_SECONDS ?? 5);
const RETRIES = Number(process.env.BENCH_RETRIES ?? 2);
const PEER_SECONDS = Number(process.env.BENCH_PEER_SECONDS ?? 15);
const CALLS = Number(process.env.BENCH_CALLS ?? 4);
const CALL_TURNS = Number(process.env.BENCH_CALL_TURNS ?? 3);
/** The calls agent's endpointing: this much silence after the caller's speech ends their turn. */
const CALL_MIN_SILENCE_MS = 400;
/** Silence from the agent this long: its greeting or reply has ended (sentences follow each other without a gap). */
const QUIET_MS = 600;
/** The ARI lease (the default): no replica is killed here, so it only sets how often the holder renews it (a third). */
const LEASE_SECONDS = 10;
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

// ---- calls -----------------------------------------------------------------------------------------------

/** One caller on a call's media: streams 20 ms µ-law packets (faint line noise unless it has something to say). */
class Caller {
  private seq = 1;
  private ts = 0;
  private speech: Int16Array | null = null;
  private at = 0;
  private readonly timer: ReturnType<typeof setInterval>;
  private listening = true;
  /** Arrival time of every packet from the agent with sound in it. */
  readonly heard: number[] = [];

  constructor(private readonly media: StandInMedia) {
    const noise = new Int16Array(160);
    this.timer = setInterval(() => {
      let frame = noise;
      if (this.speech) {
        frame = new Int16Array(160);
        frame.set(this.speech.subarray(this.at, this.at + 160));
        this.at += 160;
        if (this.at >= this.speech.length) this.speech = null;
      } else for (let i = 0; i < 160; i++) noise[i] = (Math.random() - 0.5) * 20;
      try {
        this.media.send(serializeRtp({ payloadType: 0, sequenceNumber: this.seq++ & 0xffff, timestamp: (this.ts += 160), ssrc: 0x4321, marker: false }, encodeUlaw(frame)));
      } catch {
        // Asterisk's end is gone: the agent's side hung the media leg up (the call ended, or a standby cleaned up
        // after a dead replica). The call's wait for its next step fails it.
        this.stop();
      }
    }, 20);
    void this.listen();
  }

  private async listen() {
    while (this.listening) {
      // A long wait: a wait that times out would leave its slot behind and swallow the next packet.
      const packet = await this.media.nextPacket(60_000).catch(() => null);
      if (!packet || !this.listening) continue;
      if (audible(packet)) this.heard.push(performance.now());
    }
  }

  /** Says `speech` from the next packet on; when its last sample will have been sent. */
  say(speech: Int16Array): number {
    this.speech = speech;
    this.at = 0;
    return performance.now() + (speech.length / 8000) * 1000;
  }

  quietFor = (ms: number) => !this.heard.length || performance.now() - this.heard.at(-1)! > ms;

  stop() {
    clearInterval(this.timer);
    this.listening = false;
  }
}

/** espeak-ng speech at 8 kHz without its leading and trailing silence, so its end is the end of the speech. */
async function callerSpeech(text: string): Promise<Int16Array> {
  const samples = await spoken(text, 8000);
  const loud = (s: number) => Math.abs(s) > 500;
  const first = samples.findIndex(loud);
  const last = samples.findLastIndex(loud);
  return first < 0 ? samples : samples.slice(first, last + 1);
}

/** Polls `check` until it gives a value other than undefined/false, or `timeoutMs` passes (then undefined). */
async function waitFor<T>(check: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs: number): Promise<T | undefined> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== undefined && v !== false) return v;
    if (performance.now() > deadline) return undefined;
    await Bun.sleep(5);
  }
}

interface PlacedCall {
  channelId: string;
  /** Bridged with its media leg. */
  answered: boolean;
  /** Caller turns that got a reply (its first packet heard). */
  replied: number;
  completed: boolean;
}

interface CallLoadResult {
  seconds: number;
  calls: PlacedCall[];
  failures: Map<string, number>;
  /** Call placed → the greeting's first packet heard. */
  greeting: number[];
  /** The caller's last sample of speech sent → the reply's first packet heard. */
  endOfSpeech: number[];
}

const CALL_NUMBER = "+15557654321";
/** The most any one step of a call (answer, greeting, a reply starting or ending) may take before the call fails. */
const CALL_STEP_MS = 30_000;

/**
 * CALLS callers for `seconds`, each placing calls one after the other: answered, greeting heard, CALL_TURNS turns
 * (speak; the reply's first packet; wait for the reply to end), hang-up. A failed step ends the call (hung up) and
 * counts as a failure; a caller then places its next call.
 */
async function callLoad(standIn: AriStandIn, question: Int16Array, seconds: number): Promise<CallLoadResult> {
  const calls: PlacedCall[] = [];
  const failures = new Map<string, number>();
  const greeting: number[] = [];
  const endOfSpeech: number[] = [];
  const started = performance.now();
  const deadline = started + seconds * 1000;
  await Promise.all(
    Array.from({ length: CALLS }, async (_, worker) => {
      for (let n = 0; performance.now() < deadline; n++) {
        let caller: Caller | null = null;
        let call: PlacedCall | null = null;
        const fail = (why: string) => failures.set(why, (failures.get(why) ?? 0) + 1);
        try {
          const before = standIn.requests.length;
          const placedAt = performance.now();
          const channelId = standIn.placeInboundCall({ exten: CALL_NUMBER, callerNumber: `+1555${String(worker).padStart(3, "0")}${String(n).padStart(4, "0")}` });
          call = { channelId, answered: false, replied: 0, completed: false };
          calls.push(call);
          const media = await waitFor(() => {
            const joined = standIn.requests.slice(before).find((r) => r.operation === "bridges.addChannel" && String(r.query.channel).split(",").includes(channelId));
            const mediaId = joined && String(joined.query.channel).split(",").find((c) => c !== channelId);
            return mediaId ? standIn.media(mediaId) : undefined;
          }, CALL_STEP_MS);
          if (!media) {
            fail("not answered");
            continue;
          }
          call.answered = true;
          caller = new Caller(media);
          const c = caller;
          const greeted = await waitFor(() => c.heard[0], CALL_STEP_MS);
          if (greeted === undefined) {
            fail("no greeting");
            continue;
          }
          greeting.push(greeted - placedAt);
          if (!(await waitFor(() => c.quietFor(QUIET_MS), CALL_STEP_MS))) {
            fail("greeting did not end");
            continue;
          }
          let ok = true;
          // Past the deadline a call ends after its first turn, so the run stays bounded.
          for (let turn = 0; turn < CALL_TURNS && ok && (turn === 0 || performance.now() < deadline); turn++) {
            const ended = c.say(question);
            const replied = await waitFor(() => c.heard.find((t) => t > ended), CALL_STEP_MS + (ended - performance.now()));
            if (replied === undefined) {
              fail("no reply");
              ok = false;
              break;
            }
            call.replied++;
            endOfSpeech.push(replied - ended);
            if (!(await waitFor(() => c.quietFor(QUIET_MS), CALL_STEP_MS))) {
              fail("reply did not end");
              ok = false;
            }
          }
          call.completed = ok;
        } catch (err) {
          fail(`bench: ${(err as Error).message}`);
          // Nothing is answering (no replica holds the application): do not spin placing calls.
          await Bun.sleep(1000);
        } finally {
          caller?.stop();
          if (call) {
            try {
              standIn.hangUp(call.channelId);
            } catch {} // already gone: the agent ended it
          }
        }
      }
    }),
  );
  return { seconds: (performance.now() - started) / 1000, calls, failures, greeting, endOfSpeech };
}

interface CallCheck {
  lost: number;
  missing: number;
  notEnded: number;
  turnsMissing: number;
  reasons: Map<string, number>;
  /** The replicas' own decision → first reply packet figures (`latency` events of the receipts). */
  decision: number[];
}

/**
 * Every placed call's conversation as storage holds it: it must exist (once answered), be ended (waited for a
 * while: the hang-up reaches the replica asynchronously), and hold at least one caller message per turn that got a
 * reply. Its receipt's `latency` events give the replica's own decision → first packet time.
 */
async function checkCalls(db: postgres.Sql, calls: PlacedCall[]): Promise<CallCheck> {
  type Row = { channel_id: string; id: string; status: string; user_messages: number; reason: string | null; latencies: number[] | null };
  const read = async () => {
    const rows = await db<Row[]>`
      select c.metadata->>'channelId' as channel_id, c.id, c.status,
        (select count(*)::int from conversation_messages m where m.conversation_id = c.id and m.role = 'user') as user_messages,
        (select e.payload->>'reason' from conversation_events e where e.conversation_id = c.id and e.event_type = 'call_ended' limit 1) as reason,
        (select array_agg((e.payload->>'endOfSpeechToFirstAudioMs')::float8 order by e.seq) from conversation_events e
          where e.conversation_id = c.id and e.event_type = 'latency' and e.payload ? 'endOfSpeechToFirstAudioMs') as latencies
      from conversations c where c.source = 'voice'`;
    return new Map(rows.map((r) => [r.channel_id, r]));
  };
  const settled = (m: Map<string, Row>) => calls.every((c) => (!c.answered && !m.has(c.channelId)) || m.get(c.channelId)?.status === "ended");
  let stored = await read();
  const deadline = performance.now() + 20_000;
  while (!settled(stored) && performance.now() < deadline) {
    await Bun.sleep(250);
    stored = await read();
  }
  const check: CallCheck = { lost: 0, missing: 0, notEnded: 0, turnsMissing: 0, reasons: new Map(), decision: [] };
  for (const call of calls) {
    const row = stored.get(call.channelId);
    if (!row) {
      // A call never answered may have no conversation; an answered one must.
      if (call.answered) {
        check.missing++;
        check.lost++;
      }
      continue;
    }
    const reason = row.reason ?? "(none)";
    check.reasons.set(reason, (check.reasons.get(reason) ?? 0) + 1);
    // The first is the greeting's (the conversation opened → its first packet); the others are the caller's turns.
    check.decision.push(...(row.latencies ?? []).slice(1));
    const turnsMissing = Math.max(0, call.replied - row.user_messages);
    check.turnsMissing += turnsMissing;
    if (row.status !== "ended") check.notEnded++;
    if (row.status !== "ended" || turnsMissing) check.lost++;
  }
  return check;
}

function callReport(r: CallLoadResult, check: CallCheck, holder: string): string[] {
  const completed = r.calls.filter((c) => c.completed).length;
  const failed = [...r.failures.values()].reduce((a, b) => a + b, 0);
  const spoken = r.calls.reduce((a, c) => a + c.replied, 0);
  const f = (xs: number[]) => (xs.length ? `p50 ${ms(pct(xs, 50))} p99 ${ms(pct(xs, 99))} (${xs.length})` : "none");
  return [
    `calls, at the same time: ${CALLS} callers, each placing calls one after another (answer, greeting, ${CALL_TURNS} turns, hang-up), ${r.seconds.toFixed(1)} s; ${holder} held the ARI application`,
    `  calls: ${r.calls.length} placed, ${completed} completed, ${failed} failed${failed ? ` (${[...r.failures].map(([k, v]) => `${k} ×${v}`).join(", ")})` : ""}; ${spoken} caller turns answered`,
    `  placed → the greeting's first packet heard: ${f(r.greeting)}`,
    `  caller's end of speech → the reply's first packet heard: ${f(r.endOfSpeech)}; the endpointing silence (${CALL_MIN_SILENCE_MS} ms) included`,
    `  endpointing decision → the reply's first packet sent (the replica's receipts): ${f(check.decision)}`,
    `  conversations: ${r.calls.length} checked, ${check.lost} lost → ${check.lost === 0 ? "PASS" : "MISS"} (must be 0): missing ${check.missing}, not ended ${check.notEnded}, answered turns not stored ${check.turnsMissing};`,
    `    ended with reason ${[...check.reasons].map(([k, v]) => `${k} ×${v}`).join(", ") || "-"}`,
  ];
}

const signed = (n: number) => `${n >= 0 ? "+" : ""}${n.toFixed(0)}`;
const errorLines = (r: ServerProcess) => r.log().split("\n").filter((l) => / ERROR /.test(l)).length;

const database = await freshPostgres(process.env.DATABASE_URL);
const dataDir = mkdtempSync(join(tmpdir(), "flowyte-bench-soak-"));
const adminKey = newAdminKey();
const replicas: ServerProcess[] = [];
const db = postgres(database.url, { max: 1, onnotice: () => {} });
let standIn: AriStandIn | null = null;
let speech: SpeechStandIn | null = null;
let exitCode = 0;
try {
  const callsWhy = CALLS <= 0 ? "BENCH_CALLS=0" : Bun.which("espeak-ng") ? null : "espeak-ng, which speaks for the callers, is not installed";
  const question = callsWhy ? null : await callerSpeech("What are your opening hours?");
  const ceiling = await measureCeiling();

  // The one Asterisk and the speech server every replica is pointed at. Each replica has its own name (the lease's
  // holder) and its own RTP ports, as pods on one host would need.
  if (!callsWhy) {
    standIn = await startAriStandIn();
    speech = startSpeechStandIn();
  }
  const rtpBase = 20000 + Math.floor(Math.random() * 9000);
  const telephony = (i: number): Record<string, string> =>
    standIn && speech
      ? {
          ARI_URL: standIn.url,
          ARI_USERNAME: standIn.username,
          ARI_PASSWORD: standIn.password,
          ARI_APP: standIn.app,
          ARI_LEASE_SECONDS: String(LEASE_SECONDS),
          REPLICA_ID: `soak-${i}`,
          RTP_HOST: "127.0.0.1",
          RTP_PORT_MIN: String(rtpBase + i * 500),
          RTP_PORT_MAX: String(rtpBase + i * 500 + 2 * CALLS + 20),
          TRUNK_NUMBERS: CALL_NUMBER,
          SPEECH_BASE_URL: speech.baseUrl,
        }
      : {};

  // One at a time, as a rollout starts them: the first migrates, the second finds it done.
  const env = { DATABASE_URL: database.url, FLOWYTE_ADMIN_KEY: adminKey, MASTER_KEY: randomBytes(32).toString("hex"), RATE_LIMIT_PER_MINUTE: "0", NODE_ENV: "production" };
  const bases: string[] = [];
  for (let i = 0; i < 2; i++) {
    const replica = await startServerProcess(dataDir, { env: { ...env, ...telephony(i) } });
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
  let holder = "no replica";
  if (!callsWhy) {
    // Its own agent, without a transfer destination, so no call is handed to a person mid-soak.
    const phoneAgent = await setup("/api/v1/agents", {
      name: "Soak phone desk",
      greeting: "Thanks for calling.",
      businessHours: { timezone: "UTC", weekly: { monday: [{ start: "09:00", end: "17:00" }] } },
      endpointing: { minSilenceMs: CALL_MIN_SILENCE_MS, maxSilenceMs: 1200 },
      callControl: { maxCallSeconds: 600, idleReminderDelaySeconds: 120 },
    });
    await setup(`/api/v1/agents/${phoneAgent.id}/publish`, {});
    const number = await setup("/api/v1/numbers/purchase", { e164: CALL_NUMBER });
    await setup(`/api/v1/numbers/${number.id}/assign`, { agentId: phoneAgent.id });
    // Calls start once a replica holds the lease and is connected for the application.
    const held = await waitFor(async () => {
      const [row] = await db<{ holder: string }[]>`select holder from voice_leases`;
      return row && standIn!.connections.length > 0 ? row.holder : undefined;
    }, 30_000);
    holder = held ? `replica ${held.replace("soak-", "")} (${held})` : "no replica (none took the lease within 30 s: every call fails)";
  }

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
  const [main, calls] = await Promise.all([soak(bases, agent.id, SECONDS, true), standIn && question ? callLoad(standIn, question, SECONDS) : null]).finally(() => clearInterval(sampler));
  const callCheck = calls ? await checkCalls(db, calls.calls) : null;
  if (calls) {
    // A replica that died or hung mid-soak hands the application to the standby: say so.
    const [row] = await db<{ holder: string }[]>`select holder from voice_leases`;
    if (row && !holder.includes(`(${row.holder})`)) holder += `, then ${row.holder}`;
  }
  const rssEnd = replicas.map((r) => rssMb(r.pid));
  const logged = replicas.map((r, i) => errorLines(r) - errorLinesBefore[i]!);

  console.log(
    [
      `soak: 2 replicas (bun src/main.ts, each its own process) on one Postgres database, built-in brain (no model time); ${SESSIONS} concurrent`,
      `      chat sessions of up to ${TURNS} turns; a failed attempt is retried up to ${RETRIES} times on the other replica;`,
      callsWhy
        ? `      calls: not run (${callsWhy})`
        : `      ${CALLS} concurrent calls on loopback during the soak: ARI stand-in, real RTP, Silero VAD, speech server stand-in (no model time)`,
      `ceiling: bare HTTP round trip (Bun.serve in its own process, JSON POST, ${SESSIONS} clients, ${CEILING_SECONDS} s): ${ceiling.perSecond.toFixed(0)} req/s, p50 ${ms(ceiling.p50)} p99 ${ms(ceiling.p99)}`,
      ...(peer ? report(`peer, affinity: every turn to the replica that started the conversation, ${PEER_SECONDS} s`, peer, ceiling) : []),
      ...report(`soak, round robin: every turn to the other replica than the one before, ${SECONDS} s`, main, ceiling),
      ...(calls && callCheck ? callReport(calls, callCheck, holder) : []),
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
  // Each step on its own, so one failing (the database gone) still lets the others clean up.
  const attempt = async (what: string, step: () => unknown) => {
    try {
      await step();
    } catch (err) {
      console.error(`soak: cleaning up ${what} failed: ${(err as Error).message}`);
      exitCode = 1;
    }
  };
  await attempt("the ARI stand-in", () => standIn?.stop());
  await attempt("the speech stand-in", () => speech?.stop());
  await attempt("the database connection", () => db.end());
  await attempt("the database", () => database.drop());
  rmSync(dataDir, { recursive: true, force: true });
}
process.exit(exitCode);
