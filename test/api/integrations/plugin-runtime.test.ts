// Integration skills in conversations, through operator plugins loaded from a temporary PLUGINS_DIR: the example
// Ticket Desk plugin against a local stand-in of a help desk's REST API (reached through the egress-checked fetch),
// and a faulty plugin that throws, hangs past its deadline and answers malformed data. Whatever a plugin does, the
// conversation goes on; the receipt names the integration, the operation, what was sent and what came back.
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { createLogger } from "../../../src/platform/log.ts";
import { agentBuilder } from "../../support/agent-builder.ts";
import { startTestApp, type TestApp } from "../../support/app.ts";

const CONTRACT = resolve(import.meta.dir, "../../../src/api/integrations/contract.ts");
const API_KEY = "desk-secret-key-4f9d2c";

const FAULTY = `
import { definePlugin, Type } from ${JSON.stringify(CONTRACT)};
const action = (slug, description, operation) => ({ slug, name: slug, description, isWrite: false, important: true, parameters: Type.Object({}), operation });
export default definePlugin({
  kind: "faulty",
  name: "Faulty",
  category: "other",
  version: "0.0.1",
  description: "A plugin that fails in every way a plugin can",
  skillType: "native_rest",
  auth: { type: "api_key", schema: Type.Object({ token: Type.String() }) },
  actions: [
    action("weather", "Check the weather forecast", "explode"),
    action("parcels", "Count the parcels in stock", "malformed"),
    action("trains", "Look up the train timetable", "hang"),
  ],
  async execute(operation) {
    if (operation.operation === "explode") throw new TypeError("cannot read properties of undefined (reading 'forecast')");
    if (operation.operation === "malformed") return { rows: "twelve parcels" };
    return new Promise(() => {}); // hangs, and ignores its abort signal
  },
});
`;

let app: TestApp;
let dir: string;
let desk: ReturnType<typeof Bun.serve>;
const logLines: string[] = [];
const deskRequests: { path: string; auth: string | null }[] = [];

beforeAll(async () => {
  desk = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(request) {
      const url = new URL(request.url);
      deskRequests.push({ path: url.pathname + url.search, auth: request.headers.get("authorization") });
      if (request.headers.get("authorization") !== `Bearer ${API_KEY}`) return Response.json({ error: "unauthorized" }, { status: 401 });
      const phone = url.searchParams.get("phone");
      if (phone === "+14155550100") return Response.json({ tickets: [{ id: "T-1001", phone, subject: "Broken boiler", status: "open" }] });
      if (phone === "+14155550142") return Response.json({ error: "database down" }, { status: 503 });
      if (phone === "+14155550155") {
        return Response.json({
          tickets: [
            { id: "T-2001", phone, subject: "Leaking tap", status: "open" },
            { id: "T-2002", phone, subject: "Cold radiator", status: "pending" },
          ],
        });
      }
      return Response.json({ tickets: [] });
    },
  });
  dir = mkdtempSync(join(tmpdir(), "flowyte-plugins-"));
  cpSync(resolve(import.meta.dir, "../../fixtures/plugins/ticket-desk"), join(dir, "ticket-desk"), { recursive: true });
  const index = join(dir, "ticket-desk", "index.ts");
  writeFileSync(index, readFileSync(index, "utf8").replace("../../../../src/api/integrations/contract.ts", CONTRACT));
  mkdirSync(join(dir, "faulty"));
  writeFileSync(join(dir, "faulty", "index.ts"), FAULTY);
  app = await startTestApp(
    { PLUGINS_DIR: dir, EGRESS_ALLOWLIST: "127.0.0.1", INTEGRATION_TIMEOUT_MS: "2000", LOG_LEVEL: "debug" },
    { log: createLogger("debug", (line) => logLines.push(line)) },
  );
});

afterAll(async () => {
  await app?.stop();
  desk?.stop(true);
  rmSync(dir, { recursive: true, force: true });
});

async function deskAgent(key: string) {
  const b = agentBuilder(app, key);
  const agent = await b.agent({ name: "Help desk", greeting: "Hi! I can look up your ticket." });
  return { b, agent };
}

