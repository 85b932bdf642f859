import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { SKILL_TYPES } from "../../../src/runtime/compiled.ts";
import { startTestApp, type TestApp } from "../../support/app.ts";

let app: TestApp;
beforeAll(async () => {
  app = await startTestApp();
});
afterAll(() => app.stop());

const catalog = async (target: TestApp) => {
  const res = await target.api("GET", "/api/v1/skill-types");
  expect(res.status).toBe(200);
  return new Map<string, any>(res.body.data.map((t: { type: string }) => [t.type, t]));
};

describe("GET /skill-types", () => {
  it("lists all 16 skill types with their executionConfig JSON Schema and a parameters template", async () => {
    const types = await catalog(app);
    expect([...types.keys()]).toEqual([...SKILL_TYPES]);
    for (const entry of types.values()) {
      expect(entry).toMatchObject({ label: expect.any(String), description: expect.any(String), category: expect.any(String), available: expect.any(Boolean) });
      expect(entry.executionConfigSchema.type).toBe("object");
      expect(entry.parametersTemplate).toMatchObject({ type: "object", properties: expect.any(Object) });
      if (!entry.available) expect(entry.reason).toEqual(expect.any(String));
    }
    const webhook = types.get("http_webhook");
    expect(webhook.executionConfigSchema.required).toEqual(["url"]);
    expect(webhook.executionConfigSchema.properties.timeout_ms).toMatchObject({ type: "integer", minimum: 100, maximum: 30000, default: 4000 });
    expect(webhook.executionConfigSchema.properties.method.anyOf.map((m: { const: string }) => m.const)).toEqual(["GET", "POST", "PUT", "PATCH", "DELETE"]);
    expect(types.get("email").executionConfigSchema.required.sort()).toEqual(["subject", "to"]);
    expect(types.get("geo").executionConfigSchema.allOf).toContainEqual({
      if: { properties: { action: { const: "check_service_area" } }, required: ["action"] },
      then: { required: ["origin_address", "radius_miles"] },
    });
  });

  it("publishes no default for a transfer's warm, which inherits the agent's handoffConfig.warm when left out", async () => {
    const warm = (await catalog(app)).get("transfer").executionConfigSchema.properties.warm;
    expect(warm.type).toBe("boolean");
    expect(warm).not.toHaveProperty("default");
    expect(warm.description).toContain("handoffConfig.warm");
  });

  it("says what this installation can run: integration types need a connection, mcp is reserved, email needs SMTP", async () => {
    const types = await catalog(app);
    for (const type of ["db_query", "native_sql", "native_rest", "native_graphql", "calendar", "google_sheets", "crm", "sms"]) {
      expect(types.get(type)).toMatchObject({ available: false, reason: "integration not connected", requires: { integration: expect.any(String) } });
    }
    expect(types.get("mcp")).toMatchObject({ available: false, reason: "reserved" });
    for (const type of ["http_webhook", "transfer", "builtin", "geo", "knowledge_query", "playbook"]) expect(types.get(type)).toMatchObject({ available: true, requires: null });
    expect(types.get("email")).toMatchObject({ available: false, requires: { config: "SMTP_URL" } });

    const withSmtp = await startTestApp({ SMTP_URL: "smtp://127.0.0.1:2525", SMTP_FROM: "no-reply@example.com" });
    try {
      expect((await catalog(withSmtp)).get("email")).toMatchObject({ available: true, requires: { config: "SMTP_URL" } });
    } finally {
      await withSmtp.stop();
    }
  });

  it("needs skills:read", async () => {
    const { organizationId } = await app.newOrg();
    const res = await app.api("GET", "/api/v1/skill-types", { key: await app.keyWith(organizationId, ["agents:read"]) });
    expect(res.status).toBe(403);
    expect(res.body.requiredScope).toBe("skills:read");
  });
});
