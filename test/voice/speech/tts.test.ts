import { afterAll, describe, expect, it } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createLogger } from "../../../src/platform/log.ts";
import {
  applyPronunciations,
  createSpeech,
  EspeakTextToSpeech,
  findPiperVoice,
  listEspeakVoices,
  OpenAiTextToSpeech,
  PiperTextToSpeech,
  VoiceRouter,
} from "../../../voice/speech/index.ts";
import { startSpeechStandIn } from "./openai-speech-stand-in.ts";

const root = mkdtempSync(join(tmpdir(), "flowyte-piper-"));
const standIn = startSpeechStandIn({ voices: ["af_bella", "am_adam"] });
const silentServer = startSpeechStandIn({ voices: null });
const brokenServer = startSpeechStandIn({ voices: ["af_bella"], speechStatus: 500 });
const slowServer = startSpeechStandIn({ voices: ["af_bella"], speechDelayMs: 2000 });
afterAll(() => {
  rmSync(root, { recursive: true, force: true });
  standIn.stop();
  silentServer.stop();
  brokenServer.stop();
  slowServer.stop();
});

const espeakVoices = listEspeakVoices();
const hasEspeak = espeakVoices.length > 0;
if (!hasEspeak) console.warn("skipping espeak-ng synthesis tests: espeak-ng is not installed (apt-get install espeak-ng)");

function rms(samples: Float32Array): number {
  let sum = 0;
  for (const s of samples) sum += s * s;
  return Math.sqrt(sum / samples.length);
}

describe("lexicon pronunciations", () => {
  it("replace whole words and phrases in any case, longest first, and leave the rest alone", () => {
    const lexicon = { HVAC: "H V A C", "Acme Corp": "Ack-me Corporation", Acme: "Ack-me", "Dr.": "Doctor" };
    expect(applyPronunciations("Call acme corp about your hvac. Acme's HVACs. Dr. Who.", lexicon)).toBe("Call Ack-me Corporation about your H V A C. Ack-me's HVACs. Doctor Who.");
    expect(applyPronunciations("nothing to change", {})).toBe("nothing to change");
    expect(applyPronunciations("Ärger mit Öl", { öl: "Oel" })).toBe("Ärger mit Oel");
  });
});

describe("espeak-ng voices", () => {
  it.skipIf(!hasEspeak)("lists the voices for the agent languages, each with a female variant, one featured per language", () => {
    const tts = new EspeakTextToSpeech(espeakVoices, ["en", "fr", "zh"]);
    const ids = tts.voices().map((v) => v.id);
    expect(ids).toContain("espeak:en-us");
    expect(ids).toContain("espeak:en-us+f3");
    expect(ids).toContain("espeak:fr-fr");
    expect(ids).not.toContain("espeak:de");
    const mandarin = tts.voices().find((v) => v.id === "espeak:cmn")!;
    expect(mandarin.language).toBe("zh");
    const us = tts.voices().find((v) => v.id === "espeak:en-us")!;
    expect(us).toMatchObject({ engine: "espeak", language: "en-US", region: "US", accent: "America", gender: "male", tier: "budget", category: "synthetic" });
    expect(tts.voices().find((v) => v.id === "espeak:en-us+f3")!.gender).toBe("female");
    for (const lang of ["en", "fr", "zh"]) expect(tts.voices().filter((v) => v.featured && v.language.split("-")[0] === lang).length).toBe(1);
  });

  it.skipIf(!hasEspeak)("synthesizes real speech at espeak-ng's 22,050 Hz, faster when asked", async () => {
    const tts = new EspeakTextToSpeech(espeakVoices, ["en"]);
    const normal = await tts.synthesize("Thank you for calling. How can I help you today?", { voiceId: "espeak:en-us" });
    expect(normal.sampleRate).toBe(22050);
    const seconds = normal.samples.length / normal.sampleRate;
    expect(seconds).toBeGreaterThan(2);
    expect(seconds).toBeLessThan(6);
    expect(rms(normal.samples)).toBeGreaterThan(0.02);
    const fast = await tts.synthesize("Thank you for calling. How can I help you today?", { voiceId: "espeak:en-us", speed: 2 });
    expect(fast.samples.length).toBeLessThan(normal.samples.length * 0.7);
  });

  it("offers no voices, and says so once, when the binary is missing", () => {
    const lines: string[] = [];
    const speech = createSpeech({ modelsDir: join(root, "none"), speech: null }, createLogger("info", (l) => lines.push(l)), { espeakBinary: "/nonexistent/espeak-ng" });
    expect(speech.tts.voices()).toEqual([]);
    expect(lines.filter((l) => l.includes("/nonexistent/espeak-ng is not installed")).length).toBe(1);
  });
});

