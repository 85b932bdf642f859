// Skills from an integration: bindings validated against the discovered schema and the scoping, writes landing
// disabled and gated, auto-mapping from a goal, provisioned actions and the preset pack (both idempotent), removing
// an integration's skills, and another organization answered 404 on every integration route.
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { join } from "node:path";
import { startTestApp, type TestApp } from "../../support/app.ts";

const PLUGINS_DIR = join(import.meta.dir, "../../support/plugins");
let app: TestApp;
let key: string;
let organizationId: string;
let agentId: string;
const base = "/api/v1/integrations/acme_crm";

beforeAll(async () => {
  app = await startTestApp({ PLUGINS_DIR });
  ({ key, organizationId } = await app.newOrg());
  agentId = (await app.api("POST", "/api/v1/agents", { key, body: { name: "Help desk" } })).body.data.id;
  await app.api("POST", `${base}/connect`, { key, body: { credentials: { apiKey: "good-key-123456" } } });
  await app.api("POST", `${base}/discover`, { key });
});
afterAll(() => app.stop());

const agentPath = (suffix: string, agent = agentId) => `/api/v1/agents/${agent}/integrations/acme_crm${suffix}`;
const bind = (body: Record<string, unknown>) => app.api("POST", agentPath("/bindings"), { key, body });
const fieldsOf = (res: { body: { errors?: { field: string }[] } }) => res.body.errors?.map((e) => e.field);

const lookup = {
  toolName: "lookup_caller",
  operation: "contacts.select",
  description: "Find the caller by phone",
  sqlSearch: { column: "phone", param: "caller_phone" },
  projection: [
    { path: "name", leaf: "customer_name" },
    { path: "tier", leaf: "tier" },
  ],
};

describe("bindings", () => {
  it("compiles a read into an enabled skill whose parameters come from the bound fields", async () => {
    const res = await bind(lookup);
    expect(res.status).toBe(200);
    const skill = res.body.data;
    expect(skill).toMatchObject({
      name: "lookup_caller",
      description: "Find the caller by phone",
      skillType: "crm",
      parametersSchema: { type: "object", properties: { caller_phone: { type: "string" } }, required: ["caller_phone"] },
      requiredParams: ["caller_phone"],
      allowedFields: ["customer_name", "tier"],
      isWrite: false,
      requiresConfirmation: false,
      isEnabled: true,
    });
    expect(skill.executionConfig).toMatchObject({ integration: "acme_crm", source: "binding", operation: "contacts.select", search: { field: "phone", param: "caller_phone", limit: 10 }, signature: expect.any(String) });
    const dup = await bind(lookup);
    expect([dup.status, dup.body.code]).toEqual([409, "duplicate_name"]);
  });

  it("projects one foreign-key hop and keeps a read a draft when enabled is false", async () => {
    const res = await bind({ toolName: "caller_tickets", operation: "tickets.select", enabled: false, sqlSearch: { column: "contact_id", param: "contact" }, projection: [{ path: "subject", leaf: "subject" }, { path: ["contact_id", "name"], leaf: "customer_name" }] });
    expect(res.status).toBe(200);
    expect(res.body.data).toMatchObject({ isEnabled: false, parametersSchema: { properties: { contact: { type: "integer" } } } });
  });

  it("names each problem of a bad read", async () => {
    expect(fieldsOf(await bind({ ...lookup, toolName: "x1", operation: "contacts.drop" }))).toEqual(["operation"]);
    const res = await bind({
      ...lookup,
      toolName: "x2",
      sqlSearch: { column: "tier", param: "t" },
      inputObjectMap: [{ field: "name", param: "n" }],
      projection: [
        { path: "nope", leaf: "a" },
        { path: ["tier", "name"], leaf: "b" },
        { path: ["contact_id", "name"], leaf: "c" },
        { path: "name", leaf: "d" },
        { path: "email", leaf: "d" },
      ],
    });
    expect(res.status).toBe(400);
    expect(res.body.code).toBe("validation_error");
    expect(fieldsOf(res)).toEqual(["inputObjectMap", "sqlSearch.column", "projection[0].path", "projection[1].path", "projection[2].path", "projection[4].leaf"]);
    expect(fieldsOf(await bind({ ...lookup, toolName: "x3", projection: [] }))).toEqual(["projection"]);
    expect(fieldsOf(await bind({ ...lookup, toolName: "x4", isWrite: true }))).toEqual(["isWrite"]);
    const badLeaf = await bind({ ...lookup, toolName: "x5", projection: [{ path: "name", leaf: "not a name" }] });
    expect(badLeaf.status).toBe(400);
  });

  it("a blocked column or table cannot be bound", async () => {
    await app.api("PATCH", `${base}/scoping`, { key, body: { blockedTables: [], blockedColumns: ["contacts.tier"] } });
    expect(fieldsOf(await bind({ ...lookup, toolName: "x6" }))).toEqual(["projection[1].path"]);
    await app.api("PATCH", `${base}/scoping`, { key, body: { blockedTables: ["contacts"], blockedColumns: [] } });
    expect(fieldsOf(await bind({ ...lookup, toolName: "x7" }))).toEqual(["operation"]);
    await app.api("PATCH", `${base}/scoping`, { key, body: { blockedTables: [], blockedColumns: [] } });
  });

  it("a write lands disabled and gated; its required fields must be bound", async () => {
    const missing = await bind({ toolName: "open_ticket", operation: "tickets.insert", inputObjectMap: [{ field: "subject", param: "subject" }] });
    expect(missing.status).toBe(400);
    expect(missing.body.errors).toEqual([{ field: "inputObjectMap", message: expect.stringContaining("tickets.contact_id is required") }]);
    const res = await bind({ toolName: "open_ticket", operation: "tickets.insert", enabled: true, inputObjectMap: [{ field: "subject", param: "subject" }, { field: "contact_id", param: "contact" }], projection: [{ path: "id", leaf: "ticket_id" }] });
    expect(res.status).toBe(200);
    expect(res.body.data).toMatchObject({ isWrite: true, isEnabled: false, requiresConfirmation: true, nonParallelizable: true, requiresVerifiedIdentity: false });
  });

  it("refuses sensitive write inputs and an update without a unique key; an update needs a verified caller", async () => {
    const pii = await bind({ toolName: "rename", operation: "contacts.update", inputObjectMap: [{ field: "name", param: "name" }], sqlWrite: { keyColumn: "phone", keyParam: "phone" } });
    expect(pii.status).toBe(400);
    expect(fieldsOf(pii)).toEqual(["inputObjectMap[0].field", "sqlWrite.keyColumn"]);
    expect(pii.body.errors[0].message).toContain("pii");
    expect(fieldsOf(await bind({ toolName: "retier", operation: "contacts.update", inputObjectMap: [{ field: "phone", param: "phone" }] }))).toEqual(["sqlWrite"]);
    const ok = await bind({ toolName: "change_phone", operation: "contacts.update", inputObjectMap: [{ field: "phone", param: "new_phone" }], sqlWrite: { keyColumn: "id", keyParam: "contact" } });
    expect(ok.status).toBe(200);
    expect(ok.body.data).toMatchObject({ isWrite: true, isEnabled: false, requiresVerifiedIdentity: true, requiredParams: ["new_phone", "contact"] });
  });

  it("the plugin's own refusal is a 400 naming its field", async () => {
    const res = await bind({ toolName: "set_tier", operation: "contacts.update", inputObjectMap: [{ field: "tier", constant: "gold" }], sqlWrite: { keyColumn: "id", keyParam: "contact" } });
    expect(res.status).toBe(400);
    expect(res.body.errors).toEqual([{ field: "inputObjectMap", message: "tier cannot be written through the API" }]);
  });
});

