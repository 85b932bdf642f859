// Voice activity detection on 16 kHz call audio: Silero (through sherpa-onnx) when its model is in
// MODELS_DIR/vad/silero_vad.onnx, else an energy detector with an adaptive noise floor.
import { existsSync } from "node:fs";
import { join } from "node:path";
import { loadSherpa, type SherpaVad } from "./sherpa.ts";
import type { VadEvent, VadFactory, VoiceActivityDetector } from "./types.ts";

const RATE = 16000;
const NO_EVENTS: readonly VadEvent[] = Object.freeze([]);

export interface VadOptions {
  /** Speech probability (Silero) above which a window counts as speech. */
  threshold?: number;
  /** Speech needed before `speech_start`: short enough for barge-in, long enough to ignore a click. */
  minSpeechMs?: number;
  /** Silence that ends an utterance. */
  minSilenceMs?: number;
  /** An utterance longer than this is cut into pieces. */
  maxSpeechMs?: number;
}

const DEFAULTS: Required<VadOptions> = { threshold: 0.5, minSpeechMs: 50, minSilenceMs: 300, maxSpeechMs: 30_000 };

export const sileroModelPath = (modelsDir: string) => join(modelsDir, "vad", "silero_vad.onnx");

/** Silero windows are 512 samples (32 ms) at 16 kHz. */
const WINDOW = 512;
/**
 * Outside speech, windows quieter than this (mean square of -50 dBFS) skip the model: a line that is
 * silent or hissing cannot start an utterance, and the model is most of a call's media CPU.
 */
const SILENCE_GATE = 10 ** (-50 / 10) / 2;

/**
 * Silero detectors, pooled: building one loads an ONNX session (~50 ms, ~10 MB), which must not happen on
 * the media path of a running call. `close()` resets a detector and returns it to the pool.
 */
export class SileroVadFactory implements VadFactory {
  readonly engine = "silero" as const;
  private readonly pool: SherpaVad[] = [];
  private readonly config: unknown;

  constructor(
    readonly modelPath: string,
    private readonly options: VadOptions = {},
  ) {
    // sherpa-onnx's Vad does not throw on a missing model: it logs and returns a handle that never detects.
    if (!existsSync(modelPath)) throw new Error(`Silero VAD model not found at ${modelPath}`);
    const o = { ...DEFAULTS, ...options };
    this.config = {
      sileroVad: { model: modelPath, threshold: o.threshold, minSpeechDuration: o.minSpeechMs / 1000, minSilenceDuration: o.minSilenceMs / 1000, maxSpeechDuration: o.maxSpeechMs / 1000, windowSize: WINDOW },
      sampleRate: RATE,
      numThreads: 1,
      debug: 0,
    };
  }

  /** Build detectors ahead of calls (at start, off the media path). */
  warm(count: number): void {
    while (this.pool.length < count) this.pool.push(this.build());
  }

  create(): VoiceActivityDetector {
    return new SileroVad(this.pool.pop() ?? this.build(), (vad) => this.pool.push(vad));
  }

  private build(): SherpaVad {
    return new (loadSherpa().Vad)(this.config, Math.ceil(((this.options.maxSpeechMs ?? DEFAULTS.maxSpeechMs) / 1000) * 1.5));
  }
}

class SileroVad implements VoiceActivityDetector {
  private readonly window = new Float32Array(WINDOW);
  private filled = 0;
  private consumed = 0;
  /** Samples given to the model; differs from `consumed` by the gated windows. */
  private fed = 0;
  /** Where gating resumed: the model's sample index → samples skipped before it, to place segments in the stream. */
  private resumes: { fed: number; skipped: number }[] = [];
  private skipping = false;
  private inSpeech = false;
  private events: VadEvent[] = [];

  constructor(
    private vad: SherpaVad | null,
    private readonly release: (vad: SherpaVad) => void,
  ) {}

