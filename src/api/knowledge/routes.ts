// The Knowledge tag (an agent's sources and retrieval preview) and the knowledge-gap routes of Observe.
import { Elysia, t } from "elysia";
import type { Principal } from "../../platform/auth/principal.ts";
import { problems } from "../../platform/http/docs.ts";
import { Envelope, ok, VoidEnvelope } from "../../platform/http/envelope.ts";
import { DEFAULT_LIMIT, PageQuery, Paginated } from "../../platform/http/pagination.ts";
import type { ApiContext } from "../context.ts";
import type { GapRecorder } from "./gaps.ts";
import { GapList, GapPatch, GapQuery, KnowledgeGap, KnowledgeSource, KnowledgeSourceSummary, PreviewBody, PreviewResult, SourceCreate, SourcePatch } from "./model.ts";
import type { KnowledgeSourcesService } from "./service.ts";

// The agent is `:id`, as on every agent route: the router takes one parameter name per position.
const AgentParams = t.Object({ id: t.String({ maxLength: 64, description: "Agent id" }) });
const SourceParams = t.Object({ id: AgentParams.properties.id, sourceId: t.String({ maxLength: 64, description: "Knowledge source id" }) });
const GapParams = t.Object({ id: AgentParams.properties.id, gapId: t.String({ maxLength: 64, description: "Knowledge gap id" }) });
const tags = ["Knowledge"];

export function knowledgeRoutes(ctx: ApiContext, sources: KnowledgeSourcesService, gaps: GapRecorder) {
  const org = (c: unknown) => (c as { principal: Principal }).principal.organizationId;

  return new Elysia({ prefix: "/api/v1" })
    .use(ctx.conventions)
    .get("/agents/:id/knowledge/sources", ({ params, query, ...c }) => sources.list(org(c), params.id, { ...query, limit: query.limit ?? DEFAULT_LIMIT }), {
      scope: "knowledge:read",
      params: AgentParams,
      query: t.Object(PageQuery),
      response: { 200: Paginated(KnowledgeSourceSummary), ...problems(400, 404) },
      detail: { summary: "List knowledge sources", description: "Newest first, each with its ingestion status and progress; the content itself is left out.", tags },
    })
    .post(
      "/agents/:id/knowledge/sources",
      async ({ params, body, set, ...c }) => {
        set.status = 201;
        return ok(await sources.create(org(c), params.id, body));
      },
      {
        scope: "knowledge:write",
        idempotent: true,
        params: AgentParams,
        body: SourceCreate,
        parse: "json",
        response: { 201: Envelope(KnowledgeSource), ...problems(400, 404, 409, 413, 415, 422) },
        detail: {
          summary: "Add a knowledge source",
          description:
            "kind url (with url, optional crawl and refresh settings), file (file_id from POST /uploads), text (text) or faq (items). " +
            "Answers at once with status pending; a background job reads it and moves it to indexed, or to error with errorMessage. " +
            "A field of another kind is 400 naming it; a URL whose host is private, loopback or link-local is 400 egress_refused unless EGRESS_ALLOWLIST allows it.",
          tags,
        },
      },
    )
    .get("/agents/:id/knowledge/sources/:sourceId", async ({ params, ...c }) => ok(await sources.get(org(c), params.id, params.sourceId)), {
      scope: "knowledge:read",
      params: SourceParams,
      response: { 200: Envelope(KnowledgeSource), ...problems(404) },
      detail: { summary: "Get a knowledge source", description: "With its extracted text (or FAQ items), status, progress and errorMessage. Poll until indexed or error.", tags },
    })
    .patch("/agents/:id/knowledge/sources/:sourceId", async ({ params, body, ...c }) => ok(await sources.update(org(c), params.id, params.sourceId, body)), {
      scope: "knowledge:write",
      params: SourceParams,
      body: SourcePatch,
      parse: "json",
      response: { 200: Envelope(KnowledgeSource), ...problems(400, 404, 413, 415) },
      detail: {
        summary: "Set a knowledge source's auto-refresh",
        description:
          "refreshEnabled and refreshIntervalS (at least 86400, default 604800) for url sources (400 for other kinds); label for any. " +
          "nextRefreshAt follows: one interval after lastCheckedAt, or null when off. A refresh re-indexes only when the content changed.",
        tags,
      },
    })
    .post(
      "/agents/:id/knowledge/sources/:sourceId/refresh",
      async ({ params, set, ...c }) => {
        const source = await sources.refresh(org(c), params.id, params.sourceId);
        set.status = 202;
        return ok(source, "refresh queued");
      },
      {
        scope: "knowledge:write",
        params: SourceParams,
        response: { 202: Envelope(KnowledgeSource), ...problems(400, 404) },
        detail: {
          summary: "Refresh a knowledge source now",
          description:
            "Re-reads a url source in the background (202). lastCheckedAt moves when it has been read; lastChangedAt and the passages only when the content changed. " +
            "400 refresh_not_supported for other kinds.",
          tags,
        },
      },
    )
    .delete(
      "/agents/:id/knowledge/sources/:sourceId",
      async ({ params, ...c }) => {
        await sources.remove(org(c), params.id, params.sourceId);
        return ok(null, "knowledge source deleted");
      },
      {
        scope: "knowledge:write",
        params: SourceParams,
        response: { 200: VoidEnvelope, ...problems(404) },
        detail: { summary: "Delete a knowledge source", description: "Permanent: every passage cut from it leaves the index at once, and gaps it covered open again.", tags },
      },
    )
    .post("/agents/:id/knowledge/preview", async ({ params, body, ...c }) => ok(await sources.preview(org(c), params.id, body)), {
      scope: "knowledge:read",
      params: AgentParams,
      body: PreviewBody,
      parse: "json",
      response: { 200: Envelope(PreviewResult), ...problems(400, 404, 413, 415) },
      detail: {
        summary: "Preview retrieval",
        description: "The passages the agent would retrieve for query (optionally from sourceIds only), best first, with topScore. A low topScore or no chunks means the knowledge does not cover it.",
        tags,
      },
    })
    .get("/agents/:id/knowledge-gaps", async ({ params, query, ...c }) => ok(await gaps.list(org(c), params.id, { limit: query.limit ?? 50, status: query.status })), {
      scope: "analytics:read",
      params: AgentParams,
      query: GapQuery,
      response: { 200: Envelope(GapList), ...problems(400, 404) },
      detail: {
        summary: "List knowledge gaps",
        description:
          "Questions the agent could not answer, grouped with similar ones. Below 3 gaps dataState is collecting and the list is by recency (status ignored); " +
          "from 3, ranked: true, ordered by rankScore (frequency weighed by recency) and filtered by status.",
        tags: ["Observe"],
      },
    })
    .patch("/agents/:id/knowledge-gaps/:gapId", async ({ params, body, ...c }) => ok(await gaps.setStatus(org(c), params.id, params.gapId, body.status)), {
      scope: "analytics:write",
      params: GapParams,
      body: GapPatch,
      parse: "json",
      response: { 200: Envelope(KnowledgeGap), ...problems(400, 404, 413, 415) },
      detail: {
        summary: "Update a knowledge gap",
        description: "status open, in_progress or dismissed. covered is set only by the system, when a newly indexed source answers the gap: sending it is 400.",
        tags: ["Observe"],
      },
    });
}
