// The worker thread behind `ZipformerSpeechToText`: sherpa-onnx's online recognizer decodes synchronously, so it
// runs here, off the thread that paces RTP, decoding each call's stream as its audio arrives.
import { loadSherpa, type SherpaOnlineRecognizer, type SherpaOnlineStream } from "./sherpa.ts";
import type { StreamingModel } from "./streaming.ts";
import { lowerThisThreadsPriority, whileSettingUp } from "./threads.ts";

declare var self: Worker;

export type ToStreamingThread =
  | { type: "init"; model: StreamingModel; setUpLock: Int32Array }
  | { type: "open"; id: number }
  | { type: "accept"; id: number; samples: Float32Array }
  | { type: "finish"; id: number }
  | { type: "cancel"; id: number };

export type FromStreamingThread = { type: "text"; id: number; text: string } | { type: "error"; id: number | null; message: string };

let recognizer: SherpaOnlineRecognizer | null = null;
const streams = new Map<number, SherpaOnlineStream>();

function decode(stream: SherpaOnlineStream) {
  while (recognizer!.isReady(stream)) recognizer!.decode(stream);
}

self.onmessage = (message: MessageEvent<ToStreamingThread>) => {
  const m = message.data;
  try {
    switch (m.type) {
      case "init":
        lowerThisThreadsPriority();
        recognizer = whileSettingUp(
          m.setUpLock,
          () =>
            new (loadSherpa().OnlineRecognizer)({
              featConfig: { sampleRate: 16000, featureDim: 80 },
              modelConfig: { transducer: { encoder: m.model.encoder, decoder: m.model.decoder, joiner: m.model.joiner }, tokens: m.model.tokens, numThreads: 1, provider: "cpu", debug: 0 },
              decodingMethod: "greedy_search",
              enableEndpoint: 0,
            }),
        );
        return;
      case "open":
        streams.set(m.id, recognizer!.createStream());
        return;
      case "accept": {
        const stream = streams.get(m.id);
        if (!stream) return;
        stream.acceptWaveform({ samples: m.samples, sampleRate: 16000 });
        decode(stream);
        return;
      }
      case "finish": {
        const stream = streams.get(m.id);
        streams.delete(m.id);
        if (!stream) return self.postMessage({ type: "text", id: m.id, text: "" } satisfies FromStreamingThread);
        // Trailing padding lets the model emit the last word before the input ends.
        stream.acceptWaveform({ samples: new Float32Array(16000 * 0.3), sampleRate: 16000 });
        stream.inputFinished();
        decode(stream);
        self.postMessage({ type: "text", id: m.id, text: recognizer!.getResult(stream).text } satisfies FromStreamingThread);
        return;
      }
      case "cancel":
        streams.delete(m.id);
        return;
    }
  } catch (error) {
    self.postMessage({ type: "error", id: "id" in m ? m.id : null, message: (error as Error).message } satisfies FromStreamingThread);
  }
};
