// The API's cross-cutting conventions as one Elysia plugin, used by every route module:
// request ids, body limits and JSON parsing, text the database cannot store, problem+json errors, bearer-key authentication,
// per-route scopes (`scope:`), per-key rate limits, Idempotency-Key replay (`idempotent:`) and the audit trail
// (each state-changing request's entry is stored before its response is sent).
import { Elysia } from "elysia";
import type { AuditRecorder } from "../audit/recorder.ts";
import type { SecretKeyAuthenticator } from "../auth/keys.ts";
import { PUBLISHABLE_KEY_PREFIX, type PublishableKeyAuthenticator } from "../auth/publishable.ts";
import type { Principal } from "../auth/principal.ts";
import { SECRET_KEY_SCOPES, type Scope } from "../auth/scopes.ts";
import type { Logger } from "../log.ts";
import { checkRequestBody } from "./body.ts";
import { refuseUnstorableText } from "./characters.ts";
import { toProblem } from "./errors.ts";
import { IdempotencyStore, type IdempotencyOwner } from "./idempotency.ts";
import { Problem } from "./problem.ts";
import type { RateLimit } from "./rate-limit.ts";

export const SECURITY_SCHEME = "apiKey";
/** Operation extension naming the routes that honour Idempotency-Key. */
export const IDEMPOTENT_MARK = "x-idempotent";

export interface ConventionDeps {
  log: Logger;
  authenticator: SecretKeyAuthenticator;
  publishableKeys: PublishableKeyAuthenticator;
  /** Counts every authenticated request per key (secret key or publishable key). */
  rateLimit: RateLimit;
  /** Requests a minute per secret key; 0: unlimited. A publishable key has its own (rateLimitRpm). */
  rateLimitPerMinute: number;
  idempotency: IdempotencyStore;
  audit: AuditRecorder;
  jsonBodyLimit: number;
}

type AuthFailure = "missing" | "malformed" | "invalid";
const MUTATING = new Set(["POST", "PUT", "PATCH", "DELETE"]);
const NUMERIC_QUERY = ["limit", "page"];
/** Routes a browser calls from customers' sites: CORS is open there (each request is still origin-checked). */
const BROWSER_PATHS = ["/api/v1/chat/widget/", "/widget/"];
const CORS_HEADERS = {
  "access-control-allow-methods": "GET, POST, OPTIONS",
  "access-control-allow-headers": "authorization, content-type, x-request-id",
  "access-control-expose-headers": "x-request-id, retry-after, ratelimit-limit, ratelimit-remaining",
  "access-control-max-age": "600",
};

let requestCounter = 0;
const requestIdPrefix = Math.random().toString(36).slice(2, 8);
const nextRequestId = () => `req_${requestIdPrefix}${(++requestCounter).toString(36)}`;

export function problemResponse(problem: Problem, instance: string, requestId: string | undefined) {
  return new Response(JSON.stringify(problem.body(instance, requestId)), {
    status: problem.status,
    headers: { "content-type": "application/problem+json", ...problem.headers },
  });
}

