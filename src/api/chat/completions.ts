// POST /chat/completions, OpenAI-compatible: `model` is the agent id; the published agent decides everything
// else (its prompt, tools, guardrails). Answers in the OpenAI wire format, chunk for chunk when streamed, so the
// official SDKs work by changing only their base URL and key.
//
// Continuity: each response carries `X-Flowyte-Conversation-Id`. Sending it back on the next request continues
// that conversation with all its state (a playbook half-way, a pending confirmation); without it a new
// conversation starts, seeded with the earlier user/assistant turns of `messages` as context.
import { and, eq } from "drizzle-orm";
import type { Principal } from "../../platform/auth/principal.ts";
import type { Db } from "../../platform/db/index.ts";
import { conversations } from "../../platform/db/schema/index.ts";
import { Problem } from "../../platform/http/problem.ts";
import { newId } from "../../platform/ids.ts";
import type { CompiledConfig } from "../../runtime/compiled.ts";
import type { ConversationRuntime, TurnResult, TurnSink } from "../../runtime/conversation.ts";
import type { AgentsService } from "../agents/service.ts";
import type { CompletionRequestInput } from "./model.ts";
import { runTurn } from "./service.ts";

export const CONVERSATION_HEADER = "x-flowyte-conversation-id";

/** What either OpenAI-compatible API asks of the runtime: the agent, the user's turn and what came before it. */
export interface OpenAiRequest {
  agentId: string;
  text: string;
  history: { role: "user" | "assistant"; content: string }[];
  /** The caller's id for the person (`user`), kept as the conversation's `externalUserId`. */
  user?: string;
}

/** A request continuing a stored conversation, and how to name it (the request field, the 404) when that fails. */
export interface Continuation {
  conversationId: string;
  param: string;
  notFound: { code: string; message: string };
}

/** A problem that also carries OpenAI's `error` object, which the SDKs read for their error message. */
export function openAiProblem(status: number, code: string, message: string, param: string | null) {
  return new Problem(status, code, message, {
    errors: param ? [{ field: param, message }] : undefined,
    extensions: { error: { message, type: status === 409 ? "conflict_error" : "invalid_request_error", param, code } },
  });
}

type RequestMessage = CompletionRequestInput["messages"][number];

const textOf = (m: RequestMessage): string =>
  typeof m.content === "string" ? m.content : Array.isArray(m.content) ? m.content.map((p) => (p.type === "text" ? (p.text ?? "") : "")).join("") : "";

/**
 * The most text one message may carry, its parts joined: what a string content may hold. Without it 50 parts reach
 * 800,000 characters, and the runtime's own text scans (PII redaction, slot extraction) grow with the square of a
 * message's length: seconds to minutes of a busy server for one request.
 */
export const MAX_MESSAGE_TEXT = 16_000;

/** Rough token count for the `usage` block (4 characters a token); the agent's own model may count differently. */
export const tokens = (text: string) => Math.max(1, Math.ceil(text.length / 4));

export class CompletionsService {
  constructor(
    private db: Db,
    private agents: AgentsService,
    private runtime: ConversationRuntime,
  ) {}

  /** Resolve the request to a conversation and the text to answer; throws OpenAI-flavoured problems. */
  async prepare(principal: Principal, body: CompletionRequestInput, continueId: string | undefined) {
    const long = body.messages.findIndex((m) => textOf(m).length > MAX_MESSAGE_TEXT);
    if (long >= 0) {
      const field = `messages[${long}].content`;
      throw openAiProblem(400, "validation_error", `${field} holds more than ${MAX_MESSAGE_TEXT} characters of text (its parts together)`, field);
    }
    const last = body.messages[body.messages.length - 1]!;
    const text = textOf(last).trim();
    if (last.role !== "user" || !text) throw openAiProblem(400, "invalid_messages", "the last message must be a non-empty user message", "messages");
    const history = body.messages
      .slice(0, -1)
      .filter((m): m is RequestMessage & { role: "user" | "assistant" } => m.role === "user" || m.role === "assistant")
      .map((m) => ({ role: m.role, content: textOf(m) }));
    const continuing = continueId ? { conversationId: continueId, param: CONVERSATION_HEADER, notFound: { code: "conversation_not_found", message: `no conversation ${continueId} for this agent` } } : undefined;
    return this.open(principal, { agentId: body.model, text, history, user: body.user }, continuing);
  }

  /**
   * The conversation a request of either OpenAI-compatible API is answered in: the one it continues, or a new one
   * (`source: openai`, no greeting) seeded with the earlier turns as context.
   */
  async open(principal: Principal, request: OpenAiRequest, continuing?: Continuation): Promise<{ conversationId: string; text: string; agentId: string }> {
    const { agentId, text } = request;
    let compiled: CompiledConfig;
    let versionId: string | null;
    try {
      ({ compiled, versionId } = await this.agents.compiledFor(principal.organizationId, agentId, false));
    } catch (error) {
      if (error instanceof Problem && error.status === 404) throw openAiProblem(400, "unknown_model", `model must be an agent id of your organization; ${agentId} is not one`, "model");
      if (error instanceof Problem && error.status === 409) throw openAiProblem(409, error.code, error.detail, "model");
      throw error;
    }

    if (continuing) {
      const { conversationId, param, notFound } = continuing;
      const [row] = await this.db
        .select({ id: conversations.id, status: conversations.status })
        .from(conversations)
        .where(and(eq(conversations.id, conversationId), eq(conversations.organizationId, principal.organizationId), eq(conversations.agentId, agentId), eq(conversations.source, "openai")))
        .limit(1);
      if (!row) throw openAiProblem(404, notFound.code, notFound.message, param);
      if (row.status === "ended") throw openAiProblem(409, "session_ended", `conversation ${conversationId} has ended; omit ${param} to start a new one`, param);
      return { conversationId: row.id, text, agentId };
    }

    const opened = await this.runtime.start({
      organizationId: principal.organizationId,
      agentId,
      agentVersionId: versionId,
      draftMode: false,
      compiled,
      channel: "chat",
      source: "openai",
      greet: false,
      history: request.history.filter((m) => m.content),
      metadata: request.user ? { externalUserId: request.user } : {},
    });
    return { conversationId: opened.conversationId, text, agentId };
  }

