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

/** A problem that also carries OpenAI's `error` object, which the SDKs read for their error message. */
function openAiProblem(status: number, code: string, message: string, param: string | null) {
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
const MAX_MESSAGE_TEXT = 16_000;

/** Rough token count for the `usage` block (4 characters a token); the agent's own model may count differently. */
const tokens = (text: string) => Math.max(1, Math.ceil(text.length / 4));

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

    const agentId = body.model;
    let compiled: CompiledConfig;
    let versionId: string | null;
    try {
      ({ compiled, versionId } = await this.agents.compiledFor(principal.organizationId, agentId, false));
    } catch (error) {
      if (error instanceof Problem && error.status === 404) throw openAiProblem(400, "unknown_model", `model must be an agent id of your organization; ${agentId} is not one`, "model");
      if (error instanceof Problem && error.status === 409) throw openAiProblem(409, error.code, error.detail, "model");
      throw error;
    }

    if (continueId) {
      const [row] = await this.db
        .select({ id: conversations.id, status: conversations.status })
        .from(conversations)
        .where(and(eq(conversations.id, continueId), eq(conversations.organizationId, principal.organizationId), eq(conversations.agentId, agentId), eq(conversations.source, "openai")))
        .limit(1);
      if (!row) throw openAiProblem(404, "conversation_not_found", `no conversation ${continueId} for this agent`, CONVERSATION_HEADER);
      if (row.status === "ended") throw openAiProblem(409, "session_ended", `conversation ${continueId} has ended; omit ${CONVERSATION_HEADER} to start a new one`, CONVERSATION_HEADER);
      return { conversationId: row.id, text, agentId };
    }

    const history = body.messages
      .slice(0, -1)
      .filter((m): m is RequestMessage & { role: "user" | "assistant" } => m.role === "user" || m.role === "assistant")
      .map((m) => ({ role: m.role, content: textOf(m) }))
      .filter((m) => m.content);
    const opened = await this.runtime.start({
      organizationId: principal.organizationId,
      agentId,
      agentVersionId: versionId,
      draftMode: false,
      compiled,
      channel: "chat",
      source: "openai",
      greet: false,
      history,
      metadata: body.user ? { externalUserId: body.user } : {},
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
  const encoder = new TextEncoder();
  const abort = new AbortController();
  requestSignal.addEventListener("abort", () => abort.abort(), { once: true });
  const chunk = (delta: Record<string, unknown>, finish: string | null = null) =>
    encoder.encode(`data: ${JSON.stringify({ id, object: "chat.completion.chunk", created, model: agentId, choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`);

  const body = new ReadableStream<Uint8Array>({
    async start(controller) {
      const send = (bytes: Uint8Array) => {
        try {
          controller.enqueue(bytes);
        } catch {
          abort.abort();
        }
      };
      send(chunk({ role: "assistant", content: "" }));
      try {
        const content = new StreamedContent((text) => send(chunk({ content: text })));
        const result = await run(
          { delta: (text) => content.delta(text), event: (e) => e.eventType === "agent_message" && content.message(String(e.payload.text ?? "")) },
          abort.signal,
        );
        content.end(completionContent(result));
        send(chunk({}, "stop"));
        send(encoder.encode("data: [DONE]\n\n"));
      } catch (error) {
        const message = error instanceof Problem ? error.detail : "the completion failed";
        send(encoder.encode(`data: ${JSON.stringify({ error: { message, type: "server_error", code: error instanceof Problem ? error.code : "internal_error" } })}\n\n`));
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
