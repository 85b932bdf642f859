// The domain events (docs/events.md) a stored turn causes, read off what the turn stores: its receipt events and the
// conversation's new state. They are appended in the statement that stores the turn (store.ts), so they exist exactly
// when the turn does.
import type { NewEvent } from "../platform/events/index.ts";
import type { AuditEvent } from "./receipt.ts";

interface StoredTurn {
  /** The conversation as stored: `turnSeq` 0 means this turn creates it. */
  id: string;
  organizationId: string;
  agentId: string;
  agentVersionId: string | null;
  channel: string;
  source: string;
  draftMode: boolean;
  startedAt: Date;
  turnSeq: number;
  /** After the turn. */
  status: string;
  outcome?: string | null;
  userTurnCount: number;
  goalCompleted: boolean;
  endedAt?: Date | null;
  transferredTo: string | null;
}

export function turnDomainEvents(c: StoredTurn, events: AuditEvent[]): NewEvent[] {
  const out: NewEvent[] = [];
  const base = { organizationId: c.organizationId, aggregateId: c.id };
  if (c.turnSeq === 0) {
    out.push({ ...base, type: "conversation.started", payload: { conversationId: c.id, agentId: c.agentId, agentVersionId: c.agentVersionId, channel: c.channel, source: c.source, draftMode: c.draftMode } });
  }
  for (const e of events) {
    // A chat handoff is complete when the agent hands over the team's contact; a call's, once the voice channel has
    // connected the caller (it then ends the conversation with the reason "transferred").
    if (e.eventType === "handoff" && c.channel !== "voice" && e.payload.status !== "failed") {
      out.push({ ...base, type: "handoff.completed", payload: { conversationId: c.id, agentId: c.agentId, channel: c.channel, target: str(e.payload.destination), reason: str(e.payload.reason) } });
    }
    if (e.eventType === "call_ended") {
      if (e.payload.reason === "transferred") {
        out.push({ ...base, type: "handoff.completed", payload: { conversationId: c.id, agentId: c.agentId, channel: c.channel, target: c.transferredTo, reason: lastHandoffReason(events) } });
      }
      out.push({
        ...base,
        type: "conversation.ended",
        payload: {
          conversationId: c.id,
          agentId: c.agentId,
          channel: c.channel,
          outcome: c.outcome ?? null,
          userTurnCount: c.userTurnCount,
          goalCompleted: c.goalCompleted,
          startedAt: c.startedAt.toISOString(),
          endedAt: (c.endedAt ?? new Date()).toISOString(),
        },
      });
    }
  }
  return out;
}

const str = (v: unknown): string | null => (typeof v === "string" ? v : null);

/** The reason of the handoff this turn asked for, when it is in the same turn (the transfer ends a later turn). */
function lastHandoffReason(events: AuditEvent[]): string | null {
  return str(events.findLast((e) => e.eventType === "handoff")?.payload.reason);
}
