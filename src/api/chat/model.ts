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

/** One frame of a streamed completion (`data: {…}`); the stream ends with `data: [DONE]`, or an `{error}` frame. */
export const CompletionChunk = t.Object({
  id: t.String(),
  object: t.Literal("chat.completion.chunk"),
  created: Type.Integer(),
  model: t.String(),
  choices: t.Array(
    t.Object({
      index: Type.Integer(),
      delta: t.Object({ role: t.Optional(t.Literal("assistant")), content: t.Optional(t.String()) }),
      finish_reason: t.Union([t.String(), t.Null()]),
    }),
  ),
});

/** One entry of the OpenAI models list: an agent that serves live traffic (published, not paused). */
export const ModelObject = t.Object({
  id: t.String({ description: "The agent id: pass it as `model` to /chat/completions and /responses" }),
  object: t.Literal("model"),
  created: Type.Integer({ description: "When the agent was created (Unix seconds)" }),
  owned_by: t.String({ description: "The organization id" }),
}, { $id: "Model" });

export const ModelList = t.Object({ object: t.Literal("list"), data: t.Array(ModelObject, { description: "Oldest agent first; not paginated" }) }, { $id: "ModelList" });

export const ModelParams = t.Object({ model: t.String({ maxLength: 64, description: "The agent id" }) });

/** An input message's content part; only the text parts (`input_text`, `output_text`) are read, others are refused. */
const InputPart = t.Object({ type: t.String({ maxLength: 64 }), text: t.Optional(t.String({ maxLength: 16_000 })) }, { additionalProperties: true });

/** An input item: a message (`type` omitted or `message`), or an `item_reference` to a message of an earlier response. */
const InputItem = t.Object(
  {
    type: t.Optional(t.String({ maxLength: 64 })),
    role: t.Optional(t.Union([t.Literal("user"), t.Literal("assistant"), t.Literal("system"), t.Literal("developer")])),
    content: t.Optional(t.Union([t.String({ maxLength: 16_000 }), t.Array(InputPart, { maxItems: 50 })])),
    id: t.Optional(t.String({ maxLength: 128 })),
  },
  { additionalProperties: true },
);

/**
 * OpenAI Responses request. Read: model, input, previous_response_id, stream, user. Refused with 400 when set:
 * tools, reasoning, a non-text `text.format`, include, background, conversation, prompt, `store: false`.
 * Accepted and ignored: instructions, sampling and the rest (the published agent decides).
 */
export const ResponseRequest = t.Object(
  {
    model: t.String({ minLength: 1, maxLength: 64, description: "The agent id" }),
    input: t.Union([t.String({ maxLength: 16_000 }), t.Array(InputItem, { minItems: 1, maxItems: 200 })], { description: "The user's message, or messages whose last is the user's turn" }),
    instructions: t.Optional(t.Union([t.String(), t.Array(t.Unknown()), t.Null()], { description: "Ignored: the agent has its own prompt" })),
    previous_response_id: t.Optional(t.Union([t.String({ maxLength: 128 }), t.Null()], { description: "Continue the conversation that response belongs to" })),
    stream: t.Optional(t.Union([t.Boolean(), t.Null()])),
    store: t.Optional(t.Union([t.Boolean(), t.Null()], { description: "Conversations are always stored: false is refused" })),
    user: t.Optional(t.Union([t.String({ maxLength: 200 }), t.Null()], { description: "Your id for the person, kept as the conversation's externalUserId" })),
    tools: t.Optional(t.Unknown({ description: "Refused when not empty: the agent's skills are its tools" })),
    reasoning: t.Optional(t.Unknown({ description: "Refused when set" })),
    text: t.Optional(t.Unknown({ description: "Only `format: {type: text}` is accepted" })),
    include: t.Optional(t.Unknown({ description: "Refused when not empty" })),
    background: t.Optional(t.Unknown({ description: "Refused when true" })),
    conversation: t.Optional(t.Unknown({ description: "Refused when set: use previous_response_id" })),
    prompt: t.Optional(t.Unknown({ description: "Refused when set: the agent has its own prompt" })),
  },
  { additionalProperties: true, description: "OpenAI Responses request; model is the agentId. The published agent supplies prompt, tools and guardrails." },
);
export type ResponseRequestInput = Static<typeof ResponseRequest>;

