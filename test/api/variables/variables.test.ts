import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { skills } from "../../../src/platform/db/schema/index.ts";
import { newId } from "../../../src/platform/ids.ts";
import { startTestApp, type TestApp } from "../../support/app.ts";

let app: TestApp;
let key: string;
let organizationId: string;

beforeAll(async () => {
  app = await startTestApp();
  ({ key, organizationId } = await app.newOrg());
});
afterAll(() => app.stop());

/** The skills API is its own area; rows are all the registry reads. */
async function insertSkill(agentId: string, skill: { name: string; skillType: string; executionConfig: Record<string, unknown>; properties?: Record<string, unknown>; isEnabled?: boolean }) {
  const id = newId("skl");
  await app.server.database.db.insert(skills).values({
    id,
    organizationId,
    agentId,
    name: skill.name,
    description: `${skill.name} for tests`,
    skillType: skill.skillType,
    parametersSchema: { type: "object", properties: skill.properties ?? {} },
    requiredParams: [],
    executionConfig: skill.executionConfig,
    dataEgressMap: {},
    allowedFields: [],
    channels: [],
    errorHandling: {},
    isEnabled: skill.isEnabled ?? true,
  });
  return id;
}

const newAgent = async (name = "Registry agent") => (await app.api("POST", "/api/v1/agents", { key, body: { name } })).body.data.id as string;
const variables = async (agentId: string) => (await app.api("GET", `/api/v1/agents/${agentId}/variables`, { key })).body.data as any[];
const node = (id: string, type: string, data: Record<string, unknown> = {}) => ({ id, type, position: { x: 0, y: 0 }, data });
const link = (id: string, source: string, target: string, sourceHandle: string | null = null) => ({ id, source, target, sourceHandle });

async function playbookWithGraph(agentId: string, name: string, skillId: string, isEnabled = true) {
  const pb = (await app.api("POST", `/api/v1/agents/${agentId}/playbooks`, { key, body: { name, description: name, isEnabled } })).body.data;
  const graph = {
    flowId: pb.flowId,
    nodes: [
      node("s", "start"),
      node("zip", "collect", { variable: "zip", prompt: "Your ZIP, {caller_name}?", slotType: "digits" }),
      node("quote", "skill", { skillId, inputs: { zip: "{zip}" }, outputs: { delivery_fee: "fee" }, outputVariable: "quote" }),
      node("say", "message", { text: "Delivery to {zip} costs {delivery_fee}." }),
      node("e", "end"),
    ],
    connections: [link("a", "s", "zip"), link("b", "zip", "quote"), link("c", "quote", "say"), link("d", "say", "e")],
  };
  const res = await app.api("PUT", `/api/v1/agents/${agentId}/playbooks/${pb.id}/graph`, { key, body: graph });
  expect(res.status).toBe(200);
  return pb as { id: string; name: string };
}

