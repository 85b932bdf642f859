// The Shopify plugin on its own, against the Shopify Admin API stand-in: order lookup by number and by email, the
// search syntax it sends, caller values it refuses, Shopify's failures as PluginError codes, the connection checks,
// the fixed schema and a binding compiled from it.
import { afterAll, afterEach, beforeAll, describe, expect, it } from "bun:test";
import { Value } from "@sinclair/typebox/value";
import { PluginError } from "../../../src/api/integrations/contract.ts";
import { contractProblems } from "../../../src/api/integrations/registry.ts";
import { DiscoveredSchemaShape } from "../../../src/api/integrations/shape.ts";
import shopify, { ORDER_ALLOWED_FIELDS } from "../../../plugins/shopify/index.ts";
import { type ShopifyStandIn, startShopifyStandIn } from "../../support/shopify-stand-in.ts";
import { cedarGoods, context, SHOP, TOKEN } from "./support.ts";

let standIn: ShopifyStandIn;
const credentials = { shop: SHOP, access_token: TOKEN };
const lookup = { operation: "orders.lookup" };

beforeAll(() => {
  standIn = startShopifyStandIn({ clientId: "client", clientSecret: "secret" });
  standIn.addShop(cedarGoods());
  standIn.addShop(cedarGoods({ domain: "no-scope.myshopify.com", name: "No Scope", token: "shpat_noscope_1234", scopes: ["read_products"] }));
  process.env.SHOPIFY_ADMIN_ORIGIN = standIn.origin;
});
afterEach(() => {
  standIn.requests.length = 0;
});
afterAll(() => {
  delete process.env.SHOPIFY_ADMIN_ORIGIN;
  standIn.stop();
});

const failure = async (promise: Promise<unknown>) => {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(PluginError);
  return error as PluginError;
};

