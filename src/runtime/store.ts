// Persistence of conversations: the row with its carried state, the receipt events and the transcript.
// One transaction per turn, so a crash never leaves a turn half-stored.
import { and, asc, eq, sql } from "drizzle-orm";
import type { Db } from "../platform/db/index.ts";
import { conversationEvents, conversationMessages, conversations } from "../platform/db/schema/index.ts";
import type { AuditEvent } from "./receipt.ts";
import type { ConversationState } from "./state.ts";

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

  async create(row: typeof conversations.$inferInsert): Promise<ConversationRow> {
    const [created] = await this.db.insert(conversations).values(row).returning();
    return created!;
  }

  async load(organizationId: string, id: string): Promise<ConversationRow | null> {
    const [row] = await this.db.select().from(conversations).where(and(eq(conversations.id, id), eq(conversations.organizationId, organizationId))).limit(1);
    return row ?? null;
  }

  async saveTurn(row: Pick<ConversationRow, "id" | "organizationId">, update: ConversationUpdate, events: AuditEvent[], messages: NewMessage[]) {
    await this.db.transaction(async (tx) => {
      if (events.length) {
        await tx.insert(conversationEvents).values(
          events.map((e) => ({ id: e.id, organizationId: row.organizationId, conversationId: row.id, seq: e.seq, tsMs: e.tsMs, channel: e.channel, eventType: e.eventType, payload: e.payload, traceId: e.traceId })),
        );
      }
      if (messages.length) {
        await tx.insert(conversationMessages).values(messages.map((m) => ({ organizationId: row.organizationId, conversationId: row.id, ...m })));
      }
      // What was said (already redacted when the policy asks) and the summary feed full-text search.
      const searchable = [...messages.map((m) => m.content), update.summary ?? ""].filter(Boolean).join(" ");
      await tx
        .update(conversations)
        .set({
          ...update,
          state: update.state as unknown as Record<string, unknown>,
          ...(searchable ? { searchText: sql`${conversations.searchText} || ' ' || ${searchable}` } : {}),
        })
        .where(eq(conversations.id, row.id));
    });
  }

  async events(conversationId: string): Promise<AuditEvent[]> {
    const rows = await this.db.select().from(conversationEvents).where(eq(conversationEvents.conversationId, conversationId)).orderBy(asc(conversationEvents.seq));
    return rows.map((r) => ({ id: r.id, conversationId: r.conversationId, seq: r.seq, tsMs: r.tsMs, channel: r.channel as "voice" | "chat", eventType: r.eventType as AuditEvent["eventType"], payload: r.payload, traceId: r.traceId }));
  }
}