  turn(organizationId: string, conversationId: string, text: string, sink: TurnSink = {}, signal?: AbortSignal): Promise<TurnResult> {
    return runTurn(conversationId, () => this.runtime.turn(organizationId, conversationId, { type: "text", text }, sink, signal));
  }
}

/** The assistant's `content`: the turn's reply messages joined by a blank line. */
export const completionContent = (result: TurnResult) => result.replies.map((m) => m.text).join(MESSAGE_SEPARATOR);
const MESSAGE_SEPARATOR = "\n\n";

/**
 * Reshapes the runtime's deltas so that a client concatenating the streamed `content` gets exactly
 * `completionContent`. The runtime streams each reply message either whole with a trailing space, or as a model's
 * screened sentences joined by spaces, and then records it (`agent_message`): so whitespace at the edges of a
 * message is held back until more text shows it is inside one, and the blank line goes in before the next message.
 */
export class StreamedContent {
  private raw = "";
  private sent = 0;
  private finished = 0;
  private separated = false;
  private all = "";

  constructor(private emit: (text: string) => void) {}

  /** Reply text as the runtime streams it. */
  delta(text: string) {
    this.raw += text;
    this.release(this.raw.trim());
  }

  /** A reply message as stored: whatever of it did not stream goes out now, then the next message begins. */
  message(text: string) {
    this.separate();
    if (text.startsWith(this.raw.trim().slice(0, this.sent))) this.release(text);
    this.raw = "";
    this.sent = 0;
    this.separated = false;
    this.finished++;
  }

  /** After the turn: anything of the whole content still missing (nothing, when every message was recorded). */
  end(content: string) {
    if (content.length > this.all.length && content.startsWith(this.all)) this.put(content.slice(this.all.length));
  }

  private release(visible: string) {
    if (visible.length <= this.sent) return;
    this.separate();
    this.put(visible.slice(this.sent));
    this.sent = visible.length;
  }

  private separate() {
    if (this.finished === 0 || this.separated) return;
    this.separated = true;
    this.put(MESSAGE_SEPARATOR);
  }

  private put(text: string) {
    this.all += text;
    this.emit(text);
  }
}

export function completionBody(agentId: string, prompt: string, result: TurnResult) {
  const content = completionContent(result);
  const promptTokens = tokens(prompt);
  const completionTokens = tokens(content);
  return {
    id: `chatcmpl-${newId("cmp").slice(4)}`,
    object: "chat.completion" as const,
    created: Math.floor(Date.now() / 1000),
    model: agentId,
    choices: [{ index: 0, message: { role: "assistant" as const, content }, finish_reason: "stop" }],
    usage: { prompt_tokens: promptTokens, completion_tokens: completionTokens, total_tokens: promptTokens + completionTokens },
  };
}

/** The OpenAI streaming wire format: `data: {chunk}` lines, role first, content deltas, a finish chunk, `[DONE]`. */
export function completionStream(agentId: string, run: (sink: TurnSink, signal: AbortSignal) => Promise<TurnResult>, requestSignal: AbortSignal, headers: Record<string, string>) {
  const id = `chatcmpl-${newId("cmp").slice(4)}`;
  const created = Math.floor(Date.now() / 1000);
  const chunk = (delta: Record<string, unknown>, finish: string | null = null) =>
    `data: ${JSON.stringify({ id, object: "chat.completion.chunk", created, model: agentId, choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`;

  return openAiEventStream(requestSignal, headers, async (send, signal) => {
    send(chunk({ role: "assistant", content: "" }));
    try {
      const content = new StreamedContent((text) => send(chunk({ content: text })));
      const result = await run({ delta: (text) => content.delta(text), event: (e) => e.eventType === "agent_message" && content.message(String(e.payload.text ?? "")) }, signal);
      content.end(completionContent(result));
      send(chunk({}, "stop"));
      send("data: [DONE]\n\n");
    } catch (error) {
      const message = error instanceof Problem ? error.detail : "the completion failed";
      send(`data: ${JSON.stringify({ error: { message, type: "server_error", code: error instanceof Problem ? error.code : "internal_error" } })}\n\n`);
    }
  });
}

/**
 * A text/event-stream response whose frames `produce` writes. A client that disconnects aborts the signal `produce`
 * is given, so the turn stops (a skill call in flight is cancelled).
 */
export function openAiEventStream(requestSignal: AbortSignal, headers: Record<string, string>, produce: (send: (frame: string) => void, signal: AbortSignal) => Promise<void>) {
  const encoder = new TextEncoder();
  const abort = new AbortController();
  requestSignal.addEventListener("abort", () => abort.abort(), { once: true });
  const body = new ReadableStream<Uint8Array>({
    async start(controller) {
      const send = (frame: string) => {
        try {
          controller.enqueue(encoder.encode(frame));
        } catch {
          abort.abort();
        }
      };
      try {
        await produce(send, abort.signal);
      } finally {
        try {
          controller.close();
        } catch {}
      }
    },
    cancel() {
      abort.abort();
    },
  });
  return new Response(body, { headers: { "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-cache, no-transform", "x-accel-buffering": "no", ...headers } });
}
