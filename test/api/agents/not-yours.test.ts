// Every route under /agents/{id} answers 404 agent_not_found for another organization's agent and for an id that does
// not exist, before any state of the agent's children (a missing key, a revoked one, a duplicate name) is reported:
// whether something exists elsewhere, or what state it is in, is not for this organization to learn.
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { referencePath } from "../../../src/platform/http/openapi.ts";
import { startTestApp, type TestApp } from "../../support/app.ts";

let app: TestApp;
let mine: string;
let theirs: { key: string; agentId: string; children: Record<string, string> };

const SITE = "https://www.example.com";

/** A valid body for each agent route that needs one, so the request reaches the handler rather than the schema. */
const BODIES: Record<string, unknown> = {
  "PATCH /api/v1/agents/{id}": { name: "Renamed" },
  "POST /api/v1/agents/{id}/publish": {},
  "POST /api/v1/agents/{id}/rollback": { versionId: "{versionId}" },
  "PUT /api/v1/agents/{id}/voice": { voiceId: "en-US-default" },
  "POST /api/v1/agents/{id}/skills": {
    name: "Check warranty",
    description: "When the caller asks about their warranty",
    skillType: "http_webhook",
    executionConfig: { url: "https://api.yourco.com/warranty", method: "POST", timeout_ms: 4000 },
  },
  "PATCH /api/v1/agents/{id}/skills/{skillId}": { name: "Check warranty again" },
  "POST /api/v1/agents/{id}/geocode-roster": { entries: [{ label: "Main office", address: "1 Main St, Springfield" }] },
  "POST /api/v1/agents/{id}/playbooks": { name: "Callback", description: "Books a callback" },
  "PATCH /api/v1/agents/{id}/playbooks/{playbookId}": { name: "Callback again" },
  "PUT /api/v1/agents/{id}/playbooks/{playbookId}/graph": { flowId: "flow_x", nodes: [], connections: [] },
  "POST /api/v1/agents/{id}/variables": { name: "order_number" },
  "PATCH /api/v1/agents/{id}/variables/{name}": { note: "the order" },
  "PUT /api/v1/agents/{id}/guardrails": [],
  "PATCH /api/v1/agents/{id}/guardrails": [],
  "PUT /api/v1/agents/{id}/caller-verification": [],
  "PATCH /api/v1/agents/{id}/caller-verification": [],
  "POST /api/v1/agents/{id}/simulate": { transcript: ["hello"] },
  "POST /api/v1/agents/{id}/probe/run": { scenarioId: "greeting", mode: "loopback" },
  "POST /api/v1/agents/{id}/talk-token": { draftMode: true },
  "POST /api/v1/agents/{id}/publishable-keys": { name: "Site", allowedOrigins: [SITE] },
  "PATCH /api/v1/agents/{id}/publishable-keys/{keyId}": { name: "Site again" },
  "PUT /api/v1/agents/{id}/widget": {},
  "POST /api/v1/agents/{id}/knowledge/sources": { kind: "text", label: "Shipping", text: "We ship in five days." },
  "PATCH /api/v1/agents/{id}/knowledge/sources/{sourceId}": { label: "Shipping again" },
  "POST /api/v1/agents/{id}/knowledge/preview": { query: "shipping" },
  "PATCH /api/v1/agents/{id}/knowledge-gaps/{gapId}": { status: "dismissed" },
  "POST /api/v1/agents/{id}/integrations/{kind}/provision": {},
  "POST /api/v1/agents/{id}/integrations/{kind}/bindings": { toolName: "lookup", operation: "orders.select" },
  "POST /api/v1/agents/{id}/integrations/{kind}/bindings/auto": { goal: "find an order" },
};

