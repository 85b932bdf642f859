// One call, whatever carries its audio (a phone line through Asterisk, or a browser's WebSocket): caller audio →
// VAD → endpointing → speech to text → the conversation runtime → text to speech → paced playback. Barge-in stops
// playback and the rest of the reply; keyed digits fill playbook steps; silence brings idle reminders; transfers
// are carried out by the channel and reported back; errors are spoken, never silence. Each of those concerns is a
// module of its own (endpointing, reply, keypad, idle); this one wires them to the call and orders its turns.
import type { AgentSettings } from "../../src/runtime/compiled.ts";
import type { Phrase } from "../../src/runtime/phrases/index.ts";
import type { RuntimeInput, Transfer, TurnResult, TurnSink } from "../../src/runtime/conversation.ts";
import { systemClock, type Clock, type Timer } from "../clock.ts";
import { int16ToFloat32, Resampler } from "../media/index.ts";
import type { StreamingSpeechToText, VoiceActivityDetector } from "../speech/types.ts";
import { Endpointing } from "./endpointing.ts";
import { IdleTimer } from "./idle.ts";
import { DigitCollector } from "./keypad.ts";
import { ReplyPlayer, type ReplyDeps } from "./reply.ts";
import { MODEL_RATE, type CallSessionOptions } from "./types.ts";

/**
 * Asterisk sends no RTP while a two-party bridge is silent, so a caller who stops talking may simply stop sending.
 * After this long without audio the session feeds the VAD silence itself, so the end of their turn is still heard.
 */
const SILENCE_FILL_MS = 60;

export class CallSession {
  readonly done: Promise<void>;
  private resolveDone!: () => void;
  private conversationId: string | null = null;
  private readonly agent: AgentSettings;
  /** The conversation's language, as the runtime's replies carry it: a caller who switches language is answered in theirs. */
  private language: string;
  private readonly vad: VoiceActivityDetector;
  private readonly toModel: Resampler;
  private readonly clock: Clock;
  private readonly sink: TurnSink;
  /** The streaming recognizer, when it hears this call's language. */
  private readonly streaming: StreamingSpeechToText | null;
  private readonly endpointing: Endpointing;
  private readonly replies: ReplyPlayer;
  private readonly keypad: DigitCollector;
  private readonly idle: IdleTimer;
  private endReason = "caller_hung_up";
  /** The write that ends the conversation after a hang-up, once started. */
  private closing: Promise<void> | null = null;
  /** Opening the conversation, while `run()` waits for it. */
  private opening: Promise<TurnResult> | null = null;
  private ended = false;
  /** When the call was answered (the session starts then), on the call's clock: receipt times count from here. */
  private readonly answeredAt: number;
  /** When the call ended, for its duration. */
  private endedAt: number | null = null;
  /** Audio the VAD has been fed (caller audio and filled silence): VAD times are on this scale, not the call's. */
  private streamMs = 0;
  /** Call time of the caller's latest speech_start. */
  private speechAtMs = 0;
  /**
   * A transfer is under way: the agent's media is away from the caller (ringback), or bridged with the destination
   * alone for a warm briefing. What arrives then is not the caller, and never reaches the VAD or a recognizer.
   */
  private transferring = false;
  private turns: Promise<void> = Promise.resolve();
  /** Jobs queued on `turns` and not yet done. */
  private pending = 0;

  private lastAudioAt = 0;
  private silenceTimer: Timer | null = null;
  private readonly silenceFrame = new Float32Array(MODEL_RATE / 50);
  private maxTimer: Timer | null = null;

