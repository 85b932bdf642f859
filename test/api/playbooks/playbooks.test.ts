import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { skills } from "../../../src/platform/db/schema/index.ts";
import { newId } from "../../../src/platform/ids.ts";
import { startTestApp, type TestApp } from "../../support/app.ts";

let app: TestApp;
let key: string;
let organizationId: string;
let agentId: string;
let skillId: string;

beforeAll(async () => {
  app = await startTestApp();
  ({ key, organizationId } = await app.newOrg());
  agentId = (await app.api("POST", "/api/v1/agents", { key, body: { name: "Pizza line" } })).body.data.id;
  skillId = await insertSkill(organizationId, agentId, "lookup_order");
});
afterAll(() => app.stop());

/** The skills API is its own area; a row is all a playbook needs to reference a skill. */
async function insertSkill(org: string, agent: string, name: string) {
  const id = newId("skl");
  await app.server.database.db.insert(skills).values({
    id,
    organizationId: org,
    agentId: agent,
    name,
    description: `${name} for tests`,
    skillType: "http_webhook",
    parametersSchema: { type: "object", properties: {} },
    requiredParams: [],
    executionConfig: { url: "https://example.test/hook" },
    dataEgressMap: {},
    allowedFields: [],
    channels: [],
    errorHandling: {},
  });
  return id;
}

const base = () => `/api/v1/agents/${agentId}/playbooks`;
let nameCounter = 0;
async function createPlaybook(body: Record<string, unknown> = {}) {
  const res = await app.api("POST", base(), { key, body: { name: `Playbook ${++nameCounter}`, description: "Take an order", ...body } });
  expect(res.status).toBe(201);
  return res.body.data as { id: string; flowId: string };
}

const node = (id: string, type: string, data: Record<string, unknown> = {}) => ({ id, type, position: { x: 0, y: 0 }, data });
const link = (id: string, source: string, target: string, sourceHandle: string | null = null) => ({ id, source, target, sourceHandle, targetHandle: null });

/** start → collect item → confirm "{item}?" —yes→ skill —success→ message → end; no → collect; skill error → transfer. */
function orderGraph(flowId: string) {
  return {
    flowId,
    nodes: [
      node("start", "start"),
      node("item", "collect", { variable: "item", prompt: "What would you like?", slotType: "text" }),
      node("check", "confirm", { prompt: "One {item}, right?" }),
      node("order", "skill", { skillId, inputs: { item: "{item}", phone: "{caller_number}" }, outputs: { eta: "order.eta" } }),
      node("bye", "message", { text: "Ready in {eta} minutes." }),
      node("end", "end", { outcome: "completed" }),
      node("human", "transfer", { message: "Let me get someone." }),
    ],
    connections: [
      link("c0", "start", "item"),
      link("c1", "item", "check"),
      link("c2", "check", "order", "yes"),
      link("c3", "check", "item", "no"),
      link("c4", "order", "bye", "success"),
      link("c5", "order", "human", "error"),
      link("c6", "bye", "end"),
    ],
  };
}

async function putGraph(playbookId: string, graph: unknown, k = key) {
  return app.api("PUT", `${base()}/${playbookId}/graph`, { key: k, body: graph });
}

