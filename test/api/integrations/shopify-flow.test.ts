// Shopify end to end over the real app, against the Shopify Admin API stand-in (reached through the egress guard,
// the stand-in's loopback origin allowed by EGRESS_ALLOWLIST and named by SHOPIFY_ADMIN_ORIGIN): connecting with a
// store's token in one call, provisioning lookup_order, a "where is my order" conversation in which an unverified
// caller hears only what the skill's allowed fields and the verify_before_disclose guardrail let through, the WISMO
// pack, and the App Store install: a callback signed with Shopify's HMAC scheme, then the one-time claim.
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { createLogger } from "../../../src/platform/log.ts";
import { agentBuilder } from "../../support/agent-builder.ts";
import { startTestApp, type TestApp } from "../../support/app.ts";
import { type ShopifyStandIn, signInstallQuery, startShopifyStandIn } from "../../support/shopify-stand-in.ts";
import { cedarGoods, SHOP, TOKEN } from "../../integrations/shopify/support.ts";

const CLIENT_ID = "flowyte-test-app";
const APP_SECRET = "shpss_test_app_secret_5d1e8c";
let app: TestApp;
let standIn: ShopifyStandIn;
const logLines: string[] = [];

beforeAll(async () => {
  standIn = startShopifyStandIn({ clientId: CLIENT_ID, clientSecret: APP_SECRET });
  standIn.addShop(cedarGoods());
  standIn.addShop(cedarGoods({ domain: "no-scope.myshopify.com", name: "No Scope", token: "shpat_noscope_1234", scopes: ["read_products"] }));
  // The plugin reads its own variable from the environment the server runs in.
  process.env.SHOPIFY_ADMIN_ORIGIN = standIn.origin;
  app = await startTestApp(
    { EGRESS_ALLOWLIST: "127.0.0.1", SHOPIFY_ADMIN_ORIGIN: standIn.origin, SHOPIFY_APP_CLIENT_ID: CLIENT_ID, SHOPIFY_APP_SECRET: APP_SECRET, LOG_LEVEL: "debug" },
    { log: createLogger("debug", (line) => logLines.push(line)) },
  );
});

afterAll(async () => {
  await app?.stop();
  standIn?.stop();
  delete process.env.SHOPIFY_ADMIN_ORIGIN;
});

const connect = (key: string, credentials: Record<string, unknown>) => app.api("POST", "/api/v1/integrations/shopify/connect", { key, body: { credentials } });

async function storeAgent(key: string) {
  const b = agentBuilder(app, key);
  const agent = await b.agent({ name: "Cedar Goods support", greeting: "Hi! I can tell you where your order is." });
  return { b, agent };
}

