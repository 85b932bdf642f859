// Persistence of conversations: the row with its carried state, the receipt events and the transcript.
// One statement per turn, so a crash never leaves a turn half-stored; a version (turn_seq) checked on every write, so
// a replica whose copy of a conversation is stale never writes over a turn stored by another.
import { and, asc, desc, eq, sql } from "drizzle-orm";
import type { Db } from "../platform/db/index.ts";
import { storableValue } from "../platform/text.ts";
import { conversationEvents, conversationMessages, conversations } from "../platform/db/schema/index.ts";
import { eventsInsert } from "../platform/events/index.ts";
import type { AuditEvent } from "./receipt.ts";
import type { ConversationState } from "./state.ts";
import { turnDomainEvents } from "./turn-events.ts";

export type ConversationRow = typeof conversations.$inferSelect;

export interface NewMessage {
  id: string;
  role: "user" | "assistant";
  content: string;
  language: string | null;
  tsMs: number;
}

export interface ConversationUpdate {
  state: ConversationState;
  status?: "active" | "ended";
  outcome?: string | null;
  summary?: string | null;
  topic?: string | null;
  sentiment?: string | null;
  language?: string;
  userTurnCount?: number;
  goalCompleted?: boolean;
  endedAt?: Date | null;
}

export class ConversationStore {
  constructor(private db: Db) {}

  async load(organizationId: string, id: string): Promise<ConversationRow | null> {
    const [row] = await this.db.select().from(conversations).where(and(eq(conversations.id, id), eq(conversations.organizationId, organizationId))).limit(1);
    return row ?? null;
  }

  /**
   * Store one turn — the conversation row (inserted on its first turn), its new receipt events and messages — as a
   * single statement: data-modifying CTEs run atomically, and on the embedded store (one connection on the main
   * thread) one round trip instead of five is most of a turn's cost. The turn is stored only if the conversation is
   * still at `row.turnSeq`, the version this replica's copy was read at: it then moves to turnSeq + 1 and its turn
   * lease is given back. False when another turn was stored first (nothing is written then: the events and messages
   * are inserted only alongside the row's update).
   */
  async saveTurn(row: ConversationRow, update: ConversationUpdate, events: AuditEvent[], messages: NewMessage[]): Promise<boolean> {
    // Skill answers, model output and recognized speech reach here unchecked: one NUL in them must not fail the turn.
    ({ update, events, messages } = storableValue({ update, events, messages }));
    const c = { ...row, ...update };
    const eventRows = JSON.stringify(events.map((e) => ({ id: e.id, seq: e.seq, ts_ms: e.tsMs, channel: e.channel, event_type: e.eventType, payload: e.payload, trace_id: e.traceId })));
    const messageRows = JSON.stringify(messages.map((m) => ({ id: m.id, role: m.role, content: m.content, language: m.language, ts_ms: m.tsMs })));
    const transferredTo = update.state.transferredTo ?? null;
    const domain = turnDomainEvents({ ...c, turnSeq: row.turnSeq, transferredTo }, events);
    const saved = await this.db.execute(sql`
      with conv as (
        insert into conversations (id, organization_id, agent_id, agent_version_id, draft_mode, channel, source, status, outcome, summary, topic,
          sentiment, language, caller_number, user_turn_count, goal_completed, state, metadata, publishable_key_id, visitor_id, started_at, ended_at, turn_seq)
        values (${c.id}, ${c.organizationId}, ${c.agentId}, ${c.agentVersionId}, ${c.draftMode}, ${c.channel}, ${c.source}, ${c.status}, ${c.outcome ?? null},
          ${c.summary ?? null}, ${c.topic ?? null}, ${c.sentiment ?? null}, ${c.language ?? null}, ${c.callerNumber}, ${c.userTurnCount}, ${c.goalCompleted},
          ${JSON.stringify(update.state)}::jsonb, ${JSON.stringify(c.metadata)}::jsonb, ${c.publishableKeyId}, ${c.visitorId},
          ${c.startedAt.toISOString()}::timestamptz, ${c.endedAt ? c.endedAt.toISOString() : null}::timestamptz, ${row.turnSeq + 1})
        on conflict (id) do update set
          state = excluded.state, status = excluded.status, outcome = excluded.outcome, summary = excluded.summary, topic = excluded.topic,
          sentiment = excluded.sentiment, language = excluded.language, user_turn_count = excluded.user_turn_count,
          goal_completed = excluded.goal_completed, ended_at = excluded.ended_at,
          turn_seq = excluded.turn_seq, turn_lease = null, turn_lease_expires_at = null
        where conversations.turn_seq = ${row.turnSeq}
        returning turn_seq
      ), ev as (
        insert into conversation_events (id, organization_id, conversation_id, seq, ts_ms, channel, event_type, payload, trace_id)
        select x.id, ${row.organizationId}, ${row.id}, x.seq, x.ts_ms, x.channel, x.event_type, x.payload, x.trace_id
        from jsonb_to_recordset(${eventRows}::jsonb) as x(id text, seq integer, ts_ms bigint, channel text, event_type text, payload jsonb, trace_id text)
        where exists (select 1 from conv)
      ), msg as (
        insert into conversation_messages (id, organization_id, conversation_id, role, content, language, ts_ms)
        select y.id, ${row.organizationId}, ${row.id}, y.role, y.content, y.language, y.ts_ms
        from jsonb_to_recordset(${messageRows}::jsonb) as y(id text, role text, content text, language text, ts_ms bigint)
        where exists (select 1 from conv)
      ), domain as (${eventsInsert(domain, sql`exists (select 1 from conv)`)})
      select turn_seq from conv
    `);
    return rowsOf(saved).length === 1;
  }

