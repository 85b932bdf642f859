// Deciding when the caller's turn is over, and what they said: the VAD's speech_end starts a wait of the agent's
// minSilenceMs (semantic endpointing waits up to maxSilenceMs for a caller who sounds unfinished); the turn's text
// comes from the streaming recognizer that heard it as it was spoken, else from the recognizer hearing it whole.
import type { Logger } from "../../src/platform/log.ts";
import type { AgentSettings } from "../../src/runtime/compiled.ts";
import type { RuntimeInput } from "../../src/runtime/conversation.ts";
import type { Clock, Timer } from "../clock.ts";
import type { StreamingSpeechToText, Transcription, TranscriptionStream } from "../speech/types.ts";
import { MODEL_RATE, type CallSpeech } from "./types.ts";

/** The VAD already waits this much silence before `speech_end`; the agent's minSilenceMs includes it. */
const VAD_TRAILING_MS = 300;
/** Audio kept from before `speech_start` for the streaming recognizer: the VAD confirms speech ~200 ms into it. */
const PREROLL_MS = 600;
const UNFINISHED = /\b(and|but|so|because|or|um+|uh+|the|a|to|my|is)\s*$|,\s*$/i;

export interface EndpointingDeps {
  agent: AgentSettings;
  speech: CallSpeech;
  /** The streaming recognizer for this call's language, if any. */
  streaming: StreamingSpeechToText | null;
  clock: Clock;
  log: Logger;
  /** Whether the VAD hears the caller now. */
  speaking(): boolean;
  /** The conversation's language now (a caller who switches is heard in theirs). */
  language(): string;
  /** Endpointing found the caller silent: a reply held for them may play. */
  callerPaused(): void;
  /** A turn to answer; `endpointAt` is when its end was decided (latency is counted from there). */
  turn(input: RuntimeInput, endpointAt: number): void;
  /** Noise, a cough: not a turn, and the silence goes on. */
  nothingSaid(): void;
  /** No recognizer is installed: the caller is told to use the keypad. */
  noRecognizer(): void;
  /** Recognition failed: the caller is asked to say it again. */
  failed(error: unknown): void;
}

export class Endpointing {
  // Caller speech waiting for the end of the turn.
  private utterance: Float32Array[] = [];
  /** The stream of the turn being spoken, when the streaming recognizer hears it. */
  private live: TranscriptionStream | null = null;
  private preroll: Float32Array[] = [];
  /** What a streaming turn said before semantic endpointing waited for more. */
  private earlier: Transcription | null = null;
  private timer: Timer | null = null;
  /** When the VAD last said the caller stopped (VAD_TRAILING_MS into the silence). */
  private speechEndAt = 0;
  /** The utterance transcribed before a semantic wait, reused if the caller says nothing more. */
  private transcribed: { chunks: number; transcript: Transcription } | null = null;

  constructor(private readonly d: EndpointingDeps) {}

  /** The caller paused for less than the endpointing silence: their turn is not over yet. */
  get waiting(): boolean {
    return this.timer !== null;
  }

  /** Speech heard and not yet made a turn. */
  get holding(): boolean {
    return this.utterance.length > 0;
  }

  /** Every frame the VAD hears: the last PREROLL_MS of audio, and the live stream fed as audio arrives. */
  hear(audio: Float32Array) {
    if (!this.d.streaming) return;
    if (this.live) return this.live.accept(audio);
    this.preroll.push(audio.slice());
    let total = this.preroll.reduce((n, c) => n + c.length, 0);
    while (total > (MODEL_RATE * PREROLL_MS) / 1000) total -= this.preroll.shift()!.length;
  }

  speechStarted() {
    const streaming = this.d.streaming;
    // The streaming model hears one language: once the caller has switched away from it, Whisper takes over.
    if (streaming && !this.live && this.d.language().split("-")[0]!.toLowerCase() === streaming.language) {
      this.live = streaming.open();
      for (const chunk of this.preroll) this.live.accept(chunk);
    }
    this.d.clock.clearTimeout(this.timer); // the caller goes on: the turn is not over
    this.timer = null;
  }

