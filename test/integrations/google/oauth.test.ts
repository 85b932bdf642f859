// OAuth 2 for oauth2 plugins against the Google OAuth 2.0 stand-in: the whole round trip in Chromium (connect →
// consent page → Allow → the app's callback → connected with the account's email), tokens sealed at rest, a state
// that works once, access tokens refreshed before expiry and after a 401, a refresh token a provider rotates kept
// when two calls refresh at once, a revoked grant turning the connection to error (its skills fail and say so), and
// the grant revoked at Google on disconnect.
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { agentBuilder } from "../../support/agent-builder.ts";
import { hasChromium, launchChromium } from "../../support/browser.ts";
import { connectOverHttp, PUBLIC_BASE_URL, startGoogle } from "./support.ts";

let g: Awaited<ReturnType<typeof startGoogle>>;

beforeAll(async () => {
  g = await startGoogle();
});

afterAll(async () => {
  await g?.stop();
});

const connection = async (key: string, kind: string) => (await g.app.api("GET", "/api/v1/integrations", { key })).body.data.find((r: { kind: string }) => r.kind === kind);

async function calendarAgent(key: string) {
  const b = agentBuilder(g.app, key);
  const agent = await b.agent({ name: "Cool Air HVAC", greeting: "Cool Air HVAC, how can I help?" });
  const provisioned = await g.app.api("POST", `/api/v1/agents/${agent.id}/integrations/google_calendar/provision`, { key, body: { actions: ["check_availability"] } });
  expect(provisioned.status).toBe(200);
  return { b, agent };
}
const checkAvailability = async (b: ReturnType<typeof agentBuilder>, agentId: string) => {
  const run = await b.simulate(agentId, { transcript: ["Can you check availability for an appointment?"] });
  return run.events.find((e) => e.eventType === "tool_call")!.payload;
};

