// Widget chat sessions: an anonymous visitor, pinned to the publishable key's agent, talks to its published version
// through the one conversation runtime. The conversation row records the key and the visitor
// (`publishable_key_id`, `visitor_id`); the visitor token proves a browser is that visitor.
import { desc, eq } from "drizzle-orm";
import type { PublishableKeyGrant } from "../../platform/auth/principal.ts";
import type { Database } from "../../platform/db/index.ts";
import { conversationMessages } from "../../platform/db/schema/index.ts";
import { type Claim, IdempotencyStore } from "../../platform/http/idempotency.ts";
import { notFound, Problem } from "../../platform/http/problem.ts";
import { RateLimit, type RateLimitStore } from "../../platform/http/rate-limit.ts";
import type { Logger } from "../../platform/log.ts";
import { newId } from "../../platform/ids.ts";
import { ConversationEndedError, type ConversationRuntime, type StoredMessage, type TurnSink } from "../../runtime/conversation.ts";
import { redactPii } from "../../runtime/text.ts";
import type { AgentsService } from "../agents/service.ts";
import type { WidgetMessageDto, WidgetReplyDto } from "./model.ts";
import type { VisitorTokens } from "./visitor-token.ts";

/** Checks an operator can plug in; without them, no bot check runs and identity tokens are taken as sent. */
export interface WidgetHooks {
  /** A bot check such as Cloudflare Turnstile's siteverify. When set, every session needs a token it accepts. */
  verifyBotToken?(token: string, visitor: { address: string | null; publishableKeyId: string }): Promise<boolean>;
  /** Checks an identityToken from the host site; the visitor's subject, or null to refuse it. */
  verifyIdentityToken?(token: string, key: PublishableKeyGrant): Promise<{ subject: string } | null>;
}

export interface Visitor {
  /** The connection's peer address, or with TRUST_PROXY the client's as the trusted proxies report it. */
  address: string | null;
  origin: string | null;
}

export interface WidgetConversation {
  id: string;
  status: string;
  startedAt: Date;
  /** The visitor the token proves the caller to be. */
  visitorId: string;
}

const SESSIONS_PER_HOUR = 20;
const TRANSCRIPT_MAX = 200;

/** New sessions per visitor address and key: SESSIONS_PER_HOUR in each hour, counted across the replicas. */
export class SessionLimiter {
  private limit: RateLimit;

  constructor(store: RateLimitStore, log: Logger) {
    this.limit = new RateLimit(store, "widget_sessions", 3600, log);
  }

  async take(visitorKey: string) {
    const { allowed, retryAfterS } = await this.limit.take(visitorKey, SESSIONS_PER_HOUR);
    if (!allowed) {
      throw new Problem(429, "too_many_sessions", `at most ${SESSIONS_PER_HOUR} widget sessions an hour from one visitor; retry in ${retryAfterS} s`, {
        headers: { "retry-after": String(retryAfterS) },
      });
    }
  }
}

export interface WidgetSessionsDeps {
  database: Database;
  agents: AgentsService;
  runtime: ConversationRuntime;
  tokens: VisitorTokens;
  hooks: WidgetHooks;
  limiter: SessionLimiter;
  /** Where the replies of messages sent with a clientMessageId are kept for their repeats (idempotency_keys). */
  idempotency: IdempotencyStore;
  publicBaseUrl: string;
  log: Logger;
}

/** A visitor message sent with a clientMessageId: its earlier reply, or the turn this request is to run. */
export type MessageDelivery = { replayed: true; reply: Promise<WidgetReplyDto> } | { replayed: false; run(sink: TurnSink): Promise<WidgetReplyDto> };

/** Turns of messages with a clientMessageId run to the end whatever happens to the request that sent them. */
const UNTIL_DONE = new AbortController().signal;

export class WidgetSessions {
  /** Messages with a clientMessageId whose turn runs in this process, so a repeat waits for it instead of a 409. */
  private running = new Map<string, Promise<WidgetReplyDto>>();

  constructor(private deps: WidgetSessionsDeps) {}

