// The domain events the platform emits, with their payloads: small, the resource's id and the fields a webhook
// consumer needs to act without calling back. docs/events.md documents the same shapes for API users: keep both in step.

export interface EventPayloads {
  /** A version of an agent went live: a publish, or a rollback to an earlier version (`rollback: true`). */
  "agent.published": { agentId: string; versionId: string; version: number; publishedBy: string | null; note: string | null; rollback: boolean };
  /** New content of a knowledge source is stored and searchable (a first indexing, or a refresh that found changes). */
  "knowledge_source.indexed": { sourceId: string; agentId: string; kind: string; chunkCount: number; refresh: boolean };
  /**
   * Reading a knowledge source failed for good (after its retries). `refresh: true`: a refresh failed, and the
   * passages of the last good indexing are still served.
   */
  "knowledge_source.failed": { sourceId: string; agentId: string; kind: string; reason: string; refresh: boolean };
  /** A phone number now rings an agent (assigned, reassigned, or imported with one). */
  "number.assigned": { numberId: string; e164: string; agentId: string; previousAgentId: string | null };
  /** A phone number no longer rings any agent; the organization keeps it. */
  "number.unassigned": { numberId: string; e164: string; previousAgentId: string };
  /** A phone number was given back to the provider for good. */
  "number.released": { numberId: string; e164: string; previousAgentId: string | null };
  /** A conversation's first turn was stored. */
  "conversation.started": { conversationId: string; agentId: string; agentVersionId: string | null; channel: string; source: string; draftMode: boolean };
  /** A conversation ended (caller hung up, the agent ended it, or it timed out). */
  "conversation.ended": {
    conversationId: string;
    agentId: string;
    channel: string;
    outcome: string | null;
    userTurnCount: number;
    goalCompleted: boolean;
    startedAt: string;
    endedAt: string;
  };
  /** A conversation was handed to a person (a transfer that connected, or a handoff request that was taken). */
  "handoff.completed": { conversationId: string; agentId: string; channel: string; target: string | null; reason: string | null };
}

export type EventType = keyof EventPayloads;

export const EVENT_TYPES = [
  "agent.published",
  "knowledge_source.indexed",
  "knowledge_source.failed",
  "number.assigned",
  "number.unassigned",
  "number.released",
  "conversation.started",
  "conversation.ended",
  "handoff.completed",
] as const satisfies readonly EventType[];

/** What an event is about, named like the API resource: the prefix of its type (`handoff.completed` is about a conversation). */
export function aggregateTypeOf(type: EventType): string {
  return type === "handoff.completed" ? "conversation" : type.slice(0, type.indexOf("."));
}

/** An event to append: `aggregateId` is the id of the resource it is about (the agent, the number, …). */
export type NewEvent = { [T in EventType]: { type: T; organizationId: string; aggregateId: string; payload: EventPayloads[T] } }[EventType];

interface StoredEvent<T extends EventType> {
  /** `evt_…`: unique, stable across deliveries (consumers dedupe on it). */
  id: string;
  /** Unique and increasing within one transaction; see log.ts for why the log's order is not position alone. */
  position: number;
  type: T;
  organizationId: string;
  aggregateType: string;
  aggregateId: string;
  payload: EventPayloads[T];
  /** ISO time of the transaction that made the change. */
  occurredAt: string;
}

/** A stored event; narrow on `type` to get its payload's shape. */
export type DomainEvent = { [T in EventType]: StoredEvent<T> }[EventType];