describe("playbook CRUD", () => {
  it("creates a playbook with an empty graph under a new flowId", async () => {
    const res = await app.api("POST", base(), {
      key,
      body: { name: "Take an order", description: "Caller wants to order food for pickup", inputSchema: { type: "object", properties: { store: { type: "string" } } } },
    });
    expect(res.status).toBe(201);
    const pb = res.body.data;
    expect(pb).toMatchObject({
      agentId,
      organizationId,
      name: "Take an order",
      description: "Caller wants to order food for pickup",
      inputSchema: { type: "object", properties: { store: { type: "string" } } },
      outputSchema: { type: "object", properties: {} },
      isEnabled: true,
    });
    expect(pb.id).toMatch(/^pbk_[0-9A-Z]{26}$/);
    expect(pb.flowId).toMatch(/^flw_[0-9A-Z]{26}$/);
    expect((await app.api("GET", `${base()}/${pb.id}`, { key })).body).toEqual({ success: true, data: pb });
    expect((await app.api("GET", `${base()}/${pb.id}/graph`, { key })).body.data).toEqual({ flowId: pb.flowId, nodes: [], connections: [] });
  });

  it("requires a name and a description", async () => {
    const res = await app.api("POST", base(), { key, body: { name: "" } });
    expect(res.status).toBe(400);
    expect(res.body.errors.map((e: { field: string }) => e.field).sort()).toEqual(["description", "name"]);
  });

  it("refuses inputSchema properties that cannot be variables", async () => {
    const res = await app.api("POST", base(), { key, body: { name: "Inputs", description: "x", inputSchema: { type: "object", properties: { "zip-code": {}, verified: {} } } } });
    expect(res.status).toBe(400);
    expect(res.body.errors.map((e: { field: string }) => e.field)).toEqual(["inputSchema.properties.zip-code", "inputSchema.properties.verified"]);
  });

  it("answers 409 duplicate_name for a name the agent already uses, on create and rename", async () => {
    await createPlaybook({ name: "Reschedule" });
    const again = await app.api("POST", base(), { key, body: { name: "reschedule", description: "Move a booking" } });
    expect(again.status).toBe(409);
    expect(again.body.code).toBe("duplicate_name");
    const other = await createPlaybook({ name: "Cancel" });
    const rename = await app.api("PATCH", `${base()}/${other.id}`, { key, body: { name: "Reschedule" } });
    expect(rename.status).toBe(409);
    expect(rename.body.code).toBe("duplicate_name");
  });

  it("allows the same name on another agent", async () => {
    const otherAgent = (await app.api("POST", "/api/v1/agents", { key, body: { name: "Second line" } })).body.data.id;
    await createPlaybook({ name: "Shared name" });
    const res = await app.api("POST", `/api/v1/agents/${otherAgent}/playbooks`, { key, body: { name: "Shared name", description: "x" } });
    expect(res.status).toBe(201);
  });

  it("changes only the fields a PATCH sends", async () => {
    const pb = await createPlaybook({ description: "Before" });
    const res = await app.api("PATCH", `${base()}/${pb.id}`, { key, body: { isEnabled: false, outputSchema: { type: "object", properties: { eta: { type: "number" } } } } });
    expect(res.status).toBe(200);
    expect(res.body.data).toMatchObject({ description: "Before", isEnabled: false, outputSchema: { properties: { eta: { type: "number" } } }, flowId: pb.flowId });
  });

  it("lists playbooks newest first, page by page", async () => {
    const agent = (await app.api("POST", "/api/v1/agents", { key, body: { name: "List agent" } })).body.data.id;
    const ids: string[] = [];
    for (const name of ["a", "b", "c"]) ids.push((await app.api("POST", `/api/v1/agents/${agent}/playbooks`, { key, body: { name, description: name } })).body.data.id);
    const first = await app.api("GET", `/api/v1/agents/${agent}/playbooks?limit=2`, { key });
    expect(first.body.data.map((p: { id: string }) => p.id)).toEqual([ids[2], ids[1]]);
    expect(first.body.pagination.hasMore).toBe(true);
    const second = await app.api("GET", `/api/v1/agents/${agent}/playbooks?limit=2&cursor=${first.body.pagination.nextCursor}`, { key });
    expect(second.body.data.map((p: { id: string }) => p.id)).toEqual([ids[0]]);
    expect(second.body.pagination).toEqual({ limit: 2, nextCursor: null, hasMore: false });
  });

  it("deletes a playbook and its graph", async () => {
    const pb = await createPlaybook();
    expect((await putGraph(pb.id, orderGraph(pb.flowId))).status).toBe(200);
    const res = await app.api("DELETE", `${base()}/${pb.id}`, { key });
    expect(res.body).toEqual({ success: true, data: null, message: "playbook deleted" });
    expect((await app.api("GET", `${base()}/${pb.id}/graph`, { key })).body.code).toBe("playbook_not_found");
    expect((await app.api("DELETE", `${base()}/${pb.id}`, { key })).status).toBe(404);
  });

  it("replays a create retried with the same Idempotency-Key", async () => {
    const body = { name: "Idempotent", description: "once" };
    const first = await app.api("POST", base(), { key, body, headers: { "idempotency-key": "pb-1" } });
    const second = await app.api("POST", base(), { key, body, headers: { "idempotency-key": "pb-1" } });
    expect(second.status).toBe(201);
    expect(second.headers.get("idempotent-replayed")).toBe("true");
    expect(second.body.data.id).toBe(first.body.data.id);
  });

  it("answers 404 agent_not_found for an unknown or deleted agent", async () => {
    expect((await app.api("GET", "/api/v1/agents/agt_missing/playbooks", { key })).body.code).toBe("agent_not_found");
    const gone = (await app.api("POST", "/api/v1/agents", { key, body: { name: "Gone" } })).body.data.id;
    await app.api("DELETE", `/api/v1/agents/${gone}`, { key });
    const res = await app.api("POST", `/api/v1/agents/${gone}/playbooks`, { key, body: { name: "x", description: "x" } });
    expect(res.status).toBe(404);
    expect(res.body.code).toBe("agent_not_found");
  });
});

