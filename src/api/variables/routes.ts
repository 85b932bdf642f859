import { Elysia, t } from "elysia";
import type { Principal } from "../../platform/auth/principal.ts";
import { problems } from "../../platform/http/docs.ts";
import { Envelope, ok, VoidEnvelope } from "../../platform/http/envelope.ts";
import type { ApiContext } from "../context.ts";
import { InteractionVariable, VariableDeclare, VariableName, VariablePatch } from "./model.ts";
import { VariablesService } from "./service.ts";

const AgentParams = t.Object({ id: t.String({ maxLength: 64, description: "Agent id" }) });
const NameParams = t.Object({ id: AgentParams.properties.id, name: VariableName });
const tags = ["Variables"];

export function variableRoutes(ctx: ApiContext) {
  const variablesService = new VariablesService(ctx.database.db);
  const org = (c: unknown) => (c as { principal: Principal }).principal.organizationId;

  return new Elysia({ prefix: "/api/v1" })
    .use(ctx.conventions)
    .get("/agents/:id/variables", async ({ params, ...c }) => ok(await variablesService.list(org(c), params.id)), {
      scope: "playbooks:read",
      params: AgentParams,
      response: { 200: Envelope(t.Array(InteractionVariable)), ...problems(404) },
      detail: {
        summary: "List interaction variables",
        description: "Derived from the agent's enabled playbooks and skills, merged with annotations and the reserved variables; sorted by name, not paginated. Observation only: it never blocks anything.",
        tags,
      },
    })
    .post(
      "/agents/:id/variables",
      async ({ params, body, set, ...c }) => {
        const { variable, created } = await variablesService.declare(org(c), params.id, body);
        set.status = created ? 201 : 200;
        return ok(variable);
      },
      {
        scope: "playbooks:write",
        params: AgentParams,
        body: VariableDeclare,
        parse: "json",
        response: { 200: Envelope(InteractionVariable), 201: Envelope(InteractionVariable), ...problems(400, 404, 413, 415) },
        detail: {
          summary: "Declare or annotate a variable",
          description: "Upsert: 201 for a brand-new name, 200 when it already exists (derived or annotated), never 409. Reserved names answer 400 reserved_variable_name.",
          tags,
        },
      },
    )
    .patch("/agents/:id/variables/:name", async ({ params, body, ...c }) => ok(await variablesService.update(org(c), params.id, params.name, body)), {
      scope: "playbooks:write",
      params: NameParams,
      body: VariablePatch,
      parse: "json",
      response: { 200: Envelope(InteractionVariable), ...problems(400, 404, 413, 415) },
      detail: { summary: "Edit a variable's annotation", description: "Only the fields sent change; 404 annotation_not_found when the name has no annotation.", tags },
    })
    .delete(
      "/agents/:id/variables/:name",
      async ({ params, ...c }) => {
        await variablesService.remove(org(c), params.id, params.name);
        return ok(null, "annotation removed");
      },
      {
        scope: "playbooks:write",
        params: NameParams,
        response: { 200: VoidEnvelope, ...problems(400, 404) },
        detail: { summary: "Delete a variable's annotation", description: "Removes only the annotation; a name still produced or used stays as derived. No annotation: a no-op.", tags },
      },
    );
}