  async start(organizationId: string, key: PublishableKeyGrant, input: { turnstileToken?: string; identityToken?: string }, visitor: Visitor) {
    const { hooks } = this.deps;
    await this.deps.limiter.take(`${key.id}|${visitor.address ?? "unknown"}`);
    if (hooks.verifyBotToken) {
      if (!input.turnstileToken) throw new Problem(403, "bot_check_required", "send turnstileToken: this server checks that widget sessions come from people");
      if (!(await hooks.verifyBotToken(input.turnstileToken, { address: visitor.address, publishableKeyId: key.id }))) {
        throw new Problem(403, "bot_check_failed", "the bot check did not pass; reload the page and try again");
      }
    }
    const identity = await this.identify(key, input.identityToken);

    const { compiled, versionId } = await this.deps.agents.compiledFor(organizationId, key.agentId, false);
    const visitorId = newId("vis");
    const opened = await this.deps.runtime.start({
      organizationId,
      agentId: key.agentId,
      agentVersionId: versionId,
      draftMode: false,
      compiled,
      channel: "chat",
      source: "widget",
      publishableKeyId: key.id,
      visitorId,
      metadata: { origin: visitor.origin, ...(identity ? { identity } : {}) },
    });
    const row = await this.deps.runtime.describe(organizationId, opened.conversationId);

    const { token, expiresAt } = this.deps.tokens.issue({ conversationId: opened.conversationId, publishableKeyId: key.id, visitorId });
    const path = `/api/v1/chat/widget/sessions/${opened.conversationId}`;
    const { publicBaseUrl } = this.deps;
    return {
      conversationId: opened.conversationId,
      visitorToken: token,
      visitorTokenExpiresAt: expiresAt.toISOString(),
      transport: {
        kind: "realtime" as const,
        url: `${publicBaseUrl.replace(/^http/, "ws")}${path}/socket`,
        token,
        fallback: { kind: "sse" as const, url: `${publicBaseUrl}${path}/messages`, token },
      },
      messages: opened.replies.map((m) => toMessage(row!.startedAt, "assistant", m)),
    };
  }

  /** The conversation a visitor token opens, checked against the path and the calling key. */
  async authorize(organizationId: string, key: PublishableKeyGrant, conversationId: string, visitorToken: string): Promise<WidgetConversation> {
    const claims = this.deps.tokens.verify(visitorToken);
    if (claims.conversationId !== conversationId || claims.publishableKeyId !== key.id) {
      throw new Problem(403, "visitor_token_mismatch", "this visitor token belongs to another conversation or publishable key");
    }
    const row = await this.deps.runtime.describe(organizationId, conversationId);
    if (!row || row.publishableKeyId !== key.id || row.visitorId !== claims.visitorId) throw notFound("conversation", conversationId);
    return { id: row.id, status: row.status, startedAt: row.startedAt, visitorId: claims.visitorId };
  }

  async send(organizationId: string, conversation: WidgetConversation, content: string, sink: TurnSink, signal: AbortSignal): Promise<WidgetReplyDto> {
    return (await this.answer(organizationId, conversation, content, sink, signal)).reply;
  }

  /** The reply, and what of it may be stored for repeats: only its redacted form when the agent redacts PII. */
  private async answer(organizationId: string, conversation: WidgetConversation, content: string, sink: TurnSink, signal: AbortSignal) {
    try {
      const result = await this.deps.runtime.turn(organizationId, conversation.id, { type: "text", text: content }, sink, signal);
      const reply: WidgetReplyDto = {
        userMessage: toMessage(conversation.startedAt, "user", result.userMessage!),
        messages: result.replies.map((m) => toMessage(conversation.startedAt, "assistant", m)),
        ended: result.ended,
      };
      // Only what was said is redacted: a timestamp's digits read as a phone number would break the stored reply.
      const redacted = (m: WidgetMessageDto) => ({ ...m, content: redactPii(m.content) });
      return { reply, kept: result.redactsPii ? { ...reply, userMessage: redacted(reply.userMessage), messages: reply.messages.map(redacted) } : reply };
    } catch (error) {
      if (error instanceof ConversationEndedError) throw sessionEnded();
      throw error;
    }
  }

