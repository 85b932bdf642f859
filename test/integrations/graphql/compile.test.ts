// Bindings over the GraphQL stand-in's discovered schema, checked by the app's binding rules and compiled by the
// plugin: a fixed document whose caller values are variables, checked against the operation's signature.
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { buildSchema } from "graphql";
import { catalogOf } from "../../../plugins/graphql/catalog.ts";
import { PluginError, type DiscoveredSchema } from "../../../src/api/integrations/contract.ts";
import { type GraphqlStandIn, startGraphqlStandIn } from "../../support/graphql-stand-in.ts";
import { bearer, context, plugin, validated } from "./support.ts";

let shop: GraphqlStandIn;
let schema: DiscoveredSchema;
beforeAll(async () => {
  shop = await startGraphqlStandIn();
  schema = await plugin.discover!(context(bearer(shop.url)));
});
afterAll(() => shop?.stop());

const compile = (input: Parameters<typeof validated>[1]) => plugin.compile!(validated(schema, input));
const refusal = (input: Parameters<typeof validated>[1]) => {
  try {
    compile(input);
  } catch (error) {
    expect(error).toBeInstanceOf(PluginError);
    return { code: (error as PluginError).code, message: (error as PluginError).message, fields: (error as PluginError).fields };
  }
  throw new Error("compiled");
};

