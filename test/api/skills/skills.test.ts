import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { eq } from "drizzle-orm";
import { createSealer } from "../../../src/platform/crypto.ts";
import { skills } from "../../../src/platform/db/schema/index.ts";
import { startTestApp, type TestApp } from "../../support/app.ts";

let app: TestApp;
let key: string;
let agentId: string;
beforeAll(async () => {
  app = await startTestApp();
  ({ key } = await app.newOrg());
  agentId = await newAgent(key);
});
afterAll(() => app.stop());

async function newAgent(k: string) {
  const res = await app.api("POST", "/api/v1/agents", { key: k, body: { name: "Front desk" } });
  expect(res.status).toBe(201);
  return res.body.data.id as string;
}

const skillsPath = (agent = agentId) => `/api/v1/agents/${agent}/skills`;
const create = (body: Record<string, unknown>, opts: { agent?: string; k?: string; headers?: Record<string, string> } = {}) =>
  app.api("POST", skillsPath(opts.agent), { key: opts.k ?? key, body, headers: opts.headers });
const fieldsOf = (res: { body: { errors?: { field: string }[] } }) => (res.body.errors ?? []).map((e) => e.field).sort();

let counter = 0;
const webhook = (overrides: Record<string, unknown> = {}) => ({
  name: `Check warranty status ${++counter}`,
  description: "When the caller asks whether their product is still under warranty",
  skillType: "http_webhook",
  parametersSchema: { type: "object", properties: { serial_number: { type: "string", description: "Serial on the back" } }, required: ["serial_number"] },
  requiredParams: ["serial_number"],
  executionConfig: { url: "https://api.yourco.com/warranty/{serial_number}", method: "POST", timeout_ms: 4000 },
  ...overrides,
});

