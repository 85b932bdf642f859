// A GraphQL service standing in for a shop's API, following the GraphQL specification (October 2021) and GraphQL
// over HTTP: POST {query, variables} to /graphql, answered {data, errors}; a request that does not parse or validate
// is answered 400, one that runs is answered 200 with whatever errors its resolvers raised. It is graphql-js's own
// executor over a small schema: orders with their customer, looked up by id or by email, and notes created on them.
// Bearer auth; introspection on unless turned off (the NoSchemaIntrospectionCustomRule servers use in production).
import {
  buildSchema,
  execute,
  GraphQLError,
  NoSchemaIntrospectionCustomRule,
  parse,
  specifiedRules,
  validate,
  type DocumentNode,
} from "graphql";

export const SHOP_SDL = `
  "An order placed in the shop"
  type Order {
    id: ID!
    name: String!
    status: OrderStatus!
    total: Float
    placedAt: DateTime
    customer: Customer
    lines: [OrderLine!]!
  }
  enum OrderStatus { PENDING PAID SHIPPED DELIVERED CANCELLED }
  scalar DateTime
  type OrderLine { sku: String! quantity: Int! }
  type Customer { id: ID! name: String! email: String! phone: String cardLast4: String }
  type Note { id: ID! orderId: ID! text: String! }
  input UpdateOrderInput { id: ID! status: OrderStatus! reason: String }
  type Query {
    order(id: ID!): Order
    ordersByEmail(email: String!): [Order!]!
    "Never answers: the resolver waits until the request goes away"
    slowOrder(id: ID!): Order
    shopName: String!
  }
  type Mutation {
    createNote(orderId: ID!, text: String!): Note
    updateOrder(input: UpdateOrderInput!): Order
    deleteNote(id: ID!): Note
  }
`;

export interface StandInRequest {
  query: string;
  variables: Record<string, unknown>;
  authorization: string | null;
}

export interface GraphqlStandIn {
  url: string;
  /** Every request that got past auth, in order. */
  requests: StandInRequest[];
  notes: { id: string; orderId: string; text: string }[];
  orders: Map<string, { id: string; name: string; status: string; total: number; placedAt: string; customerId: string; lines: { sku: string; quantity: number }[] }>;
  stop(): Promise<void>;
}

export interface StandInOptions {
  token?: string;
  introspection?: boolean;
}

export async function startGraphqlStandIn(options: StandInOptions = {}): Promise<GraphqlStandIn> {
  const token = options.token ?? "shop-token-123456";
  const schema = buildSchema(SHOP_SDL);
  const customers = new Map([
    ["c1", { id: "c1", name: "Grace Hopper", email: "grace@example.com", phone: "+14155550100", cardLast4: "4242" }],
    ["c2", { id: "c2", name: "Alan Turing", email: "alan@example.com", phone: null, cardLast4: null }],
  ]);
  const orders: GraphqlStandIn["orders"] = new Map([
    ["1001", { id: "1001", name: "#1001", status: "SHIPPED", total: 42.5, placedAt: "2026-12-01T10:00:00Z", customerId: "c1", lines: [{ sku: "MUG-1", quantity: 2 }] }],
    ["1002", { id: "1002", name: "#1002", status: "PENDING", total: 12, placedAt: "2026-12-03T09:30:00Z", customerId: "c2", lines: [] }],
    ["1003", { id: "1003", name: "#1003", status: "DELIVERED", total: 99.99, placedAt: "2026-11-20T16:45:00Z", customerId: "c1", lines: [] }],
  ]);
  const notes: GraphqlStandIn["notes"] = [];
  const requests: StandInRequest[] = [];
  const hanging = new Set<() => void>();
  const orderView = (o: (typeof orders extends Map<string, infer V> ? V : never) | undefined) => (o ? { ...o, customer: customers.get(o.customerId) ?? null } : null);

  // Ids that make the resolver fail the way real APIs do, to exercise the error mapping.
  const failing: Record<string, () => never> = {
    missing: () => {
      throw new GraphQLError("Order not found", { extensions: { code: "NOT_FOUND" } });
    },
    forbidden: () => {
      throw new GraphQLError("You may not read this order", { extensions: { code: "FORBIDDEN" } });
    },
    broken: () => {
      throw new Error("upstream database exploded");
    },
  };
  const root = {
    order: ({ id }: { id: string }) => (failing[id] ? failing[id]() : orderView(orders.get(id))),
    ordersByEmail: ({ email }: { email: string }) =>
      [...orders.values()].filter((o) => customers.get(o.customerId)?.email.toLowerCase() === email.toLowerCase()).map(orderView),
    slowOrder: () =>
      new Promise((resolve) => {
        hanging.add(() => resolve(null));
      }),
    shopName: () => "Stand-in Shop",
    createNote: ({ orderId, text }: { orderId: string; text: string }) => {
      if (!orders.has(orderId)) throw new GraphQLError(`Order ${orderId} does not exist`, { extensions: { code: "BAD_USER_INPUT" } });
      const note = { id: `n${notes.length + 1}`, orderId, text };
      notes.push(note);
      return note;
    },
    updateOrder: ({ input }: { input: { id: string; status: string } }) => {
      const order = orders.get(input.id);
      if (!order) throw new GraphQLError("Order not found", { extensions: { code: "NOT_FOUND" } });
      order.status = input.status;
      return orderView(order);
    },
    deleteNote: ({ id }: { id: string }) => {
      const at = notes.findIndex((n) => n.id === id);
      return at < 0 ? null : notes.splice(at, 1)[0];
    },
  };
  const rules = options.introspection === false ? [...specifiedRules, NoSchemaIntrospectionCustomRule] : specifiedRules;
  const json = (status: number, body: unknown) => Response.json(body, { status, headers: { "content-type": "application/graphql-response+json" } });

  const server = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    async fetch(request) {
      const { pathname } = new URL(request.url);
      if (pathname !== "/graphql") return new Response("not found", { status: 404 });
      if (request.method !== "POST") return new Response("method not allowed", { status: 405 });
      const authorization = request.headers.get("authorization");
      if (authorization !== `Bearer ${token}`) {
        return json(401, { errors: [{ message: "Unauthenticated", extensions: { code: "UNAUTHENTICATED" } }] });
      }
      const body = (await request.json().catch(() => null)) as { query?: unknown; variables?: unknown } | null;
      if (typeof body?.query !== "string") return json(400, { errors: [{ message: "Must provide query string." }] });
      const variables = (body.variables ?? {}) as Record<string, unknown>;
      requests.push({ query: body.query, variables, authorization });
      let document: DocumentNode;
      try {
        document = parse(body.query);
      } catch (error) {
        return json(400, { errors: [{ message: (error as Error).message, extensions: { code: "GRAPHQL_PARSE_FAILED" } }] });
      }
      const invalid = validate(schema, document, rules);
      if (invalid.length) return json(400, { errors: invalid.map((e) => ({ message: e.message, extensions: { code: "GRAPHQL_VALIDATION_FAILED" } })) });
      const result = await execute({ schema, document, rootValue: root, variableValues: variables });
      return json(200, result);
    },
  });

  return {
    url: `http://127.0.0.1:${server.port}/graphql`,
    requests,
    notes,
    orders,
    async stop() {
      for (const release of hanging) release();
      await server.stop(true);
    },
  };
}