describe("the Shopify plugin (Shopify Admin API stand-in)", () => {
  it("meets the plugin contract, with a credential schema that takes only myshopify.com domains", () => {
    expect(contractProblems(shopify)).toEqual([]);
    const schema = (shopify.auth as { schema: Parameters<typeof Value.Check>[0] }).schema;
    expect(Value.Check(schema, credentials)).toBe(true);
    for (const shop of ["cedar-goods.example.com", "https://cedar-goods.myshopify.com", "cedar goods.myshopify.com", "evil.com/.myshopify.com"]) {
      expect({ shop, ok: Value.Check(schema, { shop, access_token: TOKEN }) }).toEqual({ shop, ok: false });
    }
    expect(shopify.accountLabel!({ shop: "Cedar-Goods.myshopify.com", access_token: TOKEN })).toBe(SHOP);
    expect(shopify.actions![0]).toMatchObject({ slug: "lookup_order", isWrite: false, important: true, allowedFields: ORDER_ALLOWED_FIELDS });
    expect(ORDER_ALLOWED_FIELDS).not.toContain("customer_email");
    expect(ORDER_ALLOWED_FIELDS).not.toContain("customer_name");
  });

  it("looks an order up by its number and reads back status, tracking and estimated delivery", async () => {
    const { rows } = await shopify.execute(lookup, { order_number: "1001" }, context(credentials));
    expect(rows).toEqual([
      {
        order_number: "#1001",
        status: "paid, in transit",
        financial_status: "paid",
        fulfillment_status: "fulfilled",
        tracking_company: "UPS",
        tracking_number: "1Z999AA10123456784",
        tracking_url: "https://www.ups.com/track?tracknum=1Z999AA10123456784",
        estimated_delivery: "2026-12-09",
        delivered_at: null,
        total: "84.50 USD",
        placed_at: "2026-11-28",
        cancelled_at: null,
        customer_email: "maya.lopez@example.com",
        customer_name: "Maya Lopez",
        customer_id: expect.stringMatching(/^gid:\/\/shopify\/Customer\//),
        shipping_city: "Portland",
        shipping_region: "OR",
        shipping_country: "US",
      },
    ]);
    expect(standIn.requests).toHaveLength(1);
    expect(standIn.requests[0]).toMatchObject({ shop: SHOP, variables: { query: 'name:"#1001"', first: 5 } });
    expect(standIn.requests[0]!.query).toContain("orders(first: $first, query: $query");
  });

  it("takes #1001 as well, and a cancelled order says so", async () => {
    expect((await shopify.execute(lookup, { order_number: "#1001" }, context(credentials))).rows.map((r) => r.order_number)).toEqual(["#1001"]);
    const [cancelled] = (await shopify.execute(lookup, { order_number: "1003" }, context(credentials))).rows;
    expect(cancelled).toMatchObject({ status: "cancelled", financial_status: "refunded", cancelled_at: "2026-12-01" });
  });

  it("by email answers the customer's latest orders, newest first; number and email together must both match", async () => {
    const byEmail = await shopify.execute(lookup, { email: "Maya.Lopez@example.com" }, context(credentials));
    expect(byEmail.rows.map((r) => [r.order_number, r.status])).toEqual([
      ["#1002", "paid, unfulfilled"],
      ["#1001", "paid, in transit"],
      ["#0998", "paid, delivered"],
    ]);
    expect(standIn.requests[0]!.variables.query).toBe('email:"maya.lopez@example.com"');
    const both = await shopify.execute(lookup, { order_number: "1001", email: "maya.lopez@example.com" }, context(credentials));
    expect(both.rows.map((r) => r.order_number)).toEqual(["#1001"]);
    const wrongEmail = await shopify.execute(lookup, { order_number: "1001", email: "sam.okafor@example.com" }, context(credentials));
    expect(wrongEmail.rows).toEqual([]);
  });

  it("refuses a lookup without an order number or email, and values that would change the search", async () => {
    expect(await failure(shopify.execute(lookup, {}, context(credentials)))).toMatchObject({ code: "invalid_input", fields: ["order_number", "email"] });
    expect(await failure(shopify.execute(lookup, { order_number: '1001" OR email:*' }, context(credentials)))).toMatchObject({ code: "invalid_input", fields: ["order_number"] });
    expect(await failure(shopify.execute(lookup, { email: 'x@example.com" OR name:*' }, context(credentials)))).toMatchObject({ code: "invalid_input", fields: ["email"] });
    expect(standIn.requests).toHaveLength(0);
  });

  it("reports Shopify's refusals: a wrong token, a token without read_orders, an unknown operation", async () => {
    expect(await failure(shopify.execute(lookup, { order_number: "1001" }, context({ shop: SHOP, access_token: "shpat_wrong_token" })))).toMatchObject({ code: "refused" });
    const noScope = await failure(shopify.execute(lookup, { order_number: "1001" }, context({ shop: "no-scope.myshopify.com", access_token: "shpat_noscope_1234" })));
    expect(noScope.code).toBe("refused");
    expect(noScope.message).toContain("read_orders");
    expect(await failure(shopify.execute({ operation: "orders.delete" }, {}, context(credentials)))).toMatchObject({ code: "invalid_binding" });
  });

  it("an unreachable shop is unavailable", async () => {
    const origin = process.env.SHOPIFY_ADMIN_ORIGIN;
    const closed = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response() });
    process.env.SHOPIFY_ADMIN_ORIGIN = `http://127.0.0.1:${closed.port}`;
    closed.stop(true);
    try {
      expect(await failure(shopify.execute(lookup, { order_number: "1001" }, context(credentials)))).toMatchObject({ code: "unavailable" });
    } finally {
      process.env.SHOPIFY_ADMIN_ORIGIN = origin;
    }
  });

  it("tests a connection: reachability, authentication, then the read_orders scope", async () => {
    const good = await shopify.test!(context(credentials));
    expect(good.map((c) => [c.name, c.ok])).toEqual([
      ["reachability", true],
      ["authentication", true],
      ["scopes", true],
    ]);
    expect(good[1]!.detail).toContain("Cedar Goods");
    const badToken = await shopify.test!(context({ shop: SHOP, access_token: "shpat_wrong_token" }));
    expect(badToken.map((c) => [c.name, c.ok])).toEqual([
      ["reachability", true],
      ["authentication", false],
    ]);
    const noScope = await shopify.test!(context({ shop: "no-scope.myshopify.com", access_token: "shpat_noscope_1234" }));
    expect(noScope.at(-1)).toMatchObject({ name: "scopes", ok: false, detail: expect.stringContaining("lacks read_orders") });
  });

  it("describes orders, customers and fulfillments as a schema the app accepts, and compiles a binding over it", async () => {
    const schema = await shopify.discover!(context(credentials));
    expect(Value.Check(DiscoveredSchemaShape, schema)).toBe(true);
    expect(schema.objects.map((o) => o.name)).toEqual(["orders", "customers", "fulfillments"]);
    expect(schema.operations).toEqual([expect.objectContaining({ name: "orders.lookup", kind: "read" })]);
    const orders = schema.objects[0]!;
    const compiled = shopify.compile!({
      operation: schema.operations[0]!,
      object: orders,
      isWrite: false,
      search: null,
      inputs: [{ param: "caller_email", arg: "customer_email" }],
      values: [],
      key: null,
      projection: [
        { path: ["order_number"], leaf: "order" },
        { path: ["status"], leaf: "where" },
        { path: ["customer_id", "first_name"], leaf: "first_name" },
      ],
    });
    const { rows } = await shopify.execute(compiled, { caller_email: "sam.okafor@example.com", order_number: "1001" }, context(credentials));
    expect(rows).toEqual([{ order: "#1003", where: "cancelled", first_name: "Sam" }]);
    expect(standIn.requests.at(-1)!.variables.query).toBe('email:"sam.okafor@example.com"');
    expect(() => shopify.compile!({ operation: schema.operations[0]!, object: orders, isWrite: false, search: null, inputs: [{ param: "city", arg: "shipping_city" }], values: [], key: null, projection: [{ path: ["status"], leaf: "status" }] })).toThrow(PluginError);
  });

  it("ships a WISMO pack whose preset never returns who placed the order", async () => {
    const pack = shopify.pack!;
    expect(pack.guidance).toContain("order number and the email");
    expect(pack.guidance).toContain("refunds");
    const [preset] = pack.skills;
    const { rows } = await shopify.execute(preset!.executionConfig, { order_number: "1001" }, context(credentials));
    expect(Object.keys(rows[0]!)).toEqual(["order_number", "status", "tracking_company", "tracking_number", "tracking_url", "estimated_delivery", "delivered_at"]);
  });
});
