// Shopify's order data as a normalized schema, for the open model (browse, search, bind): the fields an order
// lookup returns, the customer it belongs to, and its fulfillments. Shopify's schema is fixed per API version, so it
// is described here rather than introspected: what a binding may name is exactly what execute() can return.
import type { DiscoveredSchema, SchemaField } from "../../src/api/integrations/contract.ts";

const field = (name: string, description: string, more: Partial<SchemaField> = {}): SchemaField => ({ name, type: "string", required: false, nullable: true, description, ...more });

export const ORDER_FIELDS: SchemaField[] = [
  field("order_number", "The order's name as the shop shows it (#1001)", { nullable: false, unique: true, leadingIndex: true }),
  field("status", "Payment and delivery status in words (paid, in transit)"),
  field("financial_status", "Payment status", { allowedValues: ["pending", "authorized", "partially paid", "paid", "partially refunded", "refunded", "voided", "expired"] }),
  field("fulfillment_status", "Fulfillment status", { allowedValues: ["unfulfilled", "partially fulfilled", "fulfilled", "in progress", "on hold", "scheduled", "restocked", "pending fulfillment", "open"] }),
  field("tracking_company", "Carrier of the latest shipment"),
  field("tracking_number", "Tracking number of the latest shipment"),
  field("tracking_url", "Tracking page of the latest shipment"),
  field("estimated_delivery", "Estimated delivery date of the latest shipment", { type: "date" }),
  field("delivered_at", "When the latest shipment was delivered", { type: "date" }),
  field("total", "Order total with its currency"),
  field("placed_at", "When the order was placed", { type: "date", nullable: false }),
  field("cancelled_at", "When the order was cancelled", { type: "date" }),
  field("customer_email", "Email the order was placed with", { leadingIndex: true, sensitivity: "contact" }),
  field("customer_name", "The customer's name", { sensitivity: "contact" }),
  field("customer_id", "The customer who placed the order", { references: { object: "customers", field: "id" } }),
  field("shipping_city", "Shipping address: city", { sensitivity: "contact" }),
  field("shipping_region", "Shipping address: province or state code"),
  field("shipping_country", "Shipping address: country code"),
];

export const CUSTOMER_FIELDS: SchemaField[] = [
  field("id", "Customer id (a Shopify GID)", { nullable: false, primaryKey: true, unique: true }),
  field("first_name", "First name", { sensitivity: "contact" }),
  field("last_name", "Last name", { sensitivity: "contact" }),
  field("name", "Full name", { sensitivity: "contact" }),
  field("email", "Email", { sensitivity: "contact" }),
];

export function shopifySchema(): DiscoveredSchema {
  return {
    objects: [
      { name: "orders", description: "Orders of the shop (read-only)", fields: ORDER_FIELDS },
      { name: "customers", description: "The customer an order belongs to (read through its order)", fields: CUSTOMER_FIELDS },
      {
        name: "fulfillments",
        description: "Shipments of an order; an order lookup reads its latest one",
        fields: [
          field("order_number", "The order shipped", { nullable: false, references: { object: "orders", field: "order_number" } }),
          field("status", "Shipment status", { allowedValues: ["success", "cancelled", "error", "failure", "open", "pending"] }),
          field("tracking_company", "Carrier"),
          field("tracking_number", "Tracking number"),
          field("tracking_url", "Tracking page"),
          field("estimated_delivery", "Estimated delivery date", { type: "date" }),
        ],
      },
    ],
    relationships: [
      { name: "orders_customer", from: { object: "orders", field: "customer_id" }, to: { object: "customers", field: "id" } },
      { name: "fulfillments_order", from: { object: "fulfillments", field: "order_number" }, to: { object: "orders", field: "order_number" } },
    ],
    operations: [{ name: "orders.lookup", object: "orders", kind: "read", description: "Find orders by order number and/or the email they were placed with (at most 5, latest first)" }],
  };
}
