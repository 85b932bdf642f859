import { Type } from "@sinclair/typebox";
import { t, type Static } from "elysia";

export const SessionCreate = t.Object({
  agentId: t.String({ minLength: 1, maxLength: 64 }),
  draftMode: t.Optional(t.Boolean({ description: "Run the draft (sandbox, never billed); default false serves the published version", default: false })),
  externalUserId: t.Optional(t.String({ maxLength: 200, description: "Your own id for the person chatting" })),
  metadata: t.Optional(t.Record(t.String(), t.Unknown(), { description: "Stored with the conversation" })),
}, { $id: "ChatSessionCreate" });

export const ChatMessage = t.Object({
  id: t.String(),
  sessionId: t.String(),
  role: t.Union([t.Literal("user"), t.Literal("assistant")]),
  content: t.String(),
  createdAt: t.String({ format: "date-time" }),
}, { $id: "ChatMessage" });
export type ChatMessageDto = Static<typeof ChatMessage>;

export const Session = t.Object({
  id: t.String(),
  agentId: t.String(),
  agentVersionId: t.Union([t.String(), t.Null()]),
  draftMode: t.Boolean(),
  status: t.Union([t.Literal("active"), t.Literal("ended")]),
  channel: t.Literal("chat"),
  externalUserId: t.Union([t.String(), t.Null()]),
  metadata: t.Record(t.String(), t.Unknown()),
  createdAt: t.String({ format: "date-time" }),
  endedAt: t.Union([t.String({ format: "date-time" }), t.Null()]),
}, { $id: "ChatSession" });
export type SessionDto = Static<typeof Session>;

export const SessionCreated = t.Object({ ...Session.properties, messages: t.Array(ChatMessage, { description: "The greeting" }) }, { $id: "ChatSessionCreated" });

export const SendMessage = t.Object({
  content: t.String({ minLength: 1, maxLength: 4000, pattern: "\\S" }),
  stream: t.Optional(t.Boolean({ description: "true: SSE of the reply as it is produced", default: false })),
});

export const Reply = t.Object({
  userMessage: ChatMessage,
  messages: t.Array(ChatMessage, { description: "The agent's reply, one or more messages" }),
  ended: t.Boolean(),
  transfer: t.Union([t.Object({ destination: t.String(), warm: t.Boolean(), summary: t.String() }), t.Null()]),
}, { $id: "ChatReply" });

/** OpenAI chat completions request: only model, messages, stream and user are read. */
export const CompletionRequest = t.Object(
  {
    model: t.String({ minLength: 1, maxLength: 64, description: "The agent id" }),
    messages: t.Array(
      t.Object(
        {
          role: t.Union([t.Literal("system"), t.Literal("developer"), t.Literal("user"), t.Literal("assistant"), t.Literal("tool")]),
          content: t.Union([t.String({ maxLength: 16_000 }), t.Null(), t.Array(t.Object({ type: t.String(), text: t.Optional(t.String({ maxLength: 16_000 })) }, { additionalProperties: true }), { maxItems: 50 })]),
        },
        { additionalProperties: true },
      ),
      { minItems: 1, maxItems: 200 },
    ),
    stream: t.Optional(t.Boolean()),
    user: t.Optional(t.String({ maxLength: 200 })),
  },
  { $id: "ChatCompletionRequest", additionalProperties: true, description: "OpenAI-compatible request. model is the agentId; sampling, tools and system prompt come from the published agent." },
);
export type CompletionRequestInput = Static<typeof CompletionRequest>;

export const Completion = t.Object({
  id: t.String(),
  object: t.Literal("chat.completion"),
  created: Type.Integer(),
  model: t.String(),
  choices: t.Array(
    t.Object({
      index: Type.Integer(),
      message: t.Object({ role: t.Literal("assistant"), content: t.String() }),
      finish_reason: t.String(),
    }),
  ),
  usage: t.Object({ prompt_tokens: Type.Integer(), completion_tokens: Type.Integer(), total_tokens: Type.Integer() }),
}, { $id: "ChatCompletion" });
