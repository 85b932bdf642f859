// One call, whatever carries its audio (a phone line through Asterisk, or a browser's WebSocket): caller audio →
// VAD → endpointing → speech to text → the conversation runtime → text to speech → paced playback. Barge-in stops
// playback and the rest of the reply; keyed digits fill playbook steps; silence brings idle reminders; transfers
// are carried out by the channel and reported back; errors are spoken, never silence.
import type { Logger } from "../src/platform/log.ts";
import type { AgentSettings } from "../src/runtime/compiled.ts";
import type { ConversationRuntime, RuntimeInput, StartOptions, Transfer, TurnResult, TurnSink } from "../src/runtime/conversation.ts";
import type { AuditEvent } from "../src/runtime/receipt.ts";
import { float32ToInt16, int16ToFloat32, Resampler } from "./media/index.ts";
import type { StreamingSpeechToText, SpeechToText, TextToSpeech, Transcription, TranscriptionStream, VadFactory, VoiceActivityDetector } from "./speech/types.ts";

/** How a call's audio travels. Rates are the transport's own (8 kHz for G.711 phone audio). */
export interface CallTransport {
  readonly inputRate: number;
  readonly outputRate: number;
  onAudio(listener: (samples: Int16Array) => void): void;
  onDtmf(listener: (digit: string) => void): void;
  /** Queues speech; resolves when it has played, or was cut off by `clear()`. */
  play(samples: Int16Array): Promise<{ finished: boolean; playedMs: number }>;
  /** Stops playback now (barge-in). */
  clear(): void;
  readonly playing: boolean;
}

export interface CallSpeech {
  vad: VadFactory;
  /** Null without a recognizer: the call then works by keypad only, and says so. */
  stt: SpeechToText | null;
  /** Transcribes while the caller speaks (calls in its language use it); null without a streaming model. */
  streaming?: StreamingSpeechToText | null;
  tts: TextToSpeech;
}

export interface CallSessionOptions {
  runtime: ConversationRuntime;
  speech: CallSpeech;
  transport: CallTransport;
  /** The conversation to open (channel voice). */
  start: Omit<StartOptions, "channel">;
  /**
   * Carries out a transfer the conversation asked for. `brief` speaks to the destination alone (warm transfers).
   * Absent for channels that cannot transfer (the browser test): the transfer then counts as done.
   */
  transfer?: (transfer: Transfer, brief: (signal: AbortSignal) => Promise<void>) => Promise<{ ok: boolean; reason?: string }>;
  /** Ends the call on the channel once the conversation has ended and its last words were played. */
  hangup: () => Promise<void>;
  /** Receipt events as they happen (the browser test shows them); the receipt is stored either way. */
  events?: (event: AuditEvent) => void;
  log: Logger;
  clock?: () => number;
  /** How long a reply may wait for a caller who is still talking before it plays anyway (default 5 s). */
  replyHoldLimitMs?: number;
}

const MODEL_RATE = 16_000;
/** The VAD already waits this much silence before `speech_end`; the agent's minSilenceMs includes it. */
const VAD_TRAILING_MS = 300;
const DIGIT_TIMEOUT_MS = 3000;
const REPLY_HOLD_LIMIT_MS = 5000;
/** Audio kept from before `speech_start` for the streaming recognizer: the VAD confirms speech ~200 ms into it. */
const PREROLL_MS = 600;
/**
 * Asterisk sends no RTP while a two-party bridge is silent, so a caller who stops talking may simply stop sending.
 * After this long without audio the session feeds the VAD silence itself, so the end of their turn is still heard.
 */