describe("skill lifecycle", () => {
  it("creates, reads, lists, updates and deletes a skill", async () => {
    const created = await create(webhook({ name: "Order status", stakes: "medium", channels: ["voice"], expectedLatencyMs: 1200 }));
    expect(created.status).toBe(201);
    const skill = created.body.data;
    expect(skill.id).toMatch(/^skl_[0-9A-Z]{26}$/);
    expect(skill).toMatchObject({
      agentId,
      name: "Order status",
      skillType: "http_webhook",
      parametersSchema: { type: "object", properties: { serial_number: { type: "string" } }, required: ["serial_number"] },
      requiredParams: ["serial_number"],
      executionConfig: { url: "https://api.yourco.com/warranty/{serial_number}", method: "POST", timeout_ms: 4000 },
      stakes: "medium",
      smsMode: null,
      channels: ["voice"],
      isEnabled: true,
      isWrite: false,
      requiresConfirmation: false,
      expectedLatencyMs: 1200,
      dataEgressMap: {},
      allowedFields: [],
      errorHandling: {},
    });

    const got = await app.api("GET", `${skillsPath()}/${skill.id}`, { key });
    expect(got.status).toBe(200);
    expect(got.body).toEqual({ success: true, data: skill });

    const listed = await app.api("GET", skillsPath(), { key });
    expect(listed.status).toBe(200);
    expect(listed.body.data.map((s: { id: string }) => s.id)).toContain(skill.id);

    const patched = await app.api("PATCH", `${skillsPath()}/${skill.id}`, { key, body: { description: "Order lookups", isEnabled: false, expectedLatencyMs: null } });
    expect(patched.status).toBe(200);
    expect(patched.body.data).toMatchObject({ name: "Order status", description: "Order lookups", isEnabled: false, expectedLatencyMs: null, stakes: "medium" });

    const removed = await app.api("DELETE", `${skillsPath()}/${skill.id}`, { key });
    expect(removed.status).toBe(200);
    expect(removed.body).toEqual({ success: true, data: null, message: "skill deleted" });
    expect((await app.api("GET", `${skillsPath()}/${skill.id}`, { key })).body.code).toBe("skill_not_found");
    expect((await app.api("DELETE", `${skillsPath()}/${skill.id}`, { key })).status).toBe(404);
  });

  it("fills the defaults of a skill type's settings and of the skill", async () => {
    const res = await create({ name: "Knowledge", description: "Questions about our policies", skillType: "knowledge_query" });
    expect(res.status).toBe(201);
    expect(res.body.data).toMatchObject({
      executionConfig: { limit: 3 },
      parametersSchema: { type: "object", properties: {}, required: [] },
      requiredParams: [],
      channels: ["voice", "chat"],
      stakes: "low",
    });
    const hook = await create(webhook({ executionConfig: { url: "https://api.example.com/x" } }));
    expect(hook.body.data.executionConfig).toEqual({ url: "https://api.example.com/x", method: "POST", timeout_ms: 4000 });
  });

  it("lists newest first, page by page", async () => {
    const agent = await newAgent(key);
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push((await create({ name: `Skill ${i}`, description: "d", skillType: "builtin", executionConfig: { action: "repeat" } }, { agent })).body.data.id);
    const first = await app.api("GET", `${skillsPath(agent)}?limit=2`, { key });
    expect(first.body.data.map((s: { id: string }) => s.id)).toEqual([ids[2], ids[1]]);
    expect(first.body.pagination.hasMore).toBe(true);
    const second = await app.api("GET", `${skillsPath(agent)}?limit=2&cursor=${first.body.pagination.nextCursor}`, { key });
    expect(second.body.data.map((s: { id: string }) => s.id)).toEqual([ids[0]]);
    expect(second.body.pagination).toEqual({ limit: 2, nextCursor: null, hasMore: false });
  });

  it("replays a create retried with the same Idempotency-Key instead of creating twice", async () => {
    const agent = await newAgent(key);
    const body = webhook({ name: "Idempotent" });
    const headers = { "idempotency-key": "create-skill-1" };
    const first = await create(body, { agent, headers });
    const again = await create(body, { agent, headers });
    expect(first.status).toBe(201);
    expect(again.status).toBe(201);
    expect(again.headers.get("idempotent-replayed")).toBe("true");
    expect(again.body.data.id).toBe(first.body.data.id);
    expect((await app.api("GET", skillsPath(agent), { key })).body.data).toHaveLength(1);
  });

  it("refuses a second skill with the same name on the agent (409), ignoring case", async () => {
    const agent = await newAgent(key);
    expect((await create(webhook({ name: "Book a visit" }), { agent })).status).toBe(201);
    const dup = await create(webhook({ name: "book a VISIT" }), { agent });
    expect(dup.status).toBe(409);
    expect(dup.body.code).toBe("duplicate_name");
    expect(dup.body.errors).toEqual([{ field: "name", message: expect.any(String) }]);
    const other = (await create(webhook({ name: "Other" }), { agent })).body.data;
    const rename = await app.api("PATCH", `${skillsPath(agent)}/${other.id}`, { key, body: { name: "Book a visit" } });
    expect(rename.status).toBe(409);
    expect((await create(webhook({ name: "Book a visit" }))).status).toBe(201);
  });

  it("refuses the reserved mcp type with 403", async () => {
    const res = await create({ name: "MCP", description: "d", skillType: "mcp" });
    expect(res.status).toBe(403);
    expect(res.body.code).toBe("reserved_skill_type");
  });

  it("stores integration-backed types as sent", async () => {
    const res = await create({ name: "Lookup", description: "Find the account", skillType: "db_query", executionConfig: { sql_template: "select 1", integration: "mysql", extra: { a: 1 } } });
    expect(res.status).toBe(201);
    expect(res.body.data.executionConfig).toEqual({ sql_template: "select 1", integration: "mysql", extra: { a: 1 } });
    const sms = await create({ name: "Text", description: "Text the caller", skillType: "sms", smsMode: "two_way" });
    expect(sms.status).toBe(201);
    expect(sms.body.data.smsMode).toBe("two_way");
  });
});

