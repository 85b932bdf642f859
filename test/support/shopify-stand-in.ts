// A stand-in for Shopify, built from its published descriptions: the Admin GraphQL API
// (POST /admin/api/{version}/graphql.json with X-Shopify-Access-Token; `shop`, `currentAppInstallation.accessScopes`
// and `orders(first:, query:, sortKey:, reverse:)` with the search syntax's `name:` and `email:` terms joined by AND;
// 401 for an unknown token; ACCESS_DENIED in `errors` when the token lacks read_orders) and the app install flow
// (GET /admin/oauth/authorize, where the merchant approves and is sent to the app's redirect_uri with a code, the
// state, a timestamp and an `hmac` of the sorted query string; POST /admin/oauth/access_token exchanging the one-time
// code for the shop's token). All shops answer at one origin, told apart by their token (SHOPIFY_ADMIN_ORIGIN points here).
// It reads queries by the fields they name rather than parsing GraphQL: it answers the documents the plugin sends.
import { createHmac, randomBytes } from "node:crypto";

export interface StandInOrder {
  name: string;
  email: string;
  createdAt: string;
  cancelledAt?: string | null;
  displayFinancialStatus: string;
  displayFulfillmentStatus: string;
  total: string;
  currency?: string;
  customer?: { firstName: string; lastName: string } | null;
  shippingAddress?: { city: string; provinceCode: string; countryCodeV2: string } | null;
  fulfillments?: { status: string; displayStatus: string; estimatedDeliveryAt?: string | null; deliveredAt?: string | null; tracking?: { company: string; number: string; url: string } | null }[];
}

export interface StandInShop {
  domain: string;
  name: string;
  token: string;
  scopes: string[];
  orders: StandInOrder[];
}

export interface ShopifyStandIn {
  origin: string;
  /** Every Admin API request: the shop its token named (null: unknown token) and the GraphQL variables. */
  requests: { shop: string | null; query: string; variables: Record<string, unknown> }[];
  addShop(shop: StandInShop): void;
  /** What Shopify does when a merchant approves the install: a one-time code for a new token of `shop`. */
  issueCode(domain: string, token: string, scopes: string[]): string;
  /** The merchant who opens the consent page next approves installing on `domain`, granting this token. */
  expectInstall(domain: string, token: string, scopes: string[]): void;
  /** Every consent page opened: its query (client_id, scope, redirect_uri, state). */
  authorizations: Record<string, string>[];
  stop(): void;
}

/** Signs install callback parameters the way Shopify does: hex HMAC-SHA256 of `k=v&…` sorted, without `hmac`. */
export function signInstallQuery(params: Record<string, string>, secret: string): Record<string, string> {
  const message = Object.keys(params)
    .sort()
    .map((k) => `${k}=${params[k]}`)
    .join("&");
  return { ...params, hmac: createHmac("sha256", secret).update(message).digest("hex") };
}

