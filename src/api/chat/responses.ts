// POST /responses, the subset of OpenAI's Responses API that SDKs call by default (the Vercel AI SDK's `openai(id)`,
// `openai.responses.create/stream`): text in, the agent's reply out as one output_text message, plain or streamed
// with the Responses event types. It is the chat completions adapter with another wire format: the same
// conversation opening and turn (CompletionsService), the same streamed-content shaping (StreamedContent).
//
// Continuity without storing responses: a response id (and its message's id) carries the id of the conversation it
// was answered in, `resp_<conversation ULID><turn ULID>`. `previous_response_id`, or an `item_reference` to an
// earlier output message (what the AI SDK sends for earlier assistant turns), continues that conversation from where
// it is now, with all its state; nothing branches from an older response.
import type { Principal } from "../../platform/auth/principal.ts";
import { Problem } from "../../platform/http/problem.ts";
import { newId } from "../../platform/ids.ts";
import type { TurnResult, TurnSink } from "../../runtime/conversation.ts";
import { type CompletionsService, completionContent, type Continuation, MAX_MESSAGE_TEXT, openAiEventStream, openAiProblem, StreamedContent, tokens } from "./completions.ts";
import type { ResponseObjectDto, ResponseRequestInput, ResponseStreamEventDto } from "./model.ts";

type InputItem = Exclude<ResponseRequestInput["input"], string>[number];

const ULID = "[0-9A-HJKMNP-TV-Z]{26}";
const ANSWER_ID = new RegExp(`^(?:resp|msg)_(${ULID})${ULID}$`);

/** The conversation a response or output message id was answered in, or null when the id is not one of ours. */
function conversationOf(id: string): string | null {
  const match = ANSWER_ID.exec(id);
  return match ? `conv_${match[1]}` : null;
}

/** The ids of one answer: its response and its output message, both naming the conversation (see the top). */
function answerIds(conversationId: string) {
  const suffix = `${conversationId.slice("conv_".length)}${newId("t").slice(2)}`;
  return { responseId: `resp_${suffix}`, itemId: `msg_${suffix}` };
}

const unsupported = (param: string, message: string) => openAiProblem(400, "unsupported_parameter", message, param);

/** Refuses what this endpoint cannot honour, naming the parameter, rather than answering as if it had. */
function refuseUnsupported(body: ResponseRequestInput) {
  if (Array.isArray(body.tools) ? body.tools.length > 0 : body.tools != null) throw unsupported("tools", "tools are not supported: the agent's own skills are its tools, run on the server");
  if (body.reasoning != null) throw unsupported("reasoning", "reasoning is not supported: the agent decides how it answers");
  const format = (body.text as { format?: { type?: unknown } } | null | undefined)?.format;
  if (format != null && format.type !== "text") throw unsupported("text.format", "only plain text output (text.format type text) is supported");
  if (Array.isArray(body.include) ? body.include.length > 0 : body.include != null) throw unsupported("include", "include is not supported: responses carry no extra output data");
  if (body.background === true) throw unsupported("background", "background responses are not supported");
  if (body.conversation != null) throw unsupported("conversation", "conversation objects are not supported; continue with previous_response_id");
  if (body.prompt != null) throw unsupported("prompt", "prompt templates are not supported: the agent has its own prompt");
  if (body.store === false) throw unsupported("store", "store: false is not supported: conversations are stored, as on every channel");
}

function textOfItem(item: InputItem, index: number): string {
  if (typeof item.content === "string") return item.content;
  let text = "";
  for (const [j, part] of (item.content ?? []).entries()) {
    if (part.type !== "input_text" && part.type !== "output_text") {
      throw openAiProblem(400, "unsupported_input", `input[${index}].content[${j}]: ${part.type} parts are not supported, only text`, `input[${index}].content[${j}].type`);
    }
    text += part.text ?? "";
  }
  if (text.length > MAX_MESSAGE_TEXT) {
    const field = `input[${index}].content`;
    throw openAiProblem(400, "validation_error", `${field} holds more than ${MAX_MESSAGE_TEXT} characters of text (its parts together)`, field);
  }
  return text;
}

/** The user's turn, the turns before it, and the conversation an `item_reference` points at (the last one). */
function readInput(input: ResponseRequestInput["input"]) {
  if (typeof input === "string") {
    if (!input.trim()) throw openAiProblem(400, "invalid_input", "input must not be empty", "input");
    return { text: input.trim(), history: [], referenced: undefined };
  }
  const messages: { role: string; content: string }[] = [];
  let referenced: string | undefined;
  for (const [i, item] of input.entries()) {
    if (item.type === "item_reference") {
      const conversationId = item.id ? conversationOf(item.id) : null;
      if (!conversationId) throw openAiProblem(404, "item_not_found", `input[${i}]: ${item.id ?? "(no id)"} is not an output message of a response of this server`, `input[${i}].id`);
      referenced = conversationId;
      continue;
    }
    if (item.type !== undefined && item.type !== "message") {
      throw openAiProblem(400, "unsupported_input", `input[${i}]: ${item.type} items are not supported, only messages (the agent's tools run on the server)`, `input[${i}].type`);
    }
    if (!item.role) throw openAiProblem(400, "validation_error", `input[${i}].role is required`, `input[${i}].role`);
    messages.push({ role: item.role, content: textOfItem(item, i) });
  }
  const last = messages.at(-1);
  if (last?.role !== "user" || !last.content.trim()) throw openAiProblem(400, "invalid_input", "the last input message must be a non-empty user message", "input");
  const history = messages.slice(0, -1).filter((m): m is { role: "user" | "assistant"; content: string } => m.role === "user" || m.role === "assistant");
  return { text: last.content.trim(), history, referenced };
}

