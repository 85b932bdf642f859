// Builds agents over the real API for conversation tests: skills, playbooks, guardrails, then simulate.
import type { TestApp } from "./app.ts";

export interface SimulateResult {
  status: number;
  events: { seq: number; tsMs: number; eventType: string; conversationId: string; payload: any; id: string }[];
  frames: string[];
  said: string[];
  raw: string;
}

export function agentBuilder(app: TestApp, key: string) {
  const call = async (method: string, path: string, body?: unknown) => {
    const res = await app.api(method, path, { key, body });
    if (res.status >= 400) throw new Error(`${method} ${path} → ${res.status} ${JSON.stringify(res.body)}`);
    return res.body.data;
  };
  return {
    call,
    agent: (body: Record<string, unknown>) => call("POST", "/api/v1/agents", body),
    skill: (agentId: string, body: Record<string, unknown>) => call("POST", `/api/v1/agents/${agentId}/skills`, body),
    guardrails: (agentId: string, policies: unknown[]) => call("PUT", `/api/v1/agents/${agentId}/guardrails`, policies),
    verification: (agentId: string, configs: unknown[]) => call("PUT", `/api/v1/agents/${agentId}/caller-verification`, configs),
    async playbook(agentId: string, body: { name: string; description: string }, graph: { nodes: unknown[]; connections: unknown[] }) {
      const playbook = await call("POST", `/api/v1/agents/${agentId}/playbooks`, body);
      await call("PUT", `/api/v1/agents/${agentId}/playbooks/${playbook.id}/graph`, { flowId: playbook.flowId, ...graph });
      return playbook;
    },
    publish: (agentId: string) => call("POST", `/api/v1/agents/${agentId}/publish`, {}),
    async simulate(agentId: string, body: Record<string, unknown>): Promise<SimulateResult> {
      const res = await fetch(`${app.url}/api/v1/agents/${agentId}/simulate`, {
        method: "POST",
        headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
        body: JSON.stringify(body),
      });
      const raw = await res.text();
      const frames = raw.split("\n\n").filter(Boolean);
      // Frames are named after the eventType, so a receipt's `error` event is an `event:error` frame too; it carries
      // a seq, where the stream's terminal failure carries a problem object.
      const events = frames
        .filter((f) => f.startsWith("event:") && !f.startsWith("event:done"))
        .map((f) => JSON.parse(f.slice(f.indexOf("\ndata:") + 6)))
        .filter((data) => typeof data.seq === "number");
      return { status: res.status, events, frames, raw, said: events.filter((e) => e.eventType === "agent_message").map((e) => e.payload.text) };
    },
  };
}

/** A playbook graph that asks for one slot (`collect` is the collect step's data) and ends with `message`. */
export function oneSlotGraph(collect: Record<string, unknown> & { variable: string }, message: string) {
  return {
    nodes: [
      { id: "s", type: "start", position: { x: 0, y: 0 }, data: {} },
      { id: "n", type: "collect", position: { x: 0, y: 1 }, data: collect },
      { id: "e", type: "end", position: { x: 0, y: 2 }, data: { message, outcome: "completed" } },
    ],
    connections: [
      { id: "1", source: "s", target: "n" },
      { id: "2", source: "n", target: "e" },
    ],
  };
}

/**
 * An `order_status` webhook skill on the lookup server at `baseUrl` (see startWebhookTarget), announced as slow
 * (expectedLatencyMs 2000) so the agent says it is checking first; `timeoutMs` as executionConfig.timeout_ms.
 */
export function orderStatusSkill(baseUrl: string, timeoutMs?: number) {
  return {
    name: "order_status",
    description: "Check the delivery status of an order",
    skillType: "http_webhook",
    parametersSchema: { type: "object", properties: {} },
    executionConfig: { url: `${baseUrl}/status`, method: "GET", ...(timeoutMs ? { timeout_ms: timeoutMs } : {}) },
    expectedLatencyMs: 2000,
  };
}

/** A local HTTP endpoint that records calls and answers with JSON: the "customer system" skills talk to. */
export function startWebhookTarget(answer: (path: string, body: any) => unknown = () => ({ ok: true }), delayMs = 0) {
  const calls: { method: string; path: string; body: any; headers: Record<string, string> }[] = [];
  const server = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    async fetch(req) {
      const url = new URL(req.url);
      const text = await req.text();
      let body: unknown = text;
      try {
        body = text ? JSON.parse(text) : null;
      } catch {}
      calls.push({ method: req.method, path: url.pathname + url.search, body, headers: Object.fromEntries(req.headers) });
      if (delayMs) await Bun.sleep(delayMs);
      return Response.json(answer(url.pathname, body));
    },
  });
  return { url: `http://127.0.0.1:${server.port}`, calls, stop: () => server.stop(true) };
}
