// The worker thread behind `WorkerVadFactory`: Silero detectors for many calls, off the thread that paces RTP.
// Each message from the main thread is one detector's audio or lifecycle; events go back only when there are some.
import { lowerThisThreadsPriority } from "./threads.ts";
import { SileroVadFactory, type VadOptions } from "./vad.ts";
import type { VadEvent, VoiceActivityDetector } from "./types.ts";

declare var self: Worker;

export type ToVadThread =
  | { type: "init"; modelPath: string; options: VadOptions; warm: number }
  | { type: "create"; id: number }
  | { type: "push"; id: number; samples: Float32Array }
  | { type: "flush"; id: number }
  | { type: "reset"; id: number }
  | { type: "close"; id: number }
  | { type: "exit" };

export type FromVadThread = { type: "error"; message: string } | { type: "events"; id: number; events: VadEvent[] } | { type: "exited" };

let factory: SileroVadFactory | null = null;
const detectors = new Map<number, VoiceActivityDetector>();

function send(id: number, events: readonly VadEvent[]) {
  if (!events.length) return;
  const transfer = events.flatMap((e) => (e.type === "speech_end" ? [e.samples.buffer as ArrayBuffer] : []));
  self.postMessage({ type: "events", id, events: [...events] } satisfies FromVadThread, transfer);
}

self.onmessage = (message: MessageEvent<ToVadThread>) => {
  const m = message.data;
  try {
    switch (m.type) {
      case "init":
        lowerThisThreadsPriority();
        factory = new SileroVadFactory(m.modelPath, m.options);
        factory.warm(m.warm);
        return;
      case "create":
        detectors.set(m.id, factory!.create());
        return;
      case "push": {
        const detector = detectors.get(m.id);
        if (detector) send(m.id, detector.push(m.samples));
        return;
      }
      case "flush": {
        const detector = detectors.get(m.id);
        if (detector) send(m.id, detector.flush());
        return;
      }
      case "reset":
        detectors.get(m.id)?.reset();
        return;
      case "close":
        detectors.get(m.id)?.close();
        detectors.delete(m.id);
        return;
      case "exit":
        // Everything queued before this (the model load included) has run: nothing native is in flight.
        for (const detector of detectors.values()) detector.close();
        detectors.clear();
        self.postMessage({ type: "exited" } satisfies FromVadThread);
        return;
    }
  } catch (error) {
    self.postMessage({ type: "error", message: (error as Error).message } satisfies FromVadThread);
  }
};