describe("the Piper loader", () => {
  it("fails fast, naming the missing folder or files", () => {
    expect(() => findPiperVoice(join(root, "absent"))).toThrow(`Piper voice not found: ${join(root, "absent")} does not exist`);
    const partial = join(root, "piper", "en_US-amy-medium");
    mkdirSync(partial, { recursive: true });
    writeFileSync(join(partial, "en_US-amy-medium.onnx"), "");
    expect(() => findPiperVoice(partial)).toThrow(`Piper voice in ${partial} is incomplete: missing tokens.txt, espeak-ng-data/`);
  });

  it("lists complete voice folders as piper:<voice> and reports incomplete ones", () => {
    const complete = join(root, "piper", "vits-piper-en_GB-alan-low");
    mkdirSync(join(complete, "espeak-ng-data"), { recursive: true });
    writeFileSync(join(complete, "en_GB-alan-low.onnx"), "");
    writeFileSync(join(complete, "tokens.txt"), "");
    const skipped: string[] = [];
    const piper = PiperTextToSpeech.fromDirectory(join(root, "piper"), (r) => skipped.push(r));
    expect(piper.voices().map((v) => v.id)).toEqual(["piper:en_GB-alan-low"]);
    expect(piper.voices()[0]).toMatchObject({ name: "Alan (en-GB, low)", language: "en-GB", region: "GB", accent: "United Kingdom", gender: "male", tier: "standard", engine: "piper" });
    expect(skipped).toEqual([expect.stringContaining("en_US-amy-medium is incomplete")]);
  });

  it("refuses to synthesize with a voice that is not installed", async () => {
    await expect(new PiperTextToSpeech([]).synthesize("hi", { voiceId: "piper:en_US-amy-medium" })).rejects.toThrow("Piper voice en_US-amy-medium is not installed");
  });
});

describe("the OpenAI-compatible /audio/speech client", () => {
  it("lists the server's voices from GET /audio/voices", async () => {
    const tts = new OpenAiTextToSpeech({ baseUrl: standIn.baseUrl, apiKey: null }, ["en", "de"]);
    expect(await tts.discover()).toBe("listed");
    expect(tts.voices().map((v) => v.id)).toEqual(["server:af_bella", "server:am_adam"]);
    expect(tts.voices()[0]).toMatchObject({ tier: "premium", supportedLanguages: ["en", "de"] });
  });

  it("falls back to OpenAI's built-in voice names when the server lists none", async () => {
    const tts = new OpenAiTextToSpeech({ baseUrl: silentServer.baseUrl, apiKey: null }, ["en"]);
    expect(await tts.discover()).toBe("built-in");
    expect(tts.voices().map((v) => v.id)).toContain("server:alloy");
  });

  it("asks for WAV with the voice, model and speed, and decodes the answer", async () => {
    const tts = new OpenAiTextToSpeech({ baseUrl: standIn.baseUrl, apiKey: null }, ["en"]);
    await tts.discover();
    const audio = await tts.synthesize("Hello", { voiceId: "server:am_adam", speed: 1.25 });
    expect(audio.sampleRate).toBe(24000);
    expect(audio.samples.length).toBe(5 * 1200);
    expect(standIn.syntheses.at(-1)).toEqual({ model: "tts-1", input: "Hello", voice: "am_adam", response_format: "wav", speed: 1.25 });
  });
});

