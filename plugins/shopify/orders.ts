// Order lookup (WISMO, "where is my order"): the Admin API's `orders` connection searched with Shopify's query
// syntax by order name and/or email, each order flattened into the record a skill reads back. A caller's values go
// into the search string, so they are checked to be an order number or an email address and quoted.
import { PluginError, type PluginContext } from "../../src/api/integrations/contract.ts";
import { adminQuery } from "./admin.ts";

/** Orders one lookup answers at most: a caller with many orders hears the latest ones. */
export const MAX_ORDERS = 5;

export const ORDERS_QUERY = `query LookupOrders($query: String!, $first: Int!) {
  orders(first: $first, query: $query, sortKey: CREATED_AT, reverse: true) {
    nodes {
      id
      name
      email
      createdAt
      cancelledAt
      displayFinancialStatus
      displayFulfillmentStatus
      totalPriceSet { shopMoney { amount currencyCode } }
      customer { id firstName lastName }
      shippingAddress { city provinceCode countryCodeV2 }
      fulfillments(first: 5) { status displayStatus estimatedDeliveryAt deliveredAt trackingInfo(first: 1) { company number url } }
    }
  }
}`;

interface Money {
  amount: string;
  currencyCode: string;
}
interface OrderNode {
  id: string;
  name: string;
  email: string | null;
  createdAt: string;
  cancelledAt: string | null;
  displayFinancialStatus: string | null;
  displayFulfillmentStatus: string | null;
  totalPriceSet: { shopMoney: Money } | null;
  customer: { id: string; firstName: string | null; lastName: string | null } | null;
  shippingAddress: { city: string | null; provinceCode: string | null; countryCodeV2: string | null } | null;
  fulfillments: { status: string | null; displayStatus: string | null; estimatedDeliveryAt: string | null; deliveredAt: string | null; trackingInfo: { company: string | null; number: string | null; url: string | null }[] }[];
}

/** An order as a skill reads it back; `customer` holds the customer's own record for a projection's hop. */
export interface OrderRecord {
  fields: Record<string, string | null>;
  customer: Record<string, string | null> | null;
}

const ORDER_NUMBER = /^#?([A-Za-z0-9][A-Za-z0-9-]{0,30})$/;
const EMAIL = /^[^\s@"\\]{1,64}@[^\s@"\\]{1,190}\.[^\s@"\\]{2,}$/;

/** Shopify's search syntax for the caller's order number and email (both, when both are given: each narrows). */
export function orderSearch(args: Record<string, unknown>, names: { orderNumber: string | null; email: string | null }): string {
  const orderNumber = names.orderNumber ? text(args[names.orderNumber]) : "";
  const email = names.email ? text(args[names.email]) : "";
  if (!orderNumber && !email) {
    throw new PluginError("invalid_input", "an order number or the email address the order was placed with is needed", [names.orderNumber, names.email].filter((n): n is string => !!n));
  }
  const terms: string[] = [];
  if (orderNumber) {
    const m = ORDER_NUMBER.exec(orderNumber.replace(/\s+/g, ""));
    if (!m) throw new PluginError("invalid_input", "that does not look like an order number", [names.orderNumber!]);
    terms.push(`name:"#${m[1]}"`);
  }
  if (email) {
    if (!EMAIL.test(email)) throw new PluginError("invalid_input", "that does not look like an email address", [names.email!]);
    terms.push(`email:"${email.toLowerCase()}"`);
  }
  return terms.join(" AND ");
}

export async function lookupOrders(ctx: PluginContext, search: string): Promise<OrderRecord[]> {
  const data = await adminQuery<{ orders: { nodes: OrderNode[] } }>(ctx, ORDERS_QUERY, { query: search, first: MAX_ORDERS });
  return (data.orders?.nodes ?? []).map(orderRecord);
}

function orderRecord(order: OrderNode): OrderRecord {
  // The latest fulfillment tells where the parcel is; Shopify lists them oldest first.
  const fulfillment = order.fulfillments?.at(-1) ?? null;
  const tracking = fulfillment?.trackingInfo?.[0] ?? null;
  const financial = words(order.displayFinancialStatus);
  const fulfillmentStatus = words(order.displayFulfillmentStatus);
  const shipping = words(fulfillment?.displayStatus) ?? fulfillmentStatus;
  const money = order.totalPriceSet?.shopMoney;
  const name = [order.customer?.firstName, order.customer?.lastName].filter(Boolean).join(" ") || null;
  return {
    fields: {
      order_number: order.name,
      status: order.cancelledAt ? "cancelled" : [financial, shipping].filter(Boolean).join(", ") || null,
      financial_status: financial,
      fulfillment_status: fulfillmentStatus,
      tracking_company: tracking?.company ?? null,
      tracking_number: tracking?.number ?? null,
      tracking_url: tracking?.url ?? null,
      estimated_delivery: fulfillment?.estimatedDeliveryAt?.slice(0, 10) ?? null,
      delivered_at: fulfillment?.deliveredAt?.slice(0, 10) ?? null,
      total: money ? `${money.amount} ${money.currencyCode}` : null,
      placed_at: order.createdAt.slice(0, 10),
      cancelled_at: order.cancelledAt?.slice(0, 10) ?? null,
      customer_email: order.email,
      customer_name: name,
      customer_id: order.customer?.id ?? null,
      shipping_city: order.shippingAddress?.city ?? null,
      shipping_region: order.shippingAddress?.provinceCode ?? null,
      shipping_country: order.shippingAddress?.countryCodeV2 ?? null,
    },
    customer: order.customer ? { id: order.customer.id, first_name: order.customer.firstName, last_name: order.customer.lastName, name, email: order.email } : null,
  };
}

const text = (value: unknown) => (typeof value === "string" || typeof value === "number" ? String(value).trim() : "");
/** `PARTIALLY_FULFILLED` → `partially fulfilled`: Shopify's enum values as a caller hears them. */
const words = (value: string | null | undefined) => (value ? value.toLowerCase().replace(/_/g, " ") : null);
