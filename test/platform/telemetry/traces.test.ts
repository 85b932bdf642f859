// Traces exported over OTLP/HTTP to a collector stand-in (test/support/otlp-stand-in.ts) while the app answers chat
// turns through a scripted LLM: the request's server span, the turn under it, retrieval, each brain round and the
// skill under the turn, all in one trace; a caller's traceparent continued; log lines written in a turn carry its ids.
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { createLogger } from "../../../src/platform/log.ts";
import { agentBuilder, orderStatusSkill, startWebhookTarget } from "../../support/agent-builder.ts";
import { startTestApp, type TestApp } from "../../support/app.ts";
import { startOtlpStandIn, type ReceivedSpan } from "../../support/otlp-stand-in.ts";
import { callsThisTurn, lastUser, startScriptedLlm } from "../../support/scripted-llm.ts";
import { until } from "../../support/until.ts";

const MESSAGES_ROUTE = "POST /api/v1/chat/sessions/:id/messages";
const otlp = startOtlpStandIn();
const lookups = startWebhookTarget(() => ({ status: "shipped" }));
const llm = startScriptedLlm((request) => {
  const said = lastUser(request);
  if (said.includes("break")) throw new Error("the scripted model fails this one");
  if (said.includes("order") && callsThisTurn(request) === 0) return { toolCalls: [{ name: "order_status", arguments: {} }] };
  return { content: "It ships within five business days." };
});
const lines: string[] = [];
let app: TestApp;
let key: string;
let agentId: string;

beforeAll(async () => {
  app = await startTestApp(
    {
      OTEL_EXPORTER_OTLP_ENDPOINT: otlp.url,
      OTEL_EXPORTER_OTLP_HEADERS: "authorization=Bearer%20collector-secret",
      OTEL_SERVICE_NAME: "flowyte-test",
      LLM_BASE_URL: llm.baseUrl,
      LLM_MODEL: "scripted",
      EGRESS_ALLOWLIST: "127.0.0.1",
    },
    { log: createLogger("warn", (line) => lines.push(line)) },
  );
  ({ key } = await app.newOrg());
  const b = agentBuilder(app, key);
  const agent = await b.agent({ name: "Traced desk", greeting: "Hi! Ask me about shipping." });
  agentId = agent.id;
  await b.skill(agentId, orderStatusSkill(lookups.url));
  const source = await b.call("POST", `/api/v1/agents/${agentId}/knowledge/sources`, { kind: "text", label: "Shipping", text: "We ship to Canada and Mexico. Standard shipping takes five business days." });
  await until(async () => (await app.api("GET", `/api/v1/agents/${agentId}/knowledge/sources/${source.id}`, { key })).body.data.status === "indexed");
  await b.publish(agentId);
});
afterAll(async () => {
  await app.stop();
  otlp.stop();
  lookups.stop();
  llm.stop();
});

/** Sends one chat message in a new session; the trace of that request, once its server span has been exported. */
async function tracedMessage(content: string, headers: Record<string, string> = {}) {
  const session = (await app.api("POST", "/api/v1/chat/sessions", { key, body: { agentId } })).body.data.id as string;
  const res = await app.api("POST", `/api/v1/chat/sessions/${session}/messages`, { key, body: { content }, headers });
  expect(res.status).toBe(200);
  const turn = await until(() => otlp.spans.find((s) => s.name === "conversation.turn" && s.attributes["conversation.id"] === session));
  // Spans are exported as they end, in batches: wait for the request's own span, which ends after the response.
  const server = await until(() => otlp.spans.find((s) => s.spanId === turn.parentSpanId));
  const trace = () => otlp.spans.filter((s) => s.traceId === turn.traceId);
  return { session, turn, server, trace, reply: res.body.data };
}

const childrenOf = (spans: ReceivedSpan[], parent: ReceivedSpan) => spans.filter((s) => s.parentSpanId === parent.spanId);
const MS = 1_000_000n;