const SILENCE_FILL_MS = 60;
const SENTENCE = /[^.!?]+[.!?]+["')\]]*\s*|[^.!?]+$/g;
const UNFINISHED = /\b(and|but|so|because|or|um+|uh+|the|a|to|my|is)\s*$|,\s*$/i;

export class CallSession {
  readonly done: Promise<void>;
  private resolveDone!: () => void;
  private conversationId: string | null = null;
  private readonly agent: AgentSettings;
  /** The conversation's language, as the runtime's replies carry it: a caller who switches language is answered in theirs. */
  private language: string;
  private readonly vad: VoiceActivityDetector;
  private readonly toModel: Resampler;
  private readonly clock: () => number;
  private readonly sink: TurnSink;
  private endReason = "caller_hung_up";
  /** The write that ends the conversation after a hang-up, once started. */
  private closing: Promise<void> | null = null;
  private ended = false;
  private heardMs = 0;

  // Caller speech waiting for the end of the turn.
  private utterance: Float32Array[] = [];
  /** The streaming recognizer for this call's language, if any; `live` is the stream of the turn being spoken. */
  private readonly streaming: StreamingSpeechToText | null;
  private live: TranscriptionStream | null = null;
  private preroll: Float32Array[] = [];
  /** What a streaming turn said before semantic endpointing waited for more. */
  private earlier: Transcription | null = null;
  private endpointTimer: ReturnType<typeof setTimeout> | null = null;
  private endpointAt = 0;

  // The agent's speech in progress, cancellable by barge-in once it plays; until then it waits for a talking caller.
  private reply: AbortController | null = null;
  private replyPlaying = false;
  /** Lets a reply held for a talking caller go, once their turn is over. */
  private release: (() => void) | null = null;
  /** Stream time of the caller's latest speech_start. */
  private speechAtMs = 0;
  /** When the VAD last said the caller stopped (performance.now(), VAD_TRAILING_MS into the silence). */
  private speechEndAt = 0;
  /** The utterance transcribed before a semantic wait, reused if the caller says nothing more. */
  private transcribed: { chunks: number; transcript: Transcription } | null = null;
  private turns: Promise<void> = Promise.resolve();
  /** Jobs queued on `turns` and not yet done. */
  private pending = 0;

  private lastAudioAt = 0;
  private silenceTimer: ReturnType<typeof setInterval> | null = null;
  private readonly silenceFrame = new Float32Array(MODEL_RATE / 50);

  private digits = "";
  private digitTimer: ReturnType<typeof setTimeout> | null = null;
  private idleTimer: ReturnType<typeof setTimeout> | null = null;
  /** Silence turns sent since the caller last took a turn. */
  private idleTurns = 0;
  private maxTimer: ReturnType<typeof setTimeout> | null = null;

  constructor(private readonly o: CallSessionOptions) {
    this.done = new Promise((resolve) => (this.resolveDone = resolve));
    this.vad = o.speech.vad.create();
    this.toModel = new Resampler(o.transport.inputRate, MODEL_RATE);
    this.clock = o.clock ?? Date.now;
    this.agent = o.start.compiled.agent;
    this.language = this.agent.primaryLanguage;
    this.sink = { event: o.events };
    const streaming = o.speech.streaming ?? null;
    this.streaming = streaming && streaming.language === this.agent.primaryLanguage.split("-")[0]!.toLowerCase() ? streaming : null;
  }

  /** Opens the conversation, greets, and listens until the call ends and everything about it is stored. */
  async run(): Promise<void> {
    const { transport, runtime, start } = this.o;
    transport.onAudio((samples) => this.onAudio(samples));
    transport.onDtmf((digit) => this.onDigit(digit));
    const opened = await runtime.start({ ...start, channel: "voice" }, this.sink);
    this.conversationId = opened.conversationId;
    if (this.ended) {
      // Hung up while the conversation was opening.
      this.closing = this.endConversation(this.endReason);
      return this.closing;
    }
    if (!this.o.speech.stt && !this.streaming) runtime.note(opened.conversationId, "error", { code: "no_speech_recognizer", message: "no speech recognizer is installed: this call understands the keypad only" });
    this.maxTimer = setTimeout(() => this.enqueue({ type: "call_timeout" }), (this.agent.callControl.maxCallSeconds ?? 600) * 1000);
    this.silenceTimer = setInterval(() => this.fillSilence(), 20);
    const greetedFrom = this.clock();
    this.later(() => this.respond(opened, greetedFrom));
    await this.done;
    // A turn in flight when the call ended still writes its receipt: wait for it, and for the closing write.
    for (let t = this.turns; ; t = this.turns) {
      await t.catch(() => {});
      if (t === this.turns) break;
    }
    await this.closing;
  }

  /**
   * The caller hung up, or the server is stopping (`reason` says which): stop everything and close the
   * conversation. Resolves once the conversation's end is stored.
   */
  async callerHungUp(reason = "caller_hung_up"): Promise<void> {
    if (!this.ended) {
      this.endReason = reason;
      this.finish();
      this.reply?.abort();
      this.o.transport.clear();
      if (this.conversationId) this.closing = this.endConversation(reason);
    }
    await this.closing;
  }

  private endConversation(reason: string): Promise<void> {
    return this.o.runtime.end(this.o.start.organizationId, this.conversationId!, reason, this.sink).catch((error) => this.o.log.warn("could not end a conversation", { error }));
  }

  // ------------------------------------------------------------ caller audio

  private onAudio(samples: Int16Array) {
    if (this.ended) return;
    this.lastAudioAt = performance.now();
    this.heardMs += (samples.length / this.o.transport.inputRate) * 1000;
    this.hear(this.toModel.process(int16ToFloat32(samples)));
  }

  /** While the caller is mid-utterance and the line has gone quiet, 20 ms of silence per tick. */
  private fillSilence() {
    if (this.ended || !this.vad.speaking || performance.now() - this.lastAudioAt < SILENCE_FILL_MS) return;
    this.heardMs += 20;
    this.hear(this.silenceFrame);
  }

  private hear(audio: Float32Array) {
    if (this.streaming) this.keep(audio);
    for (const event of this.vad.push(audio)) {
      if (event.type === "speech_start") {
        this.speechAtMs = event.atMs;
        // The streaming model hears one language: once the caller has switched away from it, Whisper takes over.
        if (this.streaming && !this.live && this.language.split("-")[0]!.toLowerCase() === this.streaming.language) {
          this.live = this.streaming.open();
          for (const chunk of this.preroll) this.live.accept(chunk);
        }
        this.cancelIdle();
        if (this.endpointTimer) clearTimeout(this.endpointTimer); // the caller goes on: the turn is not over
        this.endpointTimer = null;
        this.bargeIn(event.atMs);
      } else {
        this.speechEndAt = performance.now();
        this.utterance.push(event.samples);
        this.scheduleEndpoint();
      }
    }
  }

  /** The last PREROLL_MS of audio, and the live stream fed as audio arrives. */
  private keep(audio: Float32Array) {
    if (this.live) return this.live.accept(audio);
    this.preroll.push(audio.slice());
    let total = this.preroll.reduce((n, c) => n + c.length, 0);
    while (total > (MODEL_RATE * PREROLL_MS) / 1000) total -= this.preroll.shift()!.length;
  }

  private scheduleEndpoint() {
    const e = this.agent.endpointing;
    const wait = Math.max(0, (e.minSilenceMs ?? 500) - VAD_TRAILING_MS);
    if (this.endpointTimer) clearTimeout(this.endpointTimer);
    this.endpointTimer = setTimeout(() => void this.endOfTurn(), wait);
  }

  /**
   * The caller has been silent minSilenceMs: transcribe, and (semantic endpointing) wait for more, up to
   * maxSilenceMs of silence, if they sound unfinished.
   */
  private async endOfTurn(extended = false) {
    this.endpointTimer = null;
    // A reply held while the caller talked may play now (holdForCaller).
    if (!this.vad.speaking) this.release?.();
    const chunks = this.utterance.length;
    const samples = concat(this.utterance);
    if (!samples.length) return;
    const live = this.live;
    this.live = null;
    this.preroll = [];
    if (!this.o.speech.stt && !this.streaming) {
      this.utterance = [];
      this.later(() => this.sayDirect("Sorry, I can't understand speech on this line. Please use your keypad."));
      return;
    }
    this.endpointAt = this.clock();
    let transcript: Transcription;
    const before = this.transcribed;
    this.transcribed = null;
    try {
      // After a semantic wait in which the caller said nothing more, what was heard is already transcribed.
      transcript = extended && before?.chunks === chunks ? before.transcript : await this.transcribe(live, samples);
    } catch (error) {
      this.o.log.warn("speech recognition failed", { error });
      this.utterance = [];
      this.earlier = null;
      if (this.conversationId) this.o.runtime.note(this.conversationId, "error", { code: "stt_failed", message: String(error) });
      this.later(() => this.sayDirect("Sorry, I didn't catch that. Could you say it again?"));
      return;
    }
    // A streamed turn's text is kept, not its audio re-heard, if the caller goes on.
    if (this.streaming) this.earlier = transcript;
    if (this.endpointTimer || this.vad.speaking) return; // they started again while we listened
    const e = this.agent.endpointing;
    // maxSilenceMs counts from the end of speech, so the time recognition took is not added to it.
    const left = (e.maxSilenceMs ?? 1500) - VAD_TRAILING_MS - (performance.now() - this.speechEndAt);
    if (!extended && e.semantic && UNFINISHED.test(transcript.text) && left > 0) {
      // Sounds unfinished ("…and"): give the caller until maxSilenceMs before answering.
      this.transcribed = { chunks, transcript };
      this.endpointTimer = setTimeout(() => void this.endOfTurn(true), left);
      return;
    }
    this.utterance = [];
    this.earlier = null;
    const text = transcript.text.trim();
    if (!text) return this.armIdle(); // noise, a cough: not a turn, and the silence goes on
    this.enqueue({ type: "text", text, language: transcript.language ?? undefined, asrConfidence: transcript.confidence ?? undefined }, this.endpointAt);
  }

  /**
   * The turn's text: from the stream that heard it as it was spoken (after what it heard before a semantic wait),
   * else from the recognizer hearing the whole utterance now. A failed stream falls back to the latter.
   */
  private async transcribe(live: TranscriptionStream | null, samples: Float32Array): Promise<Transcription> {
    const stt = this.o.speech.stt;
    if (live || this.earlier) {
      try {
        const now = live ? await live.finish() : null;
        const before = this.earlier;
        if (!now) return before!;
        return before ? { ...now, text: `${before.text} ${now.text}`.trim() } : now;
      } catch (error) {
        if (!stt) throw error;
        this.o.log.warn("streaming speech recognition failed; transcribing the utterance instead", { error });
      }
    }
    // An agent that follows the caller's language lets the model detect it; otherwise it hears the conversation's.
    const codeSwitch = this.agent.languageMode === "code_switch" && this.agent.languages.length > 1;
    return stt!.transcribe(samples, { language: codeSwitch ? undefined : this.language.split("-")[0] });
  }

  /** Stops the agent's reply if it is playing; a reply not yet playing waits for the caller instead (holdForCaller). */
  private bargeIn(atMs: number) {
    const reply = this.reply;
    if (!reply || !this.replyPlaying) return;
    const playedBefore = this.o.transport.playing;
    reply.abort();
    this.o.transport.clear();
    if (this.conversationId) this.o.runtime.note(this.conversationId, "barge_in", { atMs, stoppedPlayback: playedBefore });
  }

  // ------------------------------------------------------------ keypad

  private onDigit(digit: string) {
    if (this.ended || !this.conversationId) return;
    this.cancelIdle();
    this.bargeIn(this.heardMs);
    const waiting = this.o.runtime.awaitingDtmf(this.conversationId);
    const submitKey = waiting?.submitKey ?? "#";
    if (this.digitTimer) clearTimeout(this.digitTimer);
    if (digit === submitKey) return this.submitDigits();
    this.digits += digit;
    if (waiting?.expectedDigits && this.digits.length >= waiting.expectedDigits) return this.submitDigits();
    this.digitTimer = setTimeout(() => this.submitDigits(), DIGIT_TIMEOUT_MS);
  }

  private submitDigits() {
    if (this.digitTimer) clearTimeout(this.digitTimer);
    this.digitTimer = null;
    const digits = this.digits;
    this.digits = "";
    if (digits) this.enqueue({ type: "dtmf", digits });
  }

  // ------------------------------------------------------------ turns and speech

  private enqueue(input: RuntimeInput, since = this.clock()) {
    if (this.ended || !this.conversationId) return;
    const conversationId = this.conversationId;
    if (input.type === "text" || input.type === "dtmf") this.idleTurns = 0;
    this.later(async () => {
      if (this.ended) return;
      try {
        const result = await this.o.runtime.turn(this.o.start.organizationId, conversationId, input, this.sink);
        await this.respond(result, since);
      } catch (error) {
        // The runtime answers brain and skill failures itself; this is the runtime failing (storage down): still no dead air.
        this.o.log.error("voice turn failed", { conversationId, error });
        if (!this.ended) await this.sayDirect("I'm sorry, something went wrong on my side. Could you say that again?").catch(() => {});
      }
    });
  }

  /** Turns, and lines the channel says itself, run one at a time in the order they were asked for. */
  private later(job: () => Promise<void>) {
    this.pending++;
    this.turns = this.turns
      .then(job)
      .catch((error) => this.o.log.error("voice turn failed", { conversationId: this.conversationId, error }))
      .finally(() => void this.pending--);
  }

  /** Speak a turn's replies, then carry out its transfer or ending. */
  private async respond(result: TurnResult, since: number) {
    this.language = result.replies.at(-1)?.language ?? this.language;
    await this.speak(result.replies.map((r) => r.text), since);
    if (this.ended) return;
    if (result.transfer) return this.carryOutTransfer(result.transfer);
    if (result.ended) return this.hangUp();
    this.armIdle();
  }

  /**
   * Sentence by sentence: the first is synthesized and playing while the next one is prepared. Playback never starts
   * while the caller is talking: the reply waits for the end of their turn (holdForCaller).
   */
  private async speak(texts: string[], since?: number) {
    const sentences = texts.flatMap((t) => t.match(SENTENCE)?.map((s) => s.trim()).filter(Boolean) ?? []);
    if (!sentences.length) return;
    const reply = new AbortController();
    this.reply = reply;
    this.replyPlaying = false;
    let heldMs = 0;
    let next = this.synthesize(sentences[0]!);
    for (let i = 0; i < sentences.length && !reply.signal.aborted && !this.ended; i++) {
      const audio = await next;
      if (i + 1 < sentences.length) next = this.synthesize(sentences[i + 1]!);
      if (reply.signal.aborted || this.ended || !audio) continue;
      const first = !this.replyPlaying;
      if (first) {
        heldMs = await this.holdForCaller(reply);
        if (reply.signal.aborted || this.ended) break;
        this.replyPlaying = true;
      }
      const playing = this.o.transport.play(audio);
      if (first && since !== undefined && this.conversationId) {
        // The time the reply was held for the caller is theirs, not the platform's: it is on the barge_in event.
        this.o.runtime.note(this.conversationId, "latency", { endOfSpeechToFirstAudioMs: this.clock() - since - heldMs });
      }
      const played = await playing;
      if (!played.finished) break;
    }
    if (this.reply === reply) {
      this.reply = null;
      this.replyPlaying = false;
    }
  }

  /** The caller is speaking, or has paused for less than the endpointing silence. */
  private callerMidTurn(): boolean {
    return this.vad.speaking || this.endpointTimer !== null;
  }

  /**
   * A reply ready while the caller talks (they spoke up while the agent was thinking) waits until their turn ends
   * (the endpointing decision), or replyHoldLimitMs, then plays. Their new utterance is a turn of its own, queued
   * after this one: the held reply plays first, then the new turn is answered. Recorded as `barge_in` with
   * `held: true`. Resolves with how long it waited.
   */
  private async holdForCaller(reply: AbortController): Promise<number> {
    if (!this.callerMidTurn()) return 0;
    const from = performance.now();
    const atMs = this.speechAtMs;
    let limitReached = false;
    await new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        reply.signal.removeEventListener("abort", done);
        this.release = null;
        resolve();
      };
      const timer = setTimeout(() => {
        limitReached = true;
        done();
      }, this.o.replyHoldLimitMs ?? REPLY_HOLD_LIMIT_MS);
      reply.signal.addEventListener("abort", done, { once: true });
      this.release = done;
    });
    const heldMs = Math.round(performance.now() - from);
    if (!reply.signal.aborted && !this.ended && this.conversationId) {
      this.o.runtime.note(this.conversationId, "barge_in", { atMs, stoppedPlayback: false, held: true, heldMs, ...(limitReached ? { holdLimitReached: true } : {}) });
    }
    return heldMs;
  }

  private async synthesize(text: string): Promise<Int16Array | null> {
    const a = this.agent;
    try {
      const speech = await this.o.speech.tts.synthesize(text, {
        voiceId: a.voiceMap[this.language] ?? (this.language === a.primaryLanguage ? (a.defaultVoiceId ?? undefined) : undefined),
        language: this.language,
        speed: typeof a.voiceSettings.speed === "number" ? a.voiceSettings.speed : undefined,
        pronunciations: a.lexicon.pronunciations,
      });
      const out = speech.sampleRate === this.o.transport.outputRate ? speech.samples : new Resampler(speech.sampleRate, this.o.transport.outputRate).process(speech.samples);
      return float32ToInt16(out);
    } catch (error) {
      this.o.log.error("speech synthesis failed", { error });
      if (this.conversationId) this.o.runtime.note(this.conversationId, "error", { code: "tts_failed", message: String(error) });
      return null;
    }
  }

  /** A line the channel itself needs to say (no turn): recognition trouble. */
  private async sayDirect(text: string) {
    await this.speak([text]);
    this.armIdle();
  }

  private async carryOutTransfer(transfer: Transfer) {
    const conversationId = this.conversationId!;
    const brief = async (signal: AbortSignal) => {
      const audio = await this.synthesize(transfer.summary);
      if (audio && !signal.aborted) await this.o.transport.play(audio);
    };
    const outcome = this.o.transfer ? await this.o.transfer(transfer, brief).catch(() => ({ ok: false, reason: "failed" })) : { ok: true };
    if (this.ended) return;
    if (outcome.ok) {
      this.finish();
      await this.o.runtime.end(this.o.start.organizationId, conversationId, "transferred", this.sink);
      return;
    }
    this.enqueue({ type: "transfer_failed", reason: outcome.reason ?? "failed" });
  }

  private async hangUp() {
    this.finish();
    await this.o.hangup().catch((error) => this.o.log.warn("could not hang up", { error }));
  }

  /**
   * The first reminder comes idleReminderDelaySeconds into a silence, each next one idleReminderIntervalSeconds
   * after the last was said. The runtime decides what each silence turn says: a reminder while fewer than
   * maxIdleReminders were given, then its onNoResponseAction (end, transfer, or nothing more); after that turn only
   * the caller moves the call on.
   */
  private armIdle() {
    this.cancelIdle();
    if (this.ended) return;
    const cc = this.agent.callControl;
    if (this.idleTurns > (cc.maxIdleReminders ?? 2)) return;
    const delay = cc.idleReminderDelaySeconds ?? 8;
    const wait = this.idleTurns === 0 ? delay : (cc.idleReminderIntervalSeconds ?? delay);
    this.idleTimer = setTimeout(() => {
      this.idleTimer = null;
      // Something else is under way; whatever finishes it arms the reminder again.
      if (this.pending || this.reply || this.callerMidTurn() || this.utterance.length) return;
      this.idleTurns++;
      this.enqueue({ type: "silence" });
    }, wait * 1000);
  }

  private cancelIdle() {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = null;
  }

  private finish() {
    if (this.ended) return;
    this.ended = true;
    for (const t of [this.endpointTimer, this.digitTimer, this.idleTimer, this.maxTimer]) if (t) clearTimeout(t);
    this.release?.();
    if (this.silenceTimer) clearInterval(this.silenceTimer);
    this.live?.cancel();
    this.live = null;
    this.vad.close();
    this.resolveDone();
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