describe("skill validation", () => {
  it("refuses a flat parametersSchema, naming parametersSchema.properties", async () => {
    const res = await create(webhook({ parametersSchema: { serial: "string" }, requiredParams: [] }));
    expect(res.status).toBe(400);
    expect(res.body.code).toBe("validation_error");
    expect(fieldsOf(res)).toEqual(["parametersSchema.properties"]);
  });

  it("names each invalid top-level field", async () => {
    const res = await create({ name: "", skillType: "fax", channels: ["sms"], expectedLatencyMs: 70_000, stakes: "extreme", allowedFields: [3] });
    expect(res.status).toBe(400);
    expect(fieldsOf(res)).toEqual(["allowedFields[0]", "channels[0]", "description", "expectedLatencyMs", "name", "skillType", "stakes"]);
  });

  it("names bad parameter declarations and undeclared required parameters", async () => {
    const res = await create(
      webhook({
        parametersSchema: { type: "object", properties: { "serial number": { type: "string" }, qty: { type: "integer", enum: [1, "two"] }, kind: { type: "date" } }, required: ["missing"] },
        requiredParams: ["qty", "nope"],
      }),
    );
    expect(res.status).toBe(400);
    expect(fieldsOf(res)).toEqual(["parametersSchema.properties.kind.type"]);
    const semantic = await create(
      webhook({
        parametersSchema: { type: "object", properties: { "serial number": { type: "string" }, qty: { type: "integer", enum: [1, "two"] } }, required: ["missing"] },
        requiredParams: ["qty", "nope"],
      }),
    );
    expect(fieldsOf(semantic)).toEqual(["parametersSchema.properties.qty.enum[1]", "parametersSchema.properties.serial number", "parametersSchema.required[0]", "requiredParams[1]"]);
  });

  it("checks executionConfig against the skill type's schema, naming each field", async () => {
    const cases: [Record<string, unknown>, string[]][] = [
      [{ skillType: "http_webhook", executionConfig: {} }, ["executionConfig.url"]],
      [{ skillType: "http_webhook", executionConfig: { url: "ftp://files.example.com", method: "FETCH", timeout_ms: 50 } }, ["executionConfig.method", "executionConfig.timeout_ms"]],
      [{ skillType: "http_webhook", executionConfig: { url: "ftp://files.example.com" } }, ["executionConfig.url"]],
      [{ skillType: "http_webhook", executionConfig: { url: "https://{tenant}.example.com/x" } }, ["executionConfig.url"]],
      [{ skillType: "http_webhook", executionConfig: { url: "https://a.example.com", headers: { "Bad Header": "x", Host: "evil" }, response_mapping: { "not ok": "a" } } }, ["executionConfig.headers.Bad Header", "executionConfig.headers.Host", "executionConfig.response_mapping.not ok"]],
      [{ skillType: "email", executionConfig: { from_name: "Desk" } }, ["executionConfig.subject", "executionConfig.to"]],
      [{ skillType: "transfer", executionConfig: { destination: "call me" } }, ["executionConfig.destination"]],
      [{ skillType: "builtin", executionConfig: { action: "dance" } }, ["executionConfig.action"]],
      [{ skillType: "builtin", executionConfig: { action: "collect_digits" } }, ["executionConfig.variable"]],
      [{ skillType: "geo", executionConfig: { action: "check_service_area", origin_address: "Austin, TX", radius_miles: 0 } }, ["executionConfig.radius_miles"]],
      [{ skillType: "geo", executionConfig: { action: "check_service_area" } }, ["executionConfig.origin_address", "executionConfig.radius_miles"]],
      [{ skillType: "geo", executionConfig: { action: "find_nearest_location", locations: [{ label: "A", address: "x", lat: 100, lng: 0 }] } }, ["executionConfig.locations[0].lat"]],
      [{ skillType: "geo", executionConfig: { action: "find_nearest_location" } }, ["executionConfig.locations"]],
      [{ skillType: "playbook", executionConfig: {} }, ["executionConfig.playbookId"]],
      [{ skillType: "knowledge_query", executionConfig: { limit: 11 } }, ["executionConfig.limit"]],
      [{ skillType: "db_query", executionConfig: {} }, ["executionConfig.sql_template"]],
    ];
    for (const [body, fields] of cases) {
      const res = await create({ name: `Invalid ${++counter}`, description: "d", ...body });
      expect({ body, status: res.status, fields: fieldsOf(res) }).toEqual({ body, status: 400, fields });
    }
  });

  it("normalizes a transfer destination to E.164", async () => {
    const res = await create({ name: "To billing", description: "Billing questions", skillType: "transfer", executionConfig: { destination: "(415) 555-0100", warm: true } });
    expect(res.status).toBe(201);
    expect(res.body.data.executionConfig).toEqual({ destination: "+14155550100", warm: true });
  });

  it("stores no warm for a transfer that does not set it, so the agent's handoffConfig.warm applies", async () => {
    const res = await create({ name: "To a person", description: "When the caller asks for a person", skillType: "transfer", executionConfig: {} });
    expect(res.status).toBe(201);
    expect(res.body.data.executionConfig).toEqual({});
    const got = await app.api("GET", `${skillsPath()}/${res.body.data.id}`, { key });
    expect(got.body.data.executionConfig).not.toHaveProperty("warm");
    const cold = await app.api("PATCH", `${skillsPath()}/${res.body.data.id}`, { key, body: { executionConfig: { warm: false } } });
    expect(cold.body.data.executionConfig).toEqual({ warm: false });
    const inherit = await app.api("PATCH", `${skillsPath()}/${res.body.data.id}`, { key, body: { executionConfig: { destination: "+14155550100" } } });
    expect(inherit.body.data.executionConfig).toEqual({ destination: "+14155550100" });
  });

  it("validates the merged skill on PATCH", async () => {
    const skill = (await create(webhook())).body.data;
    const path = `${skillsPath()}/${skill.id}`;
    const retype = await app.api("PATCH", path, { key, body: { skillType: "email" } });
    expect(retype.status).toBe(400);
    expect(fieldsOf(retype)).toEqual(["executionConfig.subject", "executionConfig.to"]);
    const dropParam = await app.api("PATCH", path, { key, body: { parametersSchema: { type: "object", properties: {} }, requiredParams: ["serial_number"] } });
    expect(fieldsOf(dropParam)).toEqual(["requiredParams[0]"]);
    const ok = await app.api("PATCH", path, { key, body: { skillType: "email", executionConfig: { to: "{email}", subject: "Warranty for {serial_number}" } } });
    expect(ok.status).toBe(200);
    expect(ok.body.data.executionConfig).toEqual({ to: "{email}", subject: "Warranty for {serial_number}" });
    expect((await app.api("PATCH", path, { key, body: { skillType: "mcp" } })).status).toBe(403);
  });
});