  constructor(private readonly o: CallSessionOptions) {
    this.done = new Promise((resolve) => (this.resolveDone = resolve));
    this.vad = o.speech.vad.create();
    this.toModel = new Resampler(o.transport.inputRate, MODEL_RATE);
    const clock = (this.clock = o.clock ?? systemClock);
    this.answeredAt = clock.now();
    const agent = (this.agent = o.start.compiled.agent);
    this.language = agent.primaryLanguage;
    this.sink = { event: o.events };
    const offered = o.speech.streaming ?? null;
    const streaming = (this.streaming = offered && offered.language === agent.primaryLanguage.split("-")[0]!.toLowerCase() ? offered : null);
    const note = (type: Parameters<ReplyDeps["note"]>[0], payload: Record<string, unknown>) => {
      if (this.conversationId) o.runtime.note(this.conversationId, type, payload);
    };
    this.endpointing = new Endpointing({
      agent,
      speech: o.speech,
      streaming,
      clock,
      log: o.log,
      speaking: () => this.vad.speaking,
      language: () => this.language,
      callerPaused: () => this.replies.releaseHeld(),
      turn: (input, endpointAt) => this.enqueue(input, endpointAt),
      nothingSaid: () => this.armIdle(),
      noRecognizer: () => this.later(() => this.sayDirect("voice.no_recognizer")),
      failed: (error) => {
        note("error", { code: "stt_failed", message: String(error) });
        this.later(() => this.sayDirect("voice.didnt_catch"));
      },
    });
    this.replies = new ReplyPlayer({
      agent,
      transport: o.transport,
      tts: o.speech.tts,
      clock,
      log: o.log,
      holdLimitMs: o.replyHoldLimitMs,
      language: () => this.language,
      ended: () => this.ended,
      callerMidTurn: () => this.callerMidTurn(),
      speechAtMs: () => this.speechAtMs,
      conversationId: () => this.conversationId,
      note,
    });
    this.keypad = new DigitCollector(clock, (digits) => this.enqueue({ type: "dtmf", digits }));
    this.idle = new IdleTimer(
      clock,
      agent.callControl,
      () => this.pending > 0 || this.replies.active || this.callerMidTurn() || this.endpointing.holding,
      () => this.enqueue({ type: "silence" }),
    );
  }

  /** Opens the conversation, greets, and listens until the call ends and everything about it is stored. */
  async run(): Promise<void> {
    const inProgress = this.o.telemetry?.metrics.callsInProgress.labels({ source: this.o.start.source });
    inProgress?.inc();
    try {
      await this.serve();
    } finally {
      inProgress?.dec();
    }
  }

  private async serve(): Promise<void> {
    const { transport, runtime, start } = this.o;
    transport.onAudio((samples) => this.onAudio(samples));
    transport.onDtmf((digit) => {
      // Which key is left out: callers key card numbers and PINs, one digit a line would spell them out.
      this.o.log.debug("caller pressed a key", { conversationId: this.conversationId, atMs: Math.round(this.callTimeMs()) });
      this.onDigit(digit);
    });
    const starting = runtime.start({ ...start, channel: "voice" }, this.sink);
    this.opening = starting;
    const opened = await starting;
    this.conversationId = opened.conversationId;
    const meta = start.metadata ?? {};
    this.o.log.info("call answered", { conversationId: opened.conversationId, agentId: start.agentId, source: start.source, dialedNumber: meta.dialedNumber ?? null, callerNumber: start.callerNumber ?? null, channelId: meta.channelId ?? null });
    if (this.ended) {
      // Hung up while the conversation was opening.
      this.closing ??= this.endConversation(this.endReason);
      await this.closing;
      return this.logEnd();
    }
    if (!this.o.speech.stt && !this.streaming) runtime.note(opened.conversationId, "error", { code: "no_speech_recognizer", message: "no speech recognizer is installed: this call understands the keypad only" });
    this.maxTimer = this.clock.setTimeout(() => this.enqueue({ type: "call_timeout" }), (this.agent.callControl.maxCallSeconds ?? 600) * 1000);
    this.silenceTimer = this.clock.setInterval(() => this.fillSilence(), 20);
    const greetedFrom = this.clock.now();
    this.later(() => this.traced("voice.greeting", () => this.respond(opened, greetedFrom)));
    await this.done;
    // A turn in flight when the call ended still writes its receipt: wait for it, and for the closing write.
    for (let t = this.turns; ; t = this.turns) {
      await t.catch(() => {});
      if (t === this.turns) break;
    }
    await this.closing;
    this.logEnd();
  }

