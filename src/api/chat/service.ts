// Chat sessions: durable conversations created, messaged and ended over the API. Each session is a
// conversation of the one runtime (channel chat, source chat); its transcript is the message list.
import { and, asc, eq, gt, type SQL } from "drizzle-orm";
import type { Principal } from "../../platform/auth/principal.ts";
import { conversationMessages, type conversations } from "../../platform/db/schema/index.ts";
import type { Db } from "../../platform/db/index.ts";
import { decodeCursor, page } from "../../platform/http/pagination.ts";
import { notFound, Problem } from "../../platform/http/problem.ts";
import { ConversationEndedError, ConversationNotFoundError, type ConversationRuntime, type StoredMessage, type TurnResult, type TurnSink } from "../../runtime/conversation.ts";
import type { AgentsService } from "../agents/service.ts";
import type { ChatMessageDto, SessionDto } from "./model.ts";

type ConversationRow = typeof conversations.$inferSelect;

export function toSessionDto(row: ConversationRow): SessionDto {
  const { externalUserId, ...metadata } = row.metadata as { externalUserId?: string };
  return {
    id: row.id,
    agentId: row.agentId,
    agentVersionId: row.agentVersionId,
    draftMode: row.draftMode,
    status: row.status as SessionDto["status"],
    channel: "chat",
    externalUserId: externalUserId ?? null,
    metadata,
    createdAt: row.startedAt.toISOString(),
    endedAt: row.endedAt?.toISOString() ?? null,
  };
}

/** A message as the API shows it; its time is the conversation's start plus its offset, as stored. */
export function toMessageDto(sessionId: string, startedAt: Date, role: "user" | "assistant", m: StoredMessage): ChatMessageDto {
  return { id: m.id, sessionId, role, content: m.text, createdAt: new Date(startedAt.getTime() + m.tsMs).toISOString() };
}

/** Runtime refusals in the API's words. */
export async function runTurn<T>(id: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    if (error instanceof ConversationEndedError) throw new Problem(409, "session_ended", `session ${id} has ended; start a new one`);
    if (error instanceof ConversationNotFoundError) throw notFound("session", id);
    throw error;
  }
}

export class ChatService {
  constructor(
    private db: Db,
    private agents: AgentsService,
    private runtime: ConversationRuntime,
  ) {}

  async create(principal: Principal, input: { agentId: string; draftMode?: boolean; externalUserId?: string; metadata?: Record<string, unknown> }) {
    const draftMode = input.draftMode ?? false;
    const { compiled, versionId } = await this.agents.compiledFor(principal.organizationId, input.agentId, draftMode);
    const opened = await this.runtime.start({
      organizationId: principal.organizationId,
      agentId: input.agentId,
      agentVersionId: versionId,
      draftMode,
      compiled,
      channel: "chat",
      source: "chat",
      metadata: { ...input.metadata, ...(input.externalUserId ? { externalUserId: input.externalUserId } : {}) },
    });
    const row = await this.find(principal.organizationId, opened.conversationId);
    return { ...toSessionDto(row), messages: opened.replies.map((m) => toMessageDto(row.id, row.startedAt, "assistant", m)) };
  }

  async get(organizationId: string, id: string): Promise<SessionDto> {
    return toSessionDto(await this.find(organizationId, id));
  }

  /** Ending is idempotent: an ended session answers as it is. */
  async end(organizationId: string, id: string): Promise<SessionDto> {
    await this.find(organizationId, id);
    await this.runtime.end(organizationId, id, "session_ended");
    return toSessionDto(await this.find(organizationId, id));
  }

  async messages(organizationId: string, id: string, q: { cursor?: string; limit: number }) {
    const session = await this.find(organizationId, id);
    const after = decodeCursor(q.cursor);
    const where: SQL[] = [eq(conversationMessages.conversationId, id), eq(conversationMessages.organizationId, organizationId)];
    if (after) where.push(gt(conversationMessages.id, after));
    const rows = await this.db.select().from(conversationMessages).where(and(...where)).orderBy(asc(conversationMessages.id)).limit(q.limit + 1);
    return page(rows, q.limit, (r) => r.id, (r) => toMessageDto(id, session.startedAt, r.role as "user" | "assistant", { id: r.id, text: r.content, tsMs: r.tsMs }));
  }

  /** Checks the session before a stream opens, so a bad id or an ended session is a plain problem. */
  async assertOpen(organizationId: string, id: string): Promise<ConversationRow> {
    const row = await this.find(organizationId, id);
    if (row.status === "ended") throw new Problem(409, "session_ended", `session ${id} has ended; start a new one`);
    return row;
  }

  async send(organizationId: string, id: string, content: string, sink: TurnSink = {}, signal?: AbortSignal) {
    const row = await this.assertOpen(organizationId, id);
    const result = await runTurn(id, () => this.runtime.turn(organizationId, id, { type: "text", text: content }, sink, signal));
    return reply(row, result);
  }

  private async find(organizationId: string, id: string): Promise<ConversationRow> {
    const row = await this.runtime.describe(organizationId, id);
    if (!row || row.source !== "chat") throw notFound("session", id);
    return row;
  }
}

export function reply(row: ConversationRow, result: TurnResult) {
  return {
    userMessage: toMessageDto(row.id, row.startedAt, "user", result.userMessage!),
    messages: result.replies.map((m) => toMessageDto(row.id, row.startedAt, "assistant", m)),
    ended: result.ended,
    transfer: result.transfer ? { destination: result.transfer.destination, warm: result.transfer.warm, summary: result.transfer.summary } : null,
  };
}
