// The in-browser voice test: a WebSocket carrying the browser's microphone into the same call session a phone call
// gets, and the agent's speech back. Binary messages are audio, 16-bit little-endian mono PCM at 16 kHz, both ways
// (the agent's in 20 ms frames, paced in real time so barge-in is immediate); text messages are JSON control:
//   browser → server  {"type":"dtmf","digits":"123#"}   {"type":"hangup"}
//   server → browser  {"type":"ready","conversationId":…}  {"type":"event","event":AuditEvent}  {"type":"clear"}
//                     {"type":"ended","reason":…}  (then the server closes the socket with 1000)
import type { Logger } from "../src/platform/log.ts";
import type { Telemetry } from "../src/platform/telemetry/index.ts";
import type { ConversationRuntime, StartOptions } from "../src/runtime/conversation.ts";
import { CallSession, type CallSpeech, type CallTransport } from "./call/index.ts";
import { systemClock, type Clock } from "./clock.ts";
import { FRAME_MS, Playout } from "./media/index.ts";

/** The audio format of both directions, as the talk-token response describes it. */
export const BROWSER_AUDIO = { encoding: "pcm_s16le", sampleRate: 16_000, channels: 1, frameMs: FRAME_MS } as const;

/** Audio may run ahead of the wall clock by this much (a browser flushing its buffer); beyond, it is dropped. */
const AHEAD_ALLOWANCE_MS = 1000;
const DIGITS = /^[0-9*#A-D]{1,32}$/;

/** What the session needs of the socket (Bun's ServerWebSocket, through Elysia). */
export interface BrowserSocket {
  sendBinary(data: Uint8Array): unknown;
  sendText(text: string): unknown;
  close(code?: number, reason?: string): unknown;
}

export interface BrowserCallOptions {
  runtime: ConversationRuntime;
  speech: CallSpeech;
  start: Omit<StartOptions, "channel">;
  log: Logger;
  /** The call's timers and time readings (the system's unless a test drives time itself). */
  clock?: Clock;
  telemetry?: Telemetry;
}

export class BrowserCall {
  private readonly playout: Playout;
  private readonly bytes = new Uint8Array((BROWSER_AUDIO.sampleRate * FRAME_MS * 2) / 1000);
  private readonly session: CallSession;
  private audioListener: ((samples: Int16Array) => void) | null = null;
  private dtmfListener: ((digit: string) => void) | null = null;
  private readonly clock: Clock;
  private readonly startedAt: number;
  private receivedMs = 0;
  private announced = false;
  private endReason = "ended";
  private open = true;

  constructor(
    private readonly socket: BrowserSocket,
    o: BrowserCallOptions,
  ) {
    this.clock = o.clock ?? systemClock;
    this.startedAt = this.clock.now();
    this.playout = new Playout({
      clock: this.clock,
      sampleRate: BROWSER_AUDIO.sampleRate,
      send: (pcm) => {
        if (!this.open) return;
        const view = new DataView(this.bytes.buffer);
        for (let i = 0; i < pcm.length; i++) view.setInt16(i * 2, pcm[i]!, true);
        this.socket.sendBinary(this.bytes);
      },
    });
    const playout = this.playout;
    const transport: CallTransport = {
      inputRate: BROWSER_AUDIO.sampleRate,
      outputRate: BROWSER_AUDIO.sampleRate,
      onAudio: (listener) => void (this.audioListener = listener),
      onDtmf: (listener) => void (this.dtmfListener = listener),
      play: (samples, started) => playout.play(samples, started),
      clear: () => {
        playout.clear();
        this.sendJson({ type: "clear" }); // the browser drops what it has buffered, too
      },
      get playing() {
        return playout.playing;
      },
    };
    this.session = new CallSession({
      runtime: o.runtime,
      speech: o.speech,
      transport,
      start: o.start,
      // No far end to connect in a test: a transfer the agent asks for counts as done (the receipt shows it).
      hangup: async () => this.close("agent_ended"),
      events: (event) => {
        if (!this.announced) {
          this.announced = true;
          this.sendJson({ type: "ready", conversationId: event.conversationId, audio: BROWSER_AUDIO });
        }
        this.sendJson({ type: "event", event });
      },
      log: o.log,
      clock: this.clock,
      telemetry: o.telemetry,
    });
  }

  /** Runs the call until it ends; the socket is closed by then. */
  async run(): Promise<void> {
    try {
      await this.session.run();
    } finally {
      this.close(this.endReason);
    }
  }

  /** A message from the browser: audio (binary) or a control object (Elysia has parsed JSON text already). */
  receive(message: unknown) {
    if (!this.open) return;
    if (message instanceof Uint8Array) return this.audio(message);
    const control = message as { type?: unknown; digits?: unknown } | null;
    if (control?.type === "dtmf" && typeof control.digits === "string" && DIGITS.test(control.digits)) {
      for (const digit of control.digits) this.dtmfListener?.(digit);
      return;
    }
    if (control?.type === "hangup") return void this.hungUp();
    this.sendJson({ type: "error", code: "invalid_message", message: 'send binary PCM audio, {"type":"dtmf","digits":"…"} or {"type":"hangup"}' });
  }

  /**
   * The browser hung up or went away, or the server is stopping (`reason`); `run()` then says so and closes the
   * socket (a no-op when it is gone). Resolves once the conversation's end is stored.
   */
  async hungUp(reason = "caller_hung_up"): Promise<void> {
    this.playout.close();
    this.endReason = reason;
    await this.session.callerHungUp(reason);
  }

  private audio(data: Uint8Array) {
    const samples = data.length >> 1;
    if (!samples) return;
    const ms = (samples * 1000) / BROWSER_AUDIO.sampleRate;
    // A client sending faster than real time only gets real time's worth of listening.
    if (this.receivedMs + ms > this.clock.now() - this.startedAt + AHEAD_ALLOWANCE_MS) return;
    this.receivedMs += ms;
    const pcm = new Int16Array(samples);
    const view = new DataView(data.buffer, data.byteOffset, samples * 2);
    for (let i = 0; i < samples; i++) pcm[i] = view.getInt16(i * 2, true);
    this.audioListener?.(pcm);
  }

  private sendJson(message: Record<string, unknown>) {
    if (this.open) this.socket.sendText(JSON.stringify(message));
  }

  private close(reason: string) {
    if (!this.open) return;
    this.sendJson({ type: "ended", reason });
    this.open = false;
    this.playout.close();
    this.socket.close(1000, reason);
  }
}
