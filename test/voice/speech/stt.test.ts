import { afterAll, describe, expect, it } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createLogger } from "../../../src/platform/log.ts";
import { createSpeech, findStreamingModel, findWhisperModel, OpenAiSpeechToText, WhisperSpeechToText } from "../../../voice/speech/index.ts";
import { startHungServer } from "../../support/hung-server.ts";
import { startSpeechStandIn } from "./openai-speech-stand-in.ts";

const root = mkdtempSync(join(tmpdir(), "flowyte-whisper-"));
const standIn = startSpeechStandIn();
afterAll(() => {
  rmSync(root, { recursive: true, force: true });
  standIn.stop();
});

describe("the Whisper loader", () => {
  it("fails fast, naming the missing folder", () => {
    const dir = join(root, "absent", "whisper");
    expect(() => WhisperSpeechToText.fromDirectory(dir)).toThrow(`Whisper model not found: ${dir} does not exist`);
  });

  it("fails fast, naming the files it expected, when the folder holds no complete model", () => {
    const dir = join(root, "partial", "whisper");
    mkdirSync(join(dir, "sherpa-onnx-whisper-tiny"), { recursive: true });
    writeFileSync(join(dir, "sherpa-onnx-whisper-tiny", "tiny-encoder.int8.onnx"), "");
    expect(() => findWhisperModel(dir)).toThrow(`Whisper model not found in ${dir}: expected <name>-encoder.int8.onnx, <name>-decoder.int8.onnx and <name>-tokens.txt`);
  });

  it("finds a sherpa-onnx release unpacked as is, preferring the int8 files", () => {
    const dir = join(root, "complete", "whisper");
    const release = join(dir, "sherpa-onnx-whisper-tiny");
    mkdirSync(release, { recursive: true });
    for (const f of ["tiny-encoder.onnx", "tiny-encoder.int8.onnx", "tiny-decoder.onnx", "tiny-decoder.int8.onnx", "tiny-tokens.txt"]) writeFileSync(join(release, f), "");
    expect(findWhisperModel(dir)).toEqual({
      encoder: join(release, "tiny-encoder.int8.onnx"),
      decoder: join(release, "tiny-decoder.int8.onnx"),
      tokens: join(release, "tiny-tokens.txt"),
    });
  });

  it("leaves the appliance without a recogniser, saying why in one line, when there is neither a model nor a server", () => {
    const lines: string[] = [];
    const speech = createSpeech({ modelsDir: join(root, "absent"), speech: null }, createLogger("info", (l) => lines.push(l)));
    expect(speech.stt).toBeNull();
    const line = lines.filter((l) => l.includes("speech recognition:"));
    expect(line.length).toBe(1);
    expect(line[0]).toContain(`speech recognition: none; Whisper model not found: ${join(root, "absent", "whisper")} does not exist, and SPEECH_BASE_URL is not set`);
  });
});

