// What the platform adds to a phone call's turn-taking, with N calls up at once on loopback: the real app answers
// calls from the ARI stand-in (test/support/ari-stand-in.ts, built from Asterisk's published ARI description) with
// real RTP, Silero VAD and the call session; every caller streams audio the whole time. Speech recognition and
// synthesis are instant stand-ins, so model time is excluded by construction and what is left is ours.
//
//   overhead   the endpointing decision (the moment the recognizer is asked) → the first packet of the reply
//              arriving at the caller: the runtime's turn, storage, playout and the loopback hop (target < 30 ms)
//   barge-in   the VAD confirming the caller's speech over the agent → the agent's last packet (target < 100 ms);
//              the VAD's own onset (first speech packet → confirmation) is printed beside it
//
// Turns are staggered (BENCH_GAP_MS apart) so each decision belongs to one call without guessing.
// Usage: bun bench/voice-call.ts      (BENCH_CALLS="10,50", BENCH_GAP_MS=400)
import { audible } from "./audible.ts";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import postgres from "postgres";
import { loadConfig } from "../src/config.ts";
import { createLogger } from "../src/platform/log.ts";
import { startServer } from "../src/server.ts";
import { decodeWav, encodeUlaw, float32ToInt16, resample, serializeRtp } from "../voice/media/index.ts";
import { createSpeech, VoiceRouter, type SpeechToText, type SynthesizedSpeech, type VadFactory } from "../voice/speech/index.ts";
import { ariStandInEnv, startAriStandIn, type StandInMedia } from "../test/support/ari-stand-in.ts";

const CALLS = (process.env.BENCH_CALLS ?? "10,50").split(",").map(Number);
const GAP_MS = Number(process.env.BENCH_GAP_MS ?? 400);
const NUMBER = "+15557654321";
const log = createLogger("error");

// ---- instant speech engines, and a VAD that says when it decided ----------------------------------------

/** The recognizer is asked exactly at the endpointing decision; it answers at once. */
class InstantRecognizer implements SpeechToText {
  readonly engine = "instant (bench)";
  readonly asked: number[] = [];
  async transcribe() {
    this.asked.push(performance.now());
    return { text: "What are your opening hours?", language: "en", confidence: 0.9 };
  }
}

/** Every sentence is 3 s of a 300 Hz tone, returned at once. */
class InstantVoice extends VoiceRouter {
  private readonly tone = Float32Array.from({ length: 3 * 8000 }, (_, i) => 0.3 * Math.sin((2 * Math.PI * 300 * i) / 8000));
  override async synthesize(): Promise<SynthesizedSpeech> {
    return { samples: this.tone, sampleRate: 8000 };
  }
}

/** Silero, recording when each call's detector confirms speech (detectors are made in call order). */
function timedVad(base: VadFactory, starts: number[][]): VadFactory {
  return {
    engine: base.engine,
    create() {
      const mine: number[] = [];
      starts.push(mine);
      const d = base.create();
      return {
        push(samples) {
          const events = d.push(samples);
          for (const e of events) if (e.type === "speech_start") mine.push(performance.now());
          return events;
        },
        flush: () => d.flush(),
        get speaking() {
          return d.speaking;
        },
        reset: () => d.reset(),
        close: () => d.close(),
      };
    },
  };
}

// ---- the caller's side -----------------------------------------------------------------------------------

async function speech8k(text: string): Promise<Int16Array> {
  const proc = Bun.spawn(["espeak-ng", "--stdout", "-v", "en-us", text], { stdout: "pipe" });
  const wav = decodeWav(new Uint8Array(await new Response(proc.stdout).arrayBuffer()));
  return float32ToInt16(resample(wav.samples, wav.sampleRate, 8000));
}