  /**
   * Take the lease on a conversation's next turn, unless another turn holds one that has not lapsed: the version the
   * conversation is stored at, or "held", or "missing". Lease times are the database's, so replicas' clocks do not matter.
   */
  async claimTurn(organizationId: string, id: string, token: string, leaseMs: number): Promise<{ turnSeq: number } | "held" | "missing"> {
    const claimed = rowsOf<{ turn_seq: number }>(
      await this.db.execute(sql`
        update conversations set turn_lease = ${token}, turn_lease_expires_at = now() + make_interval(secs => ${leaseMs / 1000})
        where id = ${id} and organization_id = ${organizationId} and (turn_lease is null or turn_lease_expires_at < now())
        returning turn_seq
      `),
    );
    if (claimed[0]) return { turnSeq: Number(claimed[0].turn_seq) };
    const [exists] = await this.db.select({ id: conversations.id }).from(conversations).where(and(eq(conversations.id, id), eq(conversations.organizationId, organizationId))).limit(1);
    return exists ? "held" : "missing";
  }

  /** Keep a turn's lease while the turn runs; false when it was lost (lapsed and taken, or given back). */
  async renewTurn(id: string, token: string, leaseMs: number): Promise<boolean> {
    const renewed = await this.db.execute(sql`
      update conversations set turn_lease_expires_at = now() + make_interval(secs => ${leaseMs / 1000})
      where id = ${id} and turn_lease = ${token} returning id
    `);
    return rowsOf(renewed).length === 1;
  }

  /** Give back a turn's lease without storing a turn (the turn failed, or had nothing to store). */
  async releaseTurn(id: string, token: string) {
    await this.db.execute(sql`update conversations set turn_lease = null, turn_lease_expires_at = null where id = ${id} and turn_lease = ${token}`);
  }

  async messages(conversationId: string): Promise<NewMessage[]> {
    const rows = await this.db.select().from(conversationMessages).where(eq(conversationMessages.conversationId, conversationId)).orderBy(asc(conversationMessages.id));
    return rows.map((r) => ({ id: r.id, role: r.role as "user" | "assistant", content: r.content, language: r.language, tsMs: r.tsMs }));
  }

  async lastMessageId(conversationId: string): Promise<string | null> {
    const [row] = await this.db.select({ id: conversationMessages.id }).from(conversationMessages).where(eq(conversationMessages.conversationId, conversationId)).orderBy(desc(conversationMessages.id)).limit(1);
    return row?.id ?? null;
  }

  async events(conversationId: string): Promise<AuditEvent[]> {
    const rows = await this.db.select().from(conversationEvents).where(eq(conversationEvents.conversationId, conversationId)).orderBy(asc(conversationEvents.seq));
    return rows.map((r) => ({ id: r.id, conversationId: r.conversationId, seq: r.seq, tsMs: r.tsMs, channel: r.channel as "voice" | "chat", eventType: r.eventType as AuditEvent["eventType"], payload: r.payload, traceId: r.traceId }));
  }
}

/** The rows of a raw statement: postgres-js answers an array, PGlite an object holding `rows`. */
function rowsOf<T = Record<string, unknown>>(result: unknown): T[] {
  return Array.isArray(result) ? (result as T[]) : ((result as { rows?: T[] }).rows ?? []);
}
