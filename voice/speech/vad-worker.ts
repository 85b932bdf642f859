// Silero VAD on worker threads. The model is most of a call's media CPU, and on the server's own thread it runs in
// bursts (every call's packets arrive in the same 20 ms) that delay the timers pacing every other call's RTP. Here
// each call's audio is posted to a worker (one per core by default), which judges its calls' windows in batches, and
// its events come back asynchronously: `push` returns the events that have arrived since the previous push, so they
// reach the call session one frame (20 ms) later than in-thread, which endpointing and barge-in absorb.
//
// A thread that falls behind says so: its backlog is a metric, and past OVERLOAD_MS a warn log (once, until it has
// caught up again). A new call goes to the thread with the least backlog.
import type { Logger } from "../../src/platform/log.ts";
import { vadThreadMetrics } from "../../src/platform/telemetry/index.ts";
import type { VadEvent, VadFactory, VoiceActivityDetector } from "./types.ts";
import { ENERGY_ONLY_MS, type VadOptions } from "./vad.ts";
import { modelThreads, nextThreadObjectId, setUpLock } from "./threads.ts";
import type { FromVadThread, ToVadThread } from "./vad-thread.ts";

const NO_EVENTS: readonly VadEvent[] = Object.freeze([]);

/** Backlog that makes a thread overloaded: later than this, a caller's turn is audibly late (endpointing waits 300 ms). */
const OVERLOAD_MS = 500;

export class WorkerVadFactory implements VadFactory {
  readonly engine = "silero" as const;
  /** The process's threads for this model, taken with the first call (a server that takes none starts none). */
  private workers: readonly Worker[] | null = null;
  private readonly detectors = new Map<number, WorkerVad>();
  /** Each thread's backlog as it last reported it, and whether it is overloaded, by thread. */
  private readonly backlogs = new Map<Worker, { ms: number; overloaded: boolean }>();
  private readonly listener = (message: MessageEvent<FromVadThread>) => {
    const m = message.data;
    if (m.type === "events") this.detectors.get(m.id)?.receive(m.events);
    else if (m.type === "backlog") this.backlogReported(message.target as Worker, m.ms);
    else if (m.type === "error") this.log.error("voice activity detection thread failed", { message: m.message });
  };
  private readonly crashed = (event: ErrorEvent) => this.log.error("voice activity detection thread crashed", { message: event.message });
  /** Calls on each thread, to break ties between threads without backlog. */
  private readonly calls = new Map<Worker, number>();

  constructor(
    readonly modelPath: string,
    private readonly options: VadOptions,
    private readonly log: Logger,
    private readonly threads = Math.max(1, navigator.hardwareConcurrency),
  ) {}

  create(): VoiceActivityDetector {
    const workers = (this.workers ??= this.attach());
    const id = nextThreadObjectId();
    const worker = this.leastLoaded(workers);
    this.calls.set(worker, (this.calls.get(worker) ?? 0) + 1);
    const detector = new WorkerVad(id, worker, () => {
      this.detectors.delete(id);
      this.calls.set(worker, (this.calls.get(worker) ?? 1) - 1);
    });
    this.detectors.set(id, detector);
    worker.postMessage({ type: "create", id } satisfies ToVadThread);
    return detector;
  }

  /**
   * Releases this factory's detectors and stops listening (when the server stops). The threads stay for the rest of
   * the process (see threads.ts); a later call, or another factory for the same model, uses them again.
   */
  async close(): Promise<void> {
    for (const detector of [...this.detectors.values()]) detector.close();
    for (const worker of this.workers ?? []) {
      worker.removeEventListener("message", this.listener);
      worker.removeEventListener("error", this.crashed);
    }
    this.workers = null;
  }

  /** The thread with the least backlog, then the fewest calls of this factory. */
  private leastLoaded(workers: readonly Worker[]): Worker {
    let best = workers[0]!;
    const load = (w: Worker) => (this.backlogs.get(w)?.ms ?? 0) * 1e6 + (this.calls.get(w) ?? 0);
    for (const worker of workers) if (load(worker) < load(best)) best = worker;
    return best;
  }

  private backlogReported(worker: Worker, ms: number): void {
    const thread = String((this.workers ?? []).indexOf(worker));
    const was = this.backlogs.get(worker) ?? { ms: 0, overloaded: false };
    const overloaded = ms >= OVERLOAD_MS || (was.overloaded && ms > 0);
    this.backlogs.set(worker, { ms, overloaded });
    vadThreadMetrics.backlog.set({ thread }, ms / 1000);
    if (overloaded && !was.overloaded) {
      vadThreadMetrics.overloads.inc();
      this.log.warn(`voice activity detection is falling behind: its calls' speech is heard late, and past ${ENERGY_ONLY_MS / 1000} s by energy alone`, {
        thread,
        backlogMs: ms,
        calls: this.calls.get(worker) ?? 0,
      });
    } else if (!overloaded && was.overloaded) this.log.info("voice activity detection caught up", { thread, calls: this.calls.get(worker) ?? 0 });
  }

  private attach(): readonly Worker[] {
    const key = JSON.stringify(["vad", this.modelPath, this.options]);
    const workers = modelThreads(key, this.threads, () => {
      const worker = new Worker(new URL("./vad-thread.ts", import.meta.url).href);
      // Messages queue behind this one: the first call's audio waits for the model (~50 ms) instead of being lost.
      worker.postMessage({ type: "init", modelPath: this.modelPath, options: this.options, setUpLock } satisfies ToVadThread);
      return worker;
    }).slice(0, this.threads);
    for (const worker of workers) {
      worker.addEventListener("message", this.listener);
      worker.addEventListener("error", this.crashed);
    }
    return workers;
  }
}

class WorkerVad implements VoiceActivityDetector {
  private pending: VadEvent[] = [];
  private inSpeech = false;
  private closed = false;

  constructor(
    private readonly id: number,
    private readonly worker: Worker,
    private readonly forget: () => void,
  ) {}

  /** Speaking, or holding events not handed out yet: either way the caller should keep pushing (silence, if need be). */
  get speaking(): boolean {
    return this.inSpeech || this.pending.length > 0;
  }

  push(samples16k: Float32Array): readonly VadEvent[] {
    if (this.closed) throw new Error("VAD used after close()");
    const copy = samples16k.slice(); // the caller may reuse its buffer; the copy is moved, not cloned
    this.worker.postMessage({ type: "push", id: this.id, samples: copy } satisfies ToVadThread, [copy.buffer]);
    return this.take();
  }

  /** Asks the thread to end an utterance in progress; its `speech_end` arrives with a later push. */
  flush(): readonly VadEvent[] {
    this.worker.postMessage({ type: "flush", id: this.id } satisfies ToVadThread);
    return this.take();
  }

  reset(): void {
    this.pending = [];
    this.inSpeech = false;
    this.worker.postMessage({ type: "reset", id: this.id } satisfies ToVadThread);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.forget();
    this.worker.postMessage({ type: "close", id: this.id } satisfies ToVadThread);
  }

  receive(events: VadEvent[]) {
    for (const event of events) this.inSpeech = event.type === "speech_start";
    this.pending.push(...events);
  }

  private take(): readonly VadEvent[] {
    if (!this.pending.length) return NO_EVENTS;
    const out = this.pending;
    this.pending = [];
    return out;
  }
}
