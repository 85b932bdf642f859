// The agent's speech: sentence by sentence, synthesized one ahead of what plays, held while the caller is still
// talking (holdForCaller), and cut off by barge-in once it plays.
import type { Logger } from "../../src/platform/log.ts";
import { startSpan, traced } from "../../src/platform/telemetry/index.ts";
import type { AgentSettings } from "../../src/runtime/compiled.ts";
import type { Clock } from "../clock.ts";
import { float32ToInt16, Resampler } from "../media/index.ts";
import { standInOf } from "../speech/tts.ts";
import type { TextToSpeech } from "../speech/types.ts";
import type { CallTransport } from "./types.ts";

const REPLY_HOLD_LIMIT_MS = 5000;
const SENTENCE = /[^.!?]+[.!?]+["')\]]*\s*|[^.!?]+$/g;

export interface ReplyDeps {
  agent: AgentSettings;
  transport: CallTransport;
  tts: TextToSpeech;
  clock: Clock;
  log: Logger;
  /** How long a reply may wait for a talking caller (default 5 s). */
  holdLimitMs?: number;
  /** The conversation's language now: replies are spoken in it, with its voice. */
  language(): string;
  ended(): boolean;
  /** The caller is speaking, or has paused for less than the endpointing silence. */
  callerMidTurn(): boolean;
  /** Call time (ms since the call was answered) of the caller's latest speech_start. */
  speechAtMs(): number;
  /** For the call's log lines, once the conversation is open. */
  conversationId(): string | null;
  /** Records a receipt event on the conversation, once there is one. */
  note(type: "latency" | "barge_in" | "error", payload: Record<string, unknown>): void;
}

export class ReplyPlayer {
  // The agent's speech in progress, cancellable by barge-in once it plays; until then it waits for a talking caller.
  private reply: AbortController | null = null;
  private playing = false;
  /** Lets a reply held for a talking caller go, once their turn is over. */
  private release: (() => void) | null = null;
  /** The agent's voice failed and another stood in: logged once per call. */
  private standInLogged = false;

  constructor(private readonly d: ReplyDeps) {}

  /** A reply is being prepared, held or played. */
  get active(): boolean {
    return this.reply !== null;
  }

  /**
   * Sentence by sentence: the first is synthesized and playing while the next one is prepared. Playback never starts
   * while the caller is talking: the reply waits for the end of their turn (holdForCaller). `since` is when the
   * caller's turn ended, for the latency event.
   */
  async speak(texts: string[], since?: number) {
    const { d } = this;
    const sentences = texts.flatMap((t) => t.match(SENTENCE)?.map((s) => s.trim()).filter(Boolean) ?? []);
    if (!sentences.length) return;
    const reply = new AbortController();
    this.reply = reply;
    this.playing = false;
    // From the reply's text to its first packet on the wire: synthesis of the first sentence and any hold included.
    const firstAudio = startSpan("voice.first_audio", { "reply.sentences": sentences.length });
    let sent = false;
    const firstSent = () => {
      sent = true;
      firstAudio?.end();
    };
    let heldMs = 0;
    let next = this.synthesize(sentences[0]!);
    for (let i = 0; i < sentences.length && !reply.signal.aborted && !d.ended(); i++) {
      const audio = await next;
      if (i + 1 < sentences.length) next = this.synthesize(sentences[i + 1]!);
      if (reply.signal.aborted || d.ended() || !audio) continue;
      const first = !this.playing;
      if (first) {
        heldMs = await this.holdForCaller(reply);
        if (reply.signal.aborted || d.ended()) break;
        this.playing = true;
      }
      const playing = d.transport.play(audio, first ? firstSent : undefined);
      if (first && since !== undefined) {
        // The time the reply was held for the caller is theirs, not the platform's: it is on the barge_in event.
        d.note("latency", { endOfSpeechToFirstAudioMs: d.clock.now() - since - heldMs });
      }
      const played = await playing;
      if (!played.finished) break;
    }
    if (this.reply === reply) {
      this.reply = null;
      this.playing = false;
    }
    // Never played (cut off first, hang-up, synthesis failed): the span ends here, saying so.
    if (!sent) firstAudio?.setAttribute("reply.played", false).end();
  }

  /**
   * Stops the agent's reply if it is playing; a reply not yet playing waits for the caller instead (holdForCaller).
   * A reply that has started playing is stopped whether a sentence is on the wire or the next one is still being
   * synthesized: either way the rest of it is dropped (`stoppedPlayback`). `atMs` is call time.
   */
  bargeIn(atMs: number) {
    const reply = this.reply;
    if (!reply || !this.playing) return;
    const midSentence = this.d.transport.playing;
    reply.abort();
    this.d.transport.clear();
    this.d.note("barge_in", { atMs: Math.round(atMs), stoppedPlayback: true });
    this.d.log.debug("caller barged in", { conversationId: this.d.conversationId(), atMs: Math.round(atMs), midSentence });
  }

  /** The caller's turn is over: a reply held for them plays now. */
  releaseHeld() {
    this.release?.();
  }

  /** The caller hung up: the reply in progress stops. */
  abort() {
    this.reply?.abort();
  }

  /** One text as audio at the transport's rate; null (and an error event) when synthesis fails. */
  async synthesize(text: string): Promise<Int16Array | null> {
    const { d } = this;
    const a = d.agent;
    const language = d.language();
    try {
      const speech = await traced("tts.synthesize", { "tts.language": language, "tts.characters": text.length }, () =>
        d.tts.synthesize(text, {
          voiceId: a.voiceMap[language] ?? (language === a.primaryLanguage ? (a.defaultVoiceId ?? undefined) : undefined),
          language,
          speed: typeof a.voiceSettings.speed === "number" ? a.voiceSettings.speed : undefined,
          pronunciations: a.lexicon.pronunciations,
        }),
      );
      const standIn = standInOf(speech);
      if (standIn && !this.standInLogged) {
        this.standInLogged = true;
        d.log.warn("the agent's voice could not speak; another voice stands in (said once per call)", { conversationId: d.conversationId(), language, wanted: standIn.wanted, voiceId: standIn.voiceId, reason: standIn.reason });
      }
      const out = speech.sampleRate === d.transport.outputRate ? speech.samples : new Resampler(speech.sampleRate, d.transport.outputRate).process(speech.samples);
      return float32ToInt16(out);
    } catch (error) {
      d.log.error("speech synthesis failed", { conversationId: d.conversationId(), error });
      d.note("error", { code: "tts_failed", message: String(error) });
      return null;
    }
  }

  /**
   * A reply ready while the caller talks (they spoke up while the agent was thinking) waits until their turn ends
   * (the endpointing decision), or the hold limit, then plays. Their new utterance is a turn of its own, queued
   * after this one: the held reply plays first, then the new turn is answered. Recorded as `barge_in` with
   * `held: true`. Resolves with how long it waited.
   */
  private async holdForCaller(reply: AbortController): Promise<number> {
    const { d } = this;
    if (!d.callerMidTurn()) return 0;
    const from = d.clock.now();
    const atMs = d.speechAtMs();
    let limitReached = false;
    await new Promise<void>((resolve) => {
      const done = () => {
        d.clock.clearTimeout(timer);
        reply.signal.removeEventListener("abort", done);
        this.release = null;
        resolve();
      };
      const timer = d.clock.setTimeout(() => {
        limitReached = true;
        done();
      }, d.holdLimitMs ?? REPLY_HOLD_LIMIT_MS);
      reply.signal.addEventListener("abort", done, { once: true });
      this.release = done;
    });
    const heldMs = Math.round(d.clock.now() - from);
    if (!reply.signal.aborted && !d.ended()) {
      d.note("barge_in", { atMs: Math.round(atMs), stoppedPlayback: false, held: true, heldMs, ...(limitReached ? { holdLimitReached: true } : {}) });
      d.log.debug("a reply waited for the caller to finish", { conversationId: d.conversationId(), atMs: Math.round(atMs), heldMs });
    }
    return heldMs;
  }
}
