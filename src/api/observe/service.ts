// Observe: stored conversations as history rows, details, transcripts and receipts. Everything here reads what
// the conversation runtime wrote; nothing is computed by a model.
import { and, asc, desc, eq, gte, lt, lte, sql, type SQL } from "drizzle-orm";
import type { Db } from "../../platform/db/index.ts";
import { conversationEvents, conversationMessages, conversations } from "../../platform/db/schema/index.ts";
import { decodeCursor, page } from "../../platform/http/pagination.ts";
import { notFound, Problem } from "../../platform/http/problem.ts";
import type { AgentsService } from "../agents/service.ts";
import type { ConversationDetailDto, ConversationDto, ReceiptDto, TranscriptDto } from "./model.ts";

export interface CallQuery {
  agentId?: string;
  from?: string;
  to?: string;
  channel?: "voice" | "chat";
  outcome?: "completed" | "transferred" | "abandoned" | "error";
  source?: string;
  q?: string;
  cursor?: string;
  page?: number;
  limit: number;
}

// Every column a row shows, plus the per-turn sentiment scores out of the carried state (not the whole state).
const rowColumns = {
  id: conversations.id,
  agentId: conversations.agentId,
  agentVersionId: conversations.agentVersionId,
  channel: conversations.channel,
  source: conversations.source,
  status: conversations.status,
  startedAt: conversations.startedAt,
  endedAt: conversations.endedAt,
  language: conversations.language,
  callerNumber: conversations.callerNumber,
  goalCompleted: conversations.goalCompleted,
  userTurnCount: conversations.userTurnCount,
  outcome: conversations.outcome,
  summary: conversations.summary,
  topic: conversations.topic,
  sentiment: conversations.sentiment,
  draftMode: conversations.draftMode,
  metadata: conversations.metadata,
  sentimentScores: sql<unknown>`${conversations.state} -> 'sentimentScores'`,
};
const selectRows = (db: Db) => db.select(rowColumns).from(conversations);
type Row = Awaited<ReturnType<typeof selectRows>>[number];

export class ObserveService {
  constructor(
    private db: Db,
    private agents: AgentsService,
  ) {}

  async list(organizationId: string, query: CallQuery) {
    if (query.page !== undefined && query.cursor) {
      throw new Problem(400, "validation_error", "page through the list by cursor or by page number, not both", { errors: [{ field: "page", message: "cannot be combined with cursor" }] });
    }
    const after = decodeCursor(query.cursor);
    const where: SQL[] = [eq(conversations.organizationId, organizationId)];
    if (query.agentId) where.push(eq(conversations.agentId, query.agentId));
    if (query.from) where.push(gte(conversations.startedAt, instant(query.from, "from")));
    if (query.to) where.push(lte(conversations.startedAt, instant(query.to, "to")));
    if (query.channel) where.push(eq(conversations.channel, query.channel));
    if (query.outcome) where.push(eq(conversations.outcome, query.outcome));
    if (query.source) where.push(eq(conversations.source, query.source));
    const q = query.q?.trim();
    // Written exactly as the GIN index's expression, with a literal configuration, so the planner can use it.
    if (q) {
      // What was said (stored redacted when the policy asks) or the summary; both expressions have GIN indexes.
      where.push(
        sql`(to_tsvector('simple', coalesce(${conversations.summary}, '')) @@ plainto_tsquery('simple', ${q}) or exists (select 1 from ${conversationMessages} m where m.conversation_id = ${conversations.id} and to_tsvector('simple', m.content) @@ plainto_tsquery('simple', ${q})))`,
      );
    }
    const pageNumber = after ? null : (query.page ?? 1);
    const [rows, [counted]] = await Promise.all([
      selectRows(this.db)
        .where(and(...where, ...(after ? [lt(conversations.id, after)] : [])))
        .orderBy(desc(conversations.id))
        .limit(query.limit + 1)
        .offset(pageNumber ? (pageNumber - 1) * query.limit : 0),
      this.db.select({ total: sql<number>`count(*)::int` }).from(conversations).where(and(...where)),
    ]);
    const listed = page(rows, query.limit, (r) => r.id, toConversation);
    const total = Number(counted?.total ?? 0);
    return { ...listed, pagination: { ...listed.pagination, page: pageNumber, total, totalPages: Math.ceil(total / query.limit) } };
  }

