// Integrations over HTTP: the catalog of loaded plugins (an operator's PLUGINS_DIR, a broken plugin skipped),
// connecting with credentials that never come back, listing, disconnecting, the SQL helpers and scopes.
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { join } from "node:path";
import { createLogger } from "../../../src/platform/log.ts";
import { startTestApp, type TestApp } from "../../support/app.ts";

const PLUGINS_DIR = join(import.meta.dir, "../../support/plugins");
const SECRET = "acme-secret-key-7f3a9c";
const logged: string[] = [];
let app: TestApp;
let key: string;
let organizationId: string;

beforeAll(async () => {
  app = await startTestApp({ PLUGINS_DIR, INTEGRATION_TIMEOUT_MS: "300" }, { log: createLogger("debug", (line) => logged.push(line)) });
  ({ key, organizationId } = await app.newOrg());
});
afterAll(() => app.stop());

const everything = (value: unknown) => JSON.stringify(value);

describe("catalog and plugin loading", () => {
  it("lists the operator's plugin with its version and skips the broken one without stopping the server", async () => {
    const res = await app.api("GET", "/api/v1/integrations/catalog", { key });
    expect(res.status).toBe(200);
    const acme = res.body.data.find((e: { kind: string }) => e.kind === "acme_crm");
    expect(acme).toEqual({
      kind: "acme_crm",
      name: "Acme CRM",
      category: "crm",
      description: "Contacts and tickets of the Acme CRM",
      logo: "acme_crm",
      version: "1.2.3",
      authType: "api_key",
      actionCount: 3,
      hasPack: true,
      connected: false,
      accountLabel: null,
    });
    expect(res.body.data.some((e: { kind: string }) => e.kind === "Bad")).toBe(false);
    expect(logged.some((l) => l.includes("integration plugin skipped") && l.includes("broken"))).toBe(true);
  });
});

describe("connect", () => {
  it("refuses credentials that break the plugin's schema, naming each field", async () => {
    const missing = await app.api("POST", "/api/v1/integrations/acme_crm/connect", { key, body: { credentials: {} } });
    expect(missing.status).toBe(400);
    expect(missing.body.code).toBe("validation_error");
    expect(missing.body.errors).toEqual([{ field: "credentials.apiKey", message: "is required" }]);
    const short = await app.api("POST", "/api/v1/integrations/acme_crm/connect", { key, body: { credentials: { apiKey: "short" } } });
    expect(short.body.errors[0].field).toBe("credentials.apiKey");
  });

  it("refuses credentials whose connection test fails, with the failed check's detail", async () => {
    const res = await app.api("POST", "/api/v1/integrations/acme_crm/connect", { key, body: { credentials: { apiKey: "bad-key-123456" } } });
    expect(res.status).toBe(400);
    expect(res.body.code).toBe("connection_failed");
    expect(res.body.detail).toContain("the API key was refused");
    expect(everything(res.body)).not.toContain("bad-key-123456");
  });

  it("answers 404 for an unknown kind and 403 for a reserved provider", async () => {
    const unknown = await app.api("POST", "/api/v1/integrations/nope/connect", { key, body: { credentials: {} } });
    expect([unknown.status, unknown.body.code]).toEqual([404, "integration_not_found"]);
    const reserved = await app.api("POST", "/api/v1/integrations/hubspot/connect", { key, body: { credentials: {} } });
    expect([reserved.status, reserved.body.code]).toEqual([403, "reserved_integration"]);
  });

  it("connects (a read_only warning does not refuse), lists it, and never returns or logs the credentials", async () => {
    const res = await app.api("POST", "/api/v1/integrations/acme_crm/connect", { key, body: { credentials: { apiKey: SECRET, extra: "dropped" } } });
    expect(res.status).toBe(200);
    expect(res.body.data).toEqual({ status: "connected" });
    const list = await app.api("GET", "/api/v1/integrations", { key });
    expect(list.body.data).toEqual([{ kind: "acme_crm", status: "connected", statusReason: null, accountLabel: "acme.example.test", connectedAt: expect.any(String), discoveredAt: null }]);
    const catalog = await app.api("GET", "/api/v1/integrations/catalog", { key });
    expect(catalog.body.data.find((e: { kind: string }) => e.kind === "acme_crm")).toMatchObject({ connected: true, accountLabel: "acme.example.test" });
    const [row] = await app.query<{ sealed_credentials: string }>(`select sealed_credentials from integrations where organization_id = '${organizationId}'`);
    expect(row!.sealed_credentials).not.toContain(SECRET);
    const audit = await app.api("GET", "/api/v1/audit-logs", { key });
    for (const body of [res.body, list.body, catalog.body, audit.body]) expect(everything(body)).not.toContain(SECRET);
    expect(logged.join("\n")).not.toContain(SECRET);
  });

  it("reconnecting replaces the credentials", async () => {
    const res = await app.api("POST", "/api/v1/integrations/acme_crm/connect", { key, body: { credentials: { apiKey: `${SECRET}-2` } } });
    expect(res.status).toBe(200);
    const rows = await app.query<{ status: string; revision: number }>(`select status, revision from integrations where organization_id = '${organizationId}'`);
    expect(rows).toHaveLength(1);
    expect(rows[0]!.status).toBe("connected");
  });
});