export function createConventions(deps: ConventionDeps) {
  const idempotencyClaims = new WeakMap<Request, { owner: IdempotencyOwner; key: string; done: boolean }>();
  const audited = new WeakSet<Request>();

  const conventions = new Elysia({ name: "flowyte-conventions" })
    .onRequest((ctx) => {
      const { request, set } = ctx;
      const incoming = request.headers.get("x-request-id");
      set.headers["x-request-id"] = incoming && /^[\w.:-]{1,128}$/.test(incoming) ? incoming : nextRequestId();
      const path = new URL(request.url).pathname;
      const origin = request.headers.get("origin");
      if (origin && BROWSER_PATHS.some((p) => path.startsWith(p))) {
        set.headers["access-control-allow-origin"] = origin;
        set.headers.vary = "Origin";
        Object.assign(set.headers, CORS_HEADERS);
        if (request.method === "OPTIONS") return new Response(null, { status: 204, headers: set.headers as Record<string, string> });
      }
      if (request.method !== "GET" && request.method !== "HEAD") {
        // A chunked JSON body is read through a counter: everything after this sees the bounded request.
        const bounded = checkRequestBody(request, path, deps.jsonBodyLimit);
        if (bounded) (ctx as { request: Request }).request = bounded;
      }
    })
    .onTransform({ as: "global" }, ({ query }) => {
      // Numeric query parameters arrive as text; turn plain digits into numbers so the schemas can say `integer`.
      for (const name of NUMERIC_QUERY) {
        const v = query[name];
        if (typeof v === "string" && /^\d{1,9}$/.test(v)) (query as Record<string, unknown>)[name] = Number(v);
      }
    })
    // After authentication and validation, before any route hook (Idempotency-Key claims) or handler: a field the
    // database could not store is a 400 here instead of a failed write later.
    .onBeforeHandle({ as: "global" }, ({ params, query, headers, body }) => refuseUnstorableText({ params, query, headers, body }))
    .onError({ as: "global" }, async (ctx) => {
      const { code, error, request, set, path } = ctx;
      // A failed request frees its Idempotency-Key before answering, so an immediate corrected retry runs.
      const claim = idempotencyClaims.get(request);
      if (claim && !claim.done) {
        claim.done = true;
        await deps.idempotency.release(claim.owner, claim.key).catch(() => {});
      }
      const requestId = set.headers["x-request-id"] as string | undefined;
      const problem = toProblem(code, error, deps.log, requestId ?? "");
      set.status = problem.status;
      await audit(ctx, problem.status);
      return problemResponse(problem, path ?? new URL(request.url).pathname, requestId);
    })
    .derive({ as: "global" }, async ({ headers, query }): Promise<{ principal: Principal | null; authFailure: AuthFailure | null }> => {
      const header = headers.authorization;
      // A browser loading widget configuration may name its publishable key in the query instead (`?key=`).
      const queryKey = typeof query.key === "string" && query.key.startsWith(PUBLISHABLE_KEY_PREFIX) ? query.key : null;
      if (!header && !queryKey) return { principal: null, authFailure: "missing" };
      const match = header ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
      if (header && !match) return { principal: null, authFailure: "malformed" };
      const token = match ? match[1]! : queryKey!;
      const principal = token.startsWith("flowyte_sk_")
        ? await deps.authenticator.authenticate(token)
        : token.startsWith(PUBLISHABLE_KEY_PREFIX)
          ? await deps.publishableKeys.authenticate(token)
          : null;
      return principal ? { principal, authFailure: null } : { principal: null, authFailure: "invalid" };
    })
    .macro({
      /**
       * The scope a route needs; "any" = any authenticated secret key; a list = any one of them (each an alternative
       * security requirement in the document). Checked before the body is validated.
       */
      scope: (scope: Scope | "any" | readonly Scope[]) => ({
        detail: {
          // "any": one requirement per scope, each enough on its own (one requirement listing them all would demand all);
          // a list of scopes likewise: any one of them will do.
          security:
            typeof scope === "string"
              ? scope === "any"
                ? SECRET_KEY_SCOPES.map((s) => ({ [SECURITY_SCHEME]: [s] }))
                : [{ [SECURITY_SCHEME]: [scope] }]
              : scope.map((s) => ({ [SECURITY_SCHEME]: [s] })),
          "x-scope": scope,
        } as Record<string, unknown>,
        async transform(ctx: { principal: Principal | null; authFailure: AuthFailure | null; set: { headers: Record<string, unknown> }; headers: Record<string, string | undefined> }) {
          const { principal, authFailure, set } = ctx;
          if (!principal) throw unauthorized(authFailure ?? "missing");
          const accepted = typeof scope === "string" ? (scope === "any" ? [] : [scope]) : scope;
          const pk = principal.publishableKey;
          if (pk) {
            // A publishable key only ever reaches the public chat surface, and only from its allowed origins.
            if (scope !== "chat:public") {
              throw new Problem(403, "insufficient_scope", `publishable keys can only call chat:public operations; this one needs ${accepted.join(" or ") || "any"}`, {
                extensions: { requiredScope: accepted[0] ?? "any" },
              });
            }
            const origin = ctx.headers.origin;
            if (!origin || !pk.allowedOrigins.includes(origin)) {
              throw new Problem(403, "origin_not_allowed", origin ? `origin ${origin} is not allowed for this publishable key` : "send the Origin header; publishable keys work only from allowed origins");
            }
          }
          if (deps.rateLimitPerMinute > 0 || pk) {
            const d = await deps.rateLimit.take(principal.actorId, pk ? pk.rateLimitRpm : deps.rateLimitPerMinute);
            set.headers["ratelimit-limit"] = String(d.limit);
            set.headers["ratelimit-remaining"] = String(d.remaining);
            if (!d.allowed) {
              throw new Problem(429, "rate_limited", `rate limit of ${d.limit} requests a minute reached; retry in ${d.retryAfterS} s`, {
                headers: { "retry-after": String(d.retryAfterS), "ratelimit-reset": String(d.retryAfterS) },
              });
            }
          }
          if (accepted.length && !accepted.some((s) => principal.scopes.has(s))) {
            // requiredScope names the first (the usual one), so clients that read one scope still get an answer.
            throw new Problem(403, "insufficient_scope", `this operation needs the ${accepted.join(" or ")} scope, which this key does not have`, {
              extensions: { requiredScope: accepted[0] },
            });
          }
        },
      }),
      /** Routes anyone may call (health, documentation). */
      publicRoute: { detail: { security: [] } as Record<string, unknown> },
      /**
       * Honour Idempotency-Key: replay the first successful result of a retried POST to the key that sent it.
       * Authorization comes first: `scope:` runs in transform, and a route's own checks (those that depend on the
       * body or the target, e.g. scope_escalation) belong in its `beforeHandle`, which Elysia runs before the hooks
       * a macro adds, so no stored result is answered to a caller that may not make the request now.
       */
      idempotent: {
        // The document's Idempotency-Key parameter and error responses are added from this mark (openapi.ts):
        // the generator rebuilds `parameters` from the route's own schemas, so a macro cannot list them here.
        detail: { [IDEMPOTENT_MARK]: true } as Record<string, unknown>,
        async beforeHandle(ctx: { principal: Principal | null; request: Request; headers: Record<string, string | undefined>; body: unknown; path: string; set: { status?: number | string; headers: Record<string, unknown> } }) {
          const key = ctx.headers["idempotency-key"];
          if (key === undefined || !ctx.principal) return;
          const owner = { organizationId: ctx.principal.organizationId, actorId: ctx.principal.actorId };
          const claim = await deps.idempotency.claim(owner, key, IdempotencyStore.requestHash(ctx.request.method, ctx.path, ctx.body));
          if (claim.kind === "replay") {
            ctx.set.status = claim.status;
            ctx.set.headers["idempotent-replayed"] = "true";
            return claim.body;
          }
          idempotencyClaims.set(ctx.request, { owner, key, done: false });
        },
        async afterHandle(ctx: { request: Request; response: unknown; set: { status?: number | string } }) {
          const claim = idempotencyClaims.get(ctx.request);
          if (!claim || ctx.response instanceof Response) return;
          claim.done = true;
          await deps.idempotency.complete(claim.owner, claim.key, Number(ctx.set.status ?? 200), ctx.response);
        },
        afterResponse(ctx: { request: Request }) {
          const claim = idempotencyClaims.get(ctx.request);
          if (claim && !claim.done) void deps.idempotency.release(claim.owner, claim.key).catch(() => {});
        },
      },
    })
    // Success answers are audited here, after the response is validated and before it is sent; failures in onError.
    .mapResponse({ as: "global" }, async (ctx) => {
      const value = (ctx as unknown as { responseValue?: unknown }).responseValue;
      await audit(ctx, value instanceof Response ? value.status : Number(ctx.set.status ?? 200));
    });
  return conventions;

  /** Stores the audit entry of a state-changing request made by an authenticated caller, once, before it is answered. */
  function audit(ctx: { request: Request; set: { headers: Record<string, unknown> } }, status: number): Promise<void> | undefined {
    const { request } = ctx;
    const principal = (ctx as unknown as { principal?: Principal | null }).principal;
    if (!principal || !MUTATING.has(request.method) || audited.has(request)) return;
    audited.add(request);
    return deps.audit.record({
      organizationId: principal.organizationId,
      actorType: principal.actorType,
      actorId: principal.actorId,
      method: request.method,
      path: new URL(request.url).pathname,
      status,
      requestId: (ctx.set.headers["x-request-id"] as string | undefined) ?? null,
    });
  }
}

function unauthorized(failure: AuthFailure) {
  const detail =
    failure === "missing"
      ? "send a secret key as Authorization: Bearer flowyte_sk_…"
      : failure === "malformed"
        ? "the Authorization header must be Bearer <key>"
        : "this key is not valid or has been revoked";
  return new Problem(401, failure === "invalid" ? "invalid_api_key" : "unauthorized", detail, { headers: { "www-authenticate": 'Bearer realm="flowyte"' } });
}
