// The speech engines behind interfaces, so the call session never knows which one runs:
// VAD (16 kHz frames → speech start/end), STT (a 16 kHz utterance → text), TTS (text → samples).

/** Decided by one `push`: `speech_start` when speech is confirmed, `speech_end` with the whole utterance. */
export type VadEvent =
  | {
      type: "speech_start";
      /** Stream time of the decision (ms since the detector's first sample): when barge-in may act. */
      atMs: number;
    }
  | {
      type: "speech_end";
      /** Where the utterance starts and ends in the stream, in ms. */
      startMs: number;
      endMs: number;
      /** The utterance at 16 kHz, ready for `SpeechToText.transcribe` (a copy the caller owns). */
      samples: Float32Array;
    };

export interface VoiceActivityDetector {
  /** 16 kHz mono in [-1, 1], any chunk length. Returns the events it decided (a shared empty array when none). */
  push(samples16k: Float32Array): readonly VadEvent[];
  /** End of stream: ends an utterance in progress. */
  flush(): readonly VadEvent[];
  /** Whether an utterance is in progress. */
  readonly speaking: boolean;
  /** Forget the stream (ms restart at 0). */
  reset(): void;
  /** Release the detector (a Silero one goes back to its pool). */
  close(): void;
}

export type VadEngine = "silero" | "energy";

/** Makes one detector per call; they do not share state. */
export interface VadFactory {
  readonly engine: VadEngine;
  create(): VoiceActivityDetector;
  /** Releases what the factory holds beyond its detectors (worker threads), when the server stops. */
  close?(): Promise<void>;
}

/** SPEECH_TIMEOUT_MS's default. */
export const DEFAULT_SERVER_TIMEOUT_MS = 10_000;

/** An OpenAI-compatible speech server (SPEECH_BASE_URL, ending in /v1). */
export interface SpeechServer {
  baseUrl: string;
  apiKey: string | null;
  /** A request not answered by then fails (SPEECH_TIMEOUT_MS): the call asks the caller again, or speaks with espeak-ng. */
  timeoutMs?: number;
}

export interface Transcription {
  text: string;
  /** BCP-47 primary subtag as detected (or as asked), null when the engine does not say. */
  language: string | null;
  /** 0–1, null when the engine gives no score (sherpa-onnx Whisper does not). */
  confidence: number | null;
}

export interface SpeechToText {
  readonly engine: string;
  transcribe(samples16k: Float32Array, opts?: { language?: string }): Promise<Transcription>;
}

/** Transcribes while the caller speaks, so the text is ready the moment the turn ends. */
export interface StreamingSpeechToText {
  readonly engine: string;
  /** Primary subtag of the one language the model hears. */
  readonly language: string;
  open(): TranscriptionStream;
  /** Ends its threads (when the server stops). */
  close?(): Promise<void>;
}

export interface TranscriptionStream {
  /** 16 kHz mono in [-1, 1], as it arrives. */
  accept(samples16k: Float32Array): void;
  /** Ends the input: the text of everything accepted. */
  finish(): Promise<Transcription>;
  /** Drops the stream (the call ended). */
  cancel(): void;
}

export interface SynthesisOptions {
  /** A catalog id (`piper:…`, `espeak:…`, `server:…`); the default voice for the language when absent. */
  voiceId?: string;
  language?: string;
  /** 1 = the voice's normal rate; clamped to the voice's speedMin–speedMax. */
  speed?: number;
  /** The agent lexicon's pronunciations: word or phrase → how to say it. */
  pronunciations?: Record<string, string>;
}

export interface SynthesizedSpeech {
  /** Mono in [-1, 1]. */
  samples: Float32Array;
  sampleRate: number;
}

export interface TextToSpeech {
  synthesize(text: string, opts?: SynthesisOptions): Promise<SynthesizedSpeech>;
  voices(): VoiceInfo[];
}

export type VoiceEngine = "piper" | "espeak" | "server";
export type VoiceTier = "budget" | "standard" | "premium";

/** A voice as the API's Voice object describes it, limited to what these engines can honour. */
export interface VoiceInfo {
  id: string;
  name: string;
  engine: VoiceEngine;
  /** BCP-47, e.g. en-US. */
  language: string;
  supportedLanguages: string[];
  gender: "female" | "male" | "neutral" | null;
  age: "young" | "middle_aged" | "old" | null;
  accent: string | null;
  /** ISO 3166 region or UN M.49 area of the accent (US, GB, 029 …). */
  region: string | null;
  category: "neural" | "synthetic" | "server";
  /** Mood and quality words (the `tone` filter and facet). */
  descriptorTags: string[];
  useCases: string[];
  tier: VoiceTier;
  description: string;
  capabilities: {
    stability: boolean;
    similarityBoost: boolean;
    style: boolean;
    speakerBoost: boolean;
    speed: boolean;
    speedMin: number;
    speedMax: number;
    ssml: boolean;
  };
  previewUrl: string | null;
  popularityScore: number;
  featured: boolean;
  verifiedLanguages: { language: string; modelId: string; accent: string | null; locale: string; previewUrl: string | null }[];
  defaultSettings: { stability: number; similarityBoost: number; style: number; useSpeakerBoost: boolean; speed: number };
}
