// Auto-map with an LLM configured: the model's JSON proposal is used when it passes the binding checks, and the
// deterministic matcher takes over when the model answers something unusable. Also checks that the skills made
// from an integration carry a signature the runtime can verify.
import { afterAll, beforeAll, expect, it } from "bun:test";
import { join } from "node:path";
import { createOperationSigner } from "../../../src/api/integrations/signing.ts";
import { createSealer } from "../../../src/platform/crypto.ts";
import { startTestApp, type TestApp } from "../../support/app.ts";
import { startScriptedLlm, type ScriptedLlm } from "../../support/scripted-llm.ts";

const PLUGINS_DIR = join(import.meta.dir, "../../support/plugins");
let app: TestApp;
let llm: ScriptedLlm;
let key: string;
let agentId: string;
const replies: string[] = [];

beforeAll(async () => {
  llm = startScriptedLlm(() => ({ content: replies.shift() ?? "no idea" }));
  app = await startTestApp({ PLUGINS_DIR, LLM_BASE_URL: `${llm.baseUrl}`, LLM_MODEL: "scripted" });
  ({ key } = await app.newOrg());
  agentId = (await app.api("POST", "/api/v1/agents", { key, body: { name: "Help desk" } })).body.data.id;
  await app.api("POST", "/api/v1/integrations/acme_crm/connect", { key, body: { credentials: { apiKey: "good-key-123456" } } });
  await app.api("POST", "/api/v1/integrations/acme_crm/discover", { key });
});
afterAll(async () => {
  await app.stop();
  llm.stop();
});

const autoMap = (goal: string) => app.api("POST", `/api/v1/agents/${agentId}/integrations/acme_crm/bindings/auto`, { key, body: { goal } });

it("uses the model's proposal when it passes the checks, saved disabled", async () => {
  replies.push(`Here you go: ${JSON.stringify({ toolName: "caller_tier", operation: "contacts.select", description: "The caller's tier", sqlSearch: { column: "email", param: "caller_email" }, projection: [{ path: "tier", leaf: "tier" }] })}`);
  const res = await autoMap("what tier is the caller on, by email");
  expect(res.status).toBe(200);
  expect(res.body.data.proposal).toEqual({ toolName: "caller_tier", operation: "contacts.select", description: "The caller's tier", sqlSearch: { column: "email", param: "caller_email" }, projection: [{ path: "tier", leaf: "tier" }] });
  expect(res.body.data.skill).toMatchObject({ name: "caller_tier", isEnabled: false, allowedFields: ["tier"] });
  expect(llm.requests.at(-1)!.messages.at(-1)!.content).not.toContain("ssn");
});

it("falls back to the matcher when the model's proposal is unusable", async () => {
  replies.push(JSON.stringify({ toolName: "steal", operation: "contacts.select", sqlSearch: { column: "ssn", param: "x" }, projection: [{ path: "ssn", leaf: "ssn" }] }));
  const res = await autoMap("find the caller's tickets by phone");
  expect(res.status).toBe(200);
  expect(res.body.data.proposal).toMatchObject({ toolName: "lookup_tickets", operation: "tickets.select" });
  expect(res.body.data.skill.isEnabled).toBe(false);
});

it("signs what it compiles so the runtime can tell an edited config", async () => {
  const signer = createOperationSigner(createSealer(app.config.masterKey!));
  const bound = await app.api("POST", `/api/v1/agents/${agentId}/integrations/acme_crm/bindings`, { key, body: { toolName: "by_phone", operation: "contacts.select", sqlSearch: { column: "phone", param: "p" }, projection: [{ path: "tier", leaf: "tier" }] } });
  const provisioned = await app.api("POST", `/api/v1/agents/${agentId}/integrations/acme_crm/provision`, { key, body: {} });
  const packed = await app.api("POST", `/api/v1/agents/${agentId}/integrations/acme_crm/pack/install`, { key });
  const configs = [bound.body.data.executionConfig, ...provisioned.body.data.map((r: { skill: { executionConfig: unknown } }) => r.skill.executionConfig), packed.body.data[0].skill.executionConfig];
  for (const config of configs) expect(signer.verify("acme_crm", config)).toBe(true);
  expect(signer.verify("acme_crm", { ...configs[0], operation: "contacts.update" })).toBe(false);
});