/** One caller: streams 20 ms µ-law packets continuously (faint line noise unless it has something to say). */
class Caller {
  private seq = 1;
  private ts = 0;
  private speech: Int16Array | null = null;
  private at = 0;
  private timer: ReturnType<typeof setInterval>;
  /** Arrival time of every packet from the agent with sound in it. */
  readonly heard: number[] = [];
  private listening = true;

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
      media.send(serializeRtp({ payloadType: 0, sequenceNumber: this.seq++ & 0xffff, timestamp: (this.ts += 160), ssrc: 0x4321, marker: false }, encodeUlaw(frame)));
    }, 20);
    void this.listen();
  }

  private async listen() {
    while (this.listening) {
      const packet = await this.media.nextPacket(60_000).catch(() => null);
      if (!packet) continue;
      if (audible(packet)) this.heard.push(performance.now());
    }
  }

  /** Starts saying `speech` from the next packet; the time it started. */
  say(speech: Int16Array): number {
    this.speech = speech;
    this.at = 0;
    return performance.now();
  }

  quietFor = (ms: number) => !this.heard.length || performance.now() - this.heard.at(-1)! > ms;

  stop() {
    clearInterval(this.timer);
    this.listening = false;
  }
}

// ---- one run ---------------------------------------------------------------------------------------------

const until = async (check: () => boolean, timeoutMs: number) => {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error("timed out");
    await Bun.sleep(5);
  }
};

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]! : NaN;
};