  /**
   * A message the widget may send more than once (it resends after a dropped connection) runs its turn once: the
   * first request claims `clientMessageId` and runs the turn, detached from its connection so the reply is stored
   * even when the visitor's network drops; a repeat gets that reply, or waits for the turn still running here (on
   * another replica it answers 409 idempotency_in_progress with Retry-After). The same id with other content is
   * 422 idempotency_key_reused. Replies are kept 24 hours, as long as a visitor token lives.
   */
  async deliver(organizationId: string, conversation: WidgetConversation, content: string, clientMessageId: string): Promise<MessageDelivery> {
    const { idempotency } = this.deps;
    const key = `widget-message:${conversation.id}:${clientMessageId}`;
    // The visitor owns the stored reply: only the token of that visitor gets it again.
    const owner = { organizationId, actorId: conversation.visitorId };
    const running = this.running.get(key);
    if (running) return { replayed: true, reply: running };
    let claim: Claim;
    try {
      claim = await idempotency.claim(owner, key, IdempotencyStore.requestHash("POST", `/chat/widget/sessions/${conversation.id}/messages`, { content }));
    } catch (error) {
      const started = this.running.get(key);
      if (started && error instanceof Problem && error.code === "idempotency_in_progress") return { replayed: true, reply: started };
      throw error;
    }
    if (claim.kind === "replay") return { replayed: true, reply: Promise.resolve(claim.body as WidgetReplyDto) };

    let settle!: { resolve(reply: WidgetReplyDto): void; reject(error: unknown): void };
    const reply = new Promise<WidgetReplyDto>((resolve, reject) => (settle = { resolve, reject }));
    reply.catch(() => {}); // a failure belongs to whoever awaits it; nobody else may be waiting
    this.running.set(key, reply);
    const fail = async (error: unknown) => {
      await idempotency.release(owner, key).catch(() => {});
      this.running.delete(key);
      settle.reject(error);
      throw error;
    };
    if (conversation.status === "ended") return fail(sessionEnded());
    return {
      replayed: false,
      run: (sink) => {
        this.answer(organizationId, conversation, content, sink, UNTIL_DONE).then(
          async ({ reply: answered, kept }) => {
            await idempotency.complete(owner, key, 200, kept).catch((error) => this.deps.log.warn("widget reply not kept for repeats", { conversationId: conversation.id, error }));
            this.running.delete(key);
            settle.resolve(answered);
          },
          (error) => fail(error).catch(() => {}),
        );
        return reply;
      },
    };
  }

  async transcript(conversation: WidgetConversation) {
    const rows = await this.deps.database.db
      .select()
      .from(conversationMessages)
      .where(eq(conversationMessages.conversationId, conversation.id))
      .orderBy(desc(conversationMessages.id))
      .limit(TRANSCRIPT_MAX);
    return {
      conversationId: conversation.id,
      status: conversation.status === "ended" ? ("ended" as const) : ("active" as const),
      messages: rows.reverse().map((m) => toMessage(conversation.startedAt, m.role === "user" ? "user" : "assistant", { id: m.id, text: m.content, tsMs: m.tsMs })),
    };
  }

  private async identify(key: PublishableKeyGrant, token: string | undefined) {
    if (!token) {
      if (key.requireIdentityVerification) throw new Problem(403, "identity_required", "this publishable key needs an identityToken from the host site to open a session");
      return null;
    }
    if (!this.deps.hooks.verifyIdentityToken) return { verified: false, subject: null };
    const verified = await this.deps.hooks.verifyIdentityToken(token, key);
    if (!verified) throw new Problem(403, "identity_invalid", "the identityToken was not accepted");
    return { verified: true, subject: verified.subject };
  }
}

export const sessionEnded = () => new Problem(409, "session_ended", "this conversation has ended; start a new widget session");

const toMessage = (startedAt: Date, role: "user" | "assistant", m: StoredMessage): WidgetMessageDto => ({
  id: m.id,
  role,
  content: m.text,
  createdAt: new Date(startedAt.getTime() + m.tsMs).toISOString(),
});