describe("the voice router", () => {
  it("applies the lexicon before synthesis and picks the engine from the voice id", async () => {
    const server = new OpenAiTextToSpeech({ baseUrl: standIn.baseUrl, apiKey: null }, ["en"]);
    await server.discover();
    const router = new VoiceRouter({ server });
    await router.synthesize("Your HVAC visit", { voiceId: "server:af_bella", pronunciations: { hvac: "H V A C" } });
    expect(standIn.syntheses.at(-1)).toMatchObject({ input: "Your H V A C visit", voice: "af_bella" });
    await expect(router.synthesize("hi", { voiceId: "piper:en_US-amy-medium" })).rejects.toThrow("voice piper:en_US-amy-medium is not installed");
  });

  it.skipIf(!hasEspeak)("chooses a default voice for the language: the server's, else espeak-ng's preferred one", async () => {
    const espeak = new EspeakTextToSpeech(espeakVoices, ["en", "fr"]);
    expect(new VoiceRouter({ espeak }).defaultVoice("fr")?.id).toBe("espeak:fr-fr");
    expect(new VoiceRouter({ espeak }).defaultVoice("en-US")?.id).toBe("espeak:en-us");
    // A bare `en` is US English (espeak-ng itself prefers British); `en-GB` asks for British.
    expect(new VoiceRouter({ espeak }).defaultVoice("en")?.id).toBe("espeak:en-us");
    expect(new VoiceRouter({ espeak }).defaultVoice("en-GB")?.id).toMatch(/^espeak:en-gb/);
    expect(new VoiceRouter({ espeak }).defaultVoice("ja")).toBeNull();
    const server = new OpenAiTextToSpeech({ baseUrl: standIn.baseUrl, apiKey: null }, ["en", "fr"]);
    await server.discover();
    expect(new VoiceRouter({ espeak, server }).defaultVoice("fr")?.engine).toBe("server");
    const audio = await new VoiceRouter({ espeak }).synthesize("Bonjour", { language: "fr" });
    expect(audio.sampleRate).toBe(22050);
  });
});

