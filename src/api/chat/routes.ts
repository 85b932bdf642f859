// The Chat tag: sessions (create, get, messages, send with optional SSE, end) and the OpenAI-compatible
// endpoints (chat completions, responses, models). All run the agent's published version through the one
// conversation runtime.
import { Elysia, t } from "elysia";
import type { Principal } from "../../platform/auth/principal.ts";
import { problems } from "../../platform/http/docs.ts";
import { Envelope, ok } from "../../platform/http/envelope.ts";
import { DEFAULT_LIMIT, PageQuery, Paginated } from "../../platform/http/pagination.ts";
import { EVENT_STREAM, eventStream, streamEvents } from "../../platform/http/sse.ts";
import type { ApiContext } from "../context.ts";
import { completionBody, completionStream, CompletionsService, CONVERSATION_HEADER } from "./completions.ts";
import {
  ChatMessage,
  Completion,
  CompletionChunk,
  CompletionRequest,
  ModelList,
  ModelObject,
  ModelParams,
  Reply,
  ResponseObject,
  ResponseRequest,
  ResponseStreamEvent,
  SendMessage,
  Session,
  SessionCreate,
  SessionCreated,
} from "./model.ts";
import { ModelsService } from "./models.ts";
import { ResponsesService } from "./responses.ts";
import { ChatService, reply, runTurn } from "./service.ts";

const tags = ["Chat"];
const SessionParams = t.Object({ id: t.String({ maxLength: 64, description: "Session id" }) });
/** Receipt events worth showing a chat client while a reply streams. */
const STREAMED_EVENTS = new Set(["tool_call", "kb_retrieval", "handoff", "guardrail"]);