/** With DATABASE_URL, a database of its own for each run (dropped after), so runs never see each other's numbers. */
async function freshDatabase(baseUrl: string) {
  const name = `flowyte_bench_${randomBytes(6).toString("hex")}`;
  const admin = postgres(baseUrl, { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database ${name}`);
  const url = new URL(baseUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      await admin.unsafe(`drop database if exists ${name} with (force)`);
      await admin.end();
    },
  };
}

async function run(n: number, question: Int16Array, interruption: Int16Array) {
  const database = process.env.DATABASE_URL ? await freshDatabase(process.env.DATABASE_URL) : null;
  const standIn = await startAriStandIn();
  const dataDir = mkdtempSync(join(tmpdir(), "flowyte-bench-call-"));
  const adminKey = `flowyte_sk_live_${randomBytes(32).toString("base64url")}`;
  // Below the kernel's ephemeral range (32768+), so no socket the OS hands out can take a port of the RTP range.
  const base = 20000 + Math.floor(Math.random() * 10000);
  const config = loadConfig({
    PORT: "0",
    HOST: "127.0.0.1",
    DATA_DIR: dataDir,
    FLOWYTE_ADMIN_KEY: adminKey,
    LOG_LEVEL: "error",
    ...ariStandInEnv(standIn, base, n + 10),
    TRUNK_NUMBERS: NUMBER,
    ...(database ? { DATABASE_URL: database.url } : {}),
  });
  const stt = new InstantRecognizer();
  const starts: number[][] = [];
  const real = createSpeech({ modelsDir: "/nonexistent", speech: null }, log, { languages: ["en"] });
  const server = await startServer(config, log, { speech: { ...real, vad: timedVad(real.vad, starts), stt, tts: new InstantVoice({}) } });
  const api = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${server.url}${path}`, { method, headers: { authorization: `Bearer ${adminKey}`, "content-type": "application/json" }, body: body === undefined ? undefined : JSON.stringify(body) });
    if (!res.ok) throw new Error(`${method} ${path} → ${res.status} ${await res.text()}`);
    return ((await res.json()) as { data: any }).data;
  };
  const callers: Caller[] = [];
  try {
    const agent = await api("POST", "/api/v1/agents", { name: "Bench desk", greeting: "Thanks for calling.", endpointing: { minSilenceMs: 400, maxSilenceMs: 1200 }, callControl: { maxCallSeconds: 600, idleReminderDelaySeconds: 120 } });
    await api("POST", `/api/v1/agents/${agent.id}/publish`, {});
    const number = await api("POST", "/api/v1/numbers/purchase", { e164: NUMBER });
    await api("POST", `/api/v1/numbers/${number.id}/assign`, { agentId: agent.id });

    // N calls up, each streaming; wait for every greeting to finish.
    for (let k = 0; k < n; k++) {
      const before = standIn.requests.length;
      const channelId = standIn.placeInboundCall({ exten: NUMBER, callerNumber: `+1555000${String(k).padStart(4, "0")}` });
      let media: StandInMedia | undefined;
      await until(() => {
        const joined = standIn.requests.slice(before).find((r) => r.operation === "bridges.addChannel" && String(r.query.channel).split(",").includes(channelId));
        const mediaId = joined && String(joined.query.channel).split(",").find((c) => c !== channelId);
        media = mediaId ? standIn.media(mediaId) : undefined;
        return media !== undefined;
      }, 10_000);
      callers.push(new Caller(media!));
    }
    await until(() => callers.every((c) => c.heard.length > 0 && c.quietFor(300)), 30_000);

    // Staggered turns: ask, hear the reply start, talk over it.
    const overhead: number[] = [];
    const stop: number[] = [];
    const onset: number[] = [];
    await Promise.all(
      callers.map(async (caller, k) => {
        await Bun.sleep(k * GAP_MS);
        const asked = caller.say(question) + (question.length / 8000) * 1000;
        await until(() => caller.heard.some((t) => t > asked), 10_000);
        // Decisions of other calls are GAP_MS apart: the last one before this reply is this call's.
        const replied = caller.heard.find((t) => t > asked)!;
        const decided = stt.asked.filter((t) => t <= replied).at(-1)!;
        overhead.push(replied - decided);

        await Bun.sleep(500);
        const startsFrom = starts[k]!.length;
        const spoke = caller.say(interruption);
        await until(() => starts[k]!.length > startsFrom, 5000);
        const confirmed = starts[k]![startsFrom]!;
        await until(() => caller.quietFor(300), 10_000);
        // The reply to the interruption starts a second or more later: everything heard before then is the old one.
        const last = caller.heard.filter((t) => t <= confirmed + 500).at(-1)!;
        // Only a reply still playing when the caller cut in counts (10 packets in the 200 ms before).
        if (caller.heard.filter((t) => t > confirmed - 200 && t <= confirmed).length < 8) throw new Error(`call ${k}: the reply had ended before the barge-in`);
        // 0 when the agent sent nothing after the VAD confirmed: clear() runs before the next 20 ms tick.
        stop.push(Math.max(0, last - confirmed));
        onset.push(confirmed - spoke);
      }),
    );
    return { overhead, stop, onset };
  } finally {
    for (const c of callers) c.stop();
    await server.stop();
    await standIn.stop();
    await database?.drop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

if (!Bun.which("espeak-ng")) {
  console.error("espeak-ng is needed for the callers' speech (apt-get install espeak-ng)");
  process.exit(2);
}
const question = await speech8k("What are your opening hours?");
const interruption = await speech8k("Sorry, one more thing please");
console.log(`voice call overhead, ${process.env.DATABASE_URL ? "Postgres" : "embedded PGlite"}, Silero VAD, instant STT/TTS, turns ${GAP_MS} ms apart`);
console.log("calls | overhead p50 / p95 / max ms (target < 30) | barge-in stop p50 / p95 / max ms (target < 100) | VAD onset p50 ms");
for (const n of CALLS) {
  const { overhead, stop, onset } = await run(n, question, interruption);
  const f = (xs: number[]) => `${pct(xs, 50).toFixed(1)} / ${pct(xs, 95).toFixed(1)} / ${Math.max(...xs).toFixed(1)}`;
  const verdict = (xs: number[], target: number) => (pct(xs, 95) < target ? "PASS" : "MISS");
  console.log(`${String(n).padStart(5)} | ${f(overhead)} ${verdict(overhead, 30)} | ${f(stop)} ${verdict(stop, 100)} | ${pct(onset, 50).toFixed(0)}`);
}
process.exit(0);
