// A GraphQL API end to end over the real app, against the GraphQL stand-in (graphql-js behind GraphQL over HTTP):
// connect with a bearer token, discover by introspection, bind a read of an order by id with a one-hop projection,
// and have a conversation answer "where is my order" through it; a bound mutation lands disabled for review.
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { createLogger } from "../../../src/platform/log.ts";
import { agentBuilder } from "../../support/agent-builder.ts";
import { startTestApp, type TestApp } from "../../support/app.ts";
import { type GraphqlStandIn, startGraphqlStandIn } from "../../support/graphql-stand-in.ts";

const TOKEN = "shop-token-7d1f0a9c";
let app: TestApp;
let shop: GraphqlStandIn;
const logLines: string[] = [];

beforeAll(async () => {
  shop = await startGraphqlStandIn({ token: TOKEN });
  app = await startTestApp({ EGRESS_ALLOWLIST: "127.0.0.1", LOG_LEVEL: "debug" }, { log: createLogger("debug", (line) => logLines.push(line)) });
});
afterAll(async () => {
  await app?.stop();
  await shop?.stop();
});

describe("a GraphQL API bound as skills (GraphQL stand-in)", () => {
  let key: string;
  let agentId: string;
  const api = (method: string, path: string, body?: unknown) => app.api(method, `/api/v1${path}`, { key, body });

  it("connects with a token it never shows, and discovers the API by introspection", async () => {
    ({ key } = await app.newOrg("Shop on GraphQL"));
    const catalog = await api("GET", "/integrations/catalog");
    expect(JSON.stringify(catalog.body)).toContain('"graphql"');
    const connected = await api("POST", "/integrations/graphql/connect", { credentials: { endpoint: shop.url, authType: "bearer", token: TOKEN } });
    expect(connected.status).toBe(200);
    const list = await api("GET", "/integrations");
    expect(list.body.data.find((r: { kind: string }) => r.kind === "graphql")).toMatchObject({ status: "connected", accountLabel: new URL(shop.url).host });

    const discovered = await api("POST", "/integrations/graphql/discover", {});
    expect(discovered.status).toBe(200);
    expect(discovered.body.data).toMatchObject({ objectCount: 3, edgeCount: 1, operationCount: 6 });
    const order = await api("GET", "/integrations/graphql/objects/Order");
    expect(order.body.data.fields.map((f: { name: string }) => f.name)).toEqual(expect.arrayContaining(["id", "status", "customer", "email"]));
    for (const text of [JSON.stringify(connected.body), JSON.stringify(list.body), JSON.stringify(discovered.body)]) expect(text).not.toContain(TOKEN);
  });

  it("binds a read by id projecting the status and the customer's name, and a mutation that lands disabled", async () => {
    const b = agentBuilder(app, key);
    const agent = await b.agent({ name: "Shop desk", greeting: "Hi! I can tell you where your order is." });
    agentId = agent.id;
    const read = await api("POST", `/agents/${agentId}/integrations/graphql/bindings`, {
      toolName: "order_status",
      description: "Look up where the caller's order is by its order number",
      operation: "Query.order",
      inputs: [{ param: "order_id", arg: "id" }],
      projection: [
        { path: "status", leaf: "status" },
        { path: ["customer", "name"], leaf: "customer_name" },
      ],
    });
    expect(read.status).toBe(200);
    expect(read.body.data).toMatchObject({ skillType: "native_graphql", isWrite: false, isEnabled: true, allowedFields: ["status", "customer_name"], requiredParams: ["order_id"] });

    const note = await api("POST", `/agents/${agentId}/integrations/graphql/bindings`, {
      toolName: "leave_order_note",
      description: "Leave a note on the caller's order",
      operation: "Mutation.createNote",
      isWrite: true,
      enabled: true,
      inputObjectMap: [
        { field: "orderId", param: "order_id" },
        { field: "text", param: "message" },
      ],
      projection: [{ path: "id", leaf: "note_id" }],
    });
    expect(note.status).toBe(200);
    expect(note.body.data).toMatchObject({ skillType: "native_graphql", isWrite: true, isEnabled: false, requiresConfirmation: true });

    // A projection onto an argument, not a returned field, is refused naming it.
    const wrong = await api("POST", `/agents/${agentId}/integrations/graphql/bindings`, {
      toolName: "orders_by_email",
      operation: "Query.ordersByEmail",
      inputs: [{ param: "caller_email", arg: "email" }],
      projection: [{ path: "email", leaf: "email" }],
    });
    expect(wrong.status).toBe(400);
    expect(wrong.body.errors).toEqual([{ field: "projection[0].path", message: "email is an argument of the operation, not a field Order returns" }]);
  });

  it("answers 'where is my order' in a conversation through the bound query", async () => {
    const run = await agentBuilder(app, key).simulate(agentId, { transcript: ["Where is my order 1001?"] });
    expect(run.status).toBe(200);
    const call = run.events.find((e) => e.eventType === "tool_call")!;
    expect(call.payload).toMatchObject({ integration: "graphql", operation: "Query.order", arguments: { order_id: "1001" }, status: "ok", result: { status: "SHIPPED", customer_name: "Grace Hopper" } });
    expect(run.said.join(" ")).toContain("SHIPPED");
    const sent = shop.requests.at(-1)!;
    expect(sent.query).toBe("query Bound($id: ID!) {\n  order(id: $id) {\n    status\n    customer {\n      name\n    }\n  }\n}");
    expect(sent.variables).toEqual({ id: "1001" });
    expect(sent.authorization).toBe(`Bearer ${TOKEN}`);
    expect(run.raw).not.toContain(TOKEN);
    expect(logLines.join("\n")).not.toContain(TOKEN);
  });

  it("refuses to connect to an endpoint outside EGRESS_ALLOWLIST, saying so", async () => {
    const outside = new URL(shop.url);
    outside.hostname = "127.0.0.2";
    const refused = await api("POST", "/integrations/graphql/connect", { credentials: { endpoint: outside.href, authType: "bearer", token: TOKEN } });
    expect(refused.status).toBe(400);
    expect(refused.body.code).toBe("connection_failed");
    expect(refused.body.detail).toContain("add it to EGRESS_ALLOWLIST to allow it");
    expect(JSON.stringify(refused.body)).not.toContain(TOKEN);
  });
});