describe("auto-map", () => {
  it("matches a goal deterministically and saves the proposal disabled", async () => {
    const res = await app.api("POST", agentPath("/bindings/auto"), { key, body: { goal: "look up a caller by their mobile number" } });
    expect(res.status).toBe(200);
    expect(res.body.data.proposal).toMatchObject({ toolName: "lookup_contacts", operation: "contacts.select", sqlSearch: { column: "phone", param: "caller_phone" } });
    const leaves = res.body.data.proposal.projection.map((p: { leaf: string }) => p.leaf);
    expect(leaves).not.toContain("ssn");
    expect(leaves).not.toContain("name");
    expect(res.body.data.skill).toMatchObject({ name: "lookup_contacts", isEnabled: false, requiredParams: ["caller_phone"] });
    const again = await app.api("POST", agentPath("/bindings/auto"), { key, body: { goal: "look up a caller by their mobile number" } });
    expect(again.body.data.skill.name).toBe("lookup_contacts_2");
    const nothing = await app.api("POST", agentPath("/bindings/auto"), { key, body: { goal: "weather forecast tomorrow" } });
    expect([nothing.status, nothing.body.code]).toEqual([422, "no_mapping"]);
  });
});

describe("provision and pack", () => {
  it("adds the important actions once; those needing operator settings land disabled", async () => {
    const first = await app.api("POST", agentPath("/provision"), { key, body: {} });
    expect(first.status).toBe(200);
    expect(first.body.data.map((r: { skill: { name: string; isEnabled: boolean }; created: boolean }) => [r.skill.name, r.skill.isEnabled, r.created])).toEqual([
      ["Look up a contact", true, true],
      ["Open a ticket", false, true],
    ]);
    expect(first.body.data[0].skill.executionConfig).toMatchObject({ integration: "acme_crm", source: "action", action: "lookup_contact", operation: "contacts.select" });
    expect(first.body.data[0].skill.parametersSchema).toEqual({ type: "object", properties: { phone: { type: "string", description: "The caller's phone" } }, required: ["phone"] });
    const second = await app.api("POST", agentPath("/provision"), { key, body: {} });
    expect(second.body.data.map((r: { created: boolean }) => r.created)).toEqual([false, false]);
    expect(second.body.data[0].skill.id).toBe(first.body.data[0].skill.id);
    const named = await app.api("POST", agentPath("/provision"), { key, body: { actions: ["list_tickets", "nope"] } });
    expect([named.status, fieldsOf(named)]).toEqual([400, ["actions[1]"]]);
  });

  it("shows the pack and installs it idempotently", async () => {
    const pack = await app.api("GET", `${base}/pack`, { key });
    expect(pack.body.data).toMatchObject({ guidance: expect.any(String), skills: [{ slug: "caller_tickets", name: "Caller tickets" }] });
    const first = await app.api("POST", agentPath("/pack/install"), { key });
    expect(first.body.data.map((r: { created: boolean }) => r.created)).toEqual([true]);
    expect(first.body.data[0].skill.executionConfig).toMatchObject({ source: "pack", preset: "caller_tickets" });
    const second = await app.api("POST", agentPath("/pack/install"), { key });
    expect(second.body.data.map((r: { created: boolean }) => r.created)).toEqual([false]);
  });

  it("removing the integration's skills leaves hand-built ones", async () => {
    await app.api("POST", `/api/v1/agents/${agentId}/skills`, { key, body: { name: "Hand made", description: "Call a webhook", skillType: "http_webhook", executionConfig: { url: "https://example.test/hook" } } });
    const res = await app.api("DELETE", agentPath("/provision"), { key });
    expect(res.status).toBe(200);
    expect(res.body.data.removed).toBeGreaterThan(5);
    const left = await app.api("GET", `/api/v1/agents/${agentId}/skills`, { key });
    expect(left.body.data.map((s: { name: string }) => s.name)).toEqual(["Hand made"]);
  });

  it("installing or provisioning needs the integration connected", async () => {
    const { key: other } = await app.newOrg("Unconnected");
    const agent = (await app.api("POST", "/api/v1/agents", { key: other, body: { name: "Theirs" } })).body.data.id;
    for (const path of ["/pack/install", "/provision"]) {
      const res = await app.api("POST", agentPath(path, agent), { key: other, body: {} });
      expect([path, res.status, res.body.code]).toEqual([path, 409, "integration_not_connected"]);
    }
  });

  it("lists actions with their operator settings", async () => {
    const res = await app.api("GET", `${base}/actions`, { key });
    expect(res.body.data.map((a: { slug: string }) => a.slug)).toEqual(["lookup_contact", "create_ticket", "list_tickets"]);
    expect(res.body.data[1]).toMatchObject({ isWrite: true, important: true, operatorConfig: [{ name: "queue", required: true }] });
    expect(res.body.data[0].parameters).toMatchObject({ type: "object", properties: { phone: { type: "string" } } });
  });
});