  speechEnded(samples: Float32Array) {
    this.speechEndAt = this.d.clock.now();
    this.utterance.push(samples);
    const wait = Math.max(0, (this.d.agent.endpointing.minSilenceMs ?? 500) - VAD_TRAILING_MS);
    this.d.clock.clearTimeout(this.timer);
    this.timer = this.d.clock.setTimeout(() => void this.endOfTurn(), wait);
  }

  /** The call ended. */
  close() {
    this.d.clock.clearTimeout(this.timer);
    this.timer = null;
    this.live?.cancel();
    this.live = null;
  }

  /**
   * The caller has been silent minSilenceMs: transcribe, and (semantic endpointing) wait for more, up to
   * maxSilenceMs of silence, if they sound unfinished.
   */
  private async endOfTurn(extended = false) {
    const { d } = this;
    this.timer = null;
    if (!d.speaking()) d.callerPaused();
    const chunks = this.utterance.length;
    const samples = concat(this.utterance);
    if (!samples.length) return;
    const live = this.live;
    this.live = null;
    this.preroll = [];
    if (!d.speech.stt && !d.streaming) {
      this.utterance = [];
      return d.noRecognizer();
    }
    const endpointAt = d.clock.now();
    let transcript: Transcription;
    const before = this.transcribed;
    this.transcribed = null;
    try {
      // After a semantic wait in which the caller said nothing more, what was heard is already transcribed.
      transcript = extended && before?.chunks === chunks ? before.transcript : await this.transcribe(live, samples);
    } catch (error) {
      d.log.warn("speech recognition failed", { error });
      this.utterance = [];
      this.earlier = null;
      return d.failed(error);
    }
    // A streamed turn's text is kept, not its audio re-heard, if the caller goes on.
    if (d.streaming) this.earlier = transcript;
    if (this.timer || d.speaking()) return; // they started again while we listened
    const e = d.agent.endpointing;
    // maxSilenceMs counts from the end of speech, so the time recognition took is not added to it.
    const left = (e.maxSilenceMs ?? 1500) - VAD_TRAILING_MS - (d.clock.now() - this.speechEndAt);
    if (!extended && e.semantic && UNFINISHED.test(transcript.text) && left > 0) {
      // Sounds unfinished ("…and"): give the caller until maxSilenceMs before answering.
      this.transcribed = { chunks, transcript };
      this.timer = d.clock.setTimeout(() => void this.endOfTurn(true), left);
      return;
    }
    this.utterance = [];
    this.earlier = null;
    const text = transcript.text.trim();
    if (!text) return d.nothingSaid();
    d.turn({ type: "text", text, language: transcript.language ?? undefined, asrConfidence: transcript.confidence ?? undefined }, endpointAt);
  }

  /**
   * The turn's text: from the stream that heard it as it was spoken (after what it heard before a semantic wait),
   * else from the recognizer hearing the whole utterance now. A failed stream falls back to the latter.
   */
  private async transcribe(live: TranscriptionStream | null, samples: Float32Array): Promise<Transcription> {
    const { d } = this;
    const stt = d.speech.stt;
    if (live || this.earlier) {
      try {
        const now = live ? await live.finish() : null;
        const before = this.earlier;
        if (!now) return before!;
        return before ? { ...now, text: `${before.text} ${now.text}`.trim() } : now;
      } catch (error) {
        if (!stt) throw error;
        d.log.warn("streaming speech recognition failed; transcribing the utterance instead", { error });
      }
    }
    // An agent that follows the caller's language lets the model detect it; otherwise it hears the conversation's.
    const codeSwitch = d.agent.languageMode === "code_switch" && d.agent.languages.length > 1;
    return stt!.transcribe(samples, { language: codeSwitch ? undefined : d.language().split("-")[0] });
  }
}

function concat(chunks: Float32Array[]): Float32Array {
  const total = chunks.reduce((n, c) => n + c.length, 0);
  const out = new Float32Array(total);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}
