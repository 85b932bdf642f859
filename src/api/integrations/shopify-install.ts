// Shopify App Store installs, Shopify's authorization code grant: Shopify opens the app's URL (the install entry)
// with the shop and an `hmac` signed with the app's secret (SHOPIFY_APP_SECRET); the entry sends the installer on to
// the shop's consent page with a `state` nonce, also kept in a cookie. Shopify sends them back to the install
// callback with a code, the state and a new hmac. The callback checks the signature, its age and the state, exchanges
// the code for the shop's access token (through the egress guard), keeps the token sealed as a pending install and
// shows the installer a one-time claim secret. `POST /integrations/shopify/claim` with that secret attaches the store
// to the caller's organization as an ordinary connection; a claim is single-use.
import { createHash, createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import { eq } from "drizzle-orm";
import { Elysia, t } from "elysia";
import type { Principal } from "../../platform/auth/principal.ts";
import { shopifyInstalls } from "../../platform/db/schema/index.ts";
import { createEgressGuard, EgressRefused } from "../../platform/egress.ts";
import { problems } from "../../platform/http/docs.ts";
import { Envelope, ok } from "../../platform/http/envelope.ts";
import { Problem } from "../../platform/http/problem.ts";
import type { ApiContext } from "../context.ts";
import { ClaimBody, ClaimResult, KindParams } from "./model.ts";
import type { IntegrationsService } from "./service.ts";

const SHOP = /^[a-z0-9][a-z0-9-]{0,60}\.myshopify\.com$/;
/** How old a signed callback may be: Shopify redirects at once, so an older one is a replay. */
const CALLBACK_MAX_AGE_S = 300;
/** How long an install waits for its claim; after that the installer reinstalls. */
const PENDING_TTL_MS = 24 * 60 * 60 * 1000;
const tags = ["Integrations"];
/** What an install asks for: orders, and the customer an order belongs to. */
const INSTALL_SCOPES = "read_orders,read_customers";
const STATE_COOKIE = "flowyte_shopify_state";
const STATE_MAX_AGE_S = 600;
const INSTALL_PATH = "/api/v1/integrations/shopify/install";

/**
 * Shopify's install signature: HMAC-SHA256, hex, keyed by the app secret, over the query parameters other than
 * `hmac` sorted by name and joined as `name=value&…` (values as decoded from the query string).
 */
export function shopifyHmac(query: Record<string, string>, secret: string): string {
  const message = Object.keys(query)
    .filter((k) => k !== "hmac" && k !== "signature")
    .sort()
    .map((k) => `${k}=${query[k]}`)
    .join("&");
  return createHmac("sha256", secret).update(message).digest("hex");
}

const sameText = (a: string, b: string) => {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
};
const digest = (secret: string) => createHash("sha256").update(secret).digest();

export class ShopifyInstalls {
  private readonly guard;

  constructor(
    private readonly ctx: Pick<ApiContext, "database" | "sealer" | "config" | "log">,
    private readonly service: IntegrationsService,
    private readonly now: () => number = Date.now,
  ) {
    this.guard = createEgressGuard({ allowlist: ctx.config.egressAllowlist });
  }

  /** A request Shopify signed for this app, not too old: answers the app and the shop it names. */
  private signed(query: Record<string, string>) {
    const app = this.ctx.config.shopify;
    if (!app) throw new Problem(503, "shopify_app_not_configured", "this installation has no Shopify app (SHOPIFY_APP_CLIENT_ID and SHOPIFY_APP_SECRET)");
    if (typeof query.hmac !== "string" || !sameText(shopifyHmac(query, app.appSecret), query.hmac.toLowerCase())) {
      throw new Problem(401, "invalid_signature", "the install request's hmac does not match: it was not sent by Shopify for this app");
    }
    const shop = (query.shop ?? "").toLowerCase();
    if (!SHOP.test(shop)) throw new Problem(400, "invalid_shop", "shop must be a myshopify.com domain");
    const timestamp = Number(query.timestamp);
    const age = this.now() / 1000 - timestamp;
    if (!Number.isFinite(timestamp) || age > CALLBACK_MAX_AGE_S || age < -60) throw new Problem(401, "install_expired", "the install request is too old (or from the future): install the app again");
    return { app, shop };
  }

  /** The install entry: where the shop's consent page is, and the state nonce the callback must bring back. */
  start(query: Record<string, string>): { location: string; state: string } {
    const { app, shop } = this.signed(query);
    const state = randomBytes(18).toString("base64url");
    const url = new URL(`${app.adminOrigin ?? `https://${shop}`}/admin/oauth/authorize`);
    url.searchParams.set("client_id", app.clientId);
    url.searchParams.set("scope", INSTALL_SCOPES);
    url.searchParams.set("redirect_uri", `${this.ctx.config.publicBaseUrl}${INSTALL_PATH}/callback`);
    url.searchParams.set("state", state);
    return { location: url.toString(), state };
  }

  /**
   * The install callback: answers the claim secret for the shop, or a problem saying why the install is refused.
   * `cookieState` is the nonce the entry gave this browser: a callback started elsewhere does not carry it.
   */
  async callback(query: Record<string, string>, cookieState: string | undefined): Promise<{ shop: string; claimSecret: string }> {
    const { app, shop } = this.signed(query);
    if (!query.state || !cookieState || !sameText(query.state, cookieState)) throw new Problem(403, "invalid_state", "the install was not started from this browser: install the app again");
    if (!query.code) throw new Problem(400, "missing_code", "the install callback carries no code");

    const { token, scope } = await this.exchange(shop, query.code, app);
    const claimSecret = randomBytes(24).toString("base64url");
    const values = { sealedToken: this.ctx.sealer.seal(token), scope, claimSecretHash: digest(claimSecret).toString("hex"), createdAt: new Date(this.now()) };
    // A reinstall replaces what an earlier install left unclaimed.
    await this.ctx.database.db.insert(shopifyInstalls).values({ shop, ...values }).onConflictDoUpdate({ target: shopifyInstalls.shop, set: values });
    this.ctx.log.info("shopify install pending a claim", { shop });
    return { shop, claimSecret };
  }

  /** Shopify's OAuth token endpoint: the callback's code for the shop's offline access token. */
  private async exchange(shop: string, code: string, app: { clientId: string; appSecret: string; adminOrigin: string | null }) {
    const url = new URL(`${app.adminOrigin ?? `https://${shop}`}/admin/oauth/access_token`);
    let response: Response;
    try {
      response = await this.guard.fetch(url, {
        method: "POST",
        headers: new Headers({ "content-type": "application/json", accept: "application/json" }),
        body: JSON.stringify({ client_id: app.clientId, client_secret: app.appSecret, code }),
        signal: AbortSignal.timeout(this.ctx.config.integrations.timeoutMs),
      });
    } catch (error) {
      if (error instanceof EgressRefused) throw new Problem(502, "egress_refused", error.message, { title: "Bad gateway" });
      throw new Problem(502, "shopify_token_exchange_failed", `${shop} could not be reached to finish the install`, { title: "Bad gateway" });
    }
    const answer = (await response.json().catch(() => null)) as { access_token?: unknown; scope?: unknown } | null;
    if (!response.ok || typeof answer?.access_token !== "string" || !answer.access_token) {
      this.ctx.log.warn("shopify refused an install code", { shop, status: response.status });
      throw new Problem(502, "shopify_token_exchange_failed", `${shop} refused the install code (${response.status}): install the app again`, { title: "Bad gateway" });
    }
    return { token: answer.access_token, scope: typeof answer.scope === "string" ? answer.scope : "" };
  }

  /** Attaches a pending install to the organization: 404 none (or expired), 403 wrong secret; the secret works once. */
  async claim(organizationId: string, kind: string, input: { shop: string; claimSecret: string }) {
    if (kind !== "shopify") throw new Problem(404, "integration_not_found", "only Shopify App Store installs are claimed");
    const shop = input.shop.trim().toLowerCase();
    const db = this.ctx.database.db;
    const [pending] = await db.select().from(shopifyInstalls).where(eq(shopifyInstalls.shop, shop));
    if (!pending || this.now() - pending.createdAt.getTime() > PENDING_TTL_MS) throw noPendingInstall(shop);
    if (!timingSafeEqual(digest(input.claimSecret), Buffer.from(pending.claimSecretHash, "hex"))) {
      throw new Problem(403, "claim_secret_mismatch", "the claim secret does not match the one shown after the install");
    }
    // Taken before it is attached: of two claims racing with the secret, one gets the store.
    const [taken] = await db.delete(shopifyInstalls).where(eq(shopifyInstalls.claimSecretHash, pending.claimSecretHash)).returning();
    if (!taken) throw noPendingInstall(shop);
    await this.service.attach(organizationId, "shopify", { shop, access_token: this.ctx.sealer.open(taken.sealedToken) });
    this.ctx.log.info("shopify install claimed", { shop, organizationId });
    return { connected: true as const, kind: "shopify", shop };
  }
}

const noPendingInstall = (shop: string) => new Problem(404, "no_pending_install", `there is no pending App Store install for ${shop}`);

/** The page an installer sees: the claim secret, once, and what to do with it. */
function claimPage(shop: string, claimSecret: string, publicBaseUrl: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Shopify store installed</title><meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body style="font-family: system-ui, sans-serif; max-width: 40rem; margin: 3rem auto; line-height: 1.5">
<h1>${shop} is installed</h1>
<p>Claim it for your organization with this one-time secret. It is shown only now and works once, within 24 hours.</p>
<p><code id="claim-secret" style="font-size: 1.2rem; user-select: all">${claimSecret}</code></p>
<pre style="white-space: pre-wrap">curl -X POST ${publicBaseUrl}/api/v1/integrations/shopify/claim \\
  -H "Authorization: Bearer $FLOWYTE_API_KEY" -H "Content-Type: application/json" \\
  -d '{"shop":"${shop}","claimSecret":"${claimSecret}"}'</pre>
</body></html>`;
}

export function shopifyInstallRoutes(ctx: ApiContext, service: IntegrationsService) {
  const installs = new ShopifyInstalls(ctx, service);
  const me = (c: unknown) => (c as { principal: Principal }).principal.organizationId;
  const secure = ctx.config.publicBaseUrl.startsWith("https:") ? "; Secure" : "";
  const browserQuery = t.Record(t.String(), t.String({ maxLength: 2000 }));
  // Mounted by integrationRoutes, under its /api/v1 prefix. Both install pages are the installer's browser's, not
  // API operations: left out of the OpenAPI document like the widget's, and reached without an API key.
  return new Elysia()
    .use(ctx.conventions)
    .get(
      "/integrations/shopify/install",
      ({ query }) => {
        const { location, state } = installs.start(query as Record<string, string>);
        return new Response(null, {
          status: 302,
          headers: { location, "cache-control": "no-store", "set-cookie": `${STATE_COOKIE}=${state}; Path=${INSTALL_PATH}; Max-Age=${STATE_MAX_AGE_S}; HttpOnly; SameSite=Lax${secure}` },
        });
      },
      {
        publicRoute: true,
        query: browserQuery,
        detail: {
          hide: true,
          summary: "Start a Shopify App Store install",
          description: "The Shopify app's URL: checks Shopify's hmac and timestamp, then redirects to the shop's consent page with a state nonce (also set as a cookie). 401 invalid_signature or install_expired; 400 invalid_shop; 503 shopify_app_not_configured.",
          tags,
        },
      },
    )
    .get(
      "/integrations/shopify/install/callback",
      async ({ query, cookie }) => {
        const { shop, claimSecret } = await installs.callback(query as Record<string, string>, cookie[STATE_COOKIE]?.value as string | undefined);
        return new Response(claimPage(shop, claimSecret, ctx.config.publicBaseUrl), {
          headers: {
            "content-type": "text/html; charset=utf-8",
            "cache-control": "no-store",
            "referrer-policy": "no-referrer",
            "content-security-policy": "default-src 'none'; style-src 'unsafe-inline'",
            "set-cookie": `${STATE_COOKIE}=; Path=${INSTALL_PATH}; Max-Age=0; HttpOnly; SameSite=Lax${secure}`,
          },
        });
      },
      {
        publicRoute: true,
        query: browserQuery,
        detail: {
          hide: true,
          summary: "Finish a Shopify App Store install",
          description:
            "The Shopify app's redirection URL: checks Shopify's hmac, the timestamp (5 minutes) and the state against the entry's cookie, exchanges the code for the store's token, keeps it sealed as a pending install and shows a one-time claimSecret for POST /integrations/shopify/claim. 401 invalid_signature or install_expired; 403 invalid_state; 400 invalid_shop or missing_code; 502 shopify_token_exchange_failed or egress_refused; 503 shopify_app_not_configured.",
          tags,
        },
      },
    )
    .post("/integrations/:kind/claim", async ({ params, body, ...c }) => ok(await installs.claim(me(c), params.kind, body)), {
      scope: "integrations:connect",
      params: KindParams,
      body: ClaimBody,
      parse: "json",
      response: { 200: Envelope(ClaimResult), ...problems(400, 403, 404) },
      detail: {
        operationId: "claimIntegration",
        summary: "Claim a Shopify App Store install",
        description:
          "Shopify only: attaches a pending App Store install (the store's token, sealed) to this organization as a normal connection, with the one-time claimSecret the install callback showed. Single-use. 404 no_pending_install when none waits for that shop (or it was claimed, or is older than 24 hours); 403 claim_secret_mismatch.",
        tags,
      },
    });
}
