// The Widget tag (configuration and embed snippet, with secret keys) and the public widget chat surface under
// /api/v1/chat/widget/ (publishable keys: chat:public, Origin checked and rate-limited by the conventions plugin).
import { Elysia, t } from "elysia";
import type { Server } from "bun";
import type { Principal } from "../../platform/auth/principal.ts";
import { PUBLISHABLE_KEY_PREFIX, PublishableKeyAuthenticator } from "../../platform/auth/publishable.ts";
import { problems } from "../../platform/http/docs.ts";
import { Envelope, ok } from "../../platform/http/envelope.ts";
import { IdempotencyStore } from "../../platform/http/idempotency.ts";
import { Problem } from "../../platform/http/problem.ts";
import { RateLimit } from "../../platform/http/rate-limit.ts";
import { EVENT_STREAM, streamEvents } from "../../platform/http/sse.ts";
import type { TurnSink } from "../../runtime/conversation.ts";
import type { ApiContext } from "../context.ts";
import { PublishableKey } from "../publishable-keys/model.ts";
import { PublishableKeysService } from "../publishable-keys/service.ts";
import {
  EmbedQuery,
  PublicQuery,
  SessionParams,
  SocketQuery,
  TranscriptQuery,
  WidgetBootstrap,
  WidgetConfig,
  WidgetConfigInput,
  WidgetMessageSend,
  WidgetReply,
  WidgetSession,
  WidgetSessionCreate,
  WidgetTranscript,
} from "./model.ts";
import { sessionEnded, SessionLimiter, WidgetSessions, type Visitor, type WidgetHooks } from "./sessions.ts";
import { WidgetService } from "./service.ts";
import { type SocketAdmission, WidgetSockets } from "./socket.ts";
import { visitorAddress } from "./visitor-address.ts";
import { VISITOR_TOKEN_PURPOSE, VisitorTokens } from "./visitor-token.ts";

const AgentParams = t.Object({ id: t.String({ maxLength: 64, description: "Agent id" }) });
const tags = ["Widget"];
const SSE_RESPONSE = { description: "JSON envelope of WidgetReply, or with stream:true text/event-stream: delta {text} frames, one message frame (WidgetReply), then done" };

export { configuredWidgetHooks } from "./bot-check.ts";

