// A scripted OpenAI-compatible chat completions server (stand-in for Ollama / vLLM / llama.cpp), following
// the OpenAI wire format: POST /v1/chat/completions, streamed as `data: {chat.completion.chunk}` lines ending
// with `data: [DONE]`, tool calls as `delta.tool_calls` fragments. A test's script decides each reply.

export interface ChatRequest {
  model: string;
  messages: { role: string; content: string | null; tool_calls?: { id: string; function: { name: string; arguments: string } }[]; tool_call_id?: string }[];
  tools?: { type: "function"; function: { name: string; description?: string; parameters?: unknown } }[];
  stream?: boolean;
  temperature?: number;
}

export interface ScriptedReply {
  content?: string;
  toolCalls?: { name: string; arguments: Record<string, unknown> }[];
}

/** Throwing answers the request 500 with an OpenAI-style error body. */
export type Script = (request: ChatRequest, index: number) => ScriptedReply;

export interface ScriptedLlm {
  baseUrl: string;
  requests: ChatRequest[];
  stop(): void;
}

/** The last user message of a request (what the caller just said). */
export const lastUser = (r: ChatRequest) => [...r.messages].reverse().find((m) => m.role === "user")?.content ?? "";
/** Tool results already in this request (the model has seen them). */
export const toolResults = (r: ChatRequest) => r.messages.filter((m) => m.role === "tool").map((m) => JSON.parse(m.content ?? "null"));
/** Tool-call messages since the last user message. */
export const callsThisTurn = (r: ChatRequest) => {
  const lastUserIndex = r.messages.map((m) => m.role).lastIndexOf("user");
  return r.messages.slice(lastUserIndex + 1).filter((m) => m.role === "tool").length;
};

export function startScriptedLlm(script: Script, opts: { chunkSize?: number } = {}): ScriptedLlm {
  const requests: ChatRequest[] = [];
  const server = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    async fetch(req) {
      const url = new URL(req.url);
      if (req.method !== "POST" || !url.pathname.endsWith("/chat/completions")) return new Response("not found", { status: 404 });
      const body = (await req.json()) as ChatRequest;
      requests.push(body);
      let reply: ScriptedReply;
      try {
        reply = script(body, requests.length - 1);
      } catch (error) {
        // A script that throws makes the server fail the request, as an overloaded or broken model server does.
        return Response.json({ error: { message: (error as Error).message, type: "server_error" } }, { status: 500 });
      }
      const id = `chatcmpl-${requests.length}`;
      const created = Math.floor(Date.now() / 1000);
      if (!body.stream) {
        return Response.json({
          id,
          object: "chat.completion",
          created,
          model: body.model,
          choices: [
            {
              index: 0,
              message: {
                role: "assistant",
                content: reply.content ?? null,
                ...(reply.toolCalls?.length ? { tool_calls: reply.toolCalls.map((c, i) => ({ id: `call_${requests.length}_${i}`, type: "function", function: { name: c.name, arguments: JSON.stringify(c.arguments) } })) } : {}),
              },
              finish_reason: reply.toolCalls?.length ? "tool_calls" : "stop",
            },
          ],
        });
      }
      const chunk = (delta: Record<string, unknown>, finish: string | null = null) =>
        `data: ${JSON.stringify({ id, object: "chat.completion.chunk", created, model: body.model, choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`;
      const parts: string[] = [chunk({ role: "assistant", content: "" })];
      const size = opts.chunkSize ?? 6;
      for (let i = 0; i < (reply.content ?? "").length; i += size) parts.push(chunk({ content: reply.content!.slice(i, i + size) }));
      reply.toolCalls?.forEach((c, i) => {
        const args = JSON.stringify(c.arguments);
        parts.push(chunk({ tool_calls: [{ index: i, id: `call_${requests.length}_${i}`, type: "function", function: { name: c.name, arguments: "" } }] }));
        parts.push(chunk({ tool_calls: [{ index: i, function: { arguments: args.slice(0, Math.ceil(args.length / 2)) } }] }));
        parts.push(chunk({ tool_calls: [{ index: i, function: { arguments: args.slice(Math.ceil(args.length / 2)) } }] }));
      });
      parts.push(chunk({}, reply.toolCalls?.length ? "tool_calls" : "stop"));
      parts.push("data: [DONE]\n\n");
      return new Response(parts.join(""), { headers: { "content-type": "text/event-stream" } });
    },
  });
  return { baseUrl: `http://127.0.0.1:${server.port}/v1`, requests, stop: () => server.stop(true) };
}
