import { Elysia, t } from "elysia";
import type { Principal } from "../../platform/auth/principal.ts";
import { problems } from "../../platform/http/docs.ts";
import { Envelope, ok, VoidEnvelope } from "../../platform/http/envelope.ts";
import { DEFAULT_LIMIT, PageQuery, Paginated } from "../../platform/http/pagination.ts";
import type { ApiContext } from "../context.ts";
import { skillTypeCatalog } from "./catalog.ts";
import { GeocodeRosterBody, GeocodeRosterResult, Skill, SkillCreate, SkillPatch, SkillTypeInfo } from "./model.ts";
import { geocodeRoster } from "./roster.ts";
import { SkillsService } from "./service.ts";

// The agent id is `:id` (not `:agentId`) because the router needs one parameter name per position, and the
// agent routes already use `:id` there.
const AgentParams = t.Object({ id: t.String({ maxLength: 64, description: "Agent id" }) });
const SkillParams = t.Object({ id: AgentParams.properties.id, skillId: t.String({ maxLength: 64, description: "Skill id" }) });
const tags = ["Skills"];

export function skillRoutes(ctx: ApiContext) {
  const me = (c: unknown) => (c as { principal: Principal }).principal;
  const service = new SkillsService(ctx.database, ctx.sealer, ctx.config.defaultPhoneRegion);
  const catalog = skillTypeCatalog(ctx.config);

  return new Elysia({ prefix: "/api/v1" })
    .use(ctx.conventions)
    .get("/skill-types", () => ok(catalog), {
      scope: "skills:read",
      response: { 200: Envelope(t.Array(SkillTypeInfo)), ...problems() },
      detail: { summary: "Skill-type catalog", description: "Every skill type with its executionConfig JSON Schema, a starting parametersSchema and whether this installation can run it.", tags },
    })
    .get("/agents/:id/skills", ({ params, query, ...c }) => service.list(me(c).organizationId, params.id, { ...query, limit: query.limit ?? DEFAULT_LIMIT }), {
      scope: "skills:read",
      params: AgentParams,
      query: t.Object(PageQuery),
      response: { 200: Paginated(Skill), ...problems(400, 404) },
      detail: { summary: "List an agent's skills", description: "Newest first. Header values of webhooks are masked.", tags },
    })
    .post(
      "/agents/:id/skills",
      async ({ params, body, set, ...c }) => {
        set.status = 201;
        return ok(await service.create(me(c).organizationId, params.id, body));
      },
      {
        scope: "skills:write",
        idempotent: true,
        params: AgentParams,
        body: SkillCreate,
        parse: "json",
        response: { 201: Envelope(Skill), ...problems(400, 404, 409, 413, 415, 422) },
        detail: {
          summary: "Create a skill",
          description:
            "Adds a skill to the agent's draft (publish to go live). 400 validation_error names each bad field, including an executionConfig.playbookId that is not one of this agent's playbooks; 409 duplicate_name when the agent has a skill of that name; 403 reserved_skill_type for mcp.",
          tags,
        },
      },
    )
    .get("/agents/:id/skills/:skillId", async ({ params, ...c }) => ok(await service.get(me(c).organizationId, params.id, params.skillId)), {
      scope: "skills:read",
      params: SkillParams,
      response: { 200: Envelope(Skill), ...problems(404) },
      detail: { summary: "Get a skill", description: "The skill's full configuration; webhook header values are masked.", tags },
    })
    .patch("/agents/:id/skills/:skillId", async ({ params, body, ...c }) => ok(await service.update(me(c).organizationId, params.id, params.skillId, body)), {
      scope: "skills:write",
      params: SkillParams,
      body: SkillPatch,
      parse: "json",
      response: { 200: Envelope(Skill), ...problems(400, 404, 409, 413, 415) },
      detail: {
        summary: "Update a skill",
        description:
          "Partial update of the draft skill; the merged skill is validated again (a playbookId is checked against this agent's playbooks when skillType or executionConfig is sent). A masked header value sent back keeps the stored one.",
        tags,
      },
    })
    .delete(
      "/agents/:id/skills/:skillId",
      async ({ params, ...c }) => {
        await service.remove(me(c).organizationId, params.id, params.skillId);
        return ok(null, "skill deleted");
      },
      {
        scope: "skills:write",
        params: SkillParams,
        response: { 200: VoidEnvelope, ...problems(404, 409) },
        detail: {
          summary: "Delete a skill",
          description: "Removes the skill from the draft; publish to propagate. 409 skill_in_use while a playbook step calls it or a caller-verification config checks identities with it.",
          tags,
        },
      },
    )
    .post(
      "/agents/:id/geocode-roster",
      async ({ params, body, ...c }) => {
        await service.assertAgent(me(c).organizationId, params.id);
        return ok(await geocodeRoster(ctx.geocoder, body.entries));
      },
      {
        scope: "skills:write",
        params: AgentParams,
        body: GeocodeRosterBody,
        parse: "json",
        response: { 200: Envelope(GeocodeRosterResult), ...problems(400, 404, 413, 415) },
        detail: {
          summary: "Geocode a location roster",
          description: "Adds coordinates to up to 100 roster rows for a find_nearest_location skill. Nothing is saved; rows that cannot be placed answer geocoded:false.",
          tags,
        },
      },
    );
}
