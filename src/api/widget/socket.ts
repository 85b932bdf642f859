// The widget's realtime transport: one WebSocket per widget session, at the URL `POST /chat/widget/sessions`
// answers as `transport.url` (frame protocol in docs/widget.md#the-realtime-transport). It is a second door to the
// same turn as `POST …/messages` with a clientMessageId: every message runs through `WidgetSessions.deliver`, so
// it is stored the same way, runs once per clientMessageId whichever door (or replica) it came through, and finishes
// even when the socket drops. Storage stays the source of truth; the socket only carries the reply's frames.
import { TypeCompiler } from "@sinclair/typebox/compiler";
import { t } from "elysia";
import type { PublishableKeyGrant } from "../../platform/auth/principal.ts";
import type { PublishableKeyAuthenticator } from "../../platform/auth/publishable.ts";
import { fieldErrors } from "../../platform/http/errors.ts";
import { Problem } from "../../platform/http/problem.ts";
import type { RateLimit } from "../../platform/http/rate-limit.ts";
import type { Logger } from "../../platform/log.ts";
import { ClientMessageId, MessageContent } from "./model.ts";
import type { WidgetSessions } from "./sessions.ts";

/** What a browser sends: one visitor message, always with the id that makes resending it safe. */
export const WidgetSocketMessage = t.Object({ type: t.Literal("message"), content: MessageContent, clientMessageId: ClientMessageId });
const checkMessage = TypeCompiler.Compile(WidgetSocketMessage);

/** Close codes (RFC 6455): 1000 after the conversation ended, 1008 when the socket's credentials stop being good. */
const NORMAL = 1000;
const POLICY = 1008;

/** What the upgrade request proved, checked again on every message. */
export interface SocketAdmission {
  organizationId: string;
  grant: PublishableKeyGrant;
  /** The publishable key's value as the browser sent it, so a revoked or rotated-out key stops the socket too. */
  keyValue: string;
  origin: string;
  conversationId: string;
  visitorToken: string;
}

/** The part of Bun's ServerWebSocket (through Elysia) a widget socket uses. */
export interface WidgetSocket {
  readonly id: string;
  send(data: string): unknown;
  close(code?: number, reason?: string): unknown;
}

interface Connection {
  admission: SocketAdmission;
  open: boolean;
  /** Messages are answered one after another, in the order sent, as the widget shows them. */
  queue: Promise<void>;
}

export interface WidgetSocketsDeps {
  sessions: WidgetSessions;
  keys: PublishableKeyAuthenticator;
  /** The per-key request limit of every API route (conventions), so socket messages and HTTP requests share it. */
  rateLimit: RateLimit;
  log: Logger;
}

export class WidgetSockets {
  private connections = new Map<string, Connection>();

  constructor(private deps: WidgetSocketsDeps) {}

  opened(ws: WidgetSocket, admission: SocketAdmission) {
    this.connections.set(ws.id, { admission, open: true, queue: Promise.resolve() });
    send(ws, { type: "ready", conversationId: admission.conversationId });
  }

  received(ws: WidgetSocket, data: unknown) {
    const connection = this.connections.get(ws.id);
    if (!connection?.open) return;
    if (!checkMessage.Check(data)) {
      const id = (data as { clientMessageId?: unknown } | null)?.clientMessageId;
      const errors = fieldErrors([...checkMessage.Errors(data)], "message");
      return send(ws, {
        type: "error",
        clientMessageId: typeof id === "string" ? id : null,
        status: 400,
        code: "invalid_message",
        detail: 'send {"type":"message","content":"…","clientMessageId":"…"} as JSON text',
        errors,
      });
    }
    connection.queue = connection.queue.then(() => this.answer(ws, connection, data.content, data.clientMessageId));
  }

  closed(ws: WidgetSocket) {
    const connection = this.connections.get(ws.id);
    if (connection) connection.open = false;
    this.connections.delete(ws.id);
  }

  private async answer(ws: WidgetSocket, connection: Connection, content: string, clientMessageId: string) {
    const { admission } = connection;
    const emit = (frame: Record<string, unknown>) => connection.open && send(ws, frame);
    try {
      await this.admit(admission);
      // The visitor token and the conversation are checked per message, as each HTTP request checks them.
      const conversation = await this.deps.sessions.authorize(admission.organizationId, admission.grant, admission.conversationId, admission.visitorToken);
      const delivery = await this.deps.sessions.deliver(admission.organizationId, conversation, content, clientMessageId);
      const reply = delivery.replayed ? await delivery.reply : await delivery.run({ delta: (text) => emit({ type: "delta", clientMessageId, text }) });
      emit({ type: "message", clientMessageId, replayed: delivery.replayed, ...reply });
      if (reply.ended) this.end(ws, connection, "session_ended");
    } catch (error) {
      const problem = error instanceof Problem ? error : null;
      if (!problem) this.deps.log.error("a widget socket message failed", { conversationId: admission.conversationId, error });
      const retryAfter = problem?.headers?.["retry-after"];
      emit({
        type: "error",
        clientMessageId,
        status: problem?.status ?? 500,
        code: problem?.code ?? "internal_error",
        detail: problem?.detail ?? "something went wrong on our side; send the message again",
        ...(retryAfter ? { retryAfter: Number(retryAfter) } : {}),
      });
      if (problem?.code === "session_ended") this.end(ws, connection, "session_ended");
      else if (problem && (problem.status === 401 || problem.status === 403 || problem.status === 404)) this.stop(ws, connection, problem.code);
    }
  }

  /**
   * The checks the conventions make on every HTTP request, made on every message: the key is still good (not
   * revoked, not past its rotation grace; cached as for HTTP), the page's origin is still allowed, and the message
   * fits the key's rateLimitRpm, counted with the key's HTTP requests.
   */
  private async admit(admission: SocketAdmission) {
    const principal = await this.deps.keys.authenticate(admission.keyValue);
    const grant = principal?.publishableKey;
    if (!principal || !grant || grant.id !== admission.grant.id) throw new Problem(401, "invalid_api_key", "this publishable key is not valid or has been revoked");
    if (!grant.allowedOrigins.includes(admission.origin)) throw new Problem(403, "origin_not_allowed", `origin ${admission.origin} is not allowed for this publishable key`);
    const decision = await this.deps.rateLimit.take(principal.actorId, grant.rateLimitRpm);
    if (!decision.allowed) {
      throw new Problem(429, "rate_limited", `rate limit of ${decision.limit} requests a minute reached; retry in ${decision.retryAfterS} s`, {
        headers: { "retry-after": String(decision.retryAfterS) },
      });
    }
  }

  /** The conversation is over: say so and close normally. */
  private end(ws: WidgetSocket, connection: Connection, reason: string) {
    send(ws, { type: "ended", reason });
    this.stop(ws, connection, reason, NORMAL);
  }

  private stop(ws: WidgetSocket, connection: Connection, reason: string, code = POLICY) {
    connection.open = false;
    this.connections.delete(ws.id);
    ws.close(code, reason);
  }
}

const send = (ws: WidgetSocket, frame: Record<string, unknown>) => ws.send(JSON.stringify(frame));