describe("the derived registry", () => {
  it("lists only the reserved variables for a bare agent", async () => {
    const agentId = await newAgent();
    expect(await variables(agentId)).toEqual(
      ["caller_info", "caller_name", "caller_number", "verified"].map((name) => ({ name, source: "reserved", deletable: false, producedBy: [], consumedBy: [], note: null, type: null, updatedAt: null })),
    );
  });

  it("derives variables from enabled playbooks and skills, sorted by name", async () => {
    const agentId = await newAgent();
    const webhook = await insertSkill(agentId, {
      name: "quote_delivery",
      skillType: "http_webhook",
      properties: { zip: { type: "string" } },
      executionConfig: { url: "https://example.test/quote?zip={zip}&store={store_id}", headers: { "x-caller": "{caller_number}" }, response_mapping: { delivery_fee: "fee", eta: "eta" } },
    });
    const email = await insertSkill(agentId, { name: "email_kitchen", skillType: "email", executionConfig: { to: "kitchen@example.test", subject: "Order for {zip}", intro: "{order_summary}" } });
    await insertSkill(agentId, { name: "disabled_skill", skillType: "email", isEnabled: false, executionConfig: { to: "{hidden_one}", subject: "x" } });
    const pb = await playbookWithGraph(agentId, "Delivery quote", webhook);
    await playbookWithGraph(agentId, "Disabled copy", webhook, false);

    const list = await variables(agentId);
    expect(list.map((v) => v.name)).toEqual(["caller_info", "caller_name", "caller_number", "delivery_fee", "eta", "order_summary", "quote", "store_id", "verified", "zip"]);
    const byName = Object.fromEntries(list.map((v) => [v.name, v]));
    const playbook = { kind: "playbook", id: pb.id, name: "Delivery quote" };
    const quoteSkill = { kind: "skill", id: webhook, name: "quote_delivery" };
    const emailSkill = { kind: "skill", id: email, name: "email_kitchen" };
    expect(byName.zip).toEqual({ name: "zip", source: "derived", deletable: false, producedBy: [playbook], consumedBy: [playbook, emailSkill], note: null, type: null, updatedAt: null });
    expect(byName.delivery_fee).toMatchObject({ source: "derived", producedBy: [playbook, quoteSkill], consumedBy: [playbook] });
    expect(byName.eta).toMatchObject({ producedBy: [quoteSkill], consumedBy: [] });
    expect(byName.quote).toMatchObject({ producedBy: [playbook], consumedBy: [] });
    expect(byName.store_id).toMatchObject({ producedBy: [], consumedBy: [quoteSkill] });
    expect(byName.order_summary).toMatchObject({ consumedBy: [emailSkill] });
    expect(byName.caller_name).toMatchObject({ source: "reserved", consumedBy: [playbook] });
    expect(byName.caller_number).toMatchObject({ source: "reserved", consumedBy: [quoteSkill] });
  });
});

