// Phone numbers outside North America over HTTP: national numbers read in DEFAULT_PHONE_REGION (here GB) or in the
// agent's own region (a primary language such as de-DE), numbers with a country code as written, and a clear 400
// for what is no number.
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { startTestApp, type TestApp } from "../../support/app.ts";

let app: TestApp;
let org: { key: string; organizationId: string };
beforeAll(async () => {
  app = await startTestApp({ DEFAULT_PHONE_REGION: "GB" });
  org = await app.newOrg();
});
afterAll(() => app.stop());

const call = (method: string, path: string, body?: unknown) => app.api(method, `/api/v1${path}`, { key: org.key, body });

describe("numbers with DEFAULT_PHONE_REGION=GB", () => {
  it("imports a UK number written the national way, and a German one with its country code", async () => {
    const uk = await call("POST", "/numbers/import", { e164: "020 7946 0018" });
    expect(uk.status).toBe(201);
    expect(uk.body.data.e164).toBe("+442079460018");
    const de = await call("POST", "/numbers/import", { e164: "+49 30 123456789" });
    expect(de.status).toBe(201);
    expect(de.body.data.e164).toBe("+4930123456789");
  });

  it("refuses what is no phone number with a 400 naming the field", async () => {
    const res = await call("POST", "/numbers/import", { e164: "12345" });
    expect(res.status).toBe(400);
    expect(res.headers.get("content-type")).toContain("application/problem+json");
    expect(res.body.code).toBe("validation_error");
    expect(res.body.errors).toEqual([{ field: "e164", message: "is not a phone number: write it in E.164 with its country code (+442079460018), or as a number of GB" }]);
  });

  it("normalizes a transfer skill's destination in the region, and refuses an impossible one", async () => {
    const agentId = (await call("POST", "/agents", { name: "Reception" })).body.data.id;
    const ok = await call("POST", `/agents/${agentId}/skills`, { name: "To billing", description: "Billing questions", skillType: "transfer", executionConfig: { destination: "020 7946 0018" } });
    expect(ok.status).toBe(201);
    expect(ok.body.data.executionConfig.destination).toBe("+442079460018");
    const bad = await call("POST", `/agents/${agentId}/skills`, { name: "To nowhere", description: "Nowhere", skillType: "transfer", executionConfig: { destination: "0207" } });
    expect(bad.status).toBe(400);
    expect(bad.body.errors.map((e: { field: string }) => e.field)).toEqual(["executionConfig.destination"]);
  });

  it("reads an agent's numbers in the region its primary language names", async () => {
    const res = await call("POST", "/agents", { name: "Praxis", primaryLanguage: "de-DE", handoffConfig: { transferDestination: "030 123456789" } });
    expect(res.status).toBe(201);
    expect(res.body.data.handoffConfig.transferDestination).toBe("+4930123456789");
    const uk = await call("POST", "/agents", { name: "Surgery", handoffConfig: { transferDestination: "020 7946 0018" } });
    expect(uk.body.data.handoffConfig.transferDestination).toBe("+442079460018");
  });
});
