// The worker thread behind `WorkerVadFactory`: Silero for many calls, off the thread that paces RTP. Audio queues per
// call as it arrives; once the queued messages are handled, every call with a window waiting is judged in one batched
// run of the network, until none waits. A thread that fell behind therefore runs larger, cheaper batches, and past
// ENERGY_ONLY_MS of backlog judges windows by energy alone rather than leaving its calls' utterances unheard.
import { lowerThisThreadsPriority, whileSettingUp } from "./threads.ts";
import { ENERGY_ONLY_MS, SileroModel, SileroStream, type VadOptions } from "./vad.ts";
import type { VadEvent } from "./types.ts";

declare var self: Worker;

export type ToVadThread =
  | { type: "init"; modelPath: string; options: VadOptions; setUpLock: Int32Array }
  | { type: "create"; id: number }
  | { type: "push"; id: number; samples: Float32Array }
  | { type: "flush"; id: number }
  | { type: "reset"; id: number }
  | { type: "close"; id: number };

export type FromVadThread =
  | { type: "error"; message: string }
  | { type: "events"; id: number; events: VadEvent[] }
  /** The most audio any call on this thread has waiting, after a round of judging (sent when it changes). */
  | { type: "backlog"; ms: number };

/** The most windows in one run of the network: bounds one run's time, with most of batching's gain. */
const MAX_BATCH = 64;

let model: SileroModel | null = null;
let options: VadOptions = {};
const streams = new Map<number, SileroStream>();
let scheduled = false;
let reportedBacklog = 0;

function send(id: number, events: readonly VadEvent[]) {
  if (!events.length) return;
  const transfer = events.flatMap((e) => (e.type === "speech_end" ? [e.samples.buffer as ArrayBuffer] : []));
  self.postMessage({ type: "events", id, events: [...events] } satisfies FromVadThread, transfer);
}

/** After the messages queued now: by then every call whose audio arrived in this burst has it queued. */
function schedule() {
  if (scheduled) return;
  scheduled = true;
  setTimeout(judgeWaiting, 0);
}

const batch: SileroStream[] = [];
function judgeWaiting() {
  scheduled = false;
  try {
    let backlog = 0;
    for (const stream of streams.values()) backlog = Math.max(backlog, stream.backlogMs);
    for (;;) {
      batch.length = 0;
      for (const stream of streams.values()) if (stream.next(ENERGY_ONLY_MS)) batch.push(stream);
      if (!batch.length) break;
      for (let from = 0; from < batch.length; from += MAX_BATCH) model!.judge(batch.slice(from, from + MAX_BATCH));
    }
    for (const [id, stream] of streams) send(id, stream.take());
    // Whole windows only: under one window (32 ms) waiting is no backlog.
    const rounded = backlog < 64 ? 0 : Math.round(backlog / 100) * 100;
    if (rounded !== reportedBacklog) {
      reportedBacklog = rounded;
      self.postMessage({ type: "backlog", ms: rounded } satisfies FromVadThread);
    }
  } catch (error) {
    self.postMessage({ type: "error", message: (error as Error).message } satisfies FromVadThread);
  }
}

/** Judges one call's waiting audio now, alone (before a flush, which must see all of it). */
function judgeNow(stream: SileroStream) {
  const one = [stream];
  while (stream.next()) model!.judge(one);
}

self.onmessage = (message: MessageEvent<ToVadThread>) => {
  const m = message.data;
  try {
    switch (m.type) {
      case "init":
        lowerThisThreadsPriority();
        options = m.options;
        model = whileSettingUp(m.setUpLock, () => new SileroModel(m.modelPath));
        return;
      case "create":
        streams.set(m.id, new SileroStream(options));
        return;
      case "push": {
        const stream = streams.get(m.id);
        if (!stream) return;
        stream.append(m.samples);
        schedule();
        return;
      }
      case "flush": {
        const stream = streams.get(m.id);
        if (!stream) return;
        judgeNow(stream);
        send(m.id, stream.flush());
        return;
      }
      case "reset":
        streams.get(m.id)?.reset();
        return;
      case "close":
        streams.delete(m.id);
        return;
    }
  } catch (error) {
    self.postMessage({ type: "error", message: (error as Error).message } satisfies FromVadThread);
  }
};
