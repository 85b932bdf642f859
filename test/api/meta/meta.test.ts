import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { startTestApp, storageKind, type TestApp } from "../../support/app.ts";

let app: TestApp;
beforeAll(async () => {
  app = await startTestApp();
});
afterAll(() => app.stop());

describe("meta", () => {
  it("answers account info with the organization and capability flags", async () => {
    const org = await app.newOrg("Acme Plumbing");
    const res = await app.api("GET", "/api/v1/meta/account", { key: org.key });
    expect(res.body.data).toEqual({
      organizationId: org.organizationId,
      name: "Acme Plumbing",
      plan: "self-hosted",
      flags: { voiceEnabled: false, outboundEnabled: false, smsEnabled: false, llmConfigured: false },
      storage: storageKind,
      limits: { rateLimitPerMinute: 0 },
    });
  });

  it("answers the language matrix per tier and agent type", async () => {
    const res = await app.api("GET", "/api/v1/meta/languages");
    const data = res.body.data;
    expect(data.tiers).toEqual(["budget", "standard", "premium"]);
    expect(data.agentTypes).toEqual(["single_language", "code_switch"]);
    expect(data.matrix.standard.single_language).toContain("en");
    expect(data.matrix.premium.code_switch.length).toBeGreaterThanOrEqual(40);
    expect(data.languages).toContainEqual({ code: "es", name: "Spanish" });
  });
});
