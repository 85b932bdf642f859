// Speech to text: Whisper through sherpa-onnx from MODELS_DIR/whisper, or an OpenAI-compatible
// /audio/transcriptions server.
import { existsSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { encodeWav } from "../media/wav.ts";
import { loadSherpa, type SherpaOfflineRecognizer } from "./sherpa.ts";
import { DEFAULT_SERVER_TIMEOUT_MS, type SpeechServer, type SpeechToText, type Transcription } from "./types.ts";

export interface WhisperModel {
  encoder: string;
  decoder: string;
  tokens: string;
}

/**
 * The Whisper files in `dir` or one folder below it (a sherpa-onnx release unpacked as is):
 * `<name>-encoder[.int8].onnx`, `<name>-decoder[.int8].onnx`, `<name>-tokens.txt`; int8 preferred.
 * Throws naming what is missing.
 */
export function findWhisperModel(dir: string): WhisperModel {
  if (!existsSync(dir)) throw new Error(`Whisper model not found: ${dir} does not exist`);
  const candidates = [dir, ...readdirSync(dir).map((f) => join(dir, f)).filter((p) => statSync(p).isDirectory())];
  for (const folder of candidates) {
    const files = readdirSync(folder);
    const pick = (suffix: string) => files.find((f) => f.endsWith(`-${suffix}.int8.onnx`)) ?? files.find((f) => f.endsWith(`-${suffix}.onnx`));
    const encoder = pick("encoder");
    const decoder = pick("decoder");
    const tokens = files.find((f) => f.endsWith("-tokens.txt"));
    if (encoder && decoder && tokens) return { encoder: join(folder, encoder), decoder: join(folder, decoder), tokens: join(folder, tokens) };
  }
  throw new Error(`Whisper model not found in ${dir}: expected <name>-encoder.int8.onnx, <name>-decoder.int8.onnx and <name>-tokens.txt (sherpa-onnx-whisper-tiny)`);
}

/** Whisper via sherpa-onnx's offline recogniser; one recogniser per requested language, built on first use. */
export class WhisperSpeechToText implements SpeechToText {
  readonly engine = "whisper";
  private readonly recognizers = new Map<string, Promise<SherpaOfflineRecognizer>>();

  constructor(readonly model: WhisperModel) {}

  /** Find the model in `dir` (throws naming what is missing) without loading it yet. */
  static fromDirectory(dir: string): WhisperSpeechToText {
    return new WhisperSpeechToText(findWhisperModel(dir));
  }

  async transcribe(samples16k: Float32Array, opts: { language?: string } = {}): Promise<Transcription> {
    // English-only models (tiny.en …) accept no language; multilingual ones detect it when given "".
    const language = this.model.encoder.includes(".en-") ? "" : (opts.language?.split("-")[0]?.toLowerCase() ?? "");
    const recognizer = await this.recognizer(language);
    const stream = recognizer.createStream();
    stream.acceptWaveform({ samples: samples16k, sampleRate: 16000 });
    const result = await recognizer.decodeAsync(stream);
    const detected = result.lang?.replace(/[<|>]/g, "") || language || null;
    return { text: result.text.trim(), language: detected, confidence: null };
  }

  private recognizer(language: string): Promise<SherpaOfflineRecognizer> {
    let r = this.recognizers.get(language);
    if (!r) {
      r = loadSherpa().OfflineRecognizer.createAsync({
        featConfig: { sampleRate: 16000, featureDim: 80 },
        modelConfig: { whisper: { encoder: this.model.encoder, decoder: this.model.decoder, language, task: "transcribe" }, tokens: this.model.tokens, numThreads: 1, provider: "cpu", debug: 0 },
      });
      this.recognizers.set(language, r);
      r.catch(() => this.recognizers.delete(language));
    }
    return r;
  }
}

/** Whisper's language names, as verbose_json reports them, for the languages agents speak. */
const LANGUAGE_CODES = new Map(
  ["ar", "bg", "bn", "ca", "cs", "cy", "da", "de", "el", "en", "es", "et", "fa", "fi", "fr", "he", "hi", "hr", "hu", "id", "is", "it", "ja", "ka", "kk", "ko", "lt", "lv", "ms", "ne", "nl", "no", "pl", "pt", "ro", "ru", "sk", "sl", "sr", "sv", "sw", "ta", "te", "th", "tr", "uk", "ur", "vi", "zh"].map((code) => [
    new Intl.DisplayNames(["en"], { type: "language" }).of(code)!.toLowerCase(),
    code,
  ]),
);

/**
 * An OpenAI-compatible speech server's POST /audio/transcriptions (multipart: a 16-bit WAV `file`,
 * `model`, optional `language`, `response_format=verbose_json`).
 */
export class OpenAiSpeechToText implements SpeechToText {
  readonly engine = "server";

  constructor(
    private readonly server: SpeechServer,
    private readonly model = "whisper-1",
  ) {}

  async transcribe(samples16k: Float32Array, opts: { language?: string } = {}): Promise<Transcription> {
    const form = new FormData();
    form.append("file", new Blob([encodeWav(samples16k, 16000)], { type: "audio/wav" }), "speech.wav");
    form.append("model", this.model);
    form.append("response_format", "verbose_json");
    const asked = opts.language?.split("-")[0]?.toLowerCase();
    if (asked) form.append("language", asked);
    const timeoutMs = this.server.timeoutMs ?? DEFAULT_SERVER_TIMEOUT_MS;
    let body: { text?: string; language?: string; segments?: { avg_logprob?: number }[] };
    try {
      const res = await fetch(`${this.server.baseUrl}/audio/transcriptions`, {
        method: "POST",
        headers: this.server.apiKey ? { authorization: `Bearer ${this.server.apiKey}` } : {},
        body: form,
        signal: AbortSignal.timeout(timeoutMs),
      });
      if (!res.ok) throw new Error(`speech server answered ${res.status} to /audio/transcriptions: ${(await res.text()).slice(0, 200)}`);
      body = (await res.json()) as typeof body;
    } catch (err) {
      if ((err as Error).name === "TimeoutError") throw new Error(`speech server did not answer /audio/transcriptions within ${timeoutMs} ms`);
      throw err;
    }
    const reported = body.language?.toLowerCase();
    const language = reported ? (LANGUAGE_CODES.get(reported) ?? reported) : (asked ?? null);
    const logprobs = (body.segments ?? []).map((s) => s.avg_logprob).filter((p): p is number => typeof p === "number");
    const confidence = logprobs.length ? Math.exp(logprobs.reduce((a, b) => a + b, 0) / logprobs.length) : null;
    return { text: (body.text ?? "").trim(), language, confidence };
  }
}
