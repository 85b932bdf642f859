// The OpenAI-compatible brain: chat completions with tools, streamed, against any such server (Ollama, vLLM,
// llama.cpp, or a hosted one). The model proposes replies and tool calls; the runtime and its guardrails decide.
// A server that stays silent longer than its timeout (LLM_TIMEOUT_MS) — before the connection is accepted, before
// its first event, or between two events — fails the call, as does an error it sends in the stream; the runtime then
// apologizes to the caller instead of leaving them in silence.
import { EventSourceParserStream } from "eventsource-parser/stream";
import type { CompiledSkill } from "../compiled.ts";
import { ANSWER_THRESHOLD } from "../tools/types.ts";
import { endCallPhrasesEnabled } from "./builtin.ts";
import type { Brain, BrainAction, BrainContext } from "./types.ts";

export interface LlmSettings {
  baseUrl: string;
  apiKey: string | null;
  model: string;
  /** The longest the server may stay silent (connecting, before the first event, between events); the caller's signal can end the call sooner. */
  timeoutMs?: number;
}

/** The LLM server failed a call: `llm_timeout` (silent too long), `llm_http_error` (a non-2xx answer) or `llm_stream_error` (an error sent in the stream). */
export class LlmError extends Error {
  override name = "LlmError";
  constructor(
    message: string,
    readonly code: "llm_timeout" | "llm_http_error" | "llm_stream_error",
  ) {
    super(message);
  }
}

type Message =
  | { role: "system" | "user"; content: string }
  | { role: "assistant"; content: string | null; tool_calls?: { id: string; type: "function"; function: { name: string; arguments: string } }[] }
  | { role: "tool"; tool_call_id: string; content: string };

const BUILTIN_TOOLS = {
  transfer_to_human: "Transfer the caller to a person on the team. Use when they ask for a human or you cannot help.",
  end_conversation: "End the conversation when the caller is done.",
  start_playbook: "Start one of the agent's scripted procedures when the caller's request matches it.",
};

export function createOpenAiCompatibleBrain(settings: LlmSettings, fetchImpl: typeof fetch = fetch): Brain {
  const url = `${settings.baseUrl.replace(/\/+$/, "")}/chat/completions`;
  return {
    name: "openai-compatible",
    async next(ctx) {
      const toolNames = nameTools(ctx.skills);
      const body = {
        model: ctx.agent.llmModel || settings.model,
        temperature: ctx.agent.llmTemperature,
        stream: true,
        messages: buildMessages(ctx, toolNames),
        tools: buildTools(ctx, toolNames),
      };
      const silence = silenceDeadline(settings.timeoutMs ?? 30_000);
      const signal = AbortSignal.any([ctx.signal, silence.signal]);
      let streamed: Awaited<ReturnType<typeof readStream>>;
      try {
        const res = await fetchImpl(url, {
          method: "POST",
          headers: { "content-type": "application/json", ...(settings.apiKey ? { authorization: `Bearer ${settings.apiKey}` } : {}) },
          body: JSON.stringify(body),
          signal,
        });
        if (!res.ok || !res.body) throw new LlmError(`LLM server answered ${res.status}${await errorDetail(res)}`, "llm_http_error");
        streamed = await readStream(res.body, signal, silence.heard, ctx.onDelta);
      } catch (error) {
        if (silence.signal.aborted && !ctx.signal.aborted) throw silence.signal.reason;
        throw error;
      } finally {
        silence.stop();
      }
      const { content, toolCalls } = streamed;

      const actions: BrainAction[] = [];
      for (const call of toolCalls) {
        let args: Record<string, unknown> = {};
        try {
          args = call.arguments ? JSON.parse(call.arguments) : {};
        } catch {
          args = {};
        }
        if (call.name === "transfer_to_human") actions.push({ type: "transfer", reason: String(args.reason ?? ctx.userText) });
        else if (call.name === "end_conversation") actions.push({ type: "end", text: content || null });
        else if (call.name === "start_playbook") {
          const playbook = ctx.playbooks.find((p) => p.name === args.playbook);
          if (playbook) actions.push({ type: "start_playbook", playbook });
        } else {
          const skill = toolNames.bySanitized.get(call.name);
          if (skill) actions.push({ type: "call_skill", callId: call.id, skill, args });
        }
      }
      // Text said alongside tool calls is an interim line ("let me check"); the turn goes on after the tools.
      // A final answer (no tool call) written with relevant passages in the prompt is drawn from them: it cites those.
      const relevant = ctx.passages.filter((p) => p.score >= ANSWER_THRESHOLD);
      const citations = !actions.length && relevant.length ? { citations: relevant } : {};
      if (content && !actions.some((a) => a.type === "end")) actions.unshift({ type: "reply", text: content, ...citations });
      if (!actions.length) actions.push({ type: "reply", text: "" });
      return actions;
    },
  };
}