export function chatRoutes(ctx: ApiContext) {
  const chat = new ChatService(ctx.database.db, ctx.agents, ctx.runtime);
  const completions = new CompletionsService(ctx.database.db, ctx.agents, ctx.runtime);
  const responses = new ResponsesService(completions);
  const models = new ModelsService(ctx.database.db);
  const me = (c: unknown) => (c as { principal: Principal }).principal;

  return new Elysia({ prefix: "/api/v1" })
    .use(ctx.conventions)
    .post(
      "/chat/sessions",
      async ({ body, set, ...c }) => {
        set.status = 201;
        return ok(await chat.create(me(c), body));
      },
      {
        scope: "chat:write",
        idempotent: true,
        body: SessionCreate,
        parse: "json",
        response: { 201: Envelope(SessionCreated), ...problems(400, 404, 409, 503) },
        detail: { summary: "Create a chat session", description: "Opens a conversation with the agent's published version (or the draft with draftMode) and returns its greeting.", tags },
      },
    )
    .get("/chat/sessions/:id", async ({ params, ...c }) => ok(await chat.get(me(c).organizationId, params.id)), {
      scope: "chat:read",
      params: SessionParams,
      response: { 200: Envelope(Session), ...problems(404) },
      detail: { summary: "Get a chat session", description: "The session and its status.", tags },
    })
    .get("/chat/sessions/:id/messages", ({ params, query, ...c }) => chat.messages(me(c).organizationId, params.id, { ...query, limit: query.limit ?? DEFAULT_LIMIT }), {
      scope: "chat:read",
      params: SessionParams,
      query: t.Object(PageQuery),
      response: { 200: Paginated(ChatMessage), ...problems(400, 404) },
      detail: { summary: "List a session's messages", description: "Oldest first, the greeting included.", tags },
    })
    .post(
      "/chat/sessions/:id/messages",
      async ({ params, body, request, path, ...c }) => {
        const { organizationId } = me(c);
        if (!body.stream) return ok(await chat.send(organizationId, params.id, body.content));
        const row = await chat.assertOpen(organizationId, params.id);
        // A stream is a Response: the documented 200 schema is the non-streamed body, hence the cast.
        return streamEvents(
          request.signal,
          async (emit, signal) => {
            const result = await runTurn(params.id, () =>
              ctx.runtime.turn(organizationId, params.id, { type: "text", text: body.content }, { delta: (text) => emit("delta", { text }), event: (e) => STREAMED_EVENTS.has(e.eventType) && emit(e.eventType, e) }, signal),
            );
            const answered = reply(row, result);
            for (const m of answered.messages) emit("message", m);
            if (answered.ended) emit("session_ended", { sessionId: params.id, transfer: answered.transfer });
          },
          { instance: path },
        ) as never;
      },
      {
        scope: "chat:write",
        // A retried send with the same Idempotency-Key answers the first reply instead of running a second turn. A
        // streamed reply is not stored, so its retry runs again: resume a lost stream by listing the messages.
        idempotent: true,
        params: SessionParams,
        body: SendMessage,
        parse: "json",
        response: { 200: Envelope(Reply, "stream false; with stream true: text/event-stream of delta {text}, tool_call/kb_retrieval/handoff/guardrail events, message frames, then done"), ...problems(400, 404, 409, 503) },
        detail: {
          summary: "Send a message",
          description: "Answers with the agent's reply; `stream: true` streams it as SSE while it is produced.",
          [EVENT_STREAM]: "with stream true: delta {text}, tool_call/kb_retrieval/handoff/guardrail events, message frames, then done",
          tags,
        },
      },
    )
    .post("/chat/sessions/:id/end", async ({ params, ...c }) => ok(await chat.end(me(c).organizationId, params.id)), {
      scope: "chat:write",
      params: SessionParams,
      response: { 200: Envelope(Session), ...problems(404, 503) },
      detail: { summary: "End a chat session", description: "Closes the session; later messages answer 409 session_ended. Ending twice is harmless.", tags },
    })
    .post(
      "/chat/completions",
      async ({ body, headers, request, set, ...c }) => {
        const principal = me(c);
        const prepared = await completions.prepare(principal, body, headers[CONVERSATION_HEADER]);
        const conversationHeader = { [CONVERSATION_HEADER]: prepared.conversationId };
        if (body.stream) {
          return completionStream(prepared.agentId, (sink, signal) => completions.turn(principal.organizationId, prepared.conversationId, prepared.text, sink, signal), request.signal, conversationHeader) as never;
        }
        Object.assign(set.headers, conversationHeader);
        return completionBody(prepared.agentId, prepared.text, await completions.turn(principal.organizationId, prepared.conversationId, prepared.text));
      },
      {
        scope: "chat:write",
        body: CompletionRequest,
        parse: "json",
        headers: t.Object({ [CONVERSATION_HEADER]: t.Optional(t.String({ maxLength: 64, description: "Continue the conversation a previous response named" })) }),
        response: { 200: Completion, ...problems(400, 404, 409, 503) },
        detail: {
          ...eventStream(CompletionChunk, "with stream: true, chat.completion.chunk frames (`data: {…}`), then `data: [DONE]`"),
          summary: "OpenAI-compatible chat completions",
          description:
            "model = agent id. Only model, messages, stream and user are read; the published agent supplies prompt, tools and guardrails. Not enveloped: the OpenAI chat.completion object, or chat.completion.chunk SSE ending with data: [DONE]. Responses carry X-Flowyte-Conversation-Id; send it back to continue the same conversation.",
          tags,
        },
      },
    )
    .get("/models", (c) => models.list(me(c).organizationId), {
      scope: "chat:write",
      response: { 200: ModelList, ...problems() },
      detail: {
        operationId: "listModels",
        summary: "OpenAI-compatible models list",
        description:
          "The agents a key can name as `model` in /chat/completions and /responses: published and not paused, oldest first. Not enveloped: OpenAI's `{object: list, data: [{id, object: model, created, owned_by}]}`, so `openai.models.list()` works.",
        tags,
      },
    })
    .get("/models/:model", ({ params, ...c }) => models.get(me(c).organizationId, params.model), {
      scope: "chat:write",
      params: ModelParams,
      response: { 200: ModelObject, ...problems(404) },
      detail: {
        operationId: "retrieveModel",
        summary: "OpenAI-compatible model",
        description: "One agent as a model; `404 model_not_found` (with OpenAI's `error` object) unless it is published and not paused.",
        tags,
      },
    })
    .post(
      "/responses",
      async ({ body, request, ...c }) => {
        const prepared = await responses.prepare(me(c), body);
        // A stream is a Response: the documented 200 schema is the non-streamed body, hence the cast.
        if (body.stream) return responses.stream(prepared, request.signal) as never;
        return responses.create(prepared);
      },
      {
        scope: "chat:write",
        body: ResponseRequest,
        parse: "json",
        response: { 200: ResponseObject, ...problems(400, 404, 409, 503) },
        detail: {
          ...eventStream(ResponseStreamEvent, "with stream: true, Responses events (`event: <type>` + `data: {…}`): response.created, response.in_progress, response.output_item.added, response.content_part.added, response.output_text.delta…, response.output_text.done, response.content_part.done, response.output_item.done, response.completed; or a final `error` event"),
          operationId: "createResponse",
          summary: "OpenAI-compatible responses",
          description:
            "The Responses API subset SDKs call by default: model = agent id, input = a string or messages whose last is the user's turn, `stream`, `previous_response_id` (or an `item_reference` to an earlier output message) to continue that response's conversation. Tools, reasoning, non-text formats, include, background, conversation, prompt and `store: false` are refused with `400 unsupported_parameter`; instructions and sampling are ignored (the published agent decides). Not enveloped: the OpenAI response object.",
          tags,
        },
      },
    );
}
