// WIDGET_BOT_CHECK_URL / WIDGET_BOT_CHECK_SECRET turn on the widget's bot check in the shipped server: every session
// start needs a turnstileToken that siteverify accepts. Verified over HTTP against a local stand-in for Cloudflare
// Turnstile's siteverify endpoint.
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { startTestApp, type TestApp } from "../../support/app.ts";
import { startSiteverifyStandIn } from "../../support/siteverify-stand-in.ts";

const SITE = "https://shop.example.com";
const SECRET = "0x4AAAAAAAtest-secret";
let app: TestApp;
let siteverify: ReturnType<typeof startSiteverifyStandIn>;
let pk: string;

beforeAll(async () => {
  siteverify = startSiteverifyStandIn({ secret: SECRET });
  app = await startTestApp({ WIDGET_BOT_CHECK_URL: siteverify.url, WIDGET_BOT_CHECK_SECRET: SECRET, TRUST_PROXY: "1" });
  const { key } = await app.newOrg();
  const agentId = (await app.api("POST", "/api/v1/agents", { key, body: { name: "Guarded" } })).body.data.id;
  await app.api("POST", `/api/v1/agents/${agentId}/publish`, { key, body: {} });
  pk = (await app.api("POST", `/api/v1/agents/${agentId}/publishable-keys`, { key, body: { name: "Shop", allowedOrigins: [SITE], rateLimitRpm: 6000 } })).body.data.keyPublic;
});
afterAll(async () => {
  await app.stop();
  siteverify.stop();
});

const startSession = (body: Record<string, unknown>, visitor = "203.0.113.5") =>
  app.api("POST", "/api/v1/chat/widget/sessions", { key: pk, body, headers: { origin: SITE, "x-forwarded-for": visitor } });

describe("widget bot check against a Turnstile-compatible siteverify (stand-in)", () => {
  it("refuses a session without a turnstileToken before asking siteverify", async () => {
    const res = await startSession({});
    expect(res.status).toBe(403);
    expect(res.headers.get("content-type")).toContain("application/problem+json");
    expect(res.body).toMatchObject({ code: "bot_check_required" });
    expect(res.body.detail).toContain("turnstileToken");
    expect(siteverify.requests).toHaveLength(0);
  });

  it("opens a session for a token siteverify accepts, sending the secret, the token and the visitor's address as a form", async () => {
    const token = siteverify.issueToken();
    const res = await startSession({ turnstileToken: token });
    expect(res.status).toBe(201);
    expect(res.body.data.conversationId).toMatch(/^conv_/);
    expect(siteverify.requests.at(-1)).toEqual({ contentType: expect.stringContaining("application/x-www-form-urlencoded"), secret: SECRET, response: token, remoteip: "203.0.113.5" });
  });

  it("refuses a token siteverify rejects, including one already used", async () => {
    const forged = await startSession({ turnstileToken: "0.made-up-by-a-bot" });
    expect(forged.status).toBe(403);
    expect(forged.body.code).toBe("bot_check_failed");

    const token = siteverify.issueToken();
    expect((await startSession({ turnstileToken: token })).status).toBe(201);
    const replayed = await startSession({ turnstileToken: token });
    expect(replayed.status).toBe(403);
    expect(replayed.body.code).toBe("bot_check_failed");
  });

  it("answers 503 bot_check_unavailable, not a visitor's failure, when siteverify refuses this server's secret", async () => {
    siteverify.secret = "0x4AAAAAAArotated";
    try {
      const res = await startSession({ turnstileToken: siteverify.issueToken() });
      expect(res.status).toBe(503);
      expect(res.body.code).toBe("bot_check_unavailable");
      expect(res.headers.get("retry-after")).toBe("5");
    } finally {
      siteverify.secret = SECRET;
    }
  });

  it("answers 503 bot_check_unavailable when siteverify cannot be reached, and opens no session", async () => {
    const token = siteverify.issueToken();
    siteverify.stop();
    const before = await app.query<{ n: number }>("select count(*)::int as n from conversations where source = 'widget'");
    const res = await startSession({ turnstileToken: token });
    expect(res.status).toBe(503);
    expect(res.body.code).toBe("bot_check_unavailable");
    const after = await app.query<{ n: number }>("select count(*)::int as n from conversations where source = 'widget'");
    expect(after[0]!.n).toBe(before[0]!.n);
  });
});
