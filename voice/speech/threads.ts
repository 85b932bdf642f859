// The model threads (Silero VAD, streaming Zipformer): their priority, their lifetime, and setting them up one at
// a time.
//
// Bun aborted the whole process ("terminate called after throwing an instance of 'Napi::Error'") in two ways here:
// a thread holding or still building sherpa-onnx objects was terminated (a grace period for it to finish runs out on
// a loaded machine), and, on a loaded machine with no thread terminated, while two model threads were starting at
// once, each loading the addon and building its models. So model threads are never terminated: they start once per
// process and model, every factory asking for the same model (a server stopped and started again in one process, as
// tests do) reuses them, and they are unref'd so they never keep the process alive. And each thread takes a
// process-wide lock while it loads the addon and builds its models, so no two are inside that set-up at once.
import { readlinkSync } from "node:fs";
import { setPriority } from "node:os";

/** The niceness a model thread runs at: when the cores are busy, the thread pacing every call's RTP goes first. */
const MODEL_THREAD_NICENESS = 10;

/**
 * Lowers the calling thread's CPU priority (Linux, where a thread is a task with its own id); elsewhere it stays as
 * it is. A model thread that waits a few milliseconds delays an event by that much, which endpointing absorbs; the
 * media thread waiting delays 20 ms packets for every call.
 */
export function lowerThisThreadsPriority(): void {
  try {
    const tid = Number(readlinkSync("/proc/thread-self").split("/").pop());
    if (Number.isInteger(tid) && tid > 0) setPriority(tid, MODEL_THREAD_NICENESS);
  } catch {
    // No /proc (not Linux) or not permitted: the thread keeps the process's priority.
  }
}

/** Held (1) while a model thread loads the addon and builds its models; shared with every model thread. */
export const setUpLock = new Int32Array(new SharedArrayBuffer(4));

/** Runs a model thread's set-up while no other thread is in its own (call it on a worker thread: it may block). */
export function whileSettingUp<T>(lock: Int32Array, setUp: () => T): T {
  while (Atomics.compareExchange(lock, 0, 0, 1) !== 0) Atomics.wait(lock, 0, 1, 1000);
  try {
    return setUp();
  } finally {
    Atomics.store(lock, 0, 0);
    Atomics.notify(lock, 0, 1);
  }
}

const started = new Map<string, Worker[]>();

/**
 * The process's model threads for `key` (a model and its options), at least `count` of them: started by `start`
 * the first time they are asked for, and kept for the life of the process.
 */
export function modelThreads(key: string, count: number, start: () => Worker): readonly Worker[] {
  const threads = started.get(key) ?? [];
  started.set(key, threads);
  while (threads.length < count) {
    const worker = start();
    (worker as Worker & { unref(): void }).unref(); // the threads never keep the process alive
    threads.push(worker);
  }
  return threads;
}

/** Ids for what the main thread keeps on model threads (detectors, streams), unique across factories sharing them. */
let lastId = 0;
export const nextThreadObjectId = () => ++lastId;
