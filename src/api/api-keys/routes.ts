import { Elysia, t } from "elysia";
import type { Principal } from "../../platform/auth/principal.ts";
import type { createConventions } from "../../platform/http/conventions.ts";
import { problems } from "../../platform/http/docs.ts";
import { Envelope, ok } from "../../platform/http/envelope.ts";
import { DEFAULT_LIMIT, PageQuery, Paginated } from "../../platform/http/pagination.ts";
import { ApiKey, ApiKeyCreate, ApiKeyWithSecret } from "./model.ts";
import type { ApiKeysService } from "./service.ts";

const IdParams = t.Object({ id: t.String({ maxLength: 64, description: "API key id" }) });
const tags = ["API keys"];

export function apiKeyRoutes(conventions: ReturnType<typeof createConventions>, keys: ApiKeysService) {
  const me = (ctx: unknown) => (ctx as { principal: Principal }).principal;
  return new Elysia({ prefix: "/api/v1" })
    .use(conventions)
    .post(
      "/api-keys",
      async ({ body, set, ...ctx }) => {
        set.status = 201;
        return ok(await keys.create(me(ctx), body));
      },
      {
        scope: "keys:write",
        // Authorization the body decides runs before an Idempotency-Key replay (see conventions.ts).
        beforeHandle: ({ body, ...ctx }) => keys.authorizeCreate(me(ctx), body),
        idempotent: true,
        body: ApiKeyCreate,
        parse: "json",
        response: { 201: Envelope(ApiKeyWithSecret), ...problems(400) },
        detail: { summary: "Create a secret key", description: "Returns the full key once (`secret`); only its hash is stored.", tags },
      },
    )
    .get("/api-keys", ({ query, ...ctx }) => keys.list(me(ctx).organizationId, { ...query, limit: query.limit ?? DEFAULT_LIMIT }), {
      scope: "keys:write",
      query: t.Object(PageQuery),
      response: { 200: Paginated(ApiKey), ...problems(400) },
      detail: { summary: "List secret keys", description: "Newest first, without secrets.", tags },
    })
    .get("/api-keys/:id", async ({ params, ...ctx }) => ok(await keys.get(me(ctx).organizationId, params.id)), {
      scope: "keys:write",
      params: IdParams,
      response: { 200: Envelope(ApiKey), ...problems(404) },
      detail: { summary: "Get a secret key", description: "Metadata only; the secret is never shown again.", tags },
    })
    .delete("/api-keys/:id", async ({ params, ...ctx }) => ok(await keys.revoke(me(ctx), params.id), "key revoked"), {
      scope: "keys:write",
      params: IdParams,
      response: { 200: Envelope(ApiKey), ...problems(404) },
      detail: {
        summary: "Revoke a secret key",
        description: "Immediate: the next request with it answers 401. A key holding a scope the calling key lacks cannot be revoked with it (403 scope_escalation).",
        tags,
      },
    })
    .post("/api-keys/:id/rotate", async ({ params, ...ctx }) => ok(await keys.rotate(me(ctx), params.id)), {
      scope: "keys:write",
      beforeHandle: async ({ params, ...ctx }) => keys.authorizeRotate(me(ctx), params.id),
      idempotent: true,
      params: IdParams,
      response: { 200: Envelope(ApiKeyWithSecret), ...problems(404, 409) },
      detail: {
        summary: "Rotate a secret key",
        description:
          "Issues a new secret for the same key; the old one stops working at once. A retry with the same Idempotency-Key answers the first new secret instead of rotating again. " +
          "A key holding a scope the calling key lacks cannot be rotated with it (403 scope_escalation).",
        tags,
      },
    });
}