  /** An agent's calls: the same list, after checking the agent is the caller's organization's. */
  async listForAgent(organizationId: string, agentId: string, query: Omit<CallQuery, "agentId">) {
    await this.agents.get(organizationId, agentId);
    return this.list(organizationId, { ...query, agentId });
  }

  async get(organizationId: string, id: string): Promise<ConversationDetailDto> {
    const row = await this.find(organizationId, id);
    const [handoff] = await this.db
      .select({ payload: conversationEvents.payload })
      .from(conversationEvents)
      .where(and(eq(conversationEvents.conversationId, id), eq(conversationEvents.eventType, "handoff")))
      .orderBy(desc(conversationEvents.seq))
      .limit(1);
    const destination = handoff?.payload.destination;
    return {
      ...toConversation(row),
      agentVersionId: row.agentVersionId,
      transferredTo: typeof destination === "string" ? destination : null,
      metadata: row.metadata,
      recordingUrl: null,
    };
  }

  async transcript(organizationId: string, id: string): Promise<TranscriptDto> {
    const row = await this.find(organizationId, id);
    const messages = await this.db
      .select()
      .from(conversationMessages)
      .where(and(eq(conversationMessages.conversationId, id), eq(conversationMessages.organizationId, organizationId)))
      .orderBy(asc(conversationMessages.id));
    return {
      turns: messages.map((m) => ({ role: m.role as "user" | "assistant", text: m.content, tsMs: m.tsMs, language: m.language ?? row.language, quickReplies: [] })),
    };
  }

  async receipt(organizationId: string, id: string): Promise<ReceiptDto> {
    await this.find(organizationId, id);
    const events = await this.db
      .select()
      .from(conversationEvents)
      .where(and(eq(conversationEvents.conversationId, id), eq(conversationEvents.organizationId, organizationId)))
      .orderBy(asc(conversationEvents.seq));
    return {
      events: events.map((e) => ({
        id: e.id,
        conversationId: e.conversationId,
        seq: e.seq,
        tsMs: e.tsMs,
        channel: e.channel as "voice" | "chat",
        eventType: e.eventType as ReceiptDto["events"][number]["eventType"],
        payload: e.payload,
        traceId: e.traceId,
      })),
    };
  }

  private async find(organizationId: string, id: string): Promise<Row> {
    const [row] = await selectRows(this.db)
      .where(and(eq(conversations.id, id), eq(conversations.organizationId, organizationId)))
      .limit(1);
    if (!row) throw notFound("conversation", id);
    return row;
  }
}

function toConversation(row: Row): ConversationDto {
  return {
    id: row.id,
    agentId: row.agentId,
    channel: row.channel as ConversationDto["channel"],
    source: row.source,
    status: row.status as ConversationDto["status"],
    startedAt: row.startedAt.toISOString(),
    endedAt: row.endedAt?.toISOString() ?? null,
    durationS: row.endedAt ? (row.endedAt.getTime() - row.startedAt.getTime()) / 1000 : null,
    language: row.language,
    callerNumber: row.callerNumber,
    goalCompleted: row.goalCompleted,
    userTurnCount: row.userTurnCount,
    outcome: row.outcome as ConversationDto["outcome"],
    summary: row.summary,
    primaryTopic: row.topic,
    sentiment: row.sentiment as ConversationDto["sentiment"],
    sentimentScore: sentimentScore(row.sentimentScores),
    draftMode: row.draftMode,
  };
}

/**
 * The mean of the runtime's per-turn lexicon scores (AFINN, comparative), the same numbers the stored label is
 * derived from, so score and label never disagree; clamped to [-1, 1] and rounded for display.
 */
function sentimentScore(scores: unknown): number {
  const values = Array.isArray(scores) ? scores.filter((s): s is number => typeof s === "number" && Number.isFinite(s)) : [];
  if (!values.length) return 0;
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  return Math.round(Math.max(-1, Math.min(1, mean)) * 100) / 100;
}

/** The schema's date-time check parses the value with its quotes removed, so a quoted one still arrives here. */
function instant(value: string, field: string): Date {
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) throw new Problem(400, "validation_error", `${field} is not a date-time`, { errors: [{ field, message: "must be an ISO 8601 date-time" }] });
  return date;
}