function nameTools(skills: CompiledSkill[]) {
  const bySanitized = new Map<string, CompiledSkill>();
  const byId = new Map<string, string>();
  for (const s of skills) {
    let name = s.name.replace(/[^a-zA-Z0-9_-]+/g, "_").slice(0, 60) || "skill";
    while (bySanitized.has(name) || name in BUILTIN_TOOLS) name = `${name}_${bySanitized.size}`;
    bySanitized.set(name, s);
    byId.set(s.id, name);
  }
  return { bySanitized, byId };
}

function buildTools(ctx: BrainContext, names: ReturnType<typeof nameTools>) {
  const tools = ctx.skills.map((s) => ({
    type: "function" as const,
    function: {
      name: names.byId.get(s.id)!,
      description: s.description,
      parameters: { type: "object", properties: s.parametersSchema.properties ?? {}, required: s.requiredParams.length ? s.requiredParams : (s.parametersSchema.required ?? []) },
    },
  }));
  tools.push({ type: "function", function: { name: "transfer_to_human", description: BUILTIN_TOOLS.transfer_to_human, parameters: { type: "object", properties: { reason: { type: "string" } }, required: [] } } });
  // With end-call phrases off the model is not offered a way to hang up on a goodbye (the runtime refuses one anyway).
  if (endCallPhrasesEnabled(ctx.agent)) {
    tools.push({ type: "function", function: { name: "end_conversation", description: BUILTIN_TOOLS.end_conversation, parameters: { type: "object", properties: {}, required: [] } } });
  }
  if (ctx.playbooks.length) {
    tools.push({
      type: "function",
      function: {
        name: "start_playbook",
        description: `${BUILTIN_TOOLS.start_playbook} Procedures: ${ctx.playbooks.map((p) => `${p.name} (${p.description})`).join("; ")}`,
        parameters: { type: "object", properties: { playbook: { type: "string", enum: ctx.playbooks.map((p) => p.name) } as never }, required: ["playbook"] },
      },
    });
  }
  return tools;
}

export function systemPrompt(ctx: BrainContext): string {
  const a = ctx.agent;
  const lines = [
    `You are ${a.name}${a.persona ? `: ${a.persona}` : ", a helpful assistant for this business"}.`,
    `Tone: ${a.tone || "friendly and concise"}. Reply in ${ctx.language}. Keep replies short${ctx.channel === "voice" ? " and speakable: no lists, no markdown" : ""}.`,
  ];
  if (a.goals.length) lines.push(`Goals: ${a.goals.join("; ")}.`);
  if (a.neverDo.length) lines.push(`Never: ${a.neverDo.join("; ")}.`);
  if (a.lexicon.preferred?.length) lines.push(`Prefer these words: ${a.lexicon.preferred.join(", ")}.`);
  if (a.lexicon.banned?.length) lines.push(`Never say: ${a.lexicon.banned.join(", ")}.`);
  lines.push(
    ctx.hours.configured
      ? `It is ${ctx.hours.localTime} (${ctx.hours.timezone}). The business is ${ctx.hours.open ? "OPEN" : `CLOSED${ctx.hours.nextOpening ? `; it opens ${ctx.hours.nextOpening}` : ""}`}.`
      : `It is ${ctx.hours.localTime} UTC.`,
  );
  lines.push(`The caller is ${ctx.verified ? "verified" : "NOT verified"}.`);
  const known = Object.entries(ctx.state.variables).filter(([, v]) => v !== null && v !== undefined && v !== "");
  if (known.length) lines.push(`Known about this conversation: ${known.map(([k, v]) => `${k}=${typeof v === "object" ? JSON.stringify(v) : v}`).join(", ")}.`);
  if (ctx.passages.length) {
    lines.push("Answer questions only from this knowledge; if the answer is not here, say you don't know:");
    for (const p of ctx.passages) lines.push(`- ${p.text.replace(/\s+/g, " ").slice(0, 800)}`);
  } else {
    lines.push("You have no reference material for this question: do not invent facts; say you don't know when unsure.");
  }
  lines.push("Use the tools to act. Never claim an action happened unless a tool result says so.");
  return lines.join("\n");
}

