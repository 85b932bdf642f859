// A clearly named TEST speech recognizer: no Whisper weights can be downloaded here, so tests queue what each
// next utterance "said". Everything around it is real: the RTP audio, Silero VAD, endpointing, the runtime.
import type { SpeechToText, Transcription } from "../../voice/speech/types.ts";

export class ScriptedSpeechToText implements SpeechToText {
  readonly engine = "scripted (test only)";
  /** Seconds of audio each transcribe() call received, in order. */
  readonly heard: number[] = [];
  private readonly queue: string[] = [];

  say(...texts: string[]) {
    this.queue.push(...texts);
  }

  async transcribe(samples16k: Float32Array): Promise<Transcription> {
    this.heard.push(samples16k.length / 16_000);
    return { text: this.queue.shift() ?? "", language: "en", confidence: 0.9 };
  }
}
