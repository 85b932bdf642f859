// The model threads (Silero VAD, streaming Zipformer): their priority, and stopping them, since they hold native
// sherpa-onnx objects.
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

/**
 * Ends a model thread once it is idle: terminating one in the middle of a native call (a model still loading, say)
 * aborts the whole process, so the thread is asked to finish what is queued and answer `exited` first. One that does
 * not answer within `graceMs` is terminated all the same.
 */
export function stopThread(worker: Worker, exit: unknown, graceMs = 5000): Promise<void> {
  return new Promise<void>((resolve) => {
    const done = () => {
      clearTimeout(timer);
      worker.removeEventListener("message", onMessage);
      worker.terminate();
      resolve();
    };
    const onMessage = (message: MessageEvent<{ type?: string }>) => {
      if (message.data?.type === "exited") done();
    };
    const timer = setTimeout(done, graceMs);
    worker.addEventListener("message", onMessage);
    worker.postMessage(exit);
  });
}