  private logEnd() {
    const durationMs = Math.round((this.endedAt ?? this.clock.now()) - this.answeredAt);
    this.o.log.info("call ended", { conversationId: this.conversationId, reason: this.endReason, durationMs });
  }

  /** Milliseconds since the call was answered, on the call's clock. */
  private callTimeMs(): number {
    return this.clock.now() - this.answeredAt;
  }

  /**
   * The caller hung up, or the server is stopping (`reason` says which): stop everything and close the
   * conversation. Resolves once the conversation's end is stored.
   */
  async callerHungUp(reason = "caller_hung_up"): Promise<void> {
    if (!this.ended) {
      this.endReason = reason;
      this.finish();
      this.replies.abort();
      this.o.transport.clear();
      if (this.conversationId) this.closing = this.endConversation(reason);
    }
    // Hung up while the conversation was still opening (a server stopping right after a call came in): it is ended
    // as soon as it is open, and only then is the hang-up done, so a server stops after, not before, that write.
    if (!this.closing && this.opening) {
      const opened = await this.opening.catch(() => null);
      if (opened) {
        this.conversationId ??= opened.conversationId;
        this.closing ??= this.endConversation(this.endReason);
      }
    }
    await this.closing;
  }

  private endConversation(reason: string): Promise<void> {
    return this.o.runtime.end(this.o.start.organizationId, this.conversationId!, reason, this.sink).catch((error) => this.o.log.warn("could not end a conversation", { error }));
  }

  // ------------------------------------------------------------ caller audio

  private onAudio(samples: Int16Array) {
    if (this.ended || this.transferring) return;
    this.lastAudioAt = this.clock.now();
    this.streamMs += (samples.length / this.o.transport.inputRate) * 1000;
    this.hear(this.toModel.process(int16ToFloat32(samples)));
  }

  /** While the caller is mid-utterance and the line has gone quiet, 20 ms of silence per tick. */
  private fillSilence() {
    if (this.ended || this.transferring || !this.vad.speaking || this.clock.now() - this.lastAudioAt < SILENCE_FILL_MS) return;
    this.streamMs += 20;
    this.hear(this.silenceFrame);
  }

  private hear(audio: Float32Array) {
    this.endpointing.hear(audio);
    for (const event of this.vad.push(audio)) {
      if (event.type === "speech_start") {
        // The VAD places the start on its stream of audio heard: as many ms before now as have been heard since.
        // Asterisk sends nothing while the caller is silent, so that stream is not the call's time, but what came
        // after the start did arrive as it was spoken.
        this.speechAtMs = Math.max(0, this.callTimeMs() - (this.streamMs - event.atMs));
        this.o.log.debug("caller started speaking", { conversationId: this.conversationId, atMs: Math.round(this.speechAtMs) });
        this.endpointing.speechStarted();
        this.idle.cancel();
        this.replies.bargeIn(this.speechAtMs);
      } else {
        this.endpointing.speechEnded(event.samples);
      }
    }
  }

  /** The caller is speaking, or has paused for less than the endpointing silence. */
  private callerMidTurn(): boolean {
    return this.vad.speaking || this.endpointing.waiting;
  }

  // ------------------------------------------------------------ keypad

  private onDigit(digit: string) {
    if (this.ended || !this.conversationId) return;
    this.idle.cancel();
    this.replies.bargeIn(this.callTimeMs());
    this.keypad.press(digit, this.o.runtime.awaitingDtmf(this.conversationId));
  }

  // ------------------------------------------------------------ turns

