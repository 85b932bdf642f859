// The Shopify Admin GraphQL API as this plugin uses it: where a shop's endpoint is, one authenticated POST, and
// Shopify's failures as PluginError codes. Shopify answers most GraphQL failures with 200 and an `errors` list
// (ACCESS_DENIED for a missing scope, THROTTLED when the cost bucket is empty), so both layers are read.
import { PluginError, type PluginContext } from "../../src/api/integrations/contract.ts";

export const API_VERSION = "2025-01";

/** A shop's own domain, which is also how Shopify names it: `my-store.myshopify.com`. */
export const SHOP_DOMAIN = "^[A-Za-z0-9][A-Za-z0-9-]{0,60}\\.myshopify\\.com$";
const SHOP = new RegExp(SHOP_DOMAIN);

export interface ShopifyCredentials {
  shop: string;
  access_token: string;
}

export const normalizeShop = (shop: string) => shop.trim().toLowerCase();
export const isShopDomain = (shop: string) => SHOP.test(shop.trim());

/**
 * Where a shop's Admin API answers: https://{shop}, unless SHOPIFY_ADMIN_ORIGIN names another origin (a mirror or a
 * test stand-in), read at each call so it follows the environment the server runs in.
 */
export function adminOrigin(shop: string): string {
  const override = process.env.SHOPIFY_ADMIN_ORIGIN?.trim();
  return override ? override.replace(/\/+$/, "") : `https://${normalizeShop(shop)}`;
}

export function credentialsOf(ctx: PluginContext): ShopifyCredentials {
  const { shop, access_token } = ctx.credentials as Partial<ShopifyCredentials>;
  if (typeof shop !== "string" || !isShopDomain(shop) || typeof access_token !== "string") throw new PluginError("refused", "the Shopify connection has no usable shop and access token");
  return { shop: normalizeShop(shop), access_token };
}

interface GraphQLAnswer<T> {
  data?: T | null;
  errors?: { message?: string; extensions?: { code?: string } }[];
}

/** One Admin GraphQL request; answers `data` or throws what Shopify said as a PluginError. */
export async function adminQuery<T>(ctx: PluginContext, query: string, variables: Record<string, unknown> = {}): Promise<T> {
  const { shop, access_token } = credentialsOf(ctx);
  let response: Response;
  try {
    response = await ctx.fetch(`${adminOrigin(shop)}/admin/api/${API_VERSION}/graphql.json`, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/json", "x-shopify-access-token": access_token },
      body: JSON.stringify({ query, variables }),
    });
  } catch (error) {
    // The deadline and the egress guard's refusal (which names EGRESS_ALLOWLIST) are the app's to report; a network
    // failure is the shop's.
    if (ctx.signal.aborted || (error instanceof Error && error.constructor.name === "EgressRefused")) throw error;
    throw new PluginError("unavailable", `${shop} could not be reached`);
  }
  if (response.status === 401 || response.status === 403) throw new PluginError("refused", `${shop} refused the access token`);
  if (response.status === 404) throw new PluginError("refused", `${shop} is not a Shopify store (or the app was uninstalled)`);
  if (response.status === 402 || response.status === 423) throw new PluginError("unavailable", `${shop} is frozen or locked`);
  if (response.status === 429) throw new PluginError("unavailable", `${shop} is rate limiting the app`);
  if (!response.ok) throw new PluginError("unavailable", `${shop} answered ${response.status}`);
  const answer = (await response.json().catch(() => ({}))) as GraphQLAnswer<T>;
  const first = answer.errors?.[0];
  if (first) {
    const code = first.extensions?.code;
    if (code === "THROTTLED") throw new PluginError("unavailable", `${shop} is throttling the app`);
    if (code === "ACCESS_DENIED") throw new PluginError("refused", `the access token lacks a scope: ${first.message ?? "access denied"}`);
    throw new PluginError("unavailable", `Shopify answered an error: ${(first.message ?? "unknown").slice(0, 200)}`);
  }
  if (!answer.data) throw new PluginError("unavailable", "Shopify answered no data");
  return answer.data;
}
