// Streaming speech to text: a Zipformer transducer (sherpa-onnx's online recognizer) from MODELS_DIR/streaming,
// decoding each caller's speech while it is spoken, on a worker thread. Whisper hears an utterance only once the turn
// has ended, so its decoding time adds to every reply; with a streaming model the text is ready at the endpointing
// decision. Streaming models hear one language (the folder name says which, as sherpa-onnx names its releases).
import { existsSync, readdirSync, statSync } from "node:fs";
import { basename, join } from "node:path";
import type { Logger } from "../../src/platform/log.ts";
import type { FromStreamingThread, ToStreamingThread } from "./streaming-thread.ts";
import { modelThreads, nextThreadObjectId, setUpLock } from "./threads.ts";
import type { StreamingSpeechToText, Transcription, TranscriptionStream } from "./types.ts";

export interface StreamingModel {
  encoder: string;
  decoder: string;
  joiner: string;
  tokens: string;
  /** Primary subtag, from the folder name (`sherpa-onnx-streaming-zipformer-en-2023-06-26` → en). */
  language: string;
}

const LANGUAGE_IN_NAME = /(?:^|-)(en|de|fr|es|it|pt|nl|ru|zh|ja|ko|ar|tr|pl|sv|uk|vi|hi|th|id|fa|cs|bn|ta)(?:-|$)/;

/**
 * The transducer files in `dir` or one folder below it (a sherpa-onnx release unpacked as is): `encoder*.onnx`,
 * `decoder*.onnx`, `joiner*.onnx` (int8 preferred) and `tokens.txt`, in a folder whose name gives the language.
 * Throws naming what is missing.
 */
export function findStreamingModel(dir: string): StreamingModel {
  if (!existsSync(dir)) throw new Error(`streaming model not found: ${dir} does not exist`);
  const candidates = [dir, ...readdirSync(dir).map((f) => join(dir, f)).filter((p) => statSync(p).isDirectory())];
  for (const folder of candidates) {
    const files = readdirSync(folder);
    const pick = (part: string) => files.find((f) => f.startsWith(part) && f.endsWith(".int8.onnx")) ?? files.find((f) => f.startsWith(part) && f.endsWith(".onnx"));
    const [encoder, decoder, joiner] = [pick("encoder"), pick("decoder"), pick("joiner")];
    if (!encoder || !decoder || !joiner || !files.includes("tokens.txt")) continue;
    const language = LANGUAGE_IN_NAME.exec(basename(folder))?.[1];
    if (!language) throw new Error(`streaming model in ${folder}: name the folder with its language, e.g. sherpa-onnx-streaming-zipformer-en-2023-06-26`);
    return { encoder: join(folder, encoder), decoder: join(folder, decoder), joiner: join(folder, joiner), tokens: join(folder, "tokens.txt"), language };
  }
  throw new Error(`streaming model not found in ${dir}: expected encoder*.onnx, decoder*.onnx, joiner*.onnx and tokens.txt (a sherpa-onnx streaming Zipformer release)`);
}

export class ZipformerSpeechToText implements StreamingSpeechToText {
  readonly engine = "zipformer";
  readonly language: string;
  /** The process's thread for this model, taken with the first call. */
  private worker: Worker | null = null;
  private readonly waiting = new Map<number, { resolve: (t: Transcription) => void; reject: (e: Error) => void }>();
  /** This recognizer's streams on the thread, open or finishing. */
  private readonly streams = new Set<number>();
  private readonly listener = (message: MessageEvent<FromStreamingThread>) => {
    const m = message.data;
    if (m.type === "text") {
      this.streams.delete(m.id);
      this.waiting.get(m.id)?.resolve({ text: m.text.trim(), language: this.language, confidence: null });
      this.waiting.delete(m.id);
      return;
    }
    if (m.id !== null && !this.streams.has(m.id)) return; // another recognizer's stream on the same thread
    this.log.error("streaming speech recognition failed", { message: m.message });
    if (m.id !== null && this.waiting.has(m.id)) {
      this.waiting.get(m.id)!.reject(new Error(m.message));
      this.waiting.delete(m.id);
      this.streams.delete(m.id);
    }
  };
  private readonly crashed = (event: ErrorEvent) => this.log.error("streaming speech recognition thread crashed", { message: event.message });

  constructor(
    readonly model: StreamingModel,
    private readonly log: Logger,
  ) {
    this.language = model.language;
  }

  /** Find the model in `dir` (throws naming what is missing) without loading it yet. */
  static fromDirectory(dir: string, log: Logger): ZipformerSpeechToText {
    return new ZipformerSpeechToText(findStreamingModel(dir), log);
  }

  open(): TranscriptionStream {
    const worker = (this.worker ??= this.attach());
    const id = nextThreadObjectId();
    this.streams.add(id);
    const post = (message: ToStreamingThread, transfer: Transferable[] = []) => worker.postMessage(message, transfer);
    post({ type: "open", id });
    let done = false;
    return {
      accept: (samples16k) => {
        if (done) return;
        const copy = samples16k.slice();
        post({ type: "accept", id, samples: copy }, [copy.buffer]);
      },
      finish: () => {
        done = true;
        return new Promise<Transcription>((resolve, reject) => {
          this.waiting.set(id, { resolve, reject });
          post({ type: "finish", id });
        });
      },
      cancel: () => {
        if (done) return;
        done = true;
        this.streams.delete(id);
        post({ type: "cancel", id });
      },
    };
  }

  /**
   * Fails what is still being recognized and stops listening (when the server stops). The thread stays for the rest
   * of the process (see threads.ts); a later call, or another recognizer for the same model, uses it again.
   */
  async close(): Promise<void> {
    for (const w of this.waiting.values()) w.reject(new Error("speech recognition stopped"));
    this.waiting.clear();
    this.streams.clear();
    this.worker?.removeEventListener("message", this.listener);
    this.worker?.removeEventListener("error", this.crashed);
    this.worker = null;
  }

  private attach(): Worker {
    const [worker] = modelThreads(JSON.stringify(["streaming", this.model]), 1, () => {
      const started = new Worker(new URL("./streaming-thread.ts", import.meta.url).href);
      started.postMessage({ type: "init", model: this.model, setUpLock } satisfies ToStreamingThread);
      return started;
    });
    worker!.addEventListener("message", this.listener);
    worker!.addEventListener("error", this.crashed);
    return worker!;
  }
}
