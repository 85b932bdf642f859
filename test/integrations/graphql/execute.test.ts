// Compiled GraphQL operations run against the stand-in: variables assembled from the caller's arguments (and only
// ever sent as variables), answers projected onto the leaves, and every way the API says no mapped to a skill error.
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { type CompiledOperation, type DiscoveredSchema, PluginError } from "../../../src/api/integrations/contract.ts";
import type { GraphqlOperation } from "../../../plugins/graphql/operation.ts";
import { MAX_ANSWER_BYTES } from "../../../plugins/graphql/transport.ts";
import { type GraphqlStandIn, startGraphqlStandIn } from "../../support/graphql-stand-in.ts";
import { bearer, context, plugin, validated } from "./support.ts";

let shop: GraphqlStandIn;
let schema: DiscoveredSchema;
let byId: GraphqlOperation;
let byEmail: CompiledOperation;
let createNote: GraphqlOperation;
beforeAll(async () => {
  shop = await startGraphqlStandIn();
  schema = await plugin.discover!(context(bearer(shop.url)));
  byId = plugin.compile!(
    validated(schema, {
      operation: "Query.order",
      inputs: [{ param: "order_id", arg: "id" }],
      projection: [
        { path: "status", leaf: "status" },
        { path: ["customer", "name"], leaf: "customer_name" },
      ],
    }),
  ) as GraphqlOperation;
  byEmail = plugin.compile!(validated(schema, { operation: "Query.ordersByEmail", inputs: [{ param: "caller_email", arg: "email" }], projection: [{ path: "name", leaf: "order" }, { path: "total", leaf: "total" }] }));
  createNote = plugin.compile!(
    validated(schema, {
      operation: "Mutation.createNote",
      isWrite: true,
      inputObjectMap: [
        { field: "orderId", param: "order_id" },
        { field: "text", param: "note" },
      ],
      projection: [{ path: "id", leaf: "note_id" }, { path: "text", leaf: "text" }],
    }),
  ) as GraphqlOperation;
});
afterAll(() => shop?.stop());

const run = (op: CompiledOperation, args: Record<string, unknown>, options: Parameters<typeof context>[1] = {}, credentials: Record<string, unknown> = bearer(shop.url)) => plugin.execute(op, args, context(credentials, options));
const failure = async (promise: Promise<unknown>) => {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(PluginError);
  return { code: (error as PluginError).code, message: (error as PluginError).message };
};

