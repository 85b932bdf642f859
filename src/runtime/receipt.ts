// The receipt: every conversation's ordered event log (the spec's AuditEventDTO). The same events stream
// live from simulate, probe and chat, and are stored for Observe.
import { newId } from "../platform/ids.ts";

export const EVENT_TYPES = [
  "user_utterance",
  "agent_message",
  "tool_call",
  "kb_retrieval",
  "guardrail",
  "verification",
  "language_switch",
  "handoff",
  "barge_in",
  "latency",
  "filler",
  "call_started",
  "call_ended",
  "error",
] as const;
export type EventType = (typeof EVENT_TYPES)[number];

export interface AuditEvent {
  id: string;
  conversationId: string;
  seq: number;
  /** Milliseconds since the conversation started. */
  tsMs: number;
  channel: "voice" | "chat";
  eventType: EventType;
  payload: Record<string, unknown>;
  traceId: string | null;
}

/**
 * Collects a conversation's events in order. `unsaved()` lists those not yet stored; `saved(n)` lets go of the first
 * n once they are: a write that fails loses none of them.
 */
export class Receipt {
  private pending: AuditEvent[] = [];

  constructor(
    private conversationId: string,
    private channel: "voice" | "chat",
    private startedAtMs: number,
    private nextSeq: number,
    private clock: () => number,
    private listener?: (event: AuditEvent) => void,
  ) {}

  /** Where live events go for the current turn (an SSE stream), if anywhere. */
  listen(listener: ((event: AuditEvent) => void) | undefined) {
    this.listener = listener;
  }

  add(eventType: EventType, payload: Record<string, unknown>, traceId: string | null = null): AuditEvent {
    const event: AuditEvent = {
      id: newId("evt"),
      conversationId: this.conversationId,
      seq: this.nextSeq++,
      tsMs: Math.max(0, this.clock() - this.startedAtMs),
      channel: this.channel,
      eventType,
      payload,
      traceId,
    };
    this.pending.push(event);
    this.listener?.(event);
    return event;
  }

  unsaved(): AuditEvent[] {
    return [...this.pending];
  }

  saved(count: number) {
    this.pending.splice(0, count);
  }

  get seq() {
    return this.nextSeq;
  }
}