describe("the voice router's stand-in voice", () => {
  const warnings = () => {
    const lines: string[] = [];
    return { lines, log: createLogger("warn", (l) => lines.push(l)) };
  };
  const sentences = ["Thank you for calling.", "How can I help you today?", "One moment please."];

  it.skipIf(!hasEspeak)("speaks a voice that is not installed with espeak-ng's voice for the language, warning once", async () => {
    const { lines, log } = warnings();
    const router = new VoiceRouter({ espeak: new EspeakTextToSpeech(espeakVoices, ["en", "es"]) }, { log });
    for (const text of sentences) {
      const audio = await router.synthesize(text, { voiceId: "piper:en_US-amy-medium", language: "en-US" });
      expect(audio.sampleRate).toBe(22050);
      expect(rms(audio.samples)).toBeGreaterThan(0.02);
    }
    expect(lines.length).toBe(1);
    expect(lines[0]).toContain("WARN");
    expect(lines[0]).toContain("voice piper:en_US-amy-medium is not installed; speaking with espeak-ng voice espeak:en-us instead");
    await router.synthesize("Hola", { voiceId: "piper:es_ES-davefx-medium", language: "es" });
    expect(lines.length).toBe(2);
    expect(lines[1]).toContain("voice piper:es_ES-davefx-medium is not installed; speaking with espeak-ng voice espeak:es instead");
  });

  it.skipIf(!hasEspeak)("speaks with espeak-ng when the speech server fails, warning once and passing the server over for a while", async () => {
    const { lines, log } = warnings();
    const server = new OpenAiTextToSpeech({ baseUrl: brokenServer.baseUrl, apiKey: null }, ["en"]);
    await server.discover();
    let now = 0;
    const router = new VoiceRouter({ server, espeak: new EspeakTextToSpeech(espeakVoices, ["en"]) }, { log, retryAfterMs: 30_000, now: () => now });
    // An `en` agent's stand-in is US English (espeak-ng itself would prefer British).
    const english = "espeak:en-us";
    for (const text of sentences) {
      const audio = await router.synthesize(text, { voiceId: "server:af_bella", language: "en" });
      expect(audio.sampleRate).toBe(22050);
      expect(rms(audio.samples)).toBeGreaterThan(0.02);
    }
    // Asked once: the next sentences went straight to espeak-ng instead of waiting on the server again.
    expect(brokenServer.syntheses.map((s) => s.input)).toEqual(["Thank you for calling."]);
    expect(lines.length).toBe(1);
    expect(lines[0]).toContain("voice server:af_bella failed: speech server answered 500 to /audio/speech");
    expect(lines[0]).toContain(`speaking with espeak-ng voice ${english} instead`);
    now += 30_000;
    await router.synthesize("Still there?", { voiceId: "server:af_bella", language: "en" });
    expect(brokenServer.syntheses.length).toBe(2);
    expect(lines.length).toBe(1);
  });

  it.skipIf(!hasEspeak)("speaks with espeak-ng when the speech server does not answer in time", async () => {
    const { lines, log } = warnings();
    const server = new OpenAiTextToSpeech({ baseUrl: slowServer.baseUrl, apiKey: null, timeoutMs: 200 }, ["en"]);
    await server.discover();
    const router = new VoiceRouter({ server, espeak: new EspeakTextToSpeech(espeakVoices, ["en"]) }, { log });
    const audio = await router.synthesize("Hello", { voiceId: "server:af_bella", language: "en" });
    expect(audio.sampleRate).toBe(22050);
    expect(lines).toEqual([expect.stringContaining("voice server:af_bella failed: speech server did not answer /audio/speech within 200 ms")]);
  });

  it.skipIf(!hasEspeak)("uses any espeak-ng voice when none speaks the language, and warns through the logger createSpeech was given", async () => {
    const lines: string[] = [];
    const speech = createSpeech({ modelsDir: join(root, "none"), speech: null }, createLogger("warn", (l) => lines.push(l)), { languages: ["en"] });
    const before = lines.length;
    const audio = await speech.tts.synthesize("Hello", { voiceId: "piper:ja_JP-nobody-medium", language: "ja" });
    expect(audio.sampleRate).toBe(22050);
    // No espeak-ng voice speaks Japanese: English stands in, US English unless the agent says otherwise.
    const english = "espeak:en-us";
    expect(lines.slice(before)).toEqual([expect.stringContaining(`voice piper:ja_JP-nobody-medium is not installed; speaking with espeak-ng voice ${english} instead`)]);
  });

  it.skipIf(!hasEspeak)("fails only when espeak-ng itself fails", async () => {
    const broken = new EspeakTextToSpeech(espeakVoices, ["en"], "/nonexistent/espeak-ng");
    const router = new VoiceRouter({ espeak: broken }, { log: createLogger("error") });
    await expect(router.synthesize("Hello", { voiceId: "espeak:en-us" })).rejects.toThrow();
    await expect(router.synthesize("Hello", { voiceId: "piper:en_US-amy-medium", language: "en" })).rejects.toThrow();
  });

  it("fails, naming the voice, when there is no espeak-ng to stand in", async () => {
    const server = new OpenAiTextToSpeech({ baseUrl: brokenServer.baseUrl, apiKey: null }, ["en"]);
    await server.discover();
    const router = new VoiceRouter({ server, espeak: null }, { log: createLogger("error") });
    await expect(router.synthesize("Hello", { voiceId: "piper:en_US-amy-medium" })).rejects.toThrow(
      "voice piper:en_US-amy-medium is not installed, and no espeak-ng voice can stand in (apt-get install espeak-ng)",
    );
    await expect(router.synthesize("Hello", { voiceId: "server:af_bella" })).rejects.toThrow("voice server:af_bella failed: speech server answered 500 to /audio/speech");
  });
});
