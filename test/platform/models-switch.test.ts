// A model landing while the server runs: the running parts switch to it without a restart (the recognizer, the
// voices, the embedder), as the background fetch at first start asks them to.
import { afterAll, describe, expect, it } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createHashingEmbedder, swappableEmbedder } from "../../src/knowledge/embedders/index.ts";
import { createLogger } from "../../src/platform/log.ts";
import { createSpeech, useInstalledSpeech } from "../../voice/speech/index.ts";

const root = mkdtempSync(join(tmpdir(), "flowyte-models-switch-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

function put(path: string, content = "x") {
  mkdirSync(join(path, ".."), { recursive: true });
  writeFileSync(path, content);
}

describe("switching to a model fetched while the server runs", () => {
  it("gives calls opened afterwards the Whisper recognizer and lists the new Piper voice", () => {
    const modelsDir = join(root, "models");
    const lines: string[] = [];
    const log = createLogger("info", (l) => lines.push(l));
    const speech = createSpeech({ modelsDir, speech: null }, log, { packagedSilero: null, languages: ["en"] });
    expect(speech.stt).toBeNull();
    expect(speech.hasVoice("piper:en_US-kristin-medium")).toBe(false);

    for (const f of ["tiny-encoder.int8.onnx", "tiny-decoder.int8.onnx", "tiny-tokens.txt"]) put(join(modelsDir, "whisper/sherpa-onnx-whisper-tiny", f));
    useInstalledSpeech(speech, { modelsDir, speech: null }, log, "whisper");
    expect(speech.stt?.engine).toBe("whisper");
    expect(lines.at(-1)).toContain("speech recognition: Whisper");
    expect(lines.at(-1)).toContain("calls opened from now on use it");

    for (const f of ["en_US-kristin-medium.onnx", "tokens.txt", "espeak-ng-data/phontab"]) put(join(modelsDir, "piper/en_US-kristin-medium-int8", f));
    useInstalledSpeech(speech, { modelsDir, speech: null }, log, "piper");
    expect(speech.hasVoice("piper:en_US-kristin-medium")).toBe(true);
  });

  it("leaves a configured speech server in charge of recognition", () => {
    const modelsDir = join(root, "models-server");
    for (const f of ["tiny-encoder.int8.onnx", "tiny-decoder.int8.onnx", "tiny-tokens.txt"]) put(join(modelsDir, "whisper/sherpa-onnx-whisper-tiny", f));
    const config = { modelsDir, speech: { baseUrl: "http://127.0.0.1:9", apiKey: null, timeoutMs: 1000 } };
    const speech = createSpeech(config, createLogger("error"), { packagedSilero: null, languages: ["en"] });
    const before = speech.stt;
    useInstalledSpeech(speech, config, createLogger("error"), "whisper");
    expect(speech.stt).toBe(before);
    expect(speech.stt?.engine).not.toBe("whisper");
  });

  it("embeds, labels and sizes vectors by the embedder switched to", async () => {
    const first = createHashingEmbedder();
    const embedder = swappableEmbedder(first);
    expect(embedder.model).toBe(first.model);
    const next = { model: "local-test", dimensions: 3, embed: async (texts: string[]) => texts.map(() => [1, 0, 0]) };
    embedder.use(next);
    expect([embedder.model, embedder.dimensions]).toEqual(["local-test", 3]);
    expect(await embedder.embed(["a", "b"])).toEqual([
      [1, 0, 0],
      [1, 0, 0],
    ]);
  });
});