describe("the graph", () => {
  it("round-trips a full overwrite", async () => {
    const pb = await createPlaybook();
    const graph = orderGraph(pb.flowId);
    const put = await putGraph(pb.id, graph);
    expect(put.status).toBe(200);
    expect(put.body).toEqual({ success: true, data: graph, message: "Saved graph." });
    expect((await app.api("GET", `${base()}/${pb.id}/graph`, { key })).body.data).toEqual(graph);

    const smaller = { flowId: pb.flowId, nodes: [node("start", "start"), node("end", "end")], connections: [link("c0", "start", "end")] };
    expect((await putGraph(pb.id, smaller)).body.data).toEqual(smaller);
    expect((await app.api("GET", `${base()}/${pb.id}/graph`, { key })).body.data).toEqual(smaller);
  });

  it("fills in a missing position and sourceHandle", async () => {
    const pb = await createPlaybook();
    const res = await putGraph(pb.id, { flowId: pb.flowId, nodes: [{ id: "s", type: "start", data: {} }, { id: "e", type: "end", data: {} }], connections: [{ id: "c", source: "s", target: "e" }] });
    expect(res.status).toBe(200);
    expect(res.body.data.nodes[0]).toEqual({ id: "s", type: "start", position: { x: 0, y: 0 }, data: {} });
    expect(res.body.data.connections[0]).toEqual({ id: "c", source: "s", target: "e", sourceHandle: null, targetHandle: null });
  });

  it("answers 409 flow_mismatch for another flowId", async () => {
    const pb = await createPlaybook();
    const res = await putGraph(pb.id, orderGraph("flw_someone_else"));
    expect(res.status).toBe(409);
    expect(res.body).toMatchObject({ code: "flow_mismatch", flowId: pb.flowId });
  });

  it("uses the playbook's inputSchema properties as variables set before start", async () => {
    const pb = await createPlaybook({ inputSchema: { type: "object", properties: { store: { type: "string" } } } });
    const graph = { flowId: pb.flowId, nodes: [node("s", "start"), node("m", "message", { text: "Welcome to {store}" }), node("e", "end")], connections: [link("a", "s", "m"), link("b", "m", "e")] };
    expect((await putGraph(pb.id, graph)).status).toBe(200);
    const other = await createPlaybook();
    const refused = await putGraph(other.id, { ...graph, flowId: other.flowId });
    expect(refused.body.errors).toEqual([{ field: "nodes[1].data.text", message: "uses store before it is gathered on every path from start" }]);
  });
});