  get speaking(): boolean {
    return this.inSpeech;
  }

  push(samples: Float32Array): readonly VadEvent[] {
    const vad = this.vad;
    if (!vad) throw new Error("VAD used after close()");
    let offset = 0;
    while (offset < samples.length) {
      const n = Math.min(WINDOW - this.filled, samples.length - offset);
      this.window.set(samples.subarray(offset, offset + n), this.filled);
      this.filled += n;
      offset += n;
      if (this.filled < WINDOW) break;
      this.filled = 0;
      this.consumed += WINDOW;
      if (!this.inSpeech && meanSquare(this.window) < SILENCE_GATE) {
        this.skipping = true;
        continue;
      }
      if (this.skipping) {
        this.skipping = false;
        this.resumes.push({ fed: this.fed, skipped: this.consumed - WINDOW - this.fed });
        if (this.resumes.length > 256) this.resumes.shift();
      }
      vad.acceptWaveform(this.window);
      this.fed += WINDOW;
      if (!this.inSpeech && vad.isDetected()) this.start();
      this.collect(vad);
    }
    return this.take();
  }

  flush(): readonly VadEvent[] {
    const vad = this.vad;
    if (!vad) return NO_EVENTS;
    vad.flush();
    this.collect(vad);
    return this.take();
  }

  reset(): void {
    this.vad?.reset();
    this.filled = 0;
    this.consumed = 0;
    this.fed = 0;
    this.resumes = [];
    this.skipping = false;
    this.inSpeech = false;
    this.events = [];
  }

  close(): void {
    if (!this.vad) return;
    this.vad.reset();
    this.release(this.vad);
    this.vad = null;
  }

  private start(): void {
    this.inSpeech = true;
    this.events.push({ type: "speech_start", atMs: (this.consumed * 1000) / RATE });
  }

  private collect(vad: SherpaVad): void {
    while (!vad.isEmpty()) {
      const segment = vad.front(false);
      if (!this.inSpeech) this.start();
      const start = segment.start + this.skippedBefore(segment.start);
      this.events.push({
        type: "speech_end",
        startMs: (start * 1000) / RATE,
        endMs: ((start + segment.samples.length) * 1000) / RATE,
        samples: segment.samples, // front(false) copies into memory the caller owns
      });
      vad.pop();
      this.inSpeech = vad.isDetected();
    }
  }

  /** Gating happens only outside speech, so a whole segment lies after one resume point. */
  private skippedBefore(fedIndex: number): number {
    let skipped = 0;
    for (const r of this.resumes) if (r.fed <= fedIndex) skipped = r.skipped;
    return skipped;
  }

  private take(): readonly VadEvent[] {
    if (!this.events.length) return NO_EVENTS;
    const out = this.events;
    this.events = [];
    return out;
  }
}

function meanSquare(samples: Float32Array): number {
  let sum = 0;
  for (let i = 0; i < samples.length; i++) sum += samples[i]! * samples[i]!;
  return sum / samples.length;
}

/** 20 ms analysis frames. */
const FRAME = 320;

/**
 * Energy VAD: a 20 ms frame is speech when it stands 12 dB above the noise floor and above -50 dBFS.
 * The floor is the quietest frame of the last 1.5 s (minimum statistics): steady line noise is learned
 * within a frame or two, and the pauses between words keep it down during speech. Needs no model;
 * weaker than Silero on noisy lines.
 */
export class EnergyVadFactory implements VadFactory {
  readonly engine = "energy" as const;
  constructor(private readonly options: VadOptions = {}) {}
  create(): VoiceActivityDetector {
    return new EnergyVad({ ...DEFAULTS, ...this.options });
  }
}

const SPEECH_ABOVE_FLOOR_DB = 12;
const MIN_SPEECH_DBFS = -50;
/** Frames of history for the noise floor (1.5 s). */
const FLOOR_FRAMES = 75;

