// What a call session is given: the channel carrying its audio, the speech engines, and its options.
import type { Logger } from "../../src/platform/log.ts";
import type { Telemetry } from "../../src/platform/telemetry/index.ts";
import type { ConversationRuntime, StartOptions, Transfer } from "../../src/runtime/conversation.ts";
import type { AuditEvent } from "../../src/runtime/receipt.ts";
import type { Clock } from "../clock.ts";
import type { StreamingSpeechToText, SpeechToText, TextToSpeech, VadFactory } from "../speech/types.ts";

/** How a call's audio travels. Rates are the transport's own (8 kHz for G.711 phone audio). */
export interface CallTransport {
  readonly inputRate: number;
  readonly outputRate: number;
  onAudio(listener: (samples: Int16Array) => void): void;
  onDtmf(listener: (digit: string) => void): void;
  /** Queues speech; resolves when it has played, or was cut off by `clear()`. `started` runs as its first frame is sent. */
  play(samples: Int16Array, started?: () => void): Promise<{ finished: boolean; playedMs: number }>;
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
   * Absent for channels that cannot transfer (the browser test): the transfer then counts as done. A failure's
   * `cause` (the destination's Q.850 hangup cause, when it gave one) goes into the call's log.
   */
  transfer?: (transfer: Transfer, brief: (signal: AbortSignal) => Promise<void>) => Promise<{ ok: boolean; reason?: string; cause?: number }>;
  /** Ends the call on the channel once the conversation has ended and its last words were played. */
  hangup: () => Promise<void>;
  /** Receipt events as they happen (the browser test shows them); the receipt is stored either way. */
  events?: (event: AuditEvent) => void;
  log: Logger;
  /** Every timer and time reading of the call (the system's unless a test drives time itself). */
  clock?: Clock;
  /** How long a reply may wait for a caller who is still talking before it plays anyway (default 5 s). */
  replyHoldLimitMs?: number;
  /** Calls in progress, and a trace per turn (speech synthesis, the first packet of each reply). */
  telemetry?: Telemetry;
}

/** The rate the VAD and recognizers hear. */
export const MODEL_RATE = 16_000;