describe("GraphQL compile (GraphQL stand-in)", () => {
  it("compiles a read by id with a one-hop projection into a fixed query with one variable", () => {
    const op = compile({
      operation: "Query.order",
      inputs: [{ param: "order_id", arg: "id" }],
      projection: [
        { path: "status", leaf: "status" },
        { path: ["customer", "name"], leaf: "customer_name" },
        { path: ["customer", "email"], leaf: "customer_email" },
      ],
    });
    expect(op).toEqual({
      operation: "Query.order",
      document: "query Bound($id: ID!) {\n  order(id: $id) {\n    status\n    customer {\n      name\n      email\n    }\n  }\n}",
      root: "order",
      variables: [{ name: "id", type: "ID!", param: "order_id" }],
      select: [
        { path: ["status"], leaf: "status" },
        { path: ["customer", "name"], leaf: "customer_name" },
        { path: ["customer", "email"], leaf: "customer_email" },
      ],
    });
  });

  it("binds an argument that is no field of the type through its argument field", () => {
    const op = compile({ operation: "Query.ordersByEmail", inputs: [{ param: "caller_email", arg: "email" }], projection: [{ path: "name", leaf: "order_name" }, { path: "customer", leaf: "customer_id" }] });
    expect(op.document).toBe("query Bound($email: String!) {\n  ordersByEmail(email: $email) {\n    name\n    customer {\n      id\n    }\n  }\n}");
    expect(op.select).toEqual([
      { path: ["name"], leaf: "order_name" },
      { path: ["customer", "id"], leaf: "customer_id" },
    ]);
  });

  it("compiles a create from scalar arguments, a constant staying a variable too", () => {
    const op = compile({
      operation: "Mutation.createNote",
      isWrite: true,
      inputObjectMap: [
        { field: "orderId", param: "order_id" },
        { field: "text", constant: "Caller asked about delivery" },
      ],
      projection: [{ path: "id", leaf: "note_id" }],
    });
    expect(op.document).toBe("mutation Bound($orderId: ID!, $text: String!) {\n  createNote(orderId: $orderId, text: $text) {\n    id\n  }\n}");
    expect(op.variables).toEqual([
      { name: "orderId", type: "ID!", param: "order_id" },
      { name: "text", type: "String!", constant: "Caller asked about delivery" },
    ]);
  });

  it("fills an input-object argument from the bound fields and the update's key", () => {
    const op = compile({
      operation: "Mutation.updateOrder",
      isWrite: true,
      inputObjectMap: [{ field: "status", param: "new_status" }],
      sqlWrite: { keyColumn: "id", keyParam: "order_id" },
      projection: [{ path: "status", leaf: "status" }],
    });
    expect(op.document).toBe("mutation Bound($input: UpdateOrderInput!) {\n  updateOrder(input: $input) {\n    status\n  }\n}");
    expect(op.variables).toEqual([
      {
        name: "input",
        type: "UpdateOrderInput!",
        fields: [
          { field: "status", type: "OrderStatus!", param: "new_status" },
          { field: "id", type: "ID!", param: "order_id" },
        ],
      },
    ]);
  });

  it("refuses a binding that leaves out a required argument, naming it", () => {
    expect(refusal({ operation: "Query.ordersByEmail", projection: [{ path: "name", leaf: "name" }] })).toMatchObject({
      code: "invalid_binding",
      message: 'the document does not fit the API: Argument "Query.ordersByEmail(email:)" of type "String!" is required, but it was not provided.',
    });
    expect(refusal({ operation: "Mutation.updateOrder", isWrite: true, inputObjectMap: [{ field: "reason", param: "why" }], sqlWrite: { keyColumn: "id", keyParam: "order_id" }, projection: [{ path: "id", leaf: "id" }] })).toMatchObject({
      code: "invalid_binding",
      message: "Mutation.updateOrder needs input.status: bind each to a param or a constant",
    });
  });

  it("refuses an argument the operation does not take, projecting an argument field, and sqlSearch", () => {
    expect(refusal({ operation: "Query.order", inputs: [{ param: "e", arg: "email" }], projection: [{ path: "name", leaf: "name" }] })).toMatchObject({
      code: "invalid_binding",
      message: 'Query.order takes no argument "email"; it takes id: ID!',
      fields: ["inputs[0].arg"],
    });
    expect(refusal({ operation: "Query.ordersByEmail", inputs: [{ param: "e", arg: "email" }], projection: [{ path: "email", leaf: "email" }] })).toMatchObject({
      code: "invalid_binding",
      message: "email is an argument of the operation, not a field Order returns",
      fields: ["projection[0].path"],
    });
    // The app refuses sqlSearch already (no GraphQL field is an index); compile refuses it too, whoever calls it.
    const read = validated(schema, { operation: "Query.order", inputs: [{ param: "id", arg: "id" }], projection: [{ path: "name", leaf: "name" }] });
    expect(() => plugin.compile!({ ...read, search: { field: "id", param: "id", limit: 1 } })).toThrow("a GraphQL read takes inputs naming its arguments, not sqlSearch");
  });

  it("refuses an operation whose description lost its signature", () => {
    const stripped = { ...schema, operations: schema.operations.map((o) => ({ ...o, description: "edited" })) };
    expect(() => plugin.compile!(validated(stripped, { operation: "Query.order", inputs: [{ param: "id", arg: "id" }], projection: [{ path: "name", leaf: "name" }] }))).toThrow(
      "Query.order carries no GraphQL signature: discover the API again",
    );
  });

  it("keeps the API's own root type names (QueryRoot, MutationRoot)", () => {
    const shopify = catalogOf(
      buildSchema(`
        schema { query: QueryRoot mutation: MutationRoot }
        type QueryRoot { order(id: ID!): Order }
        type MutationRoot { orderClose(id: ID!): Order }
        type Order { id: ID! name: String! closed: Boolean! }
      `),
      context({}).log,
    );
    expect(shopify.operations.map((o) => o.name)).toEqual(["QueryRoot.order", "MutationRoot.orderClose"]);
    const read = plugin.compile!(validated(shopify, { operation: "QueryRoot.order", inputs: [{ param: "order_id", arg: "id" }], projection: [{ path: "name", leaf: "name" }] }));
    expect(read.document).toBe("query Bound($id: ID!) {\n  order(id: $id) {\n    name\n  }\n}");
    const write = plugin.compile!(validated(shopify, { operation: "MutationRoot.orderClose", isWrite: true, inputObjectMap: [{ field: "id", param: "order_id" }], projection: [{ path: "closed", leaf: "closed" }] }));
    expect(write.document).toBe("mutation Bound($id: ID!) {\n  orderClose(id: $id) {\n    closed\n  }\n}");
  });
});
