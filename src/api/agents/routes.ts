import { Elysia, t } from "elysia";
import type { Principal } from "../../platform/auth/principal.ts";
import type { createConventions } from "../../platform/http/conventions.ts";
import { problems } from "../../platform/http/docs.ts";
import { Envelope, ok, VoidEnvelope } from "../../platform/http/envelope.ts";
import { DEFAULT_LIMIT, PageQuery, Paginated } from "../../platform/http/pagination.ts";
import { optionalJsonBody } from "../../platform/http/body.ts";
import { Problem } from "../../platform/http/problem.ts";
import {
  Agent,
  AgentCreate,
  AgentPatch,
  AgentVersion,
  Diff,
  ListQuery,
  PrepublishReport,
  PublishBody,
  RollbackBody,
  SetVoiceBody,
} from "./model.ts";
import type { AgentsService } from "./service.ts";

const IdParams = t.Object({ id: t.String({ maxLength: 64, description: "Agent id" }) });
const tags = ["Agents"];

export function agentRoutes(conventions: ReturnType<typeof createConventions>, agentsService: AgentsService) {
  const me = (ctx: unknown) => (ctx as { principal: Principal }).principal;

  return new Elysia({ prefix: "/api/v1" })
    .use(conventions)
    .get("/agents", ({ query, ...ctx }) => agentsService.list(me(ctx).organizationId, { ...query, limit: query.limit ?? DEFAULT_LIMIT }), {
      scope: "agents:read",
      query: t.Object({ ...ListQuery.properties, ...PageQuery }),
      response: { 200: Paginated(Agent), ...problems(400) },
      detail: { summary: "List agents", description: "Newest first; filter by status (draft | published) and name.", tags },
    })
    .post(
      "/agents",
      async ({ body, set, ...ctx }) => {
        set.status = 201;
        return ok(await agentsService.create(me(ctx), body));
      },
      {
        scope: "agents:write",
        idempotent: true,
        body: AgentCreate,
        parse: "json",
        response: { 201: Envelope(Agent), ...problems(400, 404, 413, 415, 422) },
        detail: { summary: "Create an agent", description: "The new agent is a draft; publish it before live channels serve it.", tags },
      },
    )
    .get("/agents/:id", async ({ params, ...ctx }) => ok(await agentsService.get(me(ctx).organizationId, params.id)), {
      scope: "agents:read",
      params: IdParams,
      response: { 200: Envelope(Agent), ...problems(404) },
      detail: { summary: "Get an agent", description: "The agent with its current draft configuration.", tags },
    })
    .patch(
      "/agents/:id",
      async ({ params, body, headers, ...ctx }) => ok(await agentsService.update(me(ctx), params.id, body, parseIfMatch(headers["if-match"]))),
      {
        scope: "agents:write",
        params: IdParams,
        body: AgentPatch,
        parse: "json",
        headers: t.Object({ "if-match": t.Optional(t.String({ description: "The agent version last read (`*`: any version); a stale one answers 409 with the current agent" })) }),
        response: { 200: Envelope(Agent), ...problems(400, 404, 409, 413, 415, 422) },
        detail: { summary: "Update an agent", description: "Partial update of the draft (autosave). Each top-level field sent replaces the stored one.", tags },
      },
    )
    .delete(
      "/agents/:id",
      async ({ params, ...ctx }) => {
        await agentsService.remove(me(ctx).organizationId, params.id);
        return ok(null, "agent deleted");
      },
      {
        scope: "agents:write",
        params: IdParams,
        response: { 200: VoidEnvelope, ...problems(404) },
        detail: { summary: "Delete an agent", description: "Removes it from lists and stops it answering on every channel.", tags },
      },
    )
    .post(
      "/agents/:id/publish",
      async ({ params, body, set, ...ctx }) => {
        set.status = 201;
        return ok(await agentsService.publish(me(ctx), params.id, body.note));
      },
      {
        scope: "agents:write",
        idempotent: true,
        params: IdParams,
        body: PublishBody,
        parse: optionalJsonBody as never,
        response: { 201: Envelope(AgentVersion), ...problems(400, 404, 409) },
        detail: { summary: "Publish an agent", description: "Freezes the draft into a new immutable version; new calls and chats use it.", tags },
      },
    )
    .get(
      "/agents/:id/versions",
      async ({ params, query, ...ctx }) => agentsService.listVersions(me(ctx).organizationId, params.id, { ...query, limit: query.limit ?? DEFAULT_LIMIT }),
      {
        scope: "agents:read",
        params: IdParams,
        query: t.Object(PageQuery),
        response: { 200: Paginated(AgentVersion), ...problems(400, 404) },
        detail: { summary: "List versions", description: "Published versions, newest first.", tags },
      },
    )
    .get(
      "/agents/:id/versions/:versionId/diff",
      async ({ params, ...ctx }) => ok(await agentsService.diff(me(ctx).organizationId, params.id, params.versionId)),
      {
        scope: "agents:read",
        params: t.Object({ id: IdParams.properties.id, versionId: t.String({ maxLength: 64 }) }),
        response: { 200: Envelope(Diff), ...problems(404) },
        detail: { summary: "Compare a version with the draft", description: "Field by field: before = the version, after = the draft.", tags },
      },
    )
    .get("/agents/:id/prepublish-report", async ({ params, ...ctx }) => ok(await agentsService.prepublishReport(me(ctx).organizationId, params.id)), {
      scope: "agents:read",
      params: IdParams,
      response: { 200: Envelope(PrepublishReport), ...problems(404) },
      detail: { summary: "Pre-publish report", description: "What the draft will say, decline and disclose once published, in plain language.", tags },
    })
    .post("/agents/:id/rollback", async ({ params, body, ...ctx }) => ok(await agentsService.rollback(me(ctx), params.id, body.versionId), "Repointed published version."), {
      scope: "agents:write",
      idempotent: true,
      params: IdParams,
      body: RollbackBody,
      parse: "json",
      response: { 200: Envelope(AgentVersion), ...problems(400, 404) },
      detail: { summary: "Roll back to a version", description: "Points the live agent at an earlier version at once; the draft is untouched.", tags },
    })
    .put("/agents/:id/voice", async ({ params, body, ...ctx }) => ok(await agentsService.setVoice(me(ctx), params.id, body.voiceId, body.language)), {
      scope: "agents:write",
      params: IdParams,
      body: SetVoiceBody,
      parse: "json",
      response: { 200: Envelope(Agent), ...problems(400, 404, 422) },
      detail: { summary: "Set the agent's voice", description: "Sets voiceMap[language] (default: the primary language, which also sets defaultVoiceId).", tags },
    });
}

/** `If-Match: 3`, `"3"` or `W/"3"` → 3; `*` (RFC 9110: any current version of an existing agent) → no check. */
export function parseIfMatch(value: string | undefined): number | null {
  if (value === undefined || value.trim() === "*") return null;
  const m = /^(?:W\/)?"?(\d{1,9})"?$/.exec(value.trim());
  if (!m) {
    throw new Problem(400, "invalid_if_match", "If-Match must be the agent version you last read, e.g. If-Match: 3", {
      errors: [{ field: "If-Match", message: "must be an agent version number" }],
    });
  }
  return Number(m[1]);
}