function buildMessages(ctx: BrainContext, names: ReturnType<typeof nameTools>): Message[] {
  const messages: Message[] = [{ role: "system", content: systemPrompt(ctx) }, ...ctx.history];
  for (const r of ctx.toolResults) {
    messages.push({ role: "assistant", content: null, tool_calls: [{ id: r.callId, type: "function", function: { name: names.byId.get(r.skill.id) ?? r.skill.name, arguments: JSON.stringify(r.args) } }] });
    messages.push({ role: "tool", tool_call_id: r.callId, content: JSON.stringify(r.ok ? r.result : { error: r.result }) });
  }
  return messages;
}

interface StreamedCall {
  id: string;
  name: string;
  arguments: string;
}

/** An abort signal that fires once `ms` pass without `heard()` being called. */
function silenceDeadline(ms: number) {
  const controller = new AbortController();
  const expire = () => controller.abort(new LlmError(`LLM server was silent for ${ms} ms`, "llm_timeout"));
  let timer = setTimeout(expire, ms);
  return {
    signal: controller.signal,
    heard() {
      clearTimeout(timer);
      timer = setTimeout(expire, ms);
    },
    stop: () => clearTimeout(timer),
  };
}

/** What an error answer says (`{"error":{"message"}}` as OpenAI-compatible servers send it), for the log. */
async function errorDetail(res: Response): Promise<string> {
  const text = await res.text().catch(() => "");
  try {
    const message = JSON.parse(text)?.error?.message;
    if (typeof message === "string") return `: ${message}`;
  } catch {}
  return text ? `: ${text.slice(0, 200)}` : "";
}

type StreamChunk = {
  choices?: { delta?: { content?: string | null; tool_calls?: { index?: number; id?: string; function?: { name?: string; arguments?: string } }[] } }[];
  error?: { message?: string; code?: string | number | null } | string;
};

/**
 * Reads an OpenAI-style SSE stream: `data: {chunk}` events until `data: [DONE]`. An `event: error`, or a data frame
 * carrying `error` (as OpenAI, vLLM and llama.cpp send when generation fails mid-stream), fails the call.
 */
async function readStream(body: ReadableStream<Uint8Array>, signal: AbortSignal, heard: () => void, onDelta?: (t: string) => void) {
  let content = "";
  const calls: StreamedCall[] = [];
  const events = body.pipeThrough(new TextDecoderStream() as unknown as TransformStream<Uint8Array, string>).pipeThrough(new EventSourceParserStream({ onError: "terminate" }));
  const reader = events.getReader();
  // A body a stalled server keeps open does not always end when the fetch is aborted: the read is raced with it.
  const aborted = new Promise<never>((_, reject) => {
    if (signal.aborted) reject(signal.reason);
    signal.addEventListener("abort", () => reject(signal.reason), { once: true });
  });
  aborted.catch(() => {});
  try {
    for (;;) {
      const { done, value: event } = await Promise.race([reader.read(), aborted]);
      if (done) break;
      heard();
      if (event.event === "error") throw new LlmError(`LLM server sent an error in the stream: ${event.data.slice(0, 300)}`, "llm_stream_error");
      if (event.data === "[DONE]") break;
      let parsed: StreamChunk;
      try {
        parsed = JSON.parse(event.data);
      } catch {
        continue;
      }
      if (parsed.error) {
        const message = typeof parsed.error === "string" ? parsed.error : (parsed.error.message ?? JSON.stringify(parsed.error));
        throw new LlmError(`LLM server sent an error in the stream: ${message}`, "llm_stream_error");
      }
      const delta = parsed.choices?.[0]?.delta;
      if (!delta) continue;
      if (delta.content) {
        content += delta.content;
        onDelta?.(delta.content);
      }
      for (const tc of delta.tool_calls ?? []) {
        const i = tc.index ?? calls.length;
        calls[i] ??= { id: tc.id ?? `call_${i}`, name: "", arguments: "" };
        if (tc.id) calls[i]!.id = tc.id;
        if (tc.function?.name) calls[i]!.name += tc.function.name;
        if (tc.function?.arguments) calls[i]!.arguments += tc.function.arguments;
      }
    }
  } finally {
    reader.cancel().catch(() => {});
  }
  return { content, toolCalls: calls };
}
