// Shopify: a store connected with its Admin API access token (a custom app's, or one an App Store install handed
// over through the claim), read over the Admin GraphQL API. One read-only action answers "where is my order" by
// order number or email; what a skill may read back is bounded by its allowed fields (the default list leaves out
// who the customer is) and the agent's guardrails. The same orders are offered to the open model as a fixed schema.
import { type CompiledOperation, type ConnectionCheck, definePlugin, PluginError, type PluginContext, Type, type ValidatedBinding } from "../../src/api/integrations/contract.ts";
import { adminQuery, normalizeShop, SHOP_DOMAIN } from "./admin.ts";
import { lookupOrders, orderSearch, type OrderRecord } from "./orders.ts";
import { shopifySchema } from "./schema.ts";

/** What an order lookup may read back to any caller by default: the order's state, never who placed it. */
export const ORDER_ALLOWED_FIELDS = [
  "order_number",
  "status",
  "financial_status",
  "fulfillment_status",
  "tracking_company",
  "tracking_number",
  "tracking_url",
  "estimated_delivery",
  "delivered_at",
  "total",
  "placed_at",
  "cancelled_at",
  "shipping_city",
];
const LOOKUP = "orders.lookup";
const REQUIRED_SCOPE = "read_orders";

const lookupParameters = Type.Object({
  order_number: Type.Optional(Type.String({ maxLength: 40, description: "The order number the caller gives, e.g. 1001 or #1001" })),
  email: Type.Optional(Type.String({ maxLength: 254, format: "email", description: "The email address the order was placed with" })),
});

const GUIDANCE = `Where is my order (WISMO), read-only.
How it works: the agent asks for the order number (as on the confirmation email, e.g. #1001) or the email address the order was placed with, looks the order up live in Shopify and reads back its payment and delivery status, the carrier, the tracking number and the estimated delivery date. An email alone can match several orders; the latest five are read.
Identifying a caller: ask for the order number and the email address together; the lookup then matches only an order placed with that email, which is the check that the caller is the customer. Keep tracking details and the shipping city for verified callers with a verify_before_disclose guardrail, and leave the customer's name and email out of the allowed fields (the default).
What is not possible: refunds, cancellations, address or item changes and returns are not done here (the connection is read-only); hand those to a person.`;

