// GET /metrics over real HTTP, read with a Prometheus text-format parser after driving the app: requests by route
// template and status, the chat turn latency histogram, knowledge ingestion and webhook outcomes, the job queues,
// the process's own metrics; and the optional METRICS_TOKEN.
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { agentBuilder, orderStatusSkill, startWebhookTarget } from "../../support/agent-builder.ts";
import { startTestApp, type TestApp } from "../../support/app.ts";
import { find, parseExposition, total, type Exposition } from "../../support/prometheus.ts";
import { startHungServer, type HungServer } from "../../support/hung-server.ts";
import { until } from "../../support/until.ts";

let app: TestApp;
let key: string;
const lookups = startWebhookTarget(() => ({ status: "shipped" }));
// Answers after the skill's 300 ms deadline.
const slowLookups = startWebhookTarget(() => ({ status: "late" }), 3000);

beforeAll(async () => {
  app = await startTestApp({ EGRESS_ALLOWLIST: "127.0.0.1" });
  ({ key } = await app.newOrg());
});
afterAll(async () => {
  await app.stop();
  lookups.stop();
  slowLookups.stop();
});

async function scrape(target = app, headers: Record<string, string> = {}): Promise<{ status: number; type: string | null; text: string; exposition: Exposition }> {
  const res = await fetch(`${target.url}/metrics`, { headers });
  const text = await res.text();
  return { status: res.status, type: res.headers.get("content-type"), text, exposition: res.status === 200 ? parseExposition(text) : { types: new Map(), help: new Map(), samples: [] } };
}

async function chatAgent(name: string, skillUrl: string, timeoutMs?: number) {
  const b = agentBuilder(app, key);
  const agent = await b.agent({ name, greeting: "Hi! Ask me about your order." });
  await b.skill(agent.id, orderStatusSkill(skillUrl, timeoutMs));
  await b.publish(agent.id);
  return { b, agent };
}

describe("GET /metrics", () => {
  it("serves the Prometheus text format: every family typed and helped, the process's own metrics included", async () => {
    const { status, type, exposition } = await scrape();
    expect(status).toBe(200);
    expect(type).toStartWith("text/plain; version=0.0.4");
    const families: [string, string][] = [
      ["flowyte_http_requests_total", "counter"],
      ["flowyte_http_request_duration_seconds", "histogram"],
      ["flowyte_turn_duration_seconds", "histogram"],
      ["flowyte_calls_in_progress", "gauge"],
      ["flowyte_rtp_send_lateness_seconds", "histogram"],
      ["flowyte_job_failures_total", "counter"],
      ["flowyte_job_queue_jobs", "gauge"],
      ["flowyte_knowledge_ingestions_total", "counter"],
      ["flowyte_webhook_calls_total", "counter"],
      ["process_resident_memory_bytes", "gauge"],
      ["nodejs_eventloop_lag_seconds", "gauge"],
    ];
    for (const [family, kind] of families) {
      expect({ family, kind: exposition.types.get(family), help: Boolean(exposition.help.get(family)) }).toEqual({ family, kind, help: true });
    }
    expect(total(exposition, "process_resident_memory_bytes")).toBeGreaterThan(0);
  });

  it("counts requests by route template and status, never by raw path", async () => {
    const { agent, b } = await chatAgent("Counted desk", lookups.url);
    const session = (await b.call("POST", "/api/v1/chat/sessions", { agentId: agent.id })).id as string;
    const sent = await app.api("POST", `/api/v1/chat/sessions/${session}/messages`, { key, body: { content: "What are your hours?" } });
    expect(sent.status).toBe(200);
    expect((await app.api("GET", "/no/such/page", { key: null })).status).toBe(404);
    expect((await app.api("GET", `/api/v1/agents/${agent.id}`, { key: null })).status).toBe(401);

    // Counted after the response is sent: the next scrape may be a moment early.
    const { text, exposition } = await until(async () => {
      const s = await scrape();
      return total(s.exposition, "flowyte_http_requests_total", { method: "POST", route: "/api/v1/chat/sessions/:id/messages", status: "200" }) >= 1 &&
        total(s.exposition, "flowyte_http_requests_total", { route: "unmatched", status: "404" }) >= 1 &&
        s;
    });
    expect(total(exposition, "flowyte_http_requests_total", { method: "GET", route: "/api/v1/agents/:id", status: "401" })).toBeGreaterThanOrEqual(1);
    const buckets = find(exposition, "flowyte_http_request_duration_seconds_bucket", { method: "POST", route: "/api/v1/chat/sessions/:id/messages", status: "200" });
    expect(buckets.find((s) => s.labels.le === "+Inf")!.value).toBeGreaterThanOrEqual(1);
    // Ids stay out of labels: one series per route, not per resource.
    expect(text).not.toContain(session);
    expect(text).not.toContain(agent.id);
    expect(text).not.toContain("/no/such/page");
  });

  it("observes each chat turn in the turn latency histogram of its channel", async () => {
    const before = total((await scrape()).exposition, "flowyte_turn_duration_seconds_count", { channel: "chat" });
    const { agent, b } = await chatAgent("Timed desk", lookups.url);
    const session = (await b.call("POST", "/api/v1/chat/sessions", { agentId: agent.id })).id as string;
    for (const content of ["What are your hours?", "Thanks!"]) expect((await app.api("POST", `/api/v1/chat/sessions/${session}/messages`, { key, body: { content } })).status).toBe(200);
    const { exposition } = await scrape();
    expect(total(exposition, "flowyte_turn_duration_seconds_count", { channel: "chat" })).toBe(before + 2);
    expect(total(exposition, "flowyte_turn_duration_seconds_sum", { channel: "chat" })).toBeGreaterThan(0);
  });

  it("counts webhook calls by outcome: ok, and timeout when the endpoint answers too late", async () => {
    const before = (await scrape()).exposition;
    for (const [name, url, timeoutMs] of [["Quick desk", lookups.url, undefined], ["Slow desk", slowLookups.url, 300]] as const) {
      const { agent, b } = await chatAgent(name, url, timeoutMs);
      const session = (await b.call("POST", "/api/v1/chat/sessions", { agentId: agent.id })).id as string;
      expect((await app.api("POST", `/api/v1/chat/sessions/${session}/messages`, { key, body: { content: "check the delivery status of my order" } })).status).toBe(200);
    }
    const after = (await scrape()).exposition;
    const grew = (outcome: string) => total(after, "flowyte_webhook_calls_total", { outcome }) - total(before, "flowyte_webhook_calls_total", { outcome });
    expect({ ok: grew("ok"), timeout: grew("timeout"), error: grew("error") }).toEqual({ ok: 1, timeout: 1, error: 0 });
  });

  it("counts knowledge ingestion outcomes and shows the job queues", async () => {
    const { agent } = await chatAgent("Read desk", lookups.url);
    const created = await app.api("POST", `/api/v1/agents/${agent.id}/knowledge/sources`, { key, body: { kind: "text", label: "Shipping", text: "We ship to Canada and Mexico. Standard shipping takes five business days." } });
    expect(created.status).toBe(201);
    await until(async () => (await app.api("GET", `/api/v1/agents/${agent.id}/knowledge/sources/${created.body.data.id}`, { key })).body.data.status === "indexed");
    const { exposition } = await until(async () => {
      const s = await scrape();
      return total(s.exposition, "flowyte_knowledge_ingestions_total", { outcome: "indexed" }) >= 1 && s;
    });
    expect(total(exposition, "flowyte_knowledge_ingestions_total", { outcome: "failed" })).toBe(0);
    const ingestQueue = find(exposition, "flowyte_job_queue_jobs", { queue: "knowledge-ingest" });
    expect(ingestQueue.map((s) => s.labels.state).sort()).toEqual(["active", "failed", "queued"]);
    for (const s of ingestQueue) expect(s.value).toBeGreaterThanOrEqual(0);
  });

  it("counts failed job attempts by queue: a source whose site cannot be reached", async () => {
    const { agent } = await chatAgent("Unlucky desk", lookups.url);
    const gone = startWebhookTarget();
    gone.stop();
    const created = await app.api("POST", `/api/v1/agents/${agent.id}/knowledge/sources`, { key, body: { kind: "url", label: "FAQ", url: `${gone.url}/faq` } });
    expect(created.status).toBe(201);
    await until(async () => total((await scrape()).exposition, "flowyte_job_failures_total", { queue: "knowledge-ingest" }) >= 1);
  });

  it("stays out of the API document, like the other operator endpoints", async () => {
    const doc = (await app.api("GET", "/api/v1/openapi.json", { key: null })).body;
    expect(Object.keys(doc.paths)).not.toContain("/metrics");
    expect(app.server.routes.find((r) => r.path === "/metrics")).toMatchObject({ method: "GET", hidden: true });
  });
});

