// Discovery and reading a schema: the summary, browsing objects and operations, ranked search, and the
// organization's scoping applied to all of it (and kept across re-discovery); plugins that fail or answer nonsense.
import { afterAll, afterEach, beforeAll, describe, expect, it } from "bun:test";
import { join } from "node:path";
import { startTestApp, type TestApp } from "../../support/app.ts";
import { behaviour } from "../../support/plugins/acme-crm/index.ts";

const PLUGINS_DIR = join(import.meta.dir, "../../support/plugins");
let app: TestApp;
let key: string;
const base = "/api/v1/integrations/acme_crm";

beforeAll(async () => {
  app = await startTestApp({ PLUGINS_DIR });
  ({ key } = await app.newOrg());
  await app.api("POST", `${base}/connect`, { key, body: { credentials: { apiKey: "good-key-123456" } } });
});
afterAll(() => app.stop());
afterEach(() => {
  behaviour.discover = "ok";
});

const get = (path: string) => app.api("GET", `${base}${path}`, { key });
const setScoping = (blockedTables: string[], blockedColumns: string[]) => app.api("PATCH", `${base}/scoping`, { key, body: { blockedTables, blockedColumns } });

describe("discover", () => {
  it("answers 404 not_discovered on every read before the first discovery", async () => {
    for (const path of ["/schema", "/objects", "/objects/contacts", "/operations", "/schema/search?q=phone"]) {
      const res = await get(path);
      expect({ path, status: res.status, code: res.body.code }).toEqual({ path, status: 404, code: "not_discovered" });
    }
  });

  it("replaces the snapshot and answers the counts", async () => {
    const res = await app.api("POST", `${base}/discover`, { key });
    expect(res.status).toBe(200);
    expect(res.body.data).toEqual({ objectCount: 2, fieldCount: 10, edgeCount: 1, operationCount: 4, discoveredAt: expect.any(String) });
    const list = await app.api("GET", "/api/v1/integrations", { key });
    expect(list.body.data[0].discoveredAt).toBe(res.body.data.discoveredAt);
  });

  it("a plugin that throws is a 502, one that answers malformed data a 502 plugin_invalid_response, one down a 503; the snapshot stays", async () => {
    behaviour.discover = "throw";
    const thrown = await app.api("POST", `${base}/discover`, { key });
    expect([thrown.status, thrown.body.code]).toEqual([502, "plugin_failed"]);
    expect(thrown.body.detail).not.toContain("boom");
    behaviour.discover = "malformed";
    const malformed = await app.api("POST", `${base}/discover`, { key });
    expect([malformed.status, malformed.body.code]).toEqual([502, "plugin_invalid_response"]);
    behaviour.discover = "unavailable";
    const down = await app.api("POST", `${base}/discover`, { key });
    expect([down.status, down.body.code, down.body.detail]).toEqual([503, "integration_unavailable", "Acme is down for maintenance"]);
    expect((await get("/objects")).body.data).toHaveLength(2);
  });
});

