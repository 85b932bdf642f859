// Discovery by introspection against the GraphQL stand-in: object types reachable from the root fields, their leaf
// fields normalized, single object fields as references, root fields as read and write operations with their
// signature, and arguments named like no field listed as argument fields so a binding can name them.
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { Value } from "@sinclair/typebox/value";
import type { DiscoveredSchema } from "../../../src/api/integrations/contract.ts";
import { DiscoveredSchemaShape } from "../../../src/api/integrations/shape.ts";
import { type GraphqlStandIn, startGraphqlStandIn } from "../../support/graphql-stand-in.ts";
import { bearer, context, plugin } from "./support.ts";

let shop: GraphqlStandIn;
let schema: DiscoveredSchema;
beforeAll(async () => {
  shop = await startGraphqlStandIn();
  schema = await plugin.discover!(context(bearer(shop.url)));
});
afterAll(() => shop?.stop());

const object = (name: string) => schema.objects.find((o) => o.name === name)!;
const field = (o: string, f: string) => object(o).fields.find((x) => x.name === f);

describe("GraphQL discovery (GraphQL stand-in)", () => {
  it("answers a schema the app accepts, with the object types the root fields reach", () => {
    expect(Value.Check(DiscoveredSchemaShape, schema)).toBe(true);
    expect(schema.objects.map((o) => o.name).sort()).toEqual(["Customer", "Note", "Order"]);
    expect(object("Order").description).toBe("An order placed in the shop");
  });

  it("normalizes leaf fields: non-null is required, enums list their values, an ID is unique, scalars by name", () => {
    expect(field("Order", "id")).toMatchObject({ type: "string", nativeType: "ID!", required: true, nullable: false, unique: true, primaryKey: true, generated: true });
    expect(field("Order", "status")).toMatchObject({ type: "string", nativeType: "OrderStatus!", required: true, allowedValues: ["PENDING", "PAID", "SHIPPED", "DELIVERED", "CANCELLED"] });
    expect(field("Order", "total")).toMatchObject({ type: "number", required: false, nullable: true });
    expect(field("Order", "placedAt")).toMatchObject({ type: "datetime", nativeType: "DateTime" });
    // A list of objects is not a one-hop relationship; it is left out.
    expect(field("Order", "lines")).toBeUndefined();
  });

  it("classes sensitive fields by name", () => {
    expect(field("Customer", "email")?.sensitivity).toBe("contact");
    expect(field("Customer", "phone")?.sensitivity).toBe("contact");
    expect(field("Customer", "name")?.sensitivity).toBe("contact");
    expect(field("Customer", "cardLast4")?.sensitivity).toBe("payment_card");
    expect(field("Order", "status")?.sensitivity).toBeNull();
  });

  it("turns a single object field into a reference to the target's id, and a relationship", () => {
    expect(field("Order", "customer")).toMatchObject({ references: { object: "Customer", field: "id" }, nativeType: "Customer", generated: true });
    expect(schema.relationships).toEqual([{ name: "Order.customer", from: { object: "Order", field: "customer" }, to: { object: "Customer", field: "id" } }]);
  });

  it("makes each Query field a read and each Mutation field a write, the effect read from its name", () => {
    const ops = Object.fromEntries(schema.operations.map((o) => [o.name, [o.object, o.kind, o.effect ?? null]]));
    expect(ops).toEqual({
      "Query.order": ["Order", "read", null],
      "Query.ordersByEmail": ["Order", "read", null],
      "Query.slowOrder": ["Order", "read", null],
      "Mutation.createNote": ["Note", "write", "create"],
      "Mutation.updateOrder": ["Order", "write", "update"],
      "Mutation.deleteNote": ["Note", "write", "delete"],
    });
    // A root field that answers a scalar has no object to bind: it is left out.
    expect(schema.operations.some((o) => o.name === "Query.shopName")).toBe(false);
    const slow = schema.operations.find((o) => o.name === "Query.slowOrder")!;
    expect(slow.description).toBe("Never answers: the resolver waits until the request goes away\n\nGraphQL: type Query { slowOrder(id: ID!): Order }");
    const update = schema.operations.find((o) => o.name === "Mutation.updateOrder")!;
    expect(update.description).toEndWith("GraphQL: type Mutation { updateOrder(input: UpdateOrderInput!): Order } input UpdateOrderInput { id: ID! status: OrderStatus! reason: String }");
  });

  it("lists an argument named like no field of the type as an argument field a binding can name", () => {
    expect(field("Order", "email")).toMatchObject({ type: "string", nativeType: "String!", generated: false, required: false, sensitivity: "contact", description: "An argument of Query.ordersByEmail, not a field Order returns" });
    expect(field("Order", "reason")).toMatchObject({ generated: false, nativeType: "String" });
    // Arguments that are fields already (id; status inside the update's input) are not repeated.
    expect(object("Order").fields.filter((f) => f.name === "id" || f.name === "status")).toHaveLength(2);
    expect(field("Note", "orderId")).toMatchObject({ generated: true, nativeType: "ID!" });
  });
});