export function startShopifyStandIn(app: { clientId: string; clientSecret: string }): ShopifyStandIn {
  const shops = new Map<string, StandInShop>();
  const codes = new Map<string, { domain: string; token: string; scopes: string[] }>();
  const requests: ShopifyStandIn["requests"] = [];
  const authorizations: Record<string, string>[] = [];
  let nextInstall: { domain: string; token: string; scopes: string[] } | null = null;
  const issueCode = (domain: string, token: string, scopes: string[]) => {
    const code = randomBytes(16).toString("hex");
    codes.set(code, { domain, token, scopes });
    return code;
  };

  const graphql = (shop: StandInShop, query: string, variables: Record<string, unknown>) => {
    if (/\borders\s*\(/.test(query)) {
      if (!shop.scopes.includes("read_orders")) {
        return { data: null, errors: [{ message: "Access denied for orders field. Required access: `read_orders` access scope.", extensions: { code: "ACCESS_DENIED" } }] };
      }
      const first = Math.min(Number(variables.first ?? 10), 250);
      const matching = shop.orders.filter((o) => matches(o, String(variables.query ?? ""))).sort((a, b) => b.createdAt.localeCompare(a.createdAt));
      return { data: { orders: { nodes: matching.slice(0, first).map((o, i) => orderNode(shop, o, i)) } } };
    }
    const data: Record<string, unknown> = {};
    if (/\bshop\s*\{/.test(query)) data.shop = { name: shop.name, myshopifyDomain: shop.domain };
    if (/\bcurrentAppInstallation\b/.test(query)) data.currentAppInstallation = { accessScopes: shop.scopes.map((handle) => ({ handle })) };
    return Object.keys(data).length ? { data } : { errors: [{ message: "Field is not supported by this stand-in", extensions: { code: "undefinedField" } }] };
  };

  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(request) {
      const url = new URL(request.url);
      if (request.method === "GET" && url.pathname === "/admin/oauth/authorize") {
        const query = Object.fromEntries(url.searchParams);
        authorizations.push(query);
        if (query.client_id !== app.clientId || !query.redirect_uri || !nextInstall) return new Response("Oauth error invalid_request: The client_id or redirect_uri is not valid", { status: 400 });
        const { domain, token, scopes } = nextInstall;
        nextInstall = null;
        const params = { code: issueCode(domain, token, scopes), host: Buffer.from(`${domain}/admin`).toString("base64url"), shop: domain, state: query.state ?? "", timestamp: String(Math.floor(Date.now() / 1000)) };
        const back = new URL(query.redirect_uri);
        for (const [k, v] of Object.entries(signInstallQuery(params, app.clientSecret))) back.searchParams.set(k, v);
        return new Response(null, { status: 302, headers: { location: back.toString() } });
      }
      if (request.method === "POST" && url.pathname === "/admin/oauth/access_token") {
        const body = (await request.json().catch(() => ({}))) as { client_id?: string; client_secret?: string; code?: string };
        if (body.client_id !== app.clientId || body.client_secret !== app.clientSecret) return Response.json({ error: "invalid_client", error_description: "Client credentials are invalid" }, { status: 401 });
        const grant = body.code ? codes.get(body.code) : undefined;
        if (!grant) return Response.json({ error: "invalid_request", error_description: "The authorization code was not found or was already used" }, { status: 400 });
        codes.delete(body.code!);
        const existing = shops.get(grant.domain);
        shops.set(grant.domain, { domain: grant.domain, name: existing?.name ?? grant.domain, orders: existing?.orders ?? [], token: grant.token, scopes: grant.scopes });
        return Response.json({ access_token: grant.token, scope: grant.scopes.join(",") });
      }
      const api = /^\/admin\/api\/(\d{4}-\d{2})\/graphql\.json$/.exec(url.pathname);
      if (request.method === "POST" && api) {
        const token = request.headers.get("x-shopify-access-token");
        const shop = [...shops.values()].find((s) => s.token === token) ?? null;
        const body = (await request.json().catch(() => ({}))) as { query?: string; variables?: Record<string, unknown> };
        requests.push({ shop: shop?.domain ?? null, query: body.query ?? "", variables: body.variables ?? {} });
        if (!shop) return Response.json({ errors: "[API] Invalid API key or access token (unrecognized login or wrong password)" }, { status: 401 });
        return Response.json(graphql(shop, body.query ?? "", body.variables ?? {}));
      }
      return Response.json({ errors: "Not Found" }, { status: 404 });
    },
  });

  return {
    origin: `http://127.0.0.1:${server.port}`,
    requests,
    authorizations,
    addShop: (shop) => void shops.set(shop.domain, shop),
    issueCode,
    expectInstall(domain, token, scopes) {
      nextInstall = { domain, token, scopes };
    },
    stop: () => void server.stop(true),
  };
}

/** Shopify's search syntax, the part the plugin uses: `name:` and `email:` terms (quoted or not) joined by AND. */
function matches(order: StandInOrder, search: string): boolean {
  const terms = search.split(/\s+AND\s+|\s+/).filter(Boolean);
  return terms.every((term) => {
    const m = /^(\w+):"?([^"]*)"?$/.exec(term);
    if (!m) return false;
    const [, field, value] = m;
    if (field === "name") return order.name.replace(/^#/, "") === value!.replace(/^#/, "");
    if (field === "email") return order.email.toLowerCase() === value!.toLowerCase();
    return false;
  });
}

function orderNode(shop: StandInShop, o: StandInOrder, i: number) {
  return {
    id: `gid://shopify/Order/${5000 + i}`,
    name: o.name,
    email: o.email,
    createdAt: o.createdAt,
    cancelledAt: o.cancelledAt ?? null,
    displayFinancialStatus: o.displayFinancialStatus,
    displayFulfillmentStatus: o.displayFulfillmentStatus,
    totalPriceSet: { shopMoney: { amount: o.total, currencyCode: o.currency ?? "USD" } },
    customer: o.customer ? { id: `gid://shopify/Customer/${shop.domain.length}${i}`, ...o.customer } : null,
    shippingAddress: o.shippingAddress ?? null,
    fulfillments: (o.fulfillments ?? []).map((f) => ({
      status: f.status,
      displayStatus: f.displayStatus,
      estimatedDeliveryAt: f.estimatedDeliveryAt ?? null,
      deliveredAt: f.deliveredAt ?? null,
      trackingInfo: f.tracking ? [f.tracking] : [],
    })),
  };
}
