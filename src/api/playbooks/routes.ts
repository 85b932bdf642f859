import { Elysia, t } from "elysia";
import type { Principal } from "../../platform/auth/principal.ts";
import { problems } from "../../platform/http/docs.ts";
import { Envelope, ok, VoidEnvelope } from "../../platform/http/envelope.ts";
import { DEFAULT_LIMIT, PageQuery, Paginated } from "../../platform/http/pagination.ts";
import type { ApiContext } from "../context.ts";
import { Graph, Playbook, PlaybookCreate, PlaybookPatch } from "./model.ts";
import { PlaybooksService } from "./service.ts";

// The agent's path parameter is `:id` everywhere: the router needs one name per path segment across all routes.
const AgentParams = t.Object({ id: t.String({ maxLength: 64, description: "Agent id" }) });
const PlaybookParams = t.Object({ id: AgentParams.properties.id, playbookId: t.String({ maxLength: 64, description: "Playbook id" }) });
const tags = ["Playbooks"];

export function playbookRoutes(ctx: ApiContext) {
  const playbooksService = new PlaybooksService(ctx.database.db);
  const org = (c: unknown) => (c as { principal: Principal }).principal.organizationId;

  return new Elysia({ prefix: "/api/v1" })
    .use(ctx.conventions)
    .get(
      "/agents/:id/playbooks",
      ({ params, query, ...c }) => playbooksService.list(org(c), params.id, { ...query, limit: query.limit ?? DEFAULT_LIMIT }),
      {
        scope: "playbooks:read",
        params: AgentParams,
        query: t.Object(PageQuery),
        response: { 200: Paginated(Playbook), ...problems(400, 404) },
        detail: { summary: "List playbooks", description: "The agent's playbooks, newest first.", tags },
      },
    )
    .post(
      "/agents/:id/playbooks",
      async ({ params, body, set, ...c }) => {
        set.status = 201;
        return ok(await playbooksService.create(org(c), params.id, body));
      },
      {
        scope: "playbooks:write",
        idempotent: true,
        params: AgentParams,
        body: PlaybookCreate,
        parse: "json",
        response: { 201: Envelope(Playbook), ...problems(400, 404, 409, 413, 415, 422) },
        detail: { summary: "Create a playbook", description: "Starts with an empty graph under a new flowId; define its steps with PUT …/graph. 409 duplicate_name when the agent already has a playbook of that name.", tags },
      },
    )
    .get("/agents/:id/playbooks/:playbookId", async ({ params, ...c }) => ok(await playbooksService.get(org(c), params.id, params.playbookId)), {
      scope: "playbooks:read",
      params: PlaybookParams,
      response: { 200: Envelope(Playbook), ...problems(404) },
      detail: { summary: "Get a playbook", description: "The playbook (its steps are at …/graph).", tags },
    })
    .patch("/agents/:id/playbooks/:playbookId", async ({ params, body, ...c }) => ok(await playbooksService.update(org(c), params.id, params.playbookId, body)), {
      scope: "playbooks:write",
      params: PlaybookParams,
      body: PlaybookPatch,
      parse: "json",
      response: { 200: Envelope(Playbook), ...problems(400, 404, 409, 413, 415) },
      detail: { summary: "Update a playbook", description: "Changes name, description, inputSchema, outputSchema or isEnabled; only the fields sent change.", tags },
    })
    .delete(
      "/agents/:id/playbooks/:playbookId",
      async ({ params, ...c }) => {
        await playbooksService.remove(org(c), params.id, params.playbookId);
        return ok(null, "playbook deleted");
      },
      {
        scope: "playbooks:write",
        params: PlaybookParams,
        response: { 200: VoidEnvelope, ...problems(404, 409) },
        detail: { summary: "Delete a playbook", description: "Deletes the playbook and its graph. 409 playbook_in_use while a playbook skill starts it.", tags },
      },
    )
    .get("/agents/:id/playbooks/:playbookId/graph", async ({ params, ...c }) => ok(await playbooksService.getGraph(org(c), params.id, params.playbookId)), {
      scope: "playbooks:read",
      params: PlaybookParams,
      response: { 200: Envelope(Graph), ...problems(404) },
      detail: { summary: "Get a playbook's steps", description: "The graph: {flowId, nodes, connections}.", tags },
    })
    .put(
      "/agents/:id/playbooks/:playbookId/graph",
      async ({ params, body, ...c }) => ok(await playbooksService.replaceGraph(org(c), params.id, params.playbookId, body), "Saved graph."),
      {
        scope: "playbooks:write",
        params: PlaybookParams,
        body: Graph,
        parse: "json",
        response: { 200: Envelope(Graph), ...problems(400, 404, 409, 413, 415) },
        detail: {
          summary: "Replace a playbook's steps",
          description:
            "Full overwrite of the graph. flowId must be the playbook's (409 flow_mismatch otherwise). The graph is checked as a whole: " +
            "400 validation_error names every problem (unknown node types, bad node data, dangling connections, unreachable nodes, " +
            "missing exits, closed loops, unknown skills, variables used before they are gathered, validation patterns that need " +
            "backtracking or would backtrack catastrophically: see the Playbooks section of the API conventions).",
          tags,
        },
      },
    );
}