describe("an operator plugin's skills in a conversation", () => {
  it("connects with credentials it never shows, provisions its action, and looks up the caller's ticket", async () => {
    const { key } = await app.newOrg("Desk org");
    const connected = await app.api("POST", "/api/v1/integrations/ticket_desk/connect", { key, body: { credentials: { baseUrl: desk.url.origin, apiKey: API_KEY } } });
    expect(connected.status).toBe(200);
    expect(connected.body.data).toEqual({ status: "connected" });
    const list = await app.api("GET", "/api/v1/integrations", { key });
    const row = list.body.data.find((r: { kind: string }) => r.kind === "ticket_desk");
    expect(row.status).toBe("connected");
    expect(row.accountLabel).toBe(desk.url.host);

    const { b, agent } = await deskAgent(key);
    const provisioned = await app.api("POST", `/api/v1/agents/${agent.id}/integrations/ticket_desk/provision`, { key, body: {} });
    expect(provisioned.status).toBe(200);
    expect(provisioned.body.data).toHaveLength(1);
    expect(provisioned.body.data[0].created).toBe(true);
    expect(provisioned.body.data[0].skill.isEnabled).toBe(true);
    const again = await app.api("POST", `/api/v1/agents/${agent.id}/integrations/ticket_desk/provision`, { key, body: { actions: ["lookup_ticket"] } });
    expect(again.body.data.map((r: { created: boolean }) => r.created)).toEqual([false]);

    const run = await b.simulate(agent.id, { transcript: ["What's the status of my ticket? My number is 415 555 0100"] });
    expect(run.status).toBe(200);
    const call = run.events.find((e) => e.eventType === "tool_call")!;
    expect(call.payload).toMatchObject({ integration: "ticket_desk", operation: "tickets.by_phone", arguments: { caller_phone: "+14155550100" }, status: "ok" });
    expect(call.payload.result).toEqual({ ticket_id: "T-1001", subject: "Broken boiler", status: "open" });
    expect(run.said.join(" ")).toContain("Broken boiler");
    expect(deskRequests.at(-1)).toEqual({ path: "/tickets?phone=%2B14155550100", auth: `Bearer ${API_KEY}` });

    // The desk's own failure is a skill error the agent speaks, and the next question still gets its answer.
    const failed = await b.simulate(agent.id, { transcript: ["What's the status of my ticket? My number is 415 555 0142", "What's the status of my ticket? My number is 415 555 0100"] });
    const calls = failed.events.filter((e) => e.eventType === "tool_call");
    expect(calls.map((c) => [c.payload.status, c.payload.errorCode ?? null])).toEqual([
      ["error", "unavailable"],
      ["ok", null],
    ]);
    expect(failed.said.join(" ")).toContain("Broken boiler");

    // Credentials are nowhere: not in what the API answered, not in a log line, not in a receipt.
    for (const text of [JSON.stringify(connected.body), JSON.stringify(list.body), JSON.stringify(provisioned.body), run.raw, failed.raw, logLines.join("\n")]) {
      expect(text).not.toContain(API_KEY);
    }
    const stored = await app.query<{ sealed_credentials: string }>("SELECT sealed_credentials FROM integrations WHERE kind = 'ticket_desk'");
    expect(stored[0]!.sealed_credentials).toStartWith("v1.");
    expect(stored[0]!.sealed_credentials).not.toContain(API_KEY);
  });

  it("several records come back as rows, and the built-in brain reads each of them out", async () => {
    const { key } = await app.newOrg("Busy desk org");
    await app.api("POST", "/api/v1/integrations/ticket_desk/connect", { key, body: { credentials: { baseUrl: desk.url.origin, apiKey: API_KEY } } });
    const { b, agent } = await deskAgent(key);
    await app.api("POST", `/api/v1/agents/${agent.id}/integrations/ticket_desk/provision`, { key, body: {} });
    const run = await b.simulate(agent.id, { transcript: ["What's the status of my ticket? My number is 415 555 0155"] });
    const call = run.events.find((e) => e.eventType === "tool_call")!;
    expect(call.payload.result.rows.map((r: { ticket_id: string }) => r.ticket_id)).toEqual(["T-2001", "T-2002"]);
    const said = run.said.join(" ");
    expect(said).toContain("Leaking tap");
    expect(said).toContain("Cold radiator");
  });

  it("a plugin that throws, answers malformed data or hangs past its deadline never breaks the conversation", async () => {
    const { key } = await app.newOrg("Faulty org");
    expect((await app.api("POST", "/api/v1/integrations/faulty/connect", { key, body: { credentials: { token: "t" } } })).status).toBe(200);
    const { b, agent } = await deskAgent(key);
    const provisioned = await app.api("POST", `/api/v1/agents/${agent.id}/integrations/faulty/provision`, { key, body: {} });
    expect(provisioned.body.data).toHaveLength(3);
    const run = await b.simulate(agent.id, { transcript: ["Check the weather forecast", "Count the parcels in stock", "Look up the train timetable", "Check the weather forecast"] });
    expect(run.status).toBe(200);
    const calls = run.events.filter((e) => e.eventType === "tool_call").map((e) => [e.payload.operation, e.payload.errorCode]);
    expect(calls).toEqual([
      ["explode", "integration_failed"],
      ["malformed", "integration_invalid_response"],
      ["hang", "timeout"],
      ["explode", "integration_failed"],
    ]);
    // Every turn was answered: the greeting, then one reply per question.
    const userTurns = run.events.filter((e) => e.eventType === "user_utterance").map((e) => e.seq);
    for (const seq of userTurns) expect(run.events.some((e) => e.eventType === "agent_message" && e.seq > seq)).toBe(true);
    expect(run.frames.at(-1)).toStartWith("event:done");
    expect(logLines.some((l) => l.includes("integration plugin failed") && l.includes("faulty") && l.includes("forecast"))).toBe(true);
  });

  it("a skill whose operation was edited by hand refuses to run", async () => {
    const { key } = await app.newOrg("Tamper org");
    await app.api("POST", "/api/v1/integrations/ticket_desk/connect", { key, body: { credentials: { baseUrl: desk.url.origin, apiKey: API_KEY } } });
    const { b, agent } = await deskAgent(key);
    const [{ skill }] = (await app.api("POST", `/api/v1/agents/${agent.id}/integrations/ticket_desk/provision`, { key, body: {} })).body.data;
    const edited = await app.api("PATCH", `/api/v1/agents/${agent.id}/skills/${skill.id}`, { key, body: { executionConfig: { ...skill.executionConfig, operation: "tickets.create" } } });
    expect(edited.status).toBe(200);
    const before = deskRequests.length;
    const run = await b.simulate(agent.id, { transcript: ["What's the status of my ticket? My number is 415 555 0100"] });
    const call = run.events.find((e) => e.eventType === "tool_call")!;
    expect(call.payload).toMatchObject({ status: "error", errorCode: "invalid_binding" });
    expect(deskRequests.length).toBe(before);
  });

  it("after a disconnect the skills stay and answer integration_not_connected", async () => {
    const { key } = await app.newOrg("Leaving org");
    await app.api("POST", "/api/v1/integrations/ticket_desk/connect", { key, body: { credentials: { baseUrl: desk.url.origin, apiKey: API_KEY } } });
    const { b, agent } = await deskAgent(key);
    await app.api("POST", `/api/v1/agents/${agent.id}/integrations/ticket_desk/provision`, { key, body: {} });
    expect((await app.api("DELETE", "/api/v1/integrations/ticket_desk", { key })).status).toBeLessThan(300);
    const skills = await app.api("GET", `/api/v1/agents/${agent.id}/skills`, { key });
    expect(skills.body.data).toHaveLength(1);
    const run = await b.simulate(agent.id, { transcript: ["What's the status of my ticket? My number is 415 555 0100"] });
    expect(run.events.find((e) => e.eventType === "tool_call")!.payload).toMatchObject({ status: "error", errorCode: "integration_not_connected" });
    const report = await app.api("GET", `/api/v1/agents/${agent.id}/prepublish-report`, { key });
    expect(report.body.data.warnings.join("\n")).toContain("needs the ticket_desk integration, which is not connected");
  });
});