describe("tenancy and scopes", () => {
  it("another organization gets 404 on every integration route that reaches this one's data or agents", async () => {
    const { key: stranger } = await app.newOrg("Stranger");
    const calls: [string, string, unknown?][] = [
      ["GET", `${base}/schema`],
      ["GET", `${base}/objects`],
      ["GET", `${base}/objects/contacts`],
      ["GET", `${base}/operations`],
      ["GET", `${base}/schema/search?q=phone`],
      ["GET", `${base}/scoping`],
      ["PATCH", `${base}/scoping`, { blockedTables: [], blockedColumns: [] }],
      ["DELETE", base],
      ["POST", agentPath("/provision"), {}],
      ["DELETE", agentPath("/provision")],
      ["POST", agentPath("/bindings"), lookup],
      ["POST", agentPath("/bindings/auto"), { goal: "find caller by phone" }],
      ["POST", agentPath("/pack/install")],
    ];
    for (const [method, path, body] of calls) {
      const res = await app.api(method, path, { key: stranger, body });
      expect({ method, path, status: res.status }).toEqual({ method, path, status: 404 });
    }
    const discover = await app.api("POST", `${base}/discover`, { key: stranger });
    expect(discover.status).toBe(409);
    const list = await app.api("GET", "/api/v1/integrations", { key: stranger });
    expect(list.body.data).toEqual([]);
  });

  it("binding needs skills:write and discovering integrations:write", async () => {
    const reader = await app.keyWith(organizationId, ["integrations:read", "skills:read"]);
    const res = await app.api("POST", agentPath("/bindings"), { key: reader, body: lookup });
    expect(res.body).toMatchObject({ code: "insufficient_scope", requiredScope: "skills:write" });
    const discover = await app.api("POST", `${base}/discover`, { key: reader });
    expect(discover.body).toMatchObject({ code: "insufficient_scope", requiredScope: "integrations:write" });
  });
});