describe("browsing", () => {
  it("lists objects with counts and capabilities, filtered and paged", async () => {
    const res = await get("/objects");
    expect(res.body.data).toEqual([
      { name: "contacts", description: "People who call in", fieldCount: 6, relationshipCount: 1, operationCount: 2, capabilities: { read: true, create: false, update: true } },
      { name: "tickets", description: "Support requests", fieldCount: 4, relationshipCount: 1, operationCount: 2, capabilities: { read: true, create: true, update: false } },
    ]);
    const page1 = await get("/objects?limit=1");
    expect(page1.body.data.map((o: { name: string }) => o.name)).toEqual(["contacts"]);
    expect(page1.body.pagination.hasMore).toBe(true);
    const page2 = await get(`/objects?limit=1&cursor=${page1.body.pagination.nextCursor}`);
    expect(page2.body.data.map((o: { name: string }) => o.name)).toEqual(["tickets"]);
    expect(page2.body.pagination).toEqual({ limit: 1, nextCursor: null, hasMore: false });
    expect((await get("/objects?q=TICK")).body.data.map((o: { name: string }) => o.name)).toEqual(["tickets"]);
  });

  it("shows one object's fields, operations and relationships; 404 for an unknown one", async () => {
    const res = await get("/objects/tickets");
    expect(res.body.data.fields.map((f: { name: string }) => f.name)).toEqual(["id", "contact_id", "subject", "status"]);
    expect(res.body.data.operations.map((o: { name: string }) => o.name)).toEqual(["tickets.select", "tickets.insert"]);
    expect(res.body.data.relationships).toHaveLength(1);
    expect((await get("/objects/nope")).body.code).toBe("object_not_found");
  });

  it("lists reads by default, writes too with readOnly=false, filtered by object and name", async () => {
    expect((await get("/operations")).body.data.map((o: { name: string }) => o.name)).toEqual(["contacts.select", "tickets.select"]);
    expect((await get("/operations?readOnly=false")).body.data).toHaveLength(4);
    expect((await get("/operations?readOnly=false&object=tickets&q=insert")).body.data.map((o: { name: string }) => o.name)).toEqual(["tickets.insert"]);
  });

  it("searches fields, most relevant first, with badges", async () => {
    const res = await get("/schema/search?q=contact%20phone");
    expect(res.body.data[0]).toMatchObject({ object: "contacts", field: "phone", type: "string", badges: ["core"] });
    const ssn = (await get("/schema/search?q=ssn")).body.data[0];
    expect(ssn).toMatchObject({ object: "contacts", field: "ssn", badges: ["PII"] });
    const fk = (await get("/schema/search?q=contact_id")).body.data[0];
    expect(fk).toMatchObject({ field: "contact_id", references: { object: "contacts", field: "id" } });
    expect((await get("/schema/search")).status).toBe(400);
  });
});

describe("scoping", () => {
  it("starts empty and refuses names the snapshot lacks", async () => {
    expect((await get("/scoping")).body.data).toEqual({ blockedTables: [], blockedColumns: [] });
    const res = await setScoping(["nope"], ["contacts.nope", "contacts.phone"]);
    expect(res.status).toBe(400);
    expect(res.body.errors.map((e: { field: string }) => e.field)).toEqual(["blockedTables[0]", "blockedColumns[0]"]);
  });

  it("a blocked column vanishes from the schema, object detail and search", async () => {
    expect((await setScoping([], ["contacts.ssn"])).status).toBe(200);
    const schema = await get("/schema");
    expect(JSON.stringify(schema.body.data)).not.toContain("ssn");
    expect((await get("/objects/contacts")).body.data.fields.map((f: { name: string }) => f.name)).not.toContain("ssn");
    expect((await get("/objects")).body.data[0].fieldCount).toBe(5);
    expect((await get("/schema/search?q=ssn")).body.data).toEqual([]);
  });

  it("a blocked table takes its operations and relationships with it", async () => {
    await setScoping(["contacts"], ["contacts.ssn"]);
    expect((await get("/objects")).body.data.map((o: { name: string }) => o.name)).toEqual(["tickets"]);
    expect((await get("/objects/contacts")).status).toBe(404);
    const tickets = (await get("/objects/tickets")).body.data;
    expect(tickets.relationships).toEqual([]);
    expect(tickets.fields.find((f: { name: string }) => f.name === "contact_id").references).toBeNull();
    expect((await get("/operations?readOnly=false")).body.data.map((o: { object: string }) => o.object)).toEqual(["tickets", "tickets"]);
    expect((await get("/schema/search?q=phone")).body.data).toEqual([]);
  });

  it("survives re-discovery", async () => {
    await app.api("POST", `${base}/discover`, { key });
    expect((await get("/scoping")).body.data).toEqual({ blockedTables: ["contacts"], blockedColumns: ["contacts.ssn"] });
    expect((await get("/objects")).body.data.map((o: { name: string }) => o.name)).toEqual(["tickets"]);
    await setScoping([], []);
    expect((await get("/objects")).body.data).toHaveLength(2);
  });
});