describe("Shopify over the API (Shopify Admin API stand-in)", () => {
  it("connects in one call with credentials it never shows, and refuses a bad domain, a wrong token or a missing scope", async () => {
    const { key } = await app.newOrg("Cedar Goods");
    const connected = await connect(key, { shop: SHOP, access_token: TOKEN });
    expect(connected.status).toBe(200);
    expect(connected.body.data).toEqual({ status: "connected" });
    const list = await app.api("GET", "/api/v1/integrations", { key });
    expect(list.body.data).toEqual([expect.objectContaining({ kind: "shopify", status: "connected", accountLabel: SHOP })]);
    const catalog = await app.api("GET", "/api/v1/integrations/catalog", { key });
    expect(catalog.body.data.find((c: { kind: string }) => c.kind === "shopify")).toMatchObject({ name: "Shopify", category: "commerce", authType: "api_key", actionCount: 1, hasPack: true, connected: true, accountLabel: SHOP });

    const badDomain = await connect(key, { shop: "cedar-goods.example.com", access_token: TOKEN });
    expect(badDomain.status).toBe(400);
    expect(badDomain.body.errors.map((e: { field: string }) => e.field)).toContain("credentials.shop");
    const wrongToken = await connect(key, { shop: SHOP, access_token: "shpat_wrong_token" });
    expect(wrongToken.status).toBe(400);
    expect(wrongToken.body).toMatchObject({ code: "connection_failed", detail: expect.stringContaining("authentication") });
    const noScope = await connect(key, { shop: "no-scope.myshopify.com", access_token: "shpat_noscope_1234" });
    expect(noScope.body).toMatchObject({ code: "connection_failed", detail: expect.stringContaining("read_orders") });

    for (const text of [JSON.stringify(connected.body), JSON.stringify(list.body), JSON.stringify(catalog.body), logLines.join("\n")]) expect(text).not.toContain(TOKEN);
    const [stored] = await app.query<{ sealed_credentials: string }>(`SELECT sealed_credentials FROM integrations WHERE kind = 'shopify' AND account_label = '${SHOP}'`);
    expect(stored!.sealed_credentials).toStartWith("v1.");
    expect(stored!.sealed_credentials).not.toContain(TOKEN);
  });

  it("provisions lookup_order once, read-only, with an allow list that leaves out who placed the order", async () => {
    const { key } = await app.newOrg("Provision org");
    await connect(key, { shop: SHOP, access_token: TOKEN });
    const actions = await app.api("GET", "/api/v1/integrations/shopify/actions", { key });
    expect(actions.body.data.map((a: { slug: string }) => a.slug)).toEqual(["lookup_order"]);
    expect(Object.keys(actions.body.data[0].parameters.properties)).toEqual(["order_number", "email"]);
    const { agent } = await storeAgent(key);
    const first = await app.api("POST", `/api/v1/agents/${agent.id}/integrations/shopify/provision`, { key, body: { actions: ["lookup_order"] } });
    expect(first.status).toBe(200);
    expect(first.body.data).toHaveLength(1);
    const [{ skill, created }] = first.body.data;
    expect(created).toBe(true);
    expect(skill).toMatchObject({ isWrite: false, isEnabled: true, requiresConfirmation: false, executionConfig: { integration: "shopify", operation: "orders.lookup" } });
    expect(skill.allowedFields).toContain("status");
    expect(skill.allowedFields).toContain("tracking_number");
    expect(skill.allowedFields).not.toContain("customer_email");
    expect(skill.allowedFields).not.toContain("customer_name");
    const again = await app.api("POST", `/api/v1/agents/${agent.id}/integrations/shopify/provision`, { key, body: {} });
    expect(again.body.data.map((r: { created: boolean; skill: { id: string } }) => [r.created, r.skill.id])).toEqual([[false, skill.id]]);
  });

  it("answers 'where is my order 1001?' with the order's live status, and an unverified caller hears only what is allowed", async () => {
    const { key } = await app.newOrg("WISMO org");
    await connect(key, { shop: SHOP, access_token: TOKEN });
    const { b, agent } = await storeAgent(key);
    await app.api("POST", `/api/v1/agents/${agent.id}/integrations/shopify/provision`, { key, body: {} });
    await b.guardrails(agent.id, [
      {
        policyType: "verify_before_disclose",
        config: {
          fields: [
            { field: "tracking_number", audience: "verified" },
            { field: "tracking_url", audience: "verified" },
            { field: "shipping_city", audience: "verified" },
            { field: "status", audience: "anyone" },
          ],
        },
      },
    ]);
    const before = standIn.requests.length;
    const run = await b.simulate(agent.id, { transcript: ["Where is my order 1001?"] });
    expect(run.status).toBe(200);
    const call = run.events.find((e) => e.eventType === "tool_call")!;
    expect(call.payload).toMatchObject({ integration: "shopify", operation: "orders.lookup", arguments: { order_number: "1001" }, status: "ok" });
    expect(standIn.requests.slice(before).map((r) => r.variables.query)).toEqual(['name:"#1001"']);
    // What came back is the order's state: not who placed it (outside the allowed fields), not the tracking or the
    // city (verified callers only).
    expect(call.payload.result).toEqual({
      order_number: "#1001",
      status: "paid, in transit",
      financial_status: "paid",
      fulfillment_status: "fulfilled",
      tracking_company: "UPS",
      estimated_delivery: "2026-12-09",
      delivered_at: null,
      total: "84.50 USD",
      placed_at: "2026-11-28",
      cancelled_at: null,
    });
    const said = run.said.join(" ");
    expect(said).toContain("paid, in transit");
    expect(said).toContain("2026-12-09");
    for (const secret of ["1Z999AA10123456784", "Portland", "maya.lopez@example.com", "Maya Lopez"]) expect(run.raw).not.toContain(secret);
    const redacted = run.events.filter((e) => e.eventType === "guardrail").map((e) => e.payload);
    expect(redacted).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ policyType: "allowed_fields", decision: "redacted", fields: expect.arrayContaining(["customer_email", "customer_name"]) }),
        expect.objectContaining({ policyType: "verify_before_disclose", decision: "redacted", fields: expect.arrayContaining(["tracking_number", "tracking_url", "shipping_city"]) }),
      ]),
    );
  });

  it("an order number Shopify does not know is not found, and the agent says so", async () => {
    const { key } = await app.newOrg("Unknown order org");
    await connect(key, { shop: SHOP, access_token: TOKEN });
    const { b, agent } = await storeAgent(key);
    await app.api("POST", `/api/v1/agents/${agent.id}/integrations/shopify/provision`, { key, body: {} });
    const run = await b.simulate(agent.id, { transcript: ["Where is my order 4242?"] });
    expect(run.events.find((e) => e.eventType === "tool_call")!.payload).toMatchObject({ status: "error", errorCode: "not_found" });
    expect(run.frames.at(-1)).toStartWith("event:done");
  });

  it("serves the WISMO pack and installs its preset once", async () => {
    const { key } = await app.newOrg("Pack org");
    const pack = await app.api("GET", "/api/v1/integrations/shopify/pack", { key });
    expect(pack.status).toBe(200);
    expect(pack.body.data.guidance).toContain("What is not possible");
    expect(pack.body.data.skills.map((s: { slug: string }) => s.slug)).toEqual(["where_is_my_order"]);
    const { b, agent } = await storeAgent(key);
    expect((await app.api("POST", `/api/v1/agents/${agent.id}/integrations/shopify/pack/install`, { key })).status).toBe(409);
    await connect(key, { shop: SHOP, access_token: TOKEN });
    const installed = await app.api("POST", `/api/v1/agents/${agent.id}/integrations/shopify/pack/install`, { key });
    expect(installed.status).toBe(200);
    expect(installed.body.data.map((r: { created: boolean; skill: { name: string; isEnabled: boolean } }) => [r.created, r.skill.name, r.skill.isEnabled])).toEqual([[true, "Where is my order", true]]);
    const again = await app.api("POST", `/api/v1/agents/${agent.id}/integrations/shopify/pack/install`, { key });
    expect(again.body.data.map((r: { created: boolean }) => r.created)).toEqual([false]);
    const run = await b.simulate(agent.id, { transcript: ["Where is my order? It's number 1002"] });
    const call = run.events.find((e) => e.eventType === "tool_call")!;
    expect(call.payload).toMatchObject({ status: "ok", result: { order_number: "#1002", status: "paid, unfulfilled" } });
    expect(Object.keys(call.payload.result)).not.toContain("customer_email");
  });
});

