// The Shopify plugin's tests run it against the Shopify stand-in (test/support/shopify-stand-in.ts), reached through
// SHOPIFY_ADMIN_ORIGIN as a mirror would be; the plugin context is the contract's, built here as the app builds it.
import type { PluginContext } from "../../../src/api/integrations/contract.ts";
import type { StandInShop } from "../../support/shopify-stand-in.ts";

export const SHOP = "cedar-goods.myshopify.com";
export const TOKEN = "shpat_cedar_0f4c2a9e71b3";

/** Three orders of one customer and one of another: in transit with tracking, unfulfilled, delivered, cancelled. */
export function cedarGoods(overrides: Partial<StandInShop> = {}): StandInShop {
  return {
    domain: SHOP,
    name: "Cedar Goods",
    token: TOKEN,
    scopes: ["read_orders", "read_customers"],
    orders: [
      {
        name: "#1001",
        email: "maya.lopez@example.com",
        createdAt: "2026-11-28T15:04:00Z",
        displayFinancialStatus: "PAID",
        displayFulfillmentStatus: "FULFILLED",
        total: "84.50",
        customer: { firstName: "Maya", lastName: "Lopez" },
        shippingAddress: { city: "Portland", provinceCode: "OR", countryCodeV2: "US" },
        fulfillments: [{ status: "SUCCESS", displayStatus: "IN_TRANSIT", estimatedDeliveryAt: "2026-12-09T20:00:00Z", tracking: { company: "UPS", number: "1Z999AA10123456784", url: "https://www.ups.com/track?tracknum=1Z999AA10123456784" } }],
      },
      {
        name: "#1002",
        email: "maya.lopez@example.com",
        createdAt: "2026-12-03T09:30:00Z",
        displayFinancialStatus: "PAID",
        displayFulfillmentStatus: "UNFULFILLED",
        total: "19.00",
        customer: { firstName: "Maya", lastName: "Lopez" },
        shippingAddress: { city: "Portland", provinceCode: "OR", countryCodeV2: "US" },
      },
      {
        name: "#0998",
        email: "maya.lopez@example.com",
        createdAt: "2026-10-02T11:00:00Z",
        displayFinancialStatus: "PAID",
        displayFulfillmentStatus: "FULFILLED",
        total: "42.00",
        customer: { firstName: "Maya", lastName: "Lopez" },
        fulfillments: [{ status: "SUCCESS", displayStatus: "DELIVERED", deliveredAt: "2026-10-06T14:00:00Z", tracking: { company: "USPS", number: "9400100000000000000000", url: "https://tools.usps.com/go/TrackConfirmAction?tLabels=9400100000000000000000" } }],
      },
      {
        name: "#1003",
        email: "sam.okafor@example.com",
        createdAt: "2026-12-01T10:00:00Z",
        cancelledAt: "2026-12-01T12:00:00Z",
        displayFinancialStatus: "REFUNDED",
        displayFulfillmentStatus: "UNFULFILLED",
        total: "250.00",
        customer: { firstName: "Sam", lastName: "Okafor" },
      },
    ],
    ...overrides,
  };
}

export function context(credentials: Record<string, unknown>, options: { timeoutMs?: number } = {}): PluginContext {
  const noop = () => {};
  return {
    organizationId: "org_test",
    connectionId: "conn_test",
    credentials,
    fetch: (url, init) => fetch(url, init),
    checkHost: async (host) => host,
    plaintextAllowed: () => false,
    log: { debug: noop, info: noop, warn: noop, error: noop },
    signal: AbortSignal.timeout(options.timeoutMs ?? 10_000),
    deadline: Date.now() + (options.timeoutMs ?? 10_000),
  };
}