export function widgetRoutes(ctx: ApiContext, hooks: WidgetHooks = {}) {
  const keys = new PublishableKeysService(ctx.database, ctx.agents);
  const widgets = new WidgetService(ctx.database, ctx.agents, keys, ctx.config.publicBaseUrl);
  const sessions = new WidgetSessions({
    database: ctx.database,
    agents: ctx.agents,
    runtime: ctx.runtime,
    tokens: new VisitorTokens(ctx.sealer.deriveKey(VISITOR_TOKEN_PURPOSE)),
    hooks,
    limiter: new SessionLimiter(ctx.rateLimits, ctx.log),
    idempotency: new IdempotencyStore(ctx.database.db, ctx.sealer),
    publicBaseUrl: ctx.config.publicBaseUrl,
    log: ctx.log,
  });
  const sockets = new WidgetSockets({
    sessions,
    keys: new PublishableKeyAuthenticator(ctx.database, { ttlMs: ctx.config.cacheTtlSeconds * 1000 }),
    // The conventions' per-key limit ("api", one-minute windows): the same counts, so both doors share one budget.
    rateLimit: new RateLimit(ctx.rateLimits, "api", 60, ctx.log),
    log: ctx.log,
  });
  const org = (c: unknown) => (c as { principal: Principal }).principal.organizationId;
  // chat:public is only ever held by a publishable key, so its grant is there on the public routes.
  const caller = (c: unknown) => {
    const { organizationId, publishableKey } = (c as { principal: Principal }).principal;
    return { organizationId, key: publishableKey! };
  };

  return new Elysia({ prefix: "/api/v1" })
    .use(ctx.conventions)
    .get("/agents/:id/widget", async ({ params, ...c }) => ok(await widgets.getConfig(org(c), params.id)), {
      scope: "widgets:read",
      params: AgentParams,
      response: { 200: Envelope(WidgetConfig), ...problems(404) },
      detail: { summary: "Get the widget configuration", description: "The agent's widget theme, copy and behavior; the defaults until one is saved.", tags },
    })
    .put("/agents/:id/widget", async ({ params, body, ...c }) => ok(await widgets.replaceConfig(org(c), params.id, body), "Saved widget configuration."), {
      scope: "widgets:write",
      params: AgentParams,
      body: WidgetConfigInput,
      parse: "json",
      response: { 200: Envelope(WidgetConfig), ...problems(400, 404, 413, 415) },
      detail: {
        summary: "Replace the widget configuration",
        description: "Full replace: fields left out take their defaults. Answers the saved configuration. Not versioned: embedded widgets pick it up on their next page load.",
        tags,
      },
    })
    .get("/agents/:id/widget/embed", async ({ params, query, ...c }) => ok(await widgets.embed(org(c), params.id, query.publishableKeyId), "Embed snippet + publishable key."), {
      scope: "widgets:read",
      params: AgentParams,
      query: EmbedQuery,
      response: { 200: Envelope(t.Object({ scriptSnippet: t.String(), publishableKey: PublishableKey })), ...problems(404, 409) },
      detail: {
        summary: "Get the embed snippet",
        description:
          "A <script> tag to paste before </body> on the site, with the chosen publishable key (default: the agent's oldest active key). " +
          "404 agent_not_found for an agent not in your organization; 409 no_publishable_key when the agent has none; 409 key_revoked for a revoked one.",
        tags,
      },
    })
    .get(
      "/chat/widget/bootstrap",
      async (c) => {
        const { organizationId, key } = caller(c);
        return ok(await widgets.bootstrap(organizationId, key));
      },
      {
        scope: "chat:public",
        query: PublicQuery,
        response: { 200: Envelope(WidgetBootstrap), ...problems(404) },
        detail: {
          summary: "Widget bootstrap config",
          description:
            "The public configuration a widget starts from: agent id and name, theme, copy, behavior. No secrets. Publishable key as bearer or ?key=; the Origin must be allowed.",
          tags: ["Chat"],
        },
      },
    )
    .post(
      "/chat/widget/sessions",
      async ({ body, request, server, set, ...c }) => {
        const { organizationId, key } = caller(c);
        set.status = 201;
        return ok(await sessions.start(organizationId, key, body, visitorOf(request, server, ctx.config.trustProxy)), "Widget conversation + transport.");
      },
      {
        scope: "chat:public",
        body: WidgetSessionCreate,
        parse: "json",
        response: { 201: Envelope(WidgetSession), ...problems(400, 404, 409, 413, 415, 503) },
        detail: {
          summary: "Start a widget chat session",
          description:
            "Opens a conversation for an anonymous visitor with the key's agent (its published version; 409 no_published_version otherwise) and answers the " +
            "visitor token that continues it. 403 identity_required when the key has requireIdentityVerification and no identityToken is sent; " +
            "403 bot_check_required / bot_check_failed when the server checks turnstileToken (WIDGET_BOT_CHECK_URL), 503 bot_check_unavailable when its siteverify cannot answer; 429 too_many_sessions past 20 sessions an hour from one visitor address (the connection's, or with TRUST_PROXY the one the trusted proxies report).",
          tags: ["Chat"],
        },
      },
    )
    .post(
      "/chat/widget/sessions/:conversationId/messages",
      async ({ params, body, request, path, set, ...c }) => {
        const { organizationId, key } = caller(c);
        const conversation = await sessions.authorize(organizationId, key, params.conversationId, body.visitorToken);
        if (body.clientMessageId) {
          const delivery = await sessions.deliver(organizationId, conversation, body.content, body.clientMessageId);
          if (delivery.replayed) set.headers["idempotent-replayed"] = "true";
          const answer = (sink: TurnSink) => (delivery.replayed ? delivery.reply : delivery.run(sink));
          if (!body.stream) return ok(await answer({}));
          // A replayed answer has no delta frames: only its message, then done.
          return streamEvents(request.signal, async (emit) => emit("message", await answer({ delta: (text) => emit("delta", { text }) })), { instance: path });
        }
        if (conversation.status === "ended") throw sessionEnded();
        if (!body.stream) return ok(await sessions.send(organizationId, conversation, body.content, {}, request.signal));
        return streamEvents(
          request.signal,
          async (emit, signal) => emit("message", await sessions.send(organizationId, conversation, body.content, { delta: (text) => emit("delta", { text }) }, signal)),
          { instance: path },
        );
      },
      {
        scope: "chat:public",
        params: SessionParams,
        body: WidgetMessageSend,
        parse: "json",
        response: { 200: t.Union([Envelope(WidgetReply), t.Any(SSE_RESPONSE)]), ...problems(400, 404, 409, 413, 415, 422, 503) },
        detail: {
          summary: "Send a widget message",
          [EVENT_STREAM]: SSE_RESPONSE.description,
          description:
            "The visitor's message and the agent's reply. With stream:true, SSE: event:delta {text} as the reply becomes sayable, then event:message " +
            "(WidgetReply), then event:done. With clientMessageId the turn runs once and finishes even if the connection drops; sending the same id again " +
            "answers that turn's reply (Idempotent-Replayed: true; streamed, just the message frame), 409 idempotency_in_progress while another replica still runs it, " +
            "422 idempotency_key_reused for other content. 401 for an invalid or expired visitorToken, 403 visitor_token_mismatch for another conversation's, 409 session_ended.",
          tags: ["Chat"],
        },
      },
    )
    // The socket's URL fetched without an upgrade: say what it is for.
    .get(
      "/chat/widget/sessions/:conversationId/socket",
      () => {
        throw new Problem(426, "upgrade_required", "open this URL as a WebSocket (transport.url from POST /chat/widget/sessions)");
      },
      { detail: { hide: true } },
    )
    .ws("/chat/widget/sessions/:conversationId/socket", {
      // The upgrade passes the checks of every widget route (key, Origin, the key's rate limit) before it opens.
      scope: "chat:public",
      params: SessionParams,
      query: SocketQuery,
      detail: { hide: true },
      // Runs before the upgrade: a thrown problem answers the HTTP request (401, 403, 404) and no socket opens.
      async resolve({ params, query, headers, ...c }: { params: { conversationId: string }; query: { key?: string; token: string }; headers: Record<string, string | undefined> }) {
        const { organizationId, key } = caller(c);
        const conversation = await sessions.authorize(organizationId, key, params.conversationId, query.token);
        const bearer = /^Bearer\s+(\S+)\s*$/i.exec(headers.authorization ?? "")?.[1];
        const keyValue = bearer?.startsWith(PUBLISHABLE_KEY_PREFIX) ? bearer : query.key!;
        const admission: SocketAdmission = { organizationId, grant: key, keyValue, origin: headers.origin!, conversationId: conversation.id, visitorToken: query.token };
        return { admission };
      },
      open(ws) {
        sockets.opened(ws, (ws.data as unknown as { admission: SocketAdmission }).admission);
      },
      message(ws, message) {
        sockets.received(ws, message);
      },
      close(ws) {
        sockets.closed(ws);
      },
    })
    .get(
      "/chat/widget/sessions/:conversationId/messages",
      async ({ params, query, ...c }) => {
        const { organizationId, key } = caller(c);
        const conversation = await sessions.authorize(organizationId, key, params.conversationId, query.visitorToken);
        return ok(await sessions.transcript(conversation));
      },
      {
        scope: "chat:public",
        params: SessionParams,
        query: TranscriptQuery,
        response: { 200: Envelope(WidgetTranscript), ...problems(400, 404) },
        detail: {
          summary: "Get a widget transcript",
          description: "The conversation so far, for a widget reconnecting after a reload. Needs the session's visitorToken.",
          tags: ["Chat"],
        },
      },
    );
}

function visitorOf(request: Request, server: Server<unknown> | null, trustedProxies: number): Visitor {
  const peer = server?.requestIP(request)?.address ?? null;
  return { address: visitorAddress(request.headers.get("x-forwarded-for"), peer, trustedProxies), origin: request.headers.get("origin") };
}