describe("the Shopify App Store install and claim (Shopify Admin API stand-in)", () => {
  const INSTALL = "/api/v1/integrations/shopify/install";
  const callback = (params: Record<string, string>, cookie = "flowyte_shopify_state=n0nce") =>
    fetch(`${app.url}${INSTALL}/callback?${new URLSearchParams(params)}`, { headers: cookie ? { cookie } : {} });
  const now = () => String(Math.floor(Date.now() / 1000));
  const installParams = (shop: string, code: string, timestamp = now()) => ({ code, host: Buffer.from(`${shop}/admin`).toString("base64url"), shop, state: "n0nce", timestamp });

  it("takes the installer from the app's URL to the shop's consent page and back, then the one-time secret claims the store", async () => {
    const shop = "maple-tea.myshopify.com";
    const token = "shpua_maple_7c1e93d0aa";
    standIn.expectInstall(shop, token, ["read_orders", "read_customers"]);
    // Shopify opens the app's URL with a signed shop.
    const start = await fetch(`${app.url}${INSTALL}?${new URLSearchParams(signInstallQuery({ host: "bWFwbGU", shop, timestamp: now() }, APP_SECRET))}`, { redirect: "manual" });
    expect(start.status).toBe(302);
    const cookie = start.headers.get("set-cookie")!.split(";")[0]!;
    expect(start.headers.get("set-cookie")).toContain("HttpOnly");
    const consent = new URL(start.headers.get("location")!);
    expect(consent.origin + consent.pathname).toBe(`${standIn.origin}/admin/oauth/authorize`);
    expect(Object.fromEntries(consent.searchParams)).toEqual({ client_id: CLIENT_ID, scope: "read_orders,read_customers", redirect_uri: expect.stringMatching(/\/api\/v1\/integrations\/shopify\/install\/callback$/), state: cookie.split("=")[1]! });
    // The merchant approves; Shopify sends the browser back with a code, the state and a new hmac.
    const approved = await fetch(consent, { redirect: "manual" });
    expect(approved.status).toBe(302);
    const back = Object.fromEntries(new URL(approved.headers.get("location")!).searchParams);
    expect(Object.keys(back).sort()).toEqual(["code", "hmac", "host", "shop", "state", "timestamp"]);
    // Another browser (without the entry's cookie) cannot finish it.
    const elsewhere = await callback(back, "");
    expect(elsewhere.status).toBe(403);
    expect((await elsewhere.json()).code).toBe("invalid_state");
    const res = await callback(back, cookie);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toStartWith("text/html");
    expect(res.headers.get("cache-control")).toBe("no-store");
    const page = await res.text();
    const claimSecret = /id="claim-secret"[^>]*>([^<]+)</.exec(page)![1]!;
    expect(claimSecret.length).toBeGreaterThanOrEqual(32);
    expect(page).not.toContain(token);
    const [pending] = await app.query<{ sealed_token: string; claim_secret_hash: string }>(`SELECT sealed_token, claim_secret_hash FROM shopify_installs WHERE shop = '${shop}'`);
    expect(pending!.sealed_token).toStartWith("v1.");
    expect(pending!.sealed_token).not.toContain(token);
    expect(pending!.claim_secret_hash).not.toContain(claimSecret);

    const { key } = await app.newOrg("Maple Tea");
    const claim = (body: Record<string, unknown>) => app.api("POST", "/api/v1/integrations/shopify/claim", { key, body });
    const wrong = await claim({ shop, claimSecret: "not-the-secret" });
    expect(wrong.status).toBe(403);
    expect(wrong.body.code).toBe("claim_secret_mismatch");
    const unknown = await claim({ shop: "nobody-here.myshopify.com", claimSecret });
    expect(unknown.status).toBe(404);
    expect(unknown.body.code).toBe("no_pending_install");

    const claimed = await claim({ shop: "Maple-Tea.myshopify.com", claimSecret });
    expect(claimed.status).toBe(200);
    expect(claimed.body.data).toEqual({ connected: true, kind: "shopify", shop });
    const list = await app.api("GET", "/api/v1/integrations", { key });
    expect(list.body.data).toEqual([expect.objectContaining({ kind: "shopify", status: "connected", accountLabel: shop })]);
    const reuse = await claim({ shop, claimSecret });
    expect(reuse.status).toBe(404);
    expect(reuse.body.code).toBe("no_pending_install");
    const other = await app.newOrg("Someone else");
    expect((await app.api("POST", "/api/v1/integrations/shopify/claim", { key: other.key, body: { shop, claimSecret } })).status).toBe(404);

    // The claimed token is an ordinary connection: the lookup runs on it.
    const { b, agent } = await storeAgent(key);
    await app.api("POST", `/api/v1/agents/${agent.id}/integrations/shopify/provision`, { key, body: {} });
    const before = standIn.requests.length;
    await b.simulate(agent.id, { transcript: ["Where is my order 1001?"] });
    expect(standIn.requests.slice(before).map((r) => r.shop)).toEqual([shop]);
    for (const text of [JSON.stringify(claimed.body), JSON.stringify(list.body), logLines.join("\n")]) expect(text).not.toContain(token);
  });

  it("refuses a callback whose hmac does not match, one from another browser, an old one, and a code Shopify does not know", async () => {
    const shop = "birch-supply.myshopify.com";
    const signed = signInstallQuery(installParams(shop, standIn.issueCode(shop, "shpua_birch_93aa1f02", ["read_orders"])), APP_SECRET);
    const tampered = await callback({ ...signed, shop: "other-store.myshopify.com" });
    expect(tampered.status).toBe(401);
    expect((await tampered.json()).code).toBe("invalid_signature");
    const wrongKey = await callback(signInstallQuery(installParams(shop, "abc"), "not-the-app-secret"));
    expect(wrongKey.status).toBe(401);
    const wrongEntry = await fetch(`${app.url}${INSTALL}?${new URLSearchParams(signInstallQuery({ shop, timestamp: now() }, "not-the-app-secret"))}`, { redirect: "manual" });
    expect(wrongEntry.status).toBe(401);
    const wrongState = await callback(signInstallQuery(installParams(shop, "abc"), APP_SECRET), "flowyte_shopify_state=other");
    expect(wrongState.status).toBe(403);
    const unsigned = await callback(installParams(shop, "abc"));
    expect(unsigned.status).toBe(401);
    const old = await callback(signInstallQuery(installParams(shop, standIn.issueCode(shop, "shpua_birch_93aa1f02", ["read_orders"]), String(Math.floor(Date.now() / 1000) - 3600)), APP_SECRET));
    expect(old.status).toBe(401);
    expect((await old.json()).code).toBe("install_expired");
    const badCode = await callback(signInstallQuery(installParams(shop, "never-issued"), APP_SECRET));
    expect(badCode.status).toBe(502);
    expect((await badCode.json()).code).toBe("shopify_token_exchange_failed");
    expect(await app.query(`SELECT shop FROM shopify_installs WHERE shop = '${shop}'`)).toEqual([]);
  });
});