describe("OAuth 2 with PKCE (Google OAuth 2.0 stand-in)", () => {
  it.skipIf(!hasChromium)("connects Google Calendar in Chromium: consent page, Allow, callback, connected with the account's email", async () => {
    const { key } = await g.app.newOrg("Browser org");
    const started = await g.app.api("POST", "/api/v1/integrations/google_calendar/connect", { key, body: {} });
    expect(started.status).toBe(200);
    const consent = new URL(started.body.data.oauthUrl);
    expect(`${consent.origin}${consent.pathname}`).toBe(`${g.google.url}/o/oauth2/v2/auth`);
    expect(Object.fromEntries(consent.searchParams)).toMatchObject({
      response_type: "code",
      client_id: "1234567890-flowyte.apps.googleusercontent.com",
      redirect_uri: `${PUBLIC_BASE_URL}/integrations/oauth/callback`,
      code_challenge_method: "S256",
      access_type: "offline",
      prompt: "consent",
    });
    expect(consent.searchParams.get("scope")).toContain("https://www.googleapis.com/auth/calendar.events");
    expect(consent.searchParams.get("code_challenge")).toMatch(/^[A-Za-z0-9_-]{43}$/);

    const browser = await launchChromium();
    try {
      const page = await browser.newPage();
      // The browser reaches the app at PUBLIC_BASE_URL; here that origin is the test server.
      await page.route(`${PUBLIC_BASE_URL}/**`, async (route) => {
        const url = new URL(route.request().url());
        await route.fulfill({ response: await route.fetch({ url: `${g.app.url}${url.pathname}${url.search}` }) });
      });
      await page.goto(consent.toString());
      await page.getByRole("button", { name: "Allow" }).click();
      await page.waitForURL(`${PUBLIC_BASE_URL}/integrations/oauth/callback?**`);
      expect(await page.textContent("#message")).toContain(`${g.oauth.email} is connected. You can close this window.`);

      // The state was used: the same callback again is refused, and changes nothing.
      await page.reload();
      expect(await page.textContent("#message")).toContain("expired or was already used");
    } finally {
      await browser.close();
    }

    const row = await connection(key, "google_calendar");
    expect(row).toMatchObject({ kind: "google_calendar", status: "connected", statusReason: null, accountLabel: g.oauth.email });
    const catalog = (await g.app.api("GET", "/api/v1/integrations/catalog", { key })).body.data.find((e: { kind: string }) => e.kind === "google_calendar");
    expect(catalog).toMatchObject({ authType: "oauth2", connected: true, accountLabel: g.oauth.email });
    const [stored] = await g.app.query<{ sealed_credentials: string }>(`SELECT sealed_credentials FROM integrations WHERE kind = 'google_calendar' AND account_label = '${g.oauth.email}'`);
    expect(stored!.sealed_credentials).toStartWith("v1.");
    expect(stored!.sealed_credentials).not.toContain("ya29.");
    expect(await g.app.query("SELECT 1 FROM integration_oauth_requests")).toHaveLength(0);
  });

  it("refuses a callback whose state it never issued, without asking Google for tokens", async () => {
    const asked = g.oauth.tokenRequests.length;
    const forged = await fetch(`${g.app.url}/integrations/oauth/callback?state=forged-state&code=4/anything`);
    expect(forged.status).toBe(400);
    expect(forged.headers.get("content-type")).toStartWith("text/html");
    expect(await forged.text()).toContain("expired or was already used");
    const denied = await fetch(`${g.app.url}/integrations/oauth/callback`);
    expect(denied.status).toBe(400);
    expect(g.oauth.tokenRequests.length).toBe(asked);
  });

  it("sends a person who pressed Cancel back to a page that says so, and connects nothing", async () => {
    const { key } = await g.app.newOrg("Cancel org");
    const started = await g.app.api("POST", "/api/v1/integrations/google_sheets/connect", { key, body: {} });
    const consent = new URL(started.body.data.oauthUrl);
    const form = new URLSearchParams({ decision: "deny" });
    for (const name of ["redirect_uri", "state", "code_challenge", "scope"]) form.set(name, consent.searchParams.get(name) ?? "");
    const back = new URL((await fetch(`${g.google.url}/o/oauth2/v2/auth/approve`, { method: "POST", body: form, redirect: "manual" })).headers.get("location")!);
    const page = await fetch(`${g.app.url}${back.pathname}${back.search}`);
    expect(page.status).toBe(400);
    expect(await page.text()).toContain("access_denied");
    expect(await connection(key, "google_sheets")).toBeUndefined();
  });

  it("refreshes an access token about to expire before the call, and one Google refused (401) after it", async () => {
    const { key } = await g.app.newOrg("Refresh org");
    g.oauth.expiresIn = 30; // inside the one-minute margin: the next call refreshes first
    try {
      expect((await connectOverHttp(g.app, g.google.url, key, "google_calendar")).status).toBe(200);
    } finally {
      g.oauth.expiresIn = 3600;
    }
    const { b, agent } = await calendarAgent(key);
    const before = g.oauth.tokenRequests.filter((t) => t === "refresh_token").length;
    const first = await checkAvailability(b, agent.id);
    expect(first.status).toBe("ok");
    expect(g.oauth.tokenRequests.filter((t) => t === "refresh_token").length).toBe(before + 1);

    // Google stops honouring every access token it gave: the call gets a 401, refreshes and tries again.
    g.oauth.invalidateAccessTokens();
    const second = await checkAvailability(b, agent.id);
    expect(second.status).toBe("ok");
    expect(g.oauth.tokenRequests.filter((t) => t === "refresh_token").length).toBe(before + 2);
    expect((await connection(key, "google_calendar")).status).toBe("connected");
  });

  it("keeps a rotated refresh token when two calls refresh at once: Google is asked once", async () => {
    const { key } = await g.app.newOrg("Rotation org");
    await connectOverHttp(g.app, g.google.url, key, "google_calendar");
    const { b, agent } = await calendarAgent(key);
    g.oauth.rotateRefreshTokens = true;
    try {
      g.oauth.invalidateAccessTokens();
      const before = g.oauth.tokenRequests.filter((t) => t === "refresh_token").length;
      const both = await Promise.all([checkAvailability(b, agent.id), checkAvailability(b, agent.id)]);
      expect(both.map((c) => c.status)).toEqual(["ok", "ok"]);
      expect(g.oauth.tokenRequests.filter((t) => t === "refresh_token").length).toBe(before + 1);
      // The stored refresh token is the rotated one: the next refresh still works.
      g.oauth.invalidateAccessTokens();
      expect((await checkAvailability(b, agent.id)).status).toBe("ok");
    } finally {
      g.oauth.rotateRefreshTokens = false;
    }
  });

  it("turns a revoked grant into status error with a reason; its skills fail with integration_error until reconnected", async () => {
    const { key } = await g.app.newOrg("Revoked org");
    await connectOverHttp(g.app, g.google.url, key, "google_calendar");
    const { b, agent } = await calendarAgent(key);
    expect((await checkAvailability(b, agent.id)).status).toBe("ok");

    // The account holder removed the app's access in their Google account.
    g.oauth.revokeAllGrants();
    const failed = await checkAvailability(b, agent.id);
    expect(failed).toMatchObject({ status: "error", errorCode: "integration_error" });
    const row = await connection(key, "google_calendar");
    expect(row.status).toBe("error");
    expect(row.statusReason).toContain("invalid_grant");
    // Later calls say so at once, without asking Google again.
    const again = await checkAvailability(b, agent.id);
    expect(again).toMatchObject({ status: "error", errorCode: "integration_error" });

    expect((await connectOverHttp(g.app, g.google.url, key, "google_calendar")).status).toBe(200);
    expect(await connection(key, "google_calendar")).toMatchObject({ status: "connected", statusReason: null });
    expect((await checkAvailability(b, agent.id)).status).toBe("ok");
  });

  it("revokes the grant at Google on disconnect", async () => {
    const { key } = await g.app.newOrg("Disconnect org");
    await connectOverHttp(g.app, g.google.url, key, "google_calendar");
    const revokedBefore = g.oauth.revoked.length;
    const res = await g.app.api("DELETE", "/api/v1/integrations/google_calendar", { key });
    expect(res.status).toBe(200);
    expect(g.oauth.revoked.length).toBe(revokedBefore + 1);
    expect(await connection(key, "google_calendar")).toMatchObject({ status: "disconnected" });
  });
});