describe("GraphQL execute (GraphQL stand-in)", () => {
  it("answers one record projected onto the leaves, across the one hop", async () => {
    expect(await run(byId, { order_id: "1001" })).toEqual({ rows: [{ status: "SHIPPED", customer_name: "Grace Hopper" }] });
    // A number said for an ID travels as the string GraphQL expects.
    expect(await run(byId, { order_id: 1002 })).toEqual({ rows: [{ status: "PENDING", customer_name: "Alan Turing" }] });
    expect(shop.requests.at(-1)).toMatchObject({ variables: { id: "1002" }, authorization: "Bearer shop-token-123456" });
  });

  it("answers a list as rows, and null as no rows", async () => {
    expect(await run(byEmail, { caller_email: "grace@example.com" })).toEqual({
      rows: [
        { order: "#1001", total: 42.5 },
        { order: "#1003", total: 99.99 },
      ],
    });
    expect(await run(byEmail, { caller_email: "nobody@example.com" })).toEqual({ rows: [] });
    expect(await run(byId, { order_id: "9999" })).toEqual({ rows: [] });
  });

  it("runs a mutation with its values as variables", async () => {
    const before = shop.notes.length;
    expect(await run(createNote, { order_id: "1001", note: "Leave it with the neighbour" })).toEqual({ rows: [{ note_id: `n${before + 1}`, text: "Leave it with the neighbour" }] });
    expect(shop.notes.at(-1)).toEqual({ id: `n${before + 1}`, orderId: "1001", text: "Leave it with the neighbour" });
  });

  it("never puts a caller's value into the document: injection attempts stay variables", async () => {
    const attempts = ['1001") { __schema { types { name } } } #', '"){ __schema', "1001 } mutation { createNote(orderId: 1001, text: \"x\") { id } }"];
    for (const attempt of attempts) {
      const notes = shop.notes.length;
      expect(await run(byId, { order_id: attempt })).toEqual({ rows: [] });
      const sent = shop.requests.at(-1)!;
      expect(sent.query).toBe(byId.document);
      expect(sent.variables).toEqual({ id: attempt });
      expect(shop.notes.length).toBe(notes);
    }
    const note = '"}) { id } __schema { types { name } } #';
    const answer = await run(createNote, { order_id: "1002", note });
    expect(answer.rows[0]!.text).toBe(note);
    expect(shop.requests.at(-1)!.query).toBe(createNote.document);
  });

  it("maps the API's errors to skill errors", async () => {
    expect(await failure(run(byId, { order_id: "missing" }))).toEqual({ code: "not_found", message: "the GraphQL API answered: Order not found" });
    expect(await failure(run(byId, { order_id: "forbidden" }))).toMatchObject({ code: "refused" });
    expect(await failure(run(byId, { order_id: "broken" }))).toEqual({ code: "unavailable", message: "the GraphQL API answered: upstream database exploded" });
    expect(await failure(run(createNote, { order_id: "4040", note: "hi" }))).toMatchObject({ code: "invalid_input", message: "the GraphQL API answered: Order 4040 does not exist" });
    // A value of the wrong type for its variable: graphql-js's coercion error.
    const update = plugin.compile!(validated(schema, { operation: "Mutation.updateOrder", isWrite: true, inputObjectMap: [{ field: "status", param: "new_status" }], sqlWrite: { keyColumn: "id", keyParam: "order_id" }, projection: [{ path: "status", leaf: "status" }] }));
    expect(await failure(run(update, { order_id: "1002", new_status: "LOST" }))).toMatchObject({ code: "invalid_input", message: expect.stringContaining('Variable "$input" has invalid value') });
    expect(await run(update, { order_id: "1002", new_status: "PAID" })).toEqual({ rows: [{ status: "PAID" }] });
    // A document the API no longer takes (the API changed since the binding was saved).
    expect(await failure(run({ ...byId, document: "query Bound($id: ID!) { order(id: $id) { colour } }" }, { order_id: "1001" }))).toMatchObject({ code: "invalid_binding" });
  });

  it("refuses wrong credentials, and asks for a required value the caller did not give", async () => {
    expect(await failure(run(byId, { order_id: "1001" }, {}, bearer(shop.url, "wrong-token")))).toEqual({ code: "refused", message: "the GraphQL API refused the credentials (HTTP 401)" });
    expect(await failure(run(byId, { order_id: "1001" }, {}, { endpoint: shop.url, authType: "bearer" }))).toMatchObject({ code: "refused", message: "authType bearer needs a token" });
    expect(await failure(run(byId, {}))).toEqual({ code: "invalid_input", message: "order_id is needed" });
  });

  it("answers timeout when the API hangs past the deadline", async () => {
    const slow = plugin.compile!(validated(schema, { operation: "Query.slowOrder", inputs: [{ param: "order_id", arg: "id" }], projection: [{ path: "name", leaf: "name" }] }));
    const controller = new AbortController();
    const pending = run(slow, { order_id: "1001" }, { signal: controller.signal });
    await Bun.sleep(20);
    controller.abort(new Error("deadline"));
    expect(await failure(pending)).toEqual({ code: "timeout", message: "the GraphQL API did not answer in time" });
  });

  it("answers unavailable for an unreachable API, a 5xx and an answer past the size cap", async () => {
    const big = Bun.serve({
      port: 0,
      hostname: "127.0.0.1",
      fetch: (request) =>
        new URL(request.url).pathname === "/down"
          ? new Response("bad gateway", { status: 502 })
          : new Response(new ReadableStream({ pull: (c) => c.enqueue(new Uint8Array(1024 * 1024).fill(32)) }), { headers: { "content-type": "application/json" } }),
    });
    try {
      expect(await failure(run(byId, { order_id: "1" }, {}, bearer(`http://127.0.0.1:${big.port}/down`)))).toEqual({ code: "unavailable", message: "the GraphQL API answered HTTP 502" });
      expect(await failure(run(byId, { order_id: "1" }, {}, bearer(`http://127.0.0.1:${big.port}/graphql`)))).toEqual({ code: "unavailable", message: `the GraphQL API's answer is larger than ${MAX_ANSWER_BYTES} bytes` });
    } finally {
      await big.stop(true);
    }
    expect(await failure(run(byId, { order_id: "1" }, {}, bearer(`http://127.0.0.1:${big.port}/graphql`)))).toMatchObject({ code: "unavailable", message: expect.stringContaining("the GraphQL API could not be reached") });
  });

  it("refuses an operation that is not a compiled GraphQL operation", async () => {
    expect(await failure(run({ operation: "Query.order", sql: "select 1" }, {}))).toMatchObject({ code: "invalid_binding" });
  });
});