describe("SQL helpers and claims", () => {
  it("runs a connection test without storing anything, always 200 with the checks", async () => {
    const res = await app.api("POST", "/api/v1/integrations/acme_crm/sql/test", { key, body: { credentials: { apiKey: "bad-key-000000" } } });
    expect(res.status).toBe(200);
    expect(res.body.data.ok).toBe(false);
    expect(res.body.data.checks.map((c: { name: string }) => c.name)).toEqual(["reachability", "authentication", "read_only"]);
    const good = await app.api("POST", "/api/v1/integrations/acme_crm/sql/test", { key, body: { credentials: { apiKey: "good-key-000000" } } });
    expect(good.body.data.ok).toBe(true);
    const onPrem = await app.api("POST", "/api/v1/integrations/acme_crm/sql/test", { key, body: { credentials: { apiKey: "onprem-key-000000" } } });
    expect(onPrem.status).toBe(200);
    expect(onPrem.body.data).toEqual({ ok: false, checks: [{ name: "reachability", ok: false, ms: expect.any(Number), detail: expect.stringContaining("127.0.0.1") }] });
    const hung = await app.api("POST", "/api/v1/integrations/acme_crm/sql/test", { key, body: { credentials: { apiKey: "hang-key-0000000" } } });
    expect(hung.body.data.checks).toEqual([{ name: "reachability", ok: false, ms: expect.any(Number), detail: "Acme CRM did not answer in time" }]);
    const malformed = await app.api("POST", "/api/v1/integrations/acme_crm/sql/test", { key, body: { credentials: { apiKey: 5 } } });
    expect(malformed.status).toBe(400);
  });

  it("answers 404 for setup scripts of a provider without any", async () => {
    const res = await app.api("GET", "/api/v1/integrations/acme_crm/sql/scripts?database=appdb", { key });
    expect([res.status, res.body.code]).toEqual([404, "scripts_not_found"]);
  });

  it("has no pending Shopify install to claim yet", async () => {
    const res = await app.api("POST", "/api/v1/integrations/shopify/claim", { key, body: { shop: "x.myshopify.com", claimSecret: "s" } });
    expect([res.status, res.body.code]).toEqual([404, "no_pending_install"]);
    const bad = await app.api("POST", "/api/v1/integrations/shopify/claim", { key, body: { shop: "x.myshopify.com" } });
    expect(bad.status).toBe(400);
  });

  it("looks up spreadsheets on google_sheets only", async () => {
    const res = await app.api("GET", "/api/v1/integrations/acme_crm/spreadsheet?ref=abc", { key });
    expect(res.status).toBe(404);
    const sheets = await app.api("GET", "/api/v1/integrations/google_sheets/spreadsheet?ref=abc", { key });
    expect([sheets.status, sheets.body.code]).toEqual([409, "integration_not_connected"]);
  });
});

describe("scopes", () => {
  it("connecting and testing credentials need integrations:connect; integrations:write is not enough", async () => {
    const writer = await app.keyWith(organizationId, ["integrations:write", "integrations:read"]);
    for (const path of ["/api/v1/integrations/acme_crm/connect", "/api/v1/integrations/acme_crm/sql/test"]) {
      const res = await app.api("POST", path, { key: writer, body: { credentials: { apiKey: SECRET } } });
      expect(res.status).toBe(403);
      expect(res.body).toMatchObject({ code: "insufficient_scope", requiredScope: "integrations:connect" });
    }
  });

  it("reading needs integrations:read and disconnecting integrations:write", async () => {
    const none = await app.keyWith(organizationId, ["skills:read"]);
    const read = await app.api("GET", "/api/v1/integrations", { key: none });
    expect(read.body).toMatchObject({ code: "insufficient_scope", requiredScope: "integrations:read" });
    const reader = await app.keyWith(organizationId, ["integrations:read"]);
    const del = await app.api("DELETE", "/api/v1/integrations/acme_crm", { key: reader });
    expect(del.body).toMatchObject({ code: "insufficient_scope", requiredScope: "integrations:write" });
  });
});

describe("disconnect", () => {
  it("clears the credentials, then discover answers 409 and a second disconnect 404", async () => {
    const { key: other } = await app.newOrg("Disconnector");
    await app.api("POST", "/api/v1/integrations/acme_crm/connect", { key: other, body: { credentials: { apiKey: SECRET } } });
    const res = await app.api("DELETE", "/api/v1/integrations/acme_crm", { key: other });
    expect(res.status).toBe(200);
    const list = await app.api("GET", "/api/v1/integrations", { key: other });
    expect(list.body.data[0]).toMatchObject({ kind: "acme_crm", status: "disconnected" });
    const discover = await app.api("POST", "/api/v1/integrations/acme_crm/discover", { key: other });
    expect([discover.status, discover.body.code]).toEqual([409, "integration_not_connected"]);
    const again = await app.api("DELETE", "/api/v1/integrations/acme_crm", { key: other });
    expect(again.status).toBe(404);
  });
});
