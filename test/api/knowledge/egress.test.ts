// URL sources go through the egress guard: without EGRESS_ALLOWLIST, a private, loopback or link-local
// destination is refused when the source is created, naming the url field.
import { afterAll, beforeAll, expect, it } from "bun:test";
import { startTestApp, type TestApp } from "../../support/app.ts";
import { html, startLocalSite } from "./local-site.ts";

let app: TestApp;
let key: string;
let agentId: string;
const site = startLocalSite({ "/": html("Internal", "<p>Internal admin page.</p>") });

beforeAll(async () => {
  app = await startTestApp();
  ({ key } = await app.newOrg());
  agentId = (await app.api("POST", "/api/v1/agents", { key, body: { name: "Guarded" } })).body.data.id;
});
afterAll(async () => {
  await app?.stop();
  site.stop();
});

it("refuses loopback, private and link-local URLs at creation with a problem naming the url field", async () => {
  for (const url of [`${site.url}/`, "http://localhost:8080/", "http://10.1.2.3/wiki", "http://169.254.169.254/latest/meta-data/", "http://[::1]/"]) {
    const res = await app.api("POST", `/api/v1/agents/${agentId}/knowledge/sources`, { key, body: { kind: "url", label: "Internal", url } });
    expect({ url, status: res.status, code: res.body.code, field: res.body.errors?.[0]?.field }).toEqual({ url, status: 400, code: "egress_refused", field: "url" });
    expect(res.body.errors[0].message).toContain("add it to EGRESS_ALLOWLIST to allow it");
  }
  expect(site.requests).toEqual([]);
  expect((await app.api("GET", `/api/v1/agents/${agentId}/knowledge/sources`, { key })).body.data).toEqual([]);
});