describe("graph validation names the field of every problem", () => {
  let pb: { id: string; flowId: string };
  beforeAll(async () => {
    pb = await createPlaybook();
  });

  async function problemsOf(change: (g: ReturnType<typeof orderGraph>) => void) {
    const graph = orderGraph(pb.flowId);
    change(graph);
    const res = await putGraph(pb.id, graph);
    expect(res.status).toBe(400);
    expect(res.body.code).toBe("validation_error");
    return res.body.errors as { field: string; message: string }[];
  }
  const fields = async (change: (g: ReturnType<typeof orderGraph>) => void) => (await problemsOf(change)).map((e) => e.field);

  it("unknown node type", async () => {
    expect(await fields((g) => (g.nodes[3]!.type = "webhook"))).toEqual(["nodes[3].type"]);
  });

  it("node data against its type's schema", async () => {
    const errors = await problemsOf((g) => (g.nodes[1]!.data = { variable: "item", prompt: "What?", slotType: "text", dtmf: { enabled: true, submitKey: "0" } }));
    expect(errors).toEqual([{ field: "nodes[1].data.dtmf.submitKey", message: "must be one of #, *" }]);
  });

  it("duplicate node id", async () => {
    expect(await fields((g) => (g.nodes[6]!.id = "end"))).toContain("nodes[6].id");
  });

  it("duplicate connection id", async () => {
    expect(await fields((g) => (g.connections[6]!.id = "c0"))).toEqual(["connections[6].id"]);
  });

  it("connection to a missing node", async () => {
    expect(await fields((g) => (g.connections[6]!.target = "nowhere"))).toEqual(["connections[6].target"]);
  });

  it("connection from a missing node", async () => {
    expect(await fields((g) => (g.connections[6]!.source = "nowhere"))).toEqual(["connections[6].source"]);
  });

  it("unknown sourceHandle for the node type", async () => {
    expect(await problemsOf((g) => (g.connections[3]!.sourceHandle = "maybe"))).toEqual([
      { field: "connections[3].sourceHandle", message: "must be one of yes, no for a confirm node" },
    ]);
  });

  it("no start node", async () => {
    expect(await fields((g) => (g.nodes[0] = node("start", "message", { text: "Hi" })))).toEqual(["nodes"]);
  });

  it("a second start node", async () => {
    expect(await fields((g) => g.nodes.push(node("start2", "start")))).toEqual(["nodes[7].type"]);
  });

  it("unreachable node", async () => {
    expect(await fields((g) => g.nodes.push(node("lonely", "end")))).toEqual(["nodes[7]"]);
  });

  it("non-terminal node without a way out", async () => {
    const errors = await problemsOf((g) => {
      g.nodes.push(node("sorry", "message", { text: "Sorry about that." }));
      g.connections[3]!.target = "sorry";
    });
    expect(errors).toEqual([{ field: "nodes[7]", message: expect.stringContaining("has no way out") }]);
  });

  it("missing required confirm handle", async () => {
    expect(await problemsOf((g) => g.connections.splice(3, 1))).toEqual([{ field: "nodes[2]", message: "needs a connection from its no exit" }]);
  });

  it("missing branch condition handle", async () => {
    const errors = await problemsOf((g) => {
      g.nodes[4] = node("bye", "branch", {
        conditions: [
          { handle: "soon", variable: "eta", operator: "lt", value: 20 },
          { handle: "later", variable: "eta", operator: "gte", value: 20 },
        ],
      });
      g.connections[6]!.sourceHandle = "soon";
    });
    expect(errors).toEqual([{ field: "nodes[4].data.conditions[1].handle", message: "no connection leaves by later" }]);
  });

  it("unknown skill, including another agent's", async () => {
    const otherAgent = (await app.api("POST", "/api/v1/agents", { key, body: { name: "Other" } })).body.data.id;
    const foreign = await insertSkill(organizationId, otherAgent, "not_ours");
    expect(await problemsOf((g) => (g.nodes[3]!.data.skillId = foreign))).toEqual([{ field: "nodes[3].data.skillId", message: `${foreign} is not a skill of this agent` }]);
  });

  it("loop with no exit", async () => {
    const errors = await problemsOf((g) => {
      g.nodes.splice(3);
      g.connections = [link("c0", "start", "item"), link("c1", "item", "check"), link("c2", "check", "item", "yes"), link("c3", "check", "item", "no")];
    });
    expect(errors).toEqual([{ field: "nodes[1]", message: expect.stringContaining("loop with no way out (item, check)") }]);
  });

  it("slot used before it is gathered", async () => {
    expect(await problemsOf((g) => (g.nodes[2]!.data.prompt = "One {item} for {pickup_time}?"))).toEqual([
      { field: "nodes[2].data.prompt", message: "uses pickup_time before it is gathered on every path from start" },
    ]);
  });

  it("skill output used on the error path", async () => {
    expect(await fields((g) => (g.nodes[6]!.data.message = "Sorry, {eta} is unknown"))).toEqual(["nodes[6].data.message"]);
  });

  it("skill input using a variable not yet gathered", async () => {
    expect(await fields((g) => (g.nodes[3]!.data.inputs = { item: "{size}" }))).toEqual(["nodes[3].data.inputs.item"]);
  });

  it("branch condition on a variable not yet gathered", async () => {
    const errors = await fields((g) => {
      g.nodes[4] = node("bye", "branch", { conditions: [{ handle: "vip", variable: "tier", operator: "eq", value: "gold" }] });
      g.connections[6]!.sourceHandle = "vip";
    });
    expect(errors).toEqual(["nodes[4].data.conditions[0].variable"]);
  });

  it("a body that is not a graph", async () => {
    const res = await putGraph(pb.id, { flowId: pb.flowId, nodes: [{ id: "s" }], connections: "none" });
    expect(res.status).toBe(400);
    expect(res.body.errors.map((e: { field: string }) => e.field).sort()).toEqual(["connections", "nodes[0].data", "nodes[0].type"]);
  });
});

