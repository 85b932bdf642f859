// The PublishableKeys tag: browser keys for the embeddable widget, one agent each, managed with secret keys.
import { Elysia, t } from "elysia";
import type { Principal } from "../../platform/auth/principal.ts";
import { problems } from "../../platform/http/docs.ts";
import { Envelope, ok } from "../../platform/http/envelope.ts";
import { DEFAULT_LIMIT, PageQuery, Paginated } from "../../platform/http/pagination.ts";
import type { ApiContext } from "../context.ts";
import { PublishableKey, PublishableKeyCreate, PublishableKeyPatch } from "./model.ts";
import { PublishableKeysService } from "./service.ts";

const AgentParams = t.Object({ id: t.String({ maxLength: 64, description: "Agent id" }) });
const KeyParams = t.Object({ id: AgentParams.properties.id, keyId: t.String({ maxLength: 64, description: "Publishable key id" }) });
const tags = ["PublishableKeys"];

export function publishableKeyRoutes(ctx: ApiContext) {
  const keys = new PublishableKeysService(ctx.database, ctx.agents);
  const org = (c: unknown) => (c as { principal: Principal }).principal.organizationId;

  return new Elysia({ prefix: "/api/v1" })
    .use(ctx.conventions)
    .get("/agents/:id/publishable-keys", ({ params, query, ...c }) => keys.list(org(c), params.id, { ...query, limit: query.limit ?? DEFAULT_LIMIT }), {
      scope: "pubkeys:read",
      params: AgentParams,
      query: t.Object(PageQuery),
      response: { 200: Paginated(PublishableKey), ...problems(400, 404) },
      detail: {
        summary: "List publishable keys",
        description: "The agent's publishable keys, revoked ones included, newest first. keyPublic is public by design and shown in full.",
        tags,
      },
    })
    .post(
      "/agents/:id/publishable-keys",
      async ({ params, body, set, ...c }) => {
        set.status = 201;
        return ok(await keys.create(org(c), params.id, body));
      },
      {
        scope: "pubkeys:write",
        idempotent: true,
        params: AgentParams,
        body: PublishableKeyCreate,
        parse: "json",
        response: { 201: Envelope(PublishableKey), ...problems(400, 404, 409, 413, 415, 422) },
        detail: {
          summary: "Create a publishable key",
          description:
            "Mints a flowyte_pk_<env>_… key for this agent's widget. It holds only chat:public, works only from allowedOrigins (exact scheme://host[:port], " +
            "normalized lowercase) and is limited to rateLimitRpm requests a minute. The full value stays readable (keyPublic).",
          tags,
        },
      },
    )
    .patch("/agents/:id/publishable-keys/:keyId", async ({ params, body, ...c }) => ok(await keys.update(org(c), params.id, params.keyId, body)), {
      scope: "pubkeys:write",
      params: KeyParams,
      body: PublishableKeyPatch,
      parse: "json",
      response: { 200: Envelope(PublishableKey), ...problems(400, 404, 409, 413, 415) },
      detail: {
        summary: "Update a publishable key",
        description: "Changes name, allowedOrigins, rateLimitRpm or requireIdentityVerification at once. 409 key_revoked for a revoked key.",
        tags,
      },
    })
    .post("/agents/:id/publishable-keys/:keyId/rotate", async ({ params, ...c }) => ok(await keys.rotate(org(c), params.id, params.keyId)), {
      scope: "pubkeys:write",
      params: KeyParams,
      response: { 200: Envelope(PublishableKey), ...problems(404, 409) },
      detail: {
        summary: "Rotate a publishable key",
        description:
          "Issues a new keyPublic for the same key (same id, agent and origins). The previous value keeps working for 24 hours, until previousKeyExpiresAt, " +
          "so sites can swap their snippet without downtime; rotating again ends that grace at once.",
        tags,
      },
    })
    .delete("/agents/:id/publishable-keys/:keyId", async ({ params, ...c }) => ok(await keys.revoke(org(c), params.id, params.keyId), "publishable key revoked"), {
      scope: "pubkeys:write",
      params: KeyParams,
      response: { 200: Envelope(PublishableKey), ...problems(404) },
      detail: {
        summary: "Revoke a publishable key",
        description: "Immediate: the next widget request with it (or with a previous value still in its grace window) answers 401.",
        tags,
      },
    });
}
