// Issue 11 item 3: no caller text can stall the server through a regular expression the API accepted.
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { eq } from "drizzle-orm";
import { playbooks } from "../../../src/platform/db/schema/index.ts";
import { startTestApp, type TestApp } from "../../support/app.ts";

let app: TestApp;
let key: string;
const SITE = "https://shop.example.com";

/** Each one takes exponential or high-polynomial time in a backtracking engine on a short non-matching text. */
const CATASTROPHIC = ["^(a+)+$", "(a|aa)+$", "(.*a){20}", "^(\\w+\\s?)*$", "^(a|b|ab)*c$", "^([a-z]+ ?)+@x$"];

beforeAll(async () => {
  app = await startTestApp({ PUBLIC_BASE_URL: "https://chat.example.net", TRUST_PROXY: "1" });
  ({ key } = await app.newOrg());
});
afterAll(() => app.stop());

const newAgent = async () => (await app.api("POST", "/api/v1/agents", { key, body: { name: "Order desk", greeting: "Hi, this is the order desk." } })).body.data.id as string;
const base = (agentId: string) => `/api/v1/agents/${agentId}/playbooks`;

async function newPlaybook(agentId: string, body: Record<string, unknown> = {}) {
  const res = await app.api("POST", base(agentId), { key, body: { name: "Order code", description: "check an order code", ...body } });
  expect(res.status).toBe(201);
  return res.body.data as { id: string; flowId: string };
}

/** start → one collect step per pattern → end. */
function graph(flowId: string, patterns: string[]) {
  const steps = patterns.map((pattern, i) => ({
    id: `code${i}`,
    type: "collect",
    position: { x: 0, y: i + 1 },
    data: { variable: `code${i}`, prompt: "What is your order code?", slotType: "text", validation: { pattern }, retryPrompt: "That code does not look right. What is your order code?" },
  }));
  const nodes = [{ id: "start", type: "start", position: { x: 0, y: 0 }, data: {} }, ...steps, { id: "end", type: "end", position: { x: 0, y: 99 }, data: { message: "Thanks, code {code0} noted.", outcome: "completed" } }];
  const ids = nodes.map((n) => n.id);
  return { flowId, nodes, connections: ids.slice(1).map((target, i) => ({ id: `c${i}`, source: ids[i]!, target, sourceHandle: null, targetHandle: null })) };
}

const putGraph = (agentId: string, playbookId: string, body: unknown) => app.api("PUT", `${base(agentId)}/${playbookId}/graph`, { key, body });

/** A published agent whose "order code" playbook checks the code against `pattern`, stored as given (no checks). */
async function agentWithStoredPattern(pattern: string) {
  const agentId = await newAgent();
  const playbook = await newPlaybook(agentId);
  const { flowId: _, ...stored } = graph(playbook.flowId, [pattern]);
  await app.server.database.db.update(playbooks).set({ graph: stored }).where(eq(playbooks.id, playbook.id));
  return { agentId, ...(await agentWithPublishedGraph(agentId)) };
}