describe("tenancy and scopes", () => {
  it("answers 404 on every route for another organization's agent and playbook", async () => {
    const pb = await createPlaybook();
    const stranger = (await app.newOrg("Stranger")).key;
    const p = `${base()}/${pb.id}`;
    const calls: [string, string, unknown?][] = [
      ["GET", base()],
      ["POST", base(), { name: "Mine now", description: "x" }],
      ["GET", p],
      ["PATCH", p, { name: "Mine now" }],
      ["DELETE", p],
      ["GET", `${p}/graph`],
      ["PUT", `${p}/graph`, orderGraph(pb.flowId)],
    ];
    for (const [method, path, body] of calls) {
      const res = await app.api(method, path, { key: stranger, body });
      expect({ method, path, status: res.status, code: res.body.code }).toEqual({ method, path, status: 404, code: "agent_not_found" });
    }
    const strangerAgent = (await app.api("POST", "/api/v1/agents", { key: stranger, body: { name: "Theirs" } })).body.data.id;
    const viaOwnAgent = await app.api("GET", `/api/v1/agents/${strangerAgent}/playbooks/${pb.id}`, { key: stranger });
    expect(viaOwnAgent.status).toBe(404);
    expect(viaOwnAgent.body.code).toBe("playbook_not_found");
    expect((await app.api("GET", p, { key })).status).toBe(200);
  });

  it("needs playbooks:read to read and playbooks:write to change", async () => {
    const pb = await createPlaybook();
    const reader = await app.keyWith(organizationId, ["playbooks:read"]);
    expect((await app.api("GET", `${base()}/${pb.id}/graph`, { key: reader })).status).toBe(200);
    const write = await putGraph(pb.id, orderGraph(pb.flowId), reader);
    expect(write.status).toBe(403);
    expect(write.body).toMatchObject({ code: "insufficient_scope", requiredScope: "playbooks:write" });
    const writerOnly = await app.keyWith(organizationId, ["playbooks:write"]);
    const read = await app.api("GET", base(), { key: writerOnly });
    expect(read.status).toBe(403);
    expect(read.body.requiredScope).toBe("playbooks:read");
  });
});