beforeAll(async () => {
  app = await startTestApp();
  mine = (await app.newOrg("Mine")).key;
  const other = await app.newOrg("Theirs");
  const call = async (method: string, path: string, body?: unknown) => {
    const res = await app.api(method, `/api/v1/agents${path}`, { key: other.key, body });
    if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(res.body)}`);
    return res.body.data;
  };
  // Their agent has a child of every kind, some in a state a check might report (a revoked key, a duplicate name).
  const agentId = (await call("POST", "", { name: "Theirs" })).id as string;
  const version = await call("POST", `/${agentId}/publish`, {});
  const skill = await call("POST", `/${agentId}/skills`, BODIES["POST /api/v1/agents/{id}/skills"]);
  const playbook = await call("POST", `/${agentId}/playbooks`, BODIES["POST /api/v1/agents/{id}/playbooks"]);
  await call("POST", `/${agentId}/variables`, BODIES["POST /api/v1/agents/{id}/variables"]);
  const key = await call("POST", `/${agentId}/publishable-keys`, BODIES["POST /api/v1/agents/{id}/publishable-keys"]);
  await call("DELETE", `/${agentId}/publishable-keys/${key.id}`);
  const source = await call("POST", `/${agentId}/knowledge/sources`, BODIES["POST /api/v1/agents/{id}/knowledge/sources"]);
  const run = await call("POST", `/${agentId}/probe/run`, BODIES["POST /api/v1/agents/{id}/probe/run"]);
  theirs = {
    key: other.key,
    agentId,
    children: { versionId: version.id, skillId: skill.id, playbookId: playbook.id, name: "order_number", keyId: key.id, sourceId: source.id, runId: run.runId, gapId: "gap_01NOTAGAP", kind: "postgres" },
  };
});
afterAll(() => app.stop());

const agentRoutes = () =>
  app.server.routes
    .filter((r) => !r.hidden && r.path.startsWith("/api/v1/agents/:id"))
    .map((r) => ({ method: r.method, template: r.path.replace(/:(\w+)/g, "{$1}") }));

const fill = (template: string, agentId: string) => template.replace(/\{(\w+)\}/g, (_, name: string) => (name === "id" ? agentId : theirs.children[name]!));

describe("routes under /agents/{id} for an agent that is not yours", () => {
  it("has a valid body here for every agent route that takes one", async () => {
    const doc = (await app.api("GET", "/api/v1/openapi.json", { key: null })).body;
    const withBody = agentRoutes().filter(({ method, template }) => doc.paths[referencePath(template).path]?.[method.toLowerCase()]?.requestBody?.required);
    expect(withBody.map(({ method, template }) => `${method} ${template}`).sort()).toEqual(Object.keys(BODIES).sort());
  });

  for (const [variant, agentOf] of [
    ["another organization's agent", () => theirs.agentId],
    ["an agent id that does not exist", () => "agt_01NOTANAGENT0000000000000"],
  ] as const) {
    it(`answers 404 agent_not_found on every route for ${variant}, children of theirs named in the path`, async () => {
      const answers: string[] = [];
      for (const { method, template } of agentRoutes()) {
        const path = fill(template, agentOf());
        const body = BODIES[`${method} ${template}`];
        const res = await app.api(method, path, { key: mine, body: body && JSON.parse(fill(JSON.stringify(body), agentOf())) });
        answers.push(`${method} ${template} → ${res.status} ${res.body?.code ?? ""}`);
      }
      expect(answers).toEqual(agentRoutes().map(({ method, template }) => `${method} ${template} → 404 agent_not_found`));
    });
  }

  it("left their agent and its children as they were", async () => {
    const agent = await app.api("GET", `/api/v1/agents/${theirs.agentId}`, { key: theirs.key });
    expect(agent.body.data).toMatchObject({ name: "Theirs", publishedVersionId: theirs.children.versionId });
    const keys = await app.api("GET", `/api/v1/agents/${theirs.agentId}/publishable-keys`, { key: theirs.key });
    expect(keys.body.data.map((k: { name: string; status: string }) => [k.name, k.status])).toEqual([["Site", "revoked"]]);
  });
});