describe("annotations", () => {
  let agentId: string;
  let skillId: string;
  beforeAll(async () => {
    agentId = await newAgent();
    skillId = await insertSkill(agentId, { name: "quote", skillType: "http_webhook", properties: { zip: {} }, executionConfig: { url: "https://example.test/{zip}" } });
    await playbookWithGraph(agentId, "Quote", skillId);
  });
  const path = (name = "") => `/api/v1/agents/${agentId}/variables${name ? `/${name}` : ""}`;

  it("answers 200 when annotating a derived name, and keeps it derived", async () => {
    const res = await app.api("POST", path(), { key, body: { name: "zip", note: "Five digits", type: "string" } });
    expect(res.status).toBe(200);
    expect(res.body.data).toMatchObject({ name: "zip", source: "derived", deletable: false, note: "Five digits", type: "string" });
    expect(Date.parse(res.body.data.updatedAt)).toBeGreaterThan(0);
    const again = await app.api("POST", path(), { key, body: { name: "zip", note: "Five digits, US only" } });
    expect(again.status).toBe(200);
    expect(again.body.data).toMatchObject({ note: "Five digits, US only", type: "string" });
  });

  it("answers 201 for a brand-new declaration, then 200 for the same name", async () => {
    const res = await app.api("POST", path(), { key, body: { name: "loyalty_tier", type: "string" } });
    expect(res.status).toBe(201);
    expect(res.body.data).toEqual({ name: "loyalty_tier", source: "annotated", deletable: true, producedBy: [], consumedBy: [], note: null, type: "string", updatedAt: expect.any(String) });
    expect((await app.api("POST", path(), { key, body: { name: "loyalty_tier" } })).status).toBe(200);
    expect((await variables(agentId)).map((v) => v.name)).toContain("loyalty_tier");
  });

  it("refuses reserved names with 400 reserved_variable_name", async () => {
    const res = await app.api("POST", path(), { key, body: { name: "caller_number", note: "mine" } });
    expect(res.status).toBe(400);
    expect(res.body.code).toBe("reserved_variable_name");
    expect(res.body.errors[0].field).toBe("name");
  });

  it("refuses names that are not identifiers", async () => {
    const res = await app.api("POST", path(), { key, body: { name: "2fa-code" } });
    expect(res.status).toBe(400);
    expect(res.body.code).toBe("validation_error");
    expect(res.body.errors[0].field).toBe("name");
  });

  it("treats names case-sensitively", async () => {
    expect((await app.api("POST", path(), { key, body: { name: "Zip" } })).status).toBe(201);
  });

  it("patches only the fields sent, and 404s without an annotation", async () => {
    await app.api("POST", path(), { key, body: { name: "pickup_time", note: "When", type: "time" } });
    const res = await app.api("PATCH", path("pickup_time"), { key, body: { note: null } });
    expect(res.status).toBe(200);
    expect(res.body.data).toMatchObject({ note: null, type: "time" });
    const missing = await app.api("PATCH", path("delivery_fee"), { key, body: { note: "x" } });
    expect(missing.status).toBe(404);
    expect(missing.body.code).toBe("annotation_not_found");
  });

  it("deletes only the annotation; a derived name stays, and deleting nothing is a no-op", async () => {
    await app.api("POST", path(), { key, body: { name: "delivery_fee", note: "cents" } });
    const res = await app.api("DELETE", path("delivery_fee"), { key });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ success: true, data: null, message: "annotation removed" });
    const fee = (await variables(agentId)).find((v) => v.name === "delivery_fee");
    expect(fee).toMatchObject({ source: "derived", note: null, updatedAt: null });

    await app.api("POST", path(), { key, body: { name: "scratch" } });
    expect((await app.api("DELETE", path("scratch"), { key })).status).toBe(200);
    expect((await variables(agentId)).map((v) => v.name)).not.toContain("scratch");
    expect((await app.api("DELETE", path("never_declared"), { key })).status).toBe(200);
  });

  it("never gates saving a graph: an annotation-only name is not a gathered variable", async () => {
    await app.api("POST", path(), { key, body: { name: "declared_only" } });
    const pb = (await app.api("POST", `/api/v1/agents/${agentId}/playbooks`, { key, body: { name: "Uses declared", description: "x" } })).body.data;
    const res = await app.api("PUT", `/api/v1/agents/${agentId}/playbooks/${pb.id}/graph`, {
      key,
      body: { flowId: pb.flowId, nodes: [node("s", "start"), node("e", "end")], connections: [link("a", "s", "e")] },
    });
    expect(res.status).toBe(200);
  });
});

describe("tenancy and scopes", () => {
  it("answers 404 for another organization's agent on every route", async () => {
    const agentId = await newAgent();
    await app.api("POST", `/api/v1/agents/${agentId}/variables`, { key, body: { name: "secret_note", note: "ours" } });
    const stranger = (await app.newOrg("Stranger")).key;
    const base = `/api/v1/agents/${agentId}/variables`;
    for (const [method, path, body] of [
      ["GET", base],
      ["POST", base, { name: "x" }],
      ["PATCH", `${base}/secret_note`, { note: "theirs" }],
      ["DELETE", `${base}/secret_note`],
    ] as [string, string, unknown?][]) {
      const res = await app.api(method, path, { key: stranger, body });
      expect({ method, status: res.status, code: res.body.code }).toEqual({ method, status: 404, code: "agent_not_found" });
    }
    expect((await variables(agentId)).find((v) => v.name === "secret_note")?.note).toBe("ours");
  });

  it("reads with playbooks:read and writes with playbooks:write", async () => {
    const agentId = await newAgent();
    const reader = await app.keyWith(organizationId, ["playbooks:read"]);
    expect((await app.api("GET", `/api/v1/agents/${agentId}/variables`, { key: reader })).status).toBe(200);
    const res = await app.api("POST", `/api/v1/agents/${agentId}/variables`, { key: reader, body: { name: "x" } });
    expect(res.status).toBe(403);
    expect(res.body.requiredScope).toBe("playbooks:write");
    const other = await app.keyWith(organizationId, ["agents:read"]);
    expect((await app.api("GET", `/api/v1/agents/${agentId}/variables`, { key: other })).body.requiredScope).toBe("playbooks:read");
  });
});