describe("GET /metrics with METRICS_TOKEN set", () => {
  let locked: TestApp;
  const token = "metrics-token-0123456789abcdef";
  beforeAll(async () => {
    locked = await startTestApp({ METRICS_TOKEN: token });
  });
  afterAll(() => locked.stop());

  it("answers 401 problem+json without the bearer token and the exposition with it", async () => {
    const refused: Record<string, string>[] = [{}, { authorization: "Bearer wrong-token-0123456789" }, { authorization: `Bearer ${locked.adminKey}` }];
    for (const headers of refused) {
      const res = await fetch(`${locked.url}/metrics`, { headers });
      expect(res.status).toBe(401);
      expect(res.headers.get("content-type")).toBe("application/problem+json");
      expect(res.headers.get("www-authenticate")).toBe('Bearer realm="metrics"');
      expect((await res.json()).code).toBe("unauthorized");
    }
    const { status, exposition } = await scrape(locked, { authorization: `Bearer ${token}` });
    expect(status).toBe(200);
    expect(exposition.types.get("flowyte_http_requests_total")).toBe("counter");
  });
});

describe("dependency health in /metrics", () => {
  let withLlm: TestApp;
  let hung: HungServer;
  beforeAll(async () => {
    hung = await startHungServer();
    withLlm = await startTestApp({ LLM_BASE_URL: `${hung.url}/v1`, LLM_MODEL: "m" });
  });
  afterAll(async () => {
    await withLlm.stop();
    await hung.stop();
  });

  it("shows each configured dependency as up (1) or down (0), as /ready reports it, and leaves out the ones not configured", async () => {
    const ready = await withLlm.api("GET", "/ready", { key: null });
    expect(ready.body.dependencies).toMatchObject({ llm: "down", meilisearch: "not_configured" });
    const { exposition } = await scrape(withLlm);
    expect(exposition.types.get("flowyte_dependency_up")).toBe("gauge");
    expect(find(exposition, "flowyte_dependency_up", { dependency: "llm" }).map((s) => s.value)).toEqual([0]);
    expect(find(exposition, "flowyte_dependency_up", { dependency: "meilisearch" })).toEqual([]);
  });
});