describe("playbook skills", () => {
  const newPlaybook = async (agent: string, k = key) => {
    const res = await app.api("POST", `/api/v1/agents/${agent}/playbooks`, { key: k, body: { name: `Book a visit ${++counter}`, description: "Books a service visit" } });
    expect(res.status).toBe(201);
    return res.body.data.id as string;
  };
  const startPlaybook = (playbookId: string) => ({ name: `Start playbook ${++counter}`, description: "When the caller wants a visit", skillType: "playbook", executionConfig: { playbookId } });
  const refusesPlaybookId = (res: { status: number; body: any }) => {
    expect(res.status).toBe(400);
    expect(res.body.code).toBe("validation_error");
    expect(fieldsOf(res)).toEqual(["executionConfig.playbookId"]);
  };

  it("starts one of the agent's own playbooks", async () => {
    const playbookId = await newPlaybook(agentId);
    const res = await create(startPlaybook(playbookId));
    expect(res.status).toBe(201);
    expect(res.body.data.executionConfig).toEqual({ playbookId });
  });

  it("refuses a playbookId that is not one of the agent's playbooks, on create and on update", async () => {
    refusesPlaybookId(await create(startPlaybook("pbk_01HZZZZZZZZZZZZZZZZZZZZZZZ")));

    const otherAgent = await newAgent(key);
    const theirs = await newPlaybook(otherAgent);
    refusesPlaybookId(await create(startPlaybook(theirs)));

    const skill = (await create(startPlaybook(await newPlaybook(agentId)))).body.data;
    refusesPlaybookId(await app.api("PATCH", `${skillsPath()}/${skill.id}`, { key, body: { executionConfig: { playbookId: theirs } } }));
    const webhookSkill = (await create(webhook())).body.data;
    refusesPlaybookId(await app.api("PATCH", `${skillsPath()}/${webhookSkill.id}`, { key, body: { skillType: "playbook", executionConfig: { playbookId: theirs } } }));
    expect((await app.api("GET", `${skillsPath()}/${skill.id}`, { key })).body.data.executionConfig).toEqual(skill.executionConfig);
  });

  it("refuses another organization's playbook the same way as one that does not exist", async () => {
    const other = await app.newOrg();
    const theirs = await newPlaybook(await newAgent(other.key), other.key);
    const res = await create(startPlaybook(theirs));
    refusesPlaybookId(res);
    expect(res.body.errors[0].message).toBe(`"${theirs}" is not a playbook of this agent (GET /agents/${agentId}/playbooks lists them)`);
  });

  it("still lets a skill whose playbook is gone be disabled", async () => {
    const playbookId = await newPlaybook(agentId);
    const skill = (await create(startPlaybook(playbookId))).body.data;
    // The API refuses to delete a playbook a skill starts (409 playbook_in_use); drafts from before that rule can
    // still hold such a skill, made here by removing the row underneath it.
    expect((await app.api("DELETE", `/api/v1/agents/${agentId}/playbooks/${playbookId}`, { key })).status).toBe(409);
    await app.query(`delete from playbooks where id = '${playbookId}'`);
    const disabled = await app.api("PATCH", `${skillsPath()}/${skill.id}`, { key, body: { isEnabled: false } });
    expect(disabled.status).toBe(200);
    refusesPlaybookId(await app.api("PATCH", `${skillsPath()}/${skill.id}`, { key, body: { executionConfig: { playbookId } } }));
  });
});