describe("playbook validation patterns", () => {
  it("refuses graphs whose validation patterns backtrack catastrophically, naming each pattern's field", async () => {
    const agentId = await newAgent();
    const playbook = await newPlaybook(agentId);
    const res = await putGraph(agentId, playbook.id, graph(playbook.flowId, ["^[A-Z]{2}\\d{4}$", ...CATASTROPHIC]));
    expect(res.status).toBe(400);
    expect(res.body.code).toBe("validation_error");
    const errors = res.body.errors as { field: string; message: string }[];
    expect(errors.map((e) => e.field)).toEqual(CATASTROPHIC.map((_, i) => `nodes[${i + 2}].data.validation.pattern`));
    for (const e of errors) expect(e.message).toMatch(/catastrophic backtracking|backtracks catastrophically/);
    expect((await app.api("GET", `${base(agentId)}/${playbook.id}/graph`, { key })).body.data.nodes).toEqual([]);
  }, 120_000);

  it("keeps answering other requests while a hard pattern is analysed on save", async () => {
    const agentId = await newAgent();
    const playbook = await newPlaybook(agentId);
    // Seconds of analysis (a pattern no earlier test cached); the server must not wait on it.
    const save = putGraph(agentId, playbook.id, graph(playbook.flowId, ["(.*c){19}x"]));
    let saved = false;
    void save.finally(() => (saved = true));
    const health = await fetch(`${app.url}/health`);
    expect([health.status, saved]).toEqual([200, false]);
    const res = await save;
    expect(res.status).toBe(400);
    expect(res.body.errors).toEqual([{ field: "nodes[1].data.validation.pattern", message: expect.stringMatching(/catastrophic/) }]);
  }, 60_000);

  it("refuses validation patterns the linear-time engine cannot run: backreferences, lookaround, huge repeats", async () => {
    const agentId = await newAgent();
    const playbook = await newPlaybook(agentId);
    const refused = ["^(a)\\1$", "^(?=.*\\d)\\w+$", "(?<!x)y", "^\\w{999}\\w{999}$", "(unclosed"];
    const res = await putGraph(agentId, playbook.id, graph(playbook.flowId, refused));
    expect(res.status).toBe(400);
    const errors = res.body.errors as { field: string; message: string }[];
    expect(errors.map((e) => e.field)).toEqual(refused.map((_, i) => `nodes[${i + 1}].data.validation.pattern`));
    expect(errors.slice(0, 3).every((e) => e.message.includes("linear-time matcher"))).toBe(true);
    expect(errors[3]!.message).toContain("too large");
    expect(errors[4]!.message).toBe("is not a valid regular expression");
  });

  it("refuses catastrophic JSON Schema patterns in a playbook's inputSchema and outputSchema on create and update", async () => {
    const agentId = await newAgent();
    const created = await app.api("POST", base(agentId), {
      key,
      body: { name: "Lookup", description: "look an order up", inputSchema: { type: "object", properties: { order: { type: "string", pattern: "^(a+)+$" } } } },
    });
    expect(created.status).toBe(400);
    expect(created.body.errors).toEqual([{ field: "inputSchema.properties.order.pattern", message: expect.stringContaining("backtracks catastrophically") }]);

    const playbook = await newPlaybook(agentId, { name: "Lookup 2" });
    const patched = await app.api("PATCH", `${base(agentId)}/${playbook.id}`, {
      key,
      body: { outputSchema: { type: "object", properties: { codes: { type: "array", items: { type: "string", pattern: "^(\\w+\\s?)*$" } } } } },
    });
    expect(patched.status).toBe(400);
    expect(patched.body.errors).toEqual([{ field: "outputSchema.properties.codes.items.pattern", message: expect.stringContaining("backtracks catastrophically") }]);
    expect((await app.api("GET", `${base(agentId)}/${playbook.id}`, { key })).body.data.outputSchema).toEqual({ type: "object", properties: {} });

    const fine = await app.api("PATCH", `${base(agentId)}/${playbook.id}`, { key, body: { inputSchema: { type: "object", properties: { zip: { type: "string", pattern: "^\\d{5}$" } } } } });
    expect(fine.status).toBe(200);
  });

  it("still validates caller input with an ordinary pattern", async () => {
    const agentId = await newAgent();
    const playbook = await newPlaybook(agentId);
    expect((await putGraph(agentId, playbook.id, graph(playbook.flowId, ["^[A-Z]{2}\\d{4}$"]))).status).toBe(200);
    const { say } = await agentWithPublishedGraph(agentId);
    expect(await say("zz12")).toEqual(["That code does not look right. What is your order code?"]);
    expect(await say("AB1234")).toEqual(["Thanks, code AB1234 noted."]);
  });

  it("cannot stall the server with a catastrophic pattern stored before patterns were checked: the widget answers and /health stays up", async () => {
    const { say } = await agentWithStoredPattern("^(a+)+$");
    // 3,000 a's and a mismatch: a backtracking engine would need about 2^3000 steps, the linear one a few thousand.
    const reply = say(`${"a".repeat(3000)}!`);
    let done = false;
    void reply.finally(() => (done = true));
    const health: number[] = [];
    do health.push((await fetch(`${app.url}/health`)).status);
    while (!done);
    expect(await reply).toEqual(["That code does not look right. What is your order code?"]);
    expect(health.length).toBeGreaterThan(0);
    expect(health.every((s) => s === 200)).toBe(true);
    // The same pattern still accepts what it matches.
    expect(await say("aaaa")).toEqual(["Thanks, code aaaa noted."]);
  });

  it("skips a stored pattern the linear-time engine cannot run, and the pre-publish report names it", async () => {
    const { agentId, say } = await agentWithStoredPattern("^(?=(a+)+$)a*$");
    expect(await say(`${"a".repeat(3000)}!`)).toEqual([`Thanks, code ${"a".repeat(3000)}! noted.`]);
    const report = (await app.api("GET", `/api/v1/agents/${agentId}/prepublish-report`, { key })).body.data;
    expect(report.warnings).toContainEqual(expect.stringMatching(/^Playbook "Order code": nodes\[1\]\.data\.validation\.pattern cannot run in the linear-time matcher/));
  });
});

/** Publish `agentId` and open a widget conversation that has started its "order code" playbook. */
async function agentWithPublishedGraph(agentId: string) {
  expect((await app.api("POST", `/api/v1/agents/${agentId}/publish`, { key, body: {} })).status).toBeLessThan(300);
  const pk = (await app.api("POST", `/api/v1/agents/${agentId}/publishable-keys`, { key, body: { name: "Shop", allowedOrigins: [SITE], rateLimitRpm: 6000 } })).body.data;
  const widget = (path: string, body: unknown) => app.api("POST", `/api/v1/chat/widget${path}`, { key: pk.keyPublic, body, headers: { origin: SITE, "x-forwarded-for": "203.0.113.8" } });
  const session = (await widget("/sessions", {})).body.data as { conversationId: string; visitorToken: string };
  const say = async (content: string) => {
    const res = await widget(`/sessions/${session.conversationId}/messages`, { content, visitorToken: session.visitorToken });
    expect(res.status).toBe(200);
    return (res.body.data.messages as { content: string }[]).map((m) => m.content);
  };
  expect(await say("I want to check an order code")).toEqual(["What is your order code?"]);
  return { say };
}