/** What continues a conversation: previous_response_id first, else an item_reference in the input. */
function continuation(previousResponseId: string | null | undefined, referenced: string | undefined): Continuation | undefined {
  if (previousResponseId) {
    const param = "previous_response_id";
    const notFound = { code: "previous_response_not_found", message: `previous response ${previousResponseId} was not found for this model` };
    const conversationId = conversationOf(previousResponseId);
    if (!conversationId) throw openAiProblem(404, notFound.code, notFound.message, param);
    return { conversationId, param, notFound };
  }
  if (referenced) return { conversationId: referenced, param: "input", notFound: { code: "item_not_found", message: "the referenced output message was not found for this model" } };
  return undefined;
}

export interface PreparedResponse {
  organizationId: string;
  conversationId: string;
  agentId: string;
  text: string;
  previousResponseId: string | null;
}

export class ResponsesService {
  constructor(private completions: CompletionsService) {}

  /** Checks the request and opens (or finds) its conversation; throws OpenAI-flavoured problems. */
  async prepare(principal: Principal, body: ResponseRequestInput): Promise<PreparedResponse> {
    refuseUnsupported(body);
    const { text, history, referenced } = readInput(body.input);
    const opened = await this.completions.open(principal, { agentId: body.model, text, history, user: body.user ?? undefined }, continuation(body.previous_response_id, referenced));
    return { organizationId: principal.organizationId, ...opened, previousResponseId: body.previous_response_id ?? null };
  }

  async create(prepared: PreparedResponse): Promise<ResponseObjectDto> {
    const answer = new Answer(prepared);
    return answer.completed(await this.turn(prepared));
  }

  /** The Responses event stream: created, in_progress, the message and its text part opened, deltas, all closed, completed. */
  stream(prepared: PreparedResponse, requestSignal: AbortSignal): Response {
    const answer = new Answer(prepared);
    let sequence = 0;
    return openAiEventStream(requestSignal, {}, async (send, signal) => {
      const emit = (event: ResponseStreamEventDto) => send(`event: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`);
      const at = () => sequence++;
      const part = { item_id: answer.itemId, output_index: 0 as const, content_index: 0 as const };
      emit({ type: "response.created", sequence_number: at(), response: answer.inProgress() });
      emit({ type: "response.in_progress", sequence_number: at(), response: answer.inProgress() });
      emit({ type: "response.output_item.added", sequence_number: at(), output_index: 0, item: answer.message("", "in_progress") });
      emit({ type: "response.content_part.added", sequence_number: at(), ...part, part: outputText("") });
      try {
        const content = new StreamedContent((delta) => emit({ type: "response.output_text.delta", sequence_number: at(), ...part, delta, logprobs: [] }));
        const result = await this.turn(prepared, { delta: (text) => content.delta(text), event: (e) => e.eventType === "agent_message" && content.message(String(e.payload.text ?? "")) }, signal);
        const text = completionContent(result);
        content.end(text);
        emit({ type: "response.output_text.done", sequence_number: at(), ...part, text, logprobs: [] });
        emit({ type: "response.content_part.done", sequence_number: at(), ...part, part: outputText(text) });
        emit({ type: "response.output_item.done", sequence_number: at(), output_index: 0, item: answer.message(text, "completed") });
        emit({ type: "response.completed", sequence_number: at(), response: answer.completed(result) });
      } catch (error) {
        const message = error instanceof Problem ? error.detail : "the response failed";
        emit({ type: "error", sequence_number: at(), code: error instanceof Problem ? error.code : "internal_error", message, param: null });
      }
    });
  }

  private turn(prepared: PreparedResponse, sink?: TurnSink, signal?: AbortSignal): Promise<TurnResult> {
    return this.completions.turn(prepared.organizationId, prepared.conversationId, prepared.text, sink, signal);
  }
}

const outputText = (text: string) => ({ type: "output_text" as const, text, annotations: [], logprobs: [] });

/** One response object as it goes from in progress to completed. */
class Answer {
  readonly responseId: string;
  readonly itemId: string;
  private readonly createdAt = Math.floor(Date.now() / 1000);

  constructor(private prepared: PreparedResponse) {
    ({ responseId: this.responseId, itemId: this.itemId } = answerIds(prepared.conversationId));
  }

  message(text: string, status: "in_progress" | "completed") {
    return { id: this.itemId, type: "message" as const, status, role: "assistant" as const, content: status === "completed" ? [outputText(text)] : [] };
  }

  inProgress(): ResponseObjectDto {
    return this.body("in_progress", [], null, null);
  }

  completed(result: TurnResult): ResponseObjectDto {
    const text = completionContent(result);
    const input = tokens(this.prepared.text);
    const output = tokens(text);
    const usage = { input_tokens: input, input_tokens_details: { cached_tokens: 0 }, output_tokens: output, output_tokens_details: { reasoning_tokens: 0 }, total_tokens: input + output };
    return this.body("completed", [this.message(text, "completed")], Math.floor(Date.now() / 1000), usage);
  }

  private body(status: ResponseObjectDto["status"], output: ResponseObjectDto["output"], completedAt: number | null, usage: ResponseObjectDto["usage"]): ResponseObjectDto {
    return {
      id: this.responseId,
      object: "response",
      created_at: this.createdAt,
      completed_at: completedAt,
      status,
      error: null,
      incomplete_details: null,
      instructions: null,
      max_output_tokens: null,
      metadata: null,
      model: this.prepared.agentId,
      output,
      parallel_tool_calls: false,
      previous_response_id: this.prepared.previousResponseId,
      reasoning: null,
      store: true,
      temperature: null,
      text: { format: { type: "text" } },
      tool_choice: "none",
      tools: [],
      top_p: null,
      truncation: "disabled",
      usage,
    };
  }
}
