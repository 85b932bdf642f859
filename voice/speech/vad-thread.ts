// The worker thread behind `WorkerVadFactory`: Silero detectors for many calls, off the thread that paces RTP.
// Each message from the main thread is one detector's audio or lifecycle; events go back only when there are some.
import { lowerThisThreadsPriority, whileSettingUp } from "./threads.ts";
import { SileroVadFactory, type VadOptions } from "./vad.ts";
import type { VadEvent, VoiceActivityDetector } from "./types.ts";

declare var self: Worker;

export type ToVadThread =
  | { type: "init"; modelPath: string; options: VadOptions; warm: number; setUpLock: Int32Array }
  | { type: "create"; id: number }
  | { type: "push"; id: number; samples: Float32Array }
  | { type: "flush"; id: number }
  | { type: "reset"; id: number }
  | { type: "close"; id: number };

export type FromVadThread = { type: "error"; message: string } | { type: "events"; id: number; events: VadEvent[] };

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
        factory = whileSettingUp(m.setUpLock, () => {
          const built = new SileroVadFactory(m.modelPath, m.options);
          built.warm(m.warm);
          return built;
        });
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
    }
  } catch (error) {
    self.postMessage({ type: "error", message: (error as Error).message } satisfies FromVadThread);
  }
};
