// The Observe tag: the conversation history (filters and full-text search), one conversation, its transcript
// and its receipt. Each takes calls:read or analytics:read, as the reference's scope catalog has it ("the Observe
// history list"); every route here returns what callers said, so a key needing neither gets none of it.
import { Elysia, t } from "elysia";
import type { Principal } from "../../platform/auth/principal.ts";
import { problems } from "../../platform/http/docs.ts";
import { Envelope, ok } from "../../platform/http/envelope.ts";
import { DEFAULT_LIMIT, PageQuery } from "../../platform/http/pagination.ts";
import type { ApiContext } from "../context.ts";
import { CallFilters, Conversation, ConversationDetail, ConversationFilters, PageNumberQuery, PaginatedHistory, Receipt, Transcript } from "./model.ts";
import { ObserveService } from "./service.ts";

const tags = ["Observe"];
const OBSERVE_SCOPES = ["calls:read", "analytics:read"] as const;
const ConversationParams = t.Object({ id: t.String({ maxLength: 64, description: "Conversation id" }) });
const AgentParams = t.Object({ id: t.String({ maxLength: 64, description: "Agent id" }) });

export function observeRoutes(ctx: ApiContext) {
  const observe = new ObserveService(ctx.database.db, ctx.agents);
  const org = (c: unknown) => (c as { principal: Principal }).principal.organizationId;

  return new Elysia({ prefix: "/api/v1" })
    .use(ctx.conventions)
    .get("/conversations", ({ query, ...c }) => observe.list(org(c), { ...query, limit: query.limit ?? DEFAULT_LIMIT }), {
      scope: OBSERVE_SCOPES,
      query: t.Object({ ...ConversationFilters, ...PageQuery, ...PageNumberQuery }),
      response: { 200: PaginatedHistory(Conversation), ...problems(400) },
      detail: {
        summary: "List conversations",
        description: "The history of every channel, newest first, with outcome, summary, primary topic and sentiment. Filter by agent, time, channel, outcome and source; q searches transcripts and summaries.",
        tags,
      },
    })
    .get("/conversations/:id", async ({ params, ...c }) => ok(await observe.get(org(c), params.id)), {
      scope: OBSERVE_SCOPES,
      params: ConversationParams,
      response: { 200: Envelope(ConversationDetail), ...problems(404) },
      detail: { summary: "Get a conversation", description: "The history row plus the transfer destination, the version that ran and the metadata.", tags },
    })
    .get("/conversations/:id/transcript", async ({ params, ...c }) => ok(await observe.transcript(org(c), params.id)), {
      scope: OBSERVE_SCOPES,
      params: ConversationParams,
      response: { 200: Envelope(Transcript), ...problems(404) },
      detail: { summary: "Get a transcript", description: "What was said, in order, as stored (redacted when a content policy asks for it).", tags },
    })
    .get("/conversations/:id/receipt", async ({ params, ...c }) => ok(await observe.receipt(org(c), params.id)), {
      scope: OBSERVE_SCOPES,
      params: ConversationParams,
      response: { 200: Envelope(Receipt), ...problems(404) },
      detail: { summary: "Get a receipt", description: "The conversation's audit events ordered by seq: the same events simulate streams live.", tags },
    })
    .get("/agents/:id/calls", ({ params, query, ...c }) => observe.listForAgent(org(c), params.id, { ...query, limit: query.limit ?? DEFAULT_LIMIT }), {
      scope: OBSERVE_SCOPES,
      params: AgentParams,
      query: t.Object({ ...CallFilters, ...PageQuery, ...PageNumberQuery }),
      response: { 200: PaginatedHistory(Conversation), ...problems(400, 404) },
      detail: { summary: "List an agent's calls", description: "The conversation history of one agent, with the filters of GET /conversations.", tags },
    });
}