  private enqueue(input: RuntimeInput, since = this.clock.now()) {
    if (this.ended || !this.conversationId) return;
    const conversationId = this.conversationId;
    if (input.type === "text" || input.type === "dtmf") this.idle.callerTookTurn();
    this.later(async () => {
      if (this.ended) return;
      try {
        await this.traced("voice.turn", async () => {
          const from = this.clock.now();
          this.o.log.debug("turn started", { conversationId, input: input.type });
          const result = await this.o.runtime.turn(this.o.start.organizationId, conversationId, input, this.sink);
          this.o.log.debug("turn answered", { conversationId, replies: result.replies.length, turnMs: Math.round(this.clock.now() - from), ...(result.transfer ? { transfer: true } : {}), ...(result.ended ? { ended: result.endReason } : {}) });
          await this.respond(result, since);
        });
      } catch (error) {
        // The runtime answers brain and skill failures itself; this is the runtime failing (storage down): still no dead air.
        this.o.log.error("voice turn failed", { conversationId, error });
        if (!this.ended) await this.sayDirect("turn.failed").catch(() => {});
      }
    });
  }

  /** A trace of its own for each turn of the call: the conversation's turn, speech synthesis, the first packet out. */
  private traced(name: string, work: () => Promise<void>): Promise<void> {
    const telemetry = this.o.telemetry;
    return telemetry ? telemetry.trace(name, { "conversation.id": this.conversationId ?? "", "conversation.channel": "voice" }, work) : work();
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
    await this.replies.speak(result.replies.map((r) => r.text), since);
    if (this.ended) return;
    if (result.transfer) return this.carryOutTransfer(result.transfer);
    if (result.ended) return this.hangUp(result.endReason ?? "agent_ended");
    this.armIdle();
  }

  /**
   * A line the channel itself needs to say (no turn): recognition trouble, an apology. The runtime records it like
   * any line of the agent's (transcript, receipt, guardrails) and renders it in the conversation's language.
   */
  private async sayDirect(id: Phrase["id"]) {
    const said = await this.o.runtime.announce(this.o.start.organizationId, this.conversationId!, { phrase: id }, this.sink);
    this.language = said.replies.at(-1)?.language ?? this.language;
    await this.replies.speak(said.replies.map((r) => r.text));
    this.armIdle();
  }

  private armIdle() {
    if (this.ended) return this.idle.cancel();
    this.idle.arm();
  }

  private async carryOutTransfer(transfer: Transfer) {
    const conversationId = this.conversationId!;
    const { organizationId } = this.o.start;
    // What the destination hears first on a warm transfer; recorded on the receipt (handoff, `briefed`) once said.
    const brief = async (signal: AbortSignal) => {
      let completed = false;
      const audio = await this.replies.synthesize(transfer.summary);
      if (audio && !signal.aborted) completed = (await this.o.transport.play(audio)).finished;
      await this.o.runtime.announce(organizationId, conversationId, { briefing: audio ? transfer.summary : "", destination: transfer.destination, completed }, this.sink);
    };
    const log = { conversationId, destination: transfer.destination, warm: transfer.warm };
    this.o.log.info("transfer started", log);
    this.transferring = true;
    const outcome = this.o.transfer ? await this.o.transfer(transfer, brief).catch((error) => ({ ok: false, reason: "failed", error })) : { ok: true };
    this.transferring = false;
    if (outcome.ok) this.o.log.info("transfer connected", log);
    else this.o.log.info("transfer failed", { ...log, ...outcome });
    if (this.ended) return;
    if (outcome.ok) {
      this.endReason = "transferred";
      this.finish();
      await this.o.runtime.end(organizationId, conversationId, "transferred", this.sink);
      return;
    }
    this.enqueue({ type: "transfer_failed", reason: outcome.reason ?? "failed" });
  }

  private async hangUp(reason: string) {
    this.endReason = reason;
    this.finish();
    await this.o.hangup().catch((error) => this.o.log.warn("could not hang up", { error }));
  }

  private finish() {
    if (this.ended) return;
    this.ended = true;
    this.endedAt = this.clock.now();
    this.endpointing.close();
    this.keypad.close();
    this.idle.cancel();
    this.clock.clearTimeout(this.maxTimer);
    this.replies.releaseHeld();
    this.clock.clearInterval(this.silenceTimer);
    this.vad.close();
    this.resolveDone();
  }
}