class EnergyVad implements VoiceActivityDetector {
  private readonly frame = new Float32Array(FRAME);
  private filled = 0;
  private frames = 0;
  private readonly levels = new Float32Array(FLOOR_FRAMES);
  private speechRun = 0;
  private silenceRun = 0;
  private inSpeech = false;
  private startFrame = 0;
  /** Audio since the candidate start, kept until the utterance ends. */
  private utterance: Float32Array[] = [];
  private events: VadEvent[] = [];
  private readonly startFrames: number;
  private readonly endFrames: number;
  private readonly maxFrames: number;

  constructor(options: Required<VadOptions>) {
    this.startFrames = Math.max(1, Math.round(options.minSpeechMs / 20));
    this.endFrames = Math.max(1, Math.round(options.minSilenceMs / 20));
    this.maxFrames = Math.round(options.maxSpeechMs / 20);
  }

  get speaking(): boolean {
    return this.inSpeech;
  }

  push(samples: Float32Array): readonly VadEvent[] {
    let offset = 0;
    while (offset < samples.length) {
      const n = Math.min(FRAME - this.filled, samples.length - offset);
      this.frame.set(samples.subarray(offset, offset + n), this.filled);
      this.filled += n;
      offset += n;
      if (this.filled < FRAME) break;
      this.filled = 0;
      this.analyse();
    }
    return this.take();
  }

  flush(): readonly VadEvent[] {
    if (this.inSpeech) this.end(this.frames);
    this.utterance = [];
    this.speechRun = 0;
    return this.take();
  }

  reset(): void {
    this.filled = 0;
    this.frames = 0;
    this.speechRun = 0;
    this.silenceRun = 0;
    this.inSpeech = false;
    this.utterance = [];
    this.events = [];
  }

  close(): void {
    this.reset();
  }

  private analyse(): void {
    let sum = 0;
    for (let i = 0; i < FRAME; i++) sum += this.frame[i]! * this.frame[i]!;
    const db = 10 * Math.log10(sum / FRAME + 1e-12) + 3; // +3: a full-scale sine reads 0 dBFS
    const index = this.frames++;
    this.levels[index % FLOOR_FRAMES] = db;
    let floor = db;
    for (let i = Math.min(this.frames, FLOOR_FRAMES) - 1; i >= 0; i--) if (this.levels[i]! < floor) floor = this.levels[i]!;
    const voiced = db > MIN_SPEECH_DBFS && db > floor + SPEECH_ABOVE_FLOOR_DB;

    if (voiced || this.inSpeech || this.speechRun > 0) this.utterance.push(this.frame.slice());
    if (voiced) {
      if (this.speechRun === 0 && !this.inSpeech) this.startFrame = index;
      this.speechRun++;
      this.silenceRun = 0;
      if (!this.inSpeech && this.speechRun >= this.startFrames) {
        this.inSpeech = true;
        this.events.push({ type: "speech_start", atMs: this.frames * 20 });
      }
      if (this.inSpeech && this.frames - this.startFrame >= this.maxFrames) this.end(this.frames);
      return;
    }
    if (!this.inSpeech) {
      this.speechRun = 0;
      this.utterance = [];
      return;
    }
    if (++this.silenceRun >= this.endFrames) this.end(this.frames - this.silenceRun);
  }

  private end(endFrame: number): void {
    const frames = endFrame - this.startFrame;
    const samples = new Float32Array(frames * FRAME);
    for (let i = 0; i < frames && i < this.utterance.length; i++) samples.set(this.utterance[i]!, i * FRAME);
    this.events.push({ type: "speech_end", startMs: this.startFrame * 20, endMs: endFrame * 20, samples });
    this.inSpeech = false;
    this.speechRun = 0;
    this.silenceRun = 0;
    this.utterance = [];
  }

  private take(): readonly VadEvent[] {
    if (!this.events.length) return NO_EVENTS;
    const out = this.events;
    this.events = [];
    return out;
  }
}
