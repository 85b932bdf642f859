// One turn of a conversation as the runtime's parts see it: what a channel sends and gets back, what the turn gathers
// as it runs, and the steps the parts split out of conversation.ts (pending answers, verification, handoff) may take.
import type { ToolResult } from "./brain/types.ts";
import type { PhoneRegion } from "../platform/e164.ts";
import type { CompiledSkill } from "./compiled.ts";
import type { GuardrailEvent } from "./guardrails.ts";
import type { Live } from "./live-conversations.ts";
import type { SkillCallResult } from "./playbooks/interpreter.ts";
import type { AuditEvent } from "./receipt.ts";
import { phrase, type Phrase, type Speech } from "./phrases/index.ts";
import type { NewMessage } from "./store.ts";
import type { Passage, RunSkill, SkillCallContext } from "./tools/types.ts";

export type Channel = "voice" | "chat";

export type RuntimeInput =
  | { type: "text"; text: string; language?: string; asrConfidence?: number }
  | { type: "dtmf"; digits: string }
  | { type: "silence" }
  /** The voice channel could not complete the transfer the last turn asked for. */
  | { type: "transfer_failed"; reason: string }
  /** The call reached its maximum length while the caller was silent. */
  | { type: "call_timeout" };

export interface TurnSink {
  event?(event: AuditEvent): void;
  /** Reply text as it becomes sayable (already screened by the guardrails). */
  delta?(text: string): void;
}

export interface Transfer {
  destination: string;
  warm: boolean;
  summary: string;
  reason: string;
}

export interface StoredMessage {
  id: string;
  text: string;
  tsMs: number;
  /** The conversation's language when it was said (a voice channel speaks and hears in it). */
  language?: string;
}

export interface TurnResult {
  conversationId: string;
  /** The caller's input as stored (null for silence). */
  userMessage: StoredMessage | null;
  /** What the agent said this turn, after guardrails, in order. */
  replies: StoredMessage[];
  transfer: Transfer | null;
  ended: boolean;
  endReason: string | null;
  /** Keypad settings when the agent now waits for a keyed answer (voice channel). */
  awaitingDtmf: { expectedDigits?: number; submitKey?: string } | null;
  /** The agent redacts PII (content policy): whatever a channel stores of this result must be redactPiiDeep'd first. */
  redactsPii?: boolean;
}

/** Everything one turn produces, gathered as it happens. */
export class Turn {
  messages: NewMessage[] = [];
  result: TurnResult;
  toolResults: ToolResult[] = [];
  toolMs = 0;
  stop = false;
  /** A knowledge gap was recorded for this turn's question already. */
  gapRecorded = false;
  /** The brain was shown the conversation without its verified-only data (recorded once a turn). */
  brainWithheldNoted = false;
  /** The caller's input is in state.history (text is; keyed digits are not). */
  heard = false;
  constructor(
    readonly live: Live,
    readonly sink: TurnSink,
    readonly signal: AbortSignal,
  ) {
    this.result = { conversationId: live.row.id, userMessage: null, replies: [], transfer: null, ended: false, endReason: null, awaitingDtmf: null, redactsPii: live.guardrails.redactsPii };
  }
}

/** Where a transfer goes: a destination given, or a handoff rule by label; `warm` left out follows handoffConfig.warm. */
export interface TransferRoute {
  destination?: string | null;
  warm?: boolean;
  ruleLabel?: string;
}

/** What the runtime lends the steps that live outside conversation.ts. */
export interface TurnSteps {
  say(turn: Turn, speech: Speech, opts?: { screened?: boolean; citations?: Passage[] }): void;
  think(turn: Turn, text: string): Promise<void>;
  executeSkill(turn: Turn, skill: CompiledSkill, args: Record<string, unknown>, opts: { confirmed: boolean; fromPlaybook: boolean; callId?: string }): Promise<SkillCallResult>;
  /** A held skill call finished: hand the outcome back to the playbook, or let the brain speak about it. */
  afterHeld(turn: Turn, fromPlaybook: boolean, outcome: SkillCallResult, skill?: CompiledSkill, args?: Record<string, unknown>): Promise<void>;
  finish(turn: Turn, reason: string): void;
  guardrailEvents(live: Live, events: GuardrailEvent[]): void;
  egressArgs(live: Live, skill: CompiledSkill, args: Record<string, unknown>): Record<string, unknown>;
  skillContext(live: Live, skill: CompiledSkill, signal: AbortSignal): SkillCallContext;
  keepVariable(live: Live, name: string, value: unknown, verifiedOnly: boolean): void;
  /** How a phone number the caller says without its country code is read. */
  phoneRegion(live: Live): PhoneRegion;
  runSkill: RunSkill;
  clock: () => number;
}

export const goodbye = (channel: string): Phrase => phrase(channel === "voice" ? "goodbye.voice" : "goodbye.chat");