const Never = (description: string) => t.Array(t.Never(), { maxItems: 0, description });

export const OutputText = t.Object({
  type: t.Literal("output_text"),
  text: t.String(),
  annotations: Never("Always empty"),
  logprobs: Never("Always empty"),
});

export const OutputMessage = t.Object({
  id: t.String(),
  type: t.Literal("message"),
  status: t.Union([t.Literal("in_progress"), t.Literal("completed")]),
  role: t.Literal("assistant"),
  content: t.Array(OutputText, { maxItems: 1, description: "One output_text: the agent's reply messages joined by a blank line" }),
});

const ResponseUsage = t.Object({
  input_tokens: Type.Integer(),
  input_tokens_details: t.Object({ cached_tokens: Type.Integer() }),
  output_tokens: Type.Integer(),
  output_tokens_details: t.Object({ reasoning_tokens: Type.Integer() }),
  total_tokens: Type.Integer(),
});

export const ResponseObject = t.Object({
  id: t.String({ description: "resp_…: pass it as previous_response_id to continue the conversation" }),
  object: t.Literal("response"),
  created_at: Type.Integer({ description: "Unix seconds" }),
  completed_at: t.Union([Type.Integer(), t.Null()]),
  status: t.Union([t.Literal("in_progress"), t.Literal("completed")]),
  error: t.Null(),
  incomplete_details: t.Null(),
  instructions: t.Null({ description: "Always null: the agent's own prompt applies" }),
  max_output_tokens: t.Null(),
  metadata: t.Null(),
  model: t.String({ description: "The agent id" }),
  output: t.Array(OutputMessage, { maxItems: 1 }),
  parallel_tool_calls: t.Boolean(),
  previous_response_id: t.Union([t.String(), t.Null()]),
  reasoning: t.Null(),
  store: t.Literal(true),
  temperature: t.Null(),
  text: t.Object({ format: t.Object({ type: t.Literal("text") }) }),
  tool_choice: t.Literal("none"),
  tools: Never("The agent's skills run on the server; none are offered to the client"),
  top_p: t.Null(),
  truncation: t.Literal("disabled"),
  usage: t.Union([ResponseUsage, t.Null()], { description: "Estimated at four characters a token; null until completed" }),
});
export type ResponseObjectDto = Static<typeof ResponseObject>;

const Sequence = Type.Integer({ description: "0, 1, 2 … in the order sent" });
const Part = { item_id: t.String(), output_index: t.Literal(0), content_index: t.Literal(0) };

/** The frames of a streamed response (`event: <type>` + `data: <this>`), in the order OpenAI sends them. */
export const ResponseStreamEvent = t.Union([
  t.Object({ type: t.Union([t.Literal("response.created"), t.Literal("response.in_progress"), t.Literal("response.completed")]), sequence_number: Sequence, response: ResponseObject }),
  t.Object({ type: t.Union([t.Literal("response.output_item.added"), t.Literal("response.output_item.done")]), sequence_number: Sequence, output_index: t.Literal(0), item: OutputMessage }),
  t.Object({ type: t.Union([t.Literal("response.content_part.added"), t.Literal("response.content_part.done")]), sequence_number: Sequence, ...Part, part: OutputText }),
  t.Object({ type: t.Literal("response.output_text.delta"), sequence_number: Sequence, ...Part, delta: t.String(), logprobs: Never("Always empty") }),
  t.Object({ type: t.Literal("response.output_text.done"), sequence_number: Sequence, ...Part, text: t.String(), logprobs: Never("Always empty") }),
  t.Object({ type: t.Literal("error"), sequence_number: Sequence, code: t.String(), message: t.String(), param: t.Null() }),
]);
export type ResponseStreamEventDto = Static<typeof ResponseStreamEvent>;