describe("webhook header secrets", () => {
  it("seals header values at rest, masks them in responses and keeps them when the mask is sent back", async () => {
    const res = await create(webhook({ executionConfig: { url: "https://api.example.com/x", headers: { "X-Api-Key": "sk_live_abcdef123456", "X-Pin": "1234" } } }));
    expect(res.status).toBe(201);
    const skill = res.body.data;
    expect(skill.executionConfig.headers).toEqual({ "X-Api-Key": "••••3456", "X-Pin": "••••" });
    expect(JSON.stringify(skill)).not.toContain("sk_live_abcdef123456");

    const stored = async () => (await app.server.database.db.select().from(skills).where(eq(skills.id, skill.id)))[0]!.executionConfig.headers as Record<string, string>;
    const sealed = await stored();
    expect(sealed["X-Api-Key"]).toMatch(/^v1\./);
    expect(JSON.stringify(sealed)).not.toContain("abcdef123456");

    const path = `${skillsPath()}/${skill.id}`;
    const listed = await app.api("GET", skillsPath(), { key });
    expect(JSON.stringify(listed.body)).not.toContain("abcdef123456");

    // A client sending back what it read changes nothing but what it edited.
    const keep = await app.api("PATCH", path, { key, body: { executionConfig: { ...skill.executionConfig, headers: { "x-api-key": "••••3456", "X-Pin": "9999", "X-New": "new-secret-value" } } } });
    expect(keep.status).toBe(200);
    expect(keep.body.data.executionConfig.headers).toEqual({ "x-api-key": "••••3456", "X-Pin": "••••", "X-New": "••••alue" });
    const after = await stored();
    expect(createSealer(app.config.masterKey!).open(after["x-api-key"]!)).toBe("sk_live_abcdef123456");

    // A PATCH of other fields leaves the secrets alone too.
    expect((await app.api("PATCH", path, { key, body: { description: "Renamed" } })).body.data.executionConfig.headers["x-api-key"]).toBe("••••3456");

    const unknownMask = await app.api("PATCH", path, { key, body: { executionConfig: { url: "https://api.example.com/x", headers: { Authorization: "••••abcd" } } } });
    expect(unknownMask.status).toBe(400);
    expect(fieldsOf(unknownMask)).toEqual(["executionConfig.headers.Authorization"]);
  });
});

describe("tenancy", () => {
  it("answers 404 for another organization's agent or skill, and for a missing agent", async () => {
    const skill = (await create(webhook())).body.data;
    const other = await app.newOrg("Other org");
    expect((await app.api("GET", skillsPath(), { key: other.key })).body.code).toBe("agent_not_found");
    expect((await create(webhook(), { k: other.key })).status).toBe(404);
    expect((await app.api("GET", `${skillsPath()}/${skill.id}`, { key: other.key })).status).toBe(404);
    expect((await app.api("PATCH", `${skillsPath()}/${skill.id}`, { key: other.key, body: { description: "x" } })).status).toBe(404);
    expect((await app.api("DELETE", `${skillsPath()}/${skill.id}`, { key: other.key })).status).toBe(404);

    const theirAgent = await newAgent(other.key);
    const viaTheirAgent = await app.api("GET", `${skillsPath(theirAgent)}/${skill.id}`, { key: other.key });
    expect(viaTheirAgent.body.code).toBe("skill_not_found");
    expect((await app.api("GET", skillsPath("agt_missing"), { key })).status).toBe(404);
  });

  it("answers 404 once the agent is deleted", async () => {
    const agent = await newAgent(key);
    const skill = (await create(webhook(), { agent })).body.data;
    await app.api("DELETE", `/api/v1/agents/${agent}`, { key });
    expect((await app.api("GET", `${skillsPath(agent)}/${skill.id}`, { key })).body.code).toBe("agent_not_found");
  });

  it("needs skills:read to read and skills:write to change", async () => {
    const { organizationId } = await app.newOrg();
    const reader = await app.keyWith(organizationId, ["skills:read", "agents:write"]);
    const agent = await newAgent(reader);
    expect((await app.api("GET", skillsPath(agent), { key: reader })).status).toBe(200);
    const denied = await create(webhook(), { agent, k: reader });
    expect(denied.status).toBe(403);
    expect(denied.body.requiredScope).toBe("skills:write");
  });
});