describe("the streaming Zipformer loader", () => {
  const release = (name: string, files: string[]) => {
    const dir = join(root, `streaming-${name}`, "streaming");
    mkdirSync(join(dir, name), { recursive: true });
    for (const f of files) writeFileSync(join(dir, name, f), "");
    return dir;
  };
  const zipformer = ["encoder-epoch-99-avg-1.onnx", "encoder-epoch-99-avg-1.int8.onnx", "decoder-epoch-99-avg-1.onnx", "joiner-epoch-99-avg-1.onnx", "joiner-epoch-99-avg-1.int8.onnx", "tokens.txt"];

  it("finds a sherpa-onnx release unpacked as is, preferring the int8 files, with its language from the folder name", () => {
    const dir = release("sherpa-onnx-streaming-zipformer-en-20M-2023-02-17", zipformer);
    const folder = join(dir, "sherpa-onnx-streaming-zipformer-en-20M-2023-02-17");
    expect(findStreamingModel(dir)).toEqual({
      encoder: join(folder, "encoder-epoch-99-avg-1.int8.onnx"),
      decoder: join(folder, "decoder-epoch-99-avg-1.onnx"),
      joiner: join(folder, "joiner-epoch-99-avg-1.int8.onnx"),
      tokens: join(folder, "tokens.txt"),
      language: "en",
    });
  });

  it("fails fast, naming what it expected, for an incomplete model or a folder that does not say its language", () => {
    const partial = release("sherpa-onnx-streaming-zipformer-en-x", ["encoder-epoch-99-avg-1.onnx", "tokens.txt"]);
    expect(() => findStreamingModel(partial)).toThrow("expected encoder*.onnx, decoder*.onnx, joiner*.onnx and tokens.txt");
    const unnamed = release("my-model", zipformer);
    expect(() => findStreamingModel(unnamed)).toThrow("name the folder with its language");
  });

  it("is used beside Whisper when MODELS_DIR/streaming holds one, and is off, saying so once, when it does not", () => {
    const lines: string[] = [];
    const dir = release("sherpa-onnx-streaming-zipformer-de-2024", zipformer);
    const speech = createSpeech({ modelsDir: join(dir, ".."), speech: null }, createLogger("info", (l) => lines.push(l)));
    expect(speech.streaming?.language).toBe("de");
    expect(lines.filter((l) => l.includes("speech recognition while the caller speaks: Zipformer")).length).toBe(1);
    lines.length = 0;
    expect(createSpeech({ modelsDir: join(root, "absent"), speech: null }, createLogger("info", (l) => lines.push(l))).streaming).toBeNull();
    expect(lines.filter((l) => l.includes("speech recognition while the caller speaks: off")).length).toBe(1);
  });
});

describe("the OpenAI-compatible /audio/transcriptions client", () => {
  const tone = Float32Array.from({ length: 24000 }, (_, i) => 0.2 * Math.sin((2 * Math.PI * 300 * i) / 16000));

  it("sends the utterance as a 16 kHz WAV with model, language and verbose_json, and reads text, language and confidence", async () => {
    const stt = new OpenAiSpeechToText({ baseUrl: standIn.baseUrl, apiKey: "sk-test" });
    const result = await stt.transcribe(tone, { language: "en-US" });
    expect(result.text).toBe("I heard 1.5 seconds.");
    expect(result.language).toBe("en");
    expect(result.confidence).toBeCloseTo(Math.exp(-0.2), 5);
    expect(standIn.transcriptions.at(-1)).toEqual({ model: "whisper-1", language: "en", responseFormat: "verbose_json", sampleRate: 16000, samples: 24000, authorization: "Bearer sk-test" });
  });

  it("maps Whisper's language names back to codes and sends no language when none is asked", async () => {
    const stt = new OpenAiSpeechToText({ baseUrl: standIn.baseUrl, apiKey: null });
    expect((await stt.transcribe(tone, { language: "fr" })).language).toBe("fr");
    await stt.transcribe(tone);
    expect(standIn.transcriptions.at(-1)).toMatchObject({ language: null, authorization: null });
  });

  it("is the recogniser when SPEECH_BASE_URL is set", () => {
    const speech = createSpeech({ modelsDir: join(root, "absent"), speech: { baseUrl: standIn.baseUrl, apiKey: null, timeoutMs: 10_000 } }, createLogger("error"));
    expect(speech.stt?.engine).toBe("server");
  });

  it("reports the server's refusal with its status", async () => {
    const stt = new OpenAiSpeechToText({ baseUrl: `${standIn.baseUrl}/missing`, apiKey: null });
    await expect(stt.transcribe(tone)).rejects.toThrow("speech server answered 404 to /audio/transcriptions");
  });

  it("gives up on a server that accepts the connection and never answers, after SPEECH_TIMEOUT_MS", async () => {
    const hung = await startHungServer();
    try {
      const stt = new OpenAiSpeechToText({ baseUrl: `${hung.url}/v1`, apiKey: null, timeoutMs: 100 });
      await expect(stt.transcribe(tone)).rejects.toThrow("speech server did not answer /audio/transcriptions within 100 ms");
    } finally {
      await hung.stop();
    }
  });
});
