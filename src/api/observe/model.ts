// TypeBox shapes of the Observe tag: conversation rows and details, transcripts and receipts.
import { Type } from "@sinclair/typebox";
import { t, type Static, type TSchema } from "elysia";
import { EVENT_TYPES } from "../../runtime/receipt.ts";

const Nullable = <T extends Parameters<typeof t.Union>[0][number]>(s: T) => t.Union([s, t.Null()]);
const Instant = t.String({ format: "date-time" });

const Channel = t.Union([t.Literal("voice"), t.Literal("chat")]);
const Outcome = t.Union([t.Literal("completed"), t.Literal("transferred"), t.Literal("abandoned"), t.Literal("error")]);
const Source = t.Union([t.Literal("simulate"), t.Literal("chat"), t.Literal("widget"), t.Literal("openai"), t.Literal("voice"), t.Literal("talk"), t.Literal("probe")], {
  description: "Where the conversation came from; simulate, talk (the in-browser voice test) and probe are test traffic",
});
const Sentiment = t.Union([t.Literal("positive"), t.Literal("neutral"), t.Literal("negative"), t.Literal("frustrated")]);

/** Filters of `GET /conversations`; `/agents/{id}/calls` takes the same without `agentId`. */
export const CallFilters = {
  from: t.Optional(t.String({ format: "date-time", description: "Conversations started at or after this time (ISO 8601)" })),
  to: t.Optional(t.String({ format: "date-time", description: "Conversations started at or before this time (ISO 8601)" })),
  channel: t.Optional(Channel),
  outcome: t.Optional(Outcome),
  source: t.Optional(Source),
  q: t.Optional(t.String({ minLength: 1, maxLength: 200, description: "Full-text search over the transcript and the summary (all words must appear)" })),
};

export const ConversationFilters = {
  agentId: t.Optional(t.String({ maxLength: 64 })),
  ...CallFilters,
};

/** The reference's page numbers, offered beside the cursor on the history lists. */
export const PageNumberQuery = {
  page: t.Optional(Type.Integer({ minimum: 1, maximum: 100_000, description: "Page number from 1, instead of cursor (the reference's paging); pages shift when conversations arrive, cursors do not" })),
};

/** Cursor pagination plus the reference's page, total and totalPages. */
export const HistoryPagination = t.Object({
  limit: Type.Integer(),
  nextCursor: Nullable(t.String({ description: "Pass as `cursor` to get the next page; null on the last page" })),
  hasMore: t.Boolean(),
  page: Nullable(Type.Integer({ description: "The page number answered; null when the page was asked for by cursor" })),
  total: Type.Integer({ description: "Conversations matching the filters" }),
  totalPages: Type.Integer(),
});

export const PaginatedHistory = <T extends TSchema>(item: T) =>
  t.Object({ success: t.Boolean(), data: t.Array(item), pagination: HistoryPagination, message: t.Optional(t.String()) });

export const Conversation = t.Object({
  id: t.String(),
  agentId: t.String(),
  channel: Channel,
  source: t.String({ description: "simulate | chat | widget | openai | voice | talk | probe" }),
  status: t.Union([t.Literal("active"), t.Literal("ended")]),
  startedAt: Instant,
  endedAt: Nullable(Instant),
  durationS: Nullable(t.Number({ description: "Seconds from start to end, to the millisecond; null while active" })),
  language: Nullable(t.String()),
  callerNumber: Nullable(t.String()),
  goalCompleted: t.Boolean(),
  userTurnCount: Type.Integer(),
  outcome: Nullable(Outcome),
  summary: Nullable(t.String({ description: "One line, written when the conversation ends" })),
  primaryTopic: Nullable(t.String()),
  sentiment: Nullable(Sentiment),
  sentimentScore: t.Number({ minimum: -1, maximum: 1, description: "Mean lexicon score of the caller's turns, the one the sentiment label comes from" }),
  draftMode: t.Boolean(),
}, { $id: "Conversation" });
export type ConversationDto = Static<typeof Conversation>;

export const ConversationDetail = t.Object({
  ...Conversation.properties,
  agentVersionId: Nullable(t.String({ description: "The published version that ran; null for a draft (test) conversation" })),
  transferredTo: Nullable(t.String({ description: "Destination of the last handoff" })),
  metadata: t.Record(t.String(), t.Unknown()),
  recordingUrl: t.Null({ description: "Signed recording URL of a voice call; recordings are not kept yet" }),
}, { $id: "ConversationDetail" });
export type ConversationDetailDto = Static<typeof ConversationDetail>;

export const Transcript = t.Object({
  turns: t.Array(
    t.Object({
      role: t.Union([t.Literal("user"), t.Literal("assistant")]),
      text: t.String(),
      tsMs: Type.Integer({ description: "Milliseconds since the conversation started" }),
      language: Nullable(t.String()),
      quickReplies: t.Array(t.String()),
    }),
  ),
}, { $id: "Transcript" });
export type TranscriptDto = Static<typeof Transcript>;

export const AuditEvent = t.Object(
  {
    id: t.String(),
    conversationId: t.String(),
    seq: Type.Integer({ description: "0, 1, 2… without gaps" }),
    tsMs: Type.Integer({ description: "Milliseconds since the conversation started" }),
    channel: Channel,
    // UnionEnum would document its first value as a default, which a response field does not have.
    eventType: t.UnionEnum(EVENT_TYPES, { default: undefined }),
    payload: t.Record(t.String(), t.Unknown()),
    traceId: Nullable(t.String()),
  },
  { $id: "AuditEventDTO", title: "AuditEventDTO" },
);

export const Receipt = t.Object({ events: t.Array(AuditEvent) }, { $id: "Receipt" });
export type ReceiptDto = Static<typeof Receipt>;