describe("OpenTelemetry traces over OTLP/HTTP", () => {
  it("exports a chat turn as one trace: the request's server span, the turn, retrieval, each brain round and the skill", async () => {
    const { turn, server, trace } = await tracedMessage("How long does shipping take for my order?");
    expect(server).toMatchObject({ name: MESSAGES_ROUTE, kind: 2, parentSpanId: null, status: 0 });
    expect(server.attributes).toMatchObject({ "http.request.method": "POST", "http.route": "/api/v1/chat/sessions/:id/messages", "http.response.status_code": 200 });
    expect(turn.attributes["conversation.channel"]).toBe("chat");
    expect(server.resource["service.name"]).toBe("flowyte-test");

    const children = await until(() => {
      const c = childrenOf(trace(), turn);
      return c.filter((s) => s.name === "brain").length === 2 && c.some((s) => s.name === "skill") && c.some((s) => s.name === "knowledge.retrieval") && c;
    });
    const retrieval = children.find((s) => s.name === "knowledge.retrieval")!;
    const skill = children.find((s) => s.name === "skill")!;
    const brains = children.filter((s) => s.name === "brain").sort((a, b) => Number(a.startNs - b.startNs));
    expect(brains.map((s) => s.attributes)).toEqual([
      { "brain.name": "openai-compatible", "brain.round": 0 },
      { "brain.name": "openai-compatible", "brain.round": 1 },
    ]);
    expect(skill.attributes).toMatchObject({ "skill.type": "http_webhook", "skill.outcome": "result" });
    // In the order they ran, each inside the turn's time. (The SDK starts each span's clock at Date.now(), whole
    // milliseconds, so spans apart by less than that may appear to overlap by up to 1 ms.)
    const before = (a: ReceivedSpan, b: ReceivedSpan) => a.endNs <= b.startNs + MS;
    expect({ retrievalFirst: before(retrieval, brains[0]!), thenSkill: before(brains[0]!, skill), thenBrain: before(skill, brains[1]!) }).toEqual({ retrievalFirst: true, thenSkill: true, thenBrain: true });
    for (const child of children) expect({ child: child.name, inside: child.startNs >= turn.startNs - MS && child.endNs <= turn.endNs + MS }).toEqual({ child: child.name, inside: true });
    expect(lookups.calls.length).toBeGreaterThanOrEqual(1);
    // The collector's credentials from OTEL_EXPORTER_OTLP_HEADERS went with every export.
    expect(new Set(otlp.authorizations)).toEqual(new Set(["Bearer collector-secret"]));
  });

  it("traces each background job attempt as a trace of its own (the knowledge source's ingestion)", async () => {
    const ingest = await until(() => otlp.spans.find((s) => s.name === "job knowledge-ingest"));
    expect(ingest.parentSpanId).toBeNull();
    expect(ingest.status).toBe(0);
    expect(ingest.attributes).toMatchObject({ "job.attempt": 1 });
    expect(typeof ingest.attributes["job.id"]).toBe("string");
  });

  it("continues the W3C traceparent a request arrives with", async () => {
    const traceId = "4bf92f3577b34da6a3ce929d0e0e4736";
    const parent = "00f067aa0ba902b7";
    const { server, turn } = await tracedMessage("Do you ship to Canada?", { traceparent: `00-${traceId}-${parent}-01` });
    expect({ traceId: server.traceId, parent: server.parentSpanId }).toEqual({ traceId, parent });
    expect(turn.traceId).toBe(traceId);
  });

  it("leaves probes and scrapes untraced: /health, /ready and /metrics", async () => {
    for (const path of ["/health", "/ready", "/metrics"]) expect((await fetch(`${app.url}${path}`)).status).toBe(200);
    // A request after them, traced: once its span is exported, theirs would have been too.
    await tracedMessage("Do you ship to Mexico?");
    const names = new Set(otlp.spans.map((s) => s.name));
    for (const name of ["GET /health", "GET /ready", "GET /metrics"]) expect(names.has(name)).toBe(false);
  });

  it("writes the turn's trace and span ids on a log line written inside it, and marks the failed brain span", async () => {
    const { turn, trace, reply } = await tracedMessage("please break now");
    expect(reply.messages[0].content).toContain("something went wrong");
    const line = lines.find((l) => l.includes("turn failed") && l.includes(turn.traceId));
    expect(line).toBeDefined();
    const fields = JSON.parse(line!.slice(line!.indexOf("{")));
    expect(fields).toMatchObject({ trace_id: turn.traceId, span_id: turn.spanId });
    const brain = await until(() => trace().find((s) => s.name === "brain" && s.parentSpanId === turn.spanId));
    expect(brain.status).toBe(2);
    expect(brain.events).toContain("exception");
  });
});

describe("an unreachable collector", () => {
  it("costs a logged warning, never a failed request or a failed stop", async () => {
    const gone = startOtlpStandIn();
    gone.stop();
    const warnings: string[] = [];
    const lonely = await startTestApp({ OTEL_EXPORTER_OTLP_ENDPOINT: gone.url }, { log: createLogger("warn", (line) => warnings.push(line)) });
    try {
      expect((await lonely.api("GET", "/api/v1/agents")).status).toBe(200);
    } finally {
      await lonely.stop();
    }
    // The stop waited a few seconds at most; the exporter's retries end later, in a warning.
    await until(() => warnings.some((l) => l.includes("could not export") && l.includes(`${gone.url}/v1/traces`)));
  });
});