export default definePlugin({
  kind: "shopify",
  name: "Shopify",
  category: "commerce",
  version: "1.0.0",
  description: "Answer \"where is my order\" from a Shopify store's live orders (read-only)",
  skillType: "native_graphql",
  auth: {
    type: "api_key",
    schema: Type.Object({
      shop: Type.String({ pattern: SHOP_DOMAIN, maxLength: 255, description: "The store's myshopify.com domain, e.g. your-store.myshopify.com" }),
      access_token: Type.String({ minLength: 10, maxLength: 255, description: "An Admin API access token with read_orders (shpat_…)" }),
    }),
  },
  accountLabel: (credentials) => normalizeShop(credentials.shop),
  actions: [
    {
      slug: "lookup_order",
      name: "Look up an order",
      description: "Find the caller's order by its order number or their email and tell them where it is: status, tracking and expected delivery",
      isWrite: false,
      important: true,
      parameters: lookupParameters,
      operation: LOOKUP,
      allowedFields: ORDER_ALLOWED_FIELDS,
    },
  ],
  async discover() {
    return shopifySchema();
  },
  compile(binding: ValidatedBinding) {
    if (binding.isWrite || binding.operation.name !== LOOKUP) throw new PluginError("invalid_binding", "Shopify is read-only here: bind orders.lookup");
    const inputs = [...binding.inputs, ...(binding.search ? [{ param: binding.search.param, arg: binding.search.field }] : [])];
    const orderNumberParam = inputs.find((i) => i.arg === "order_number")?.param;
    const emailParam = inputs.find((i) => i.arg === "customer_email")?.param;
    const other = inputs.find((i) => i.arg !== "order_number" && i.arg !== "customer_email");
    if (other) throw new PluginError("invalid_binding", `orders are found by order_number or customer_email, not ${other.arg}`, ["inputs"]);
    if (!orderNumberParam && !emailParam) throw new PluginError("invalid_binding", "bind order_number or customer_email to a caller parameter", ["inputs"]);
    for (const p of binding.projection) {
      if (p.path.length === 2 && p.path[0] !== "customer_id") throw new PluginError("invalid_binding", `${p.path[0]} cannot be followed`, ["projection"]);
    }
    return { operation: LOOKUP, orderNumberParam: orderNumberParam ?? null, emailParam: emailParam ?? null, fields: binding.projection.map((p) => [p.path, p.leaf]) };
  },
  async execute(operation: CompiledOperation, args, ctx) {
    if (operation.operation !== LOOKUP) throw new PluginError("invalid_binding", `unknown operation ${operation.operation}`);
    const fields = operation.fields as [[string] | [string, string], string][] | undefined;
    // The action reads order_number and email; a binding or preset searches by the parameters it bound only.
    const names = fields ? { orderNumber: (operation.orderNumberParam as string | null) ?? null, email: (operation.emailParam as string | null) ?? null } : { orderNumber: "order_number", email: "email" };
    const records = await lookupOrders(ctx, orderSearch(args, names));
    ctx.log.debug("shopify orders found", { orders: records.length });
    return { rows: records.map((r) => (fields ? project(r, fields) : { ...r.fields })) };
  },
  pack: {
    guidance: GUIDANCE,
    skills: [
      {
        slug: "where_is_my_order",
        name: "Where is my order",
        description: "Tell a caller where their order is from its order number or their email: status, carrier, tracking number and expected delivery",
        skillType: "native_graphql",
        parametersSchema: JSON.parse(JSON.stringify(lookupParameters)) as Record<string, unknown>,
        // The preset returns the order's state only: who placed it is never projected.
        executionConfig: {
          operation: LOOKUP,
          orderNumberParam: "order_number",
          emailParam: "email",
          fields: ["order_number", "status", "tracking_company", "tracking_number", "tracking_url", "estimated_delivery", "delivered_at"].map((f) => [[f], f]),
        },
        isWrite: false,
      },
    ],
  },
  async test(ctx) {
    return connectionChecks(ctx);
  },
});

function project(record: OrderRecord, fields: [[string] | [string, string], string][]): Record<string, unknown> {
  return Object.fromEntries(fields.map(([path, leaf]) => [leaf, path.length === 2 ? (record.customer?.[path[1]] ?? null) : (record.fields[path[0]] ?? null)]));
}

/** reachability (the shop answers at all), authentication (it takes the token), scopes (read_orders granted). */
async function connectionChecks(ctx: PluginContext): Promise<ConnectionCheck[]> {
  const checks: ConnectionCheck[] = [];
  let started = performance.now();
  const ms = () => Math.round(performance.now() - started);
  let shopName: string;
  try {
    shopName = (await adminQuery<{ shop: { name: string } }>(ctx, "{ shop { name } }")).shop.name;
  } catch (error) {
    if (!(error instanceof PluginError)) throw error;
    if (error.code === "refused") {
      checks.push({ name: "reachability", ok: true, ms: ms(), detail: "the shop answered" }, { name: "authentication", ok: false, ms: ms(), detail: error.message });
    } else {
      checks.push({ name: "reachability", ok: false, ms: ms(), detail: error.message });
    }
    return checks;
  }
  checks.push({ name: "reachability", ok: true, ms: ms(), detail: "the shop answered" }, { name: "authentication", ok: true, ms: ms(), detail: `signed in to ${shopName}` });
  started = performance.now();
  try {
    const data = await adminQuery<{ currentAppInstallation: { accessScopes: { handle: string }[] } }>(ctx, "{ currentAppInstallation { accessScopes { handle } } }");
    const granted = data.currentAppInstallation.accessScopes.map((s) => s.handle);
    const ok = granted.includes(REQUIRED_SCOPE);
    checks.push({ name: "scopes", ok, ms: ms(), detail: ok ? `granted: ${granted.join(", ")}` : `the token lacks ${REQUIRED_SCOPE} (granted: ${granted.join(", ") || "none"})` });
  } catch (error) {
    if (!(error instanceof PluginError)) throw error;
    checks.push({ name: "scopes", ok: false, ms: ms(), detail: error.message });
  }
  return checks;
}
