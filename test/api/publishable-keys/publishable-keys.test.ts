import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { startTestApp, type TestApp } from "../../support/app.ts";

let app: TestApp;
let key: string;
let agentId: string;
const SITE = "https://www.example.com";

beforeAll(async () => {
  app = await startTestApp();
  ({ key } = await app.newOrg());
  agentId = (await app.api("POST", "/api/v1/agents", { key, body: { name: "Front desk" } })).body.data.id;
});
afterAll(() => app.stop());

const keysPath = () => `/api/v1/agents/${agentId}/publishable-keys`;
const create = async (body: Record<string, unknown> = {}) => {
  const res = await app.api("POST", keysPath(), { key, body: { name: "Marketing site", allowedOrigins: [SITE], ...body } });
  expect(res.status).toBe(201);
  return res.body.data;
};
/** A widget call with a publishable key, from a page on `origin`. */
const bootstrap = (pk: string, origin: string | null = SITE) => app.api("GET", "/api/v1/chat/widget/bootstrap", { key: pk, headers: origin ? { origin } : {} });

describe("publishable keys", () => {
  it("creates a key with defaults and shows its full value again later", async () => {
    const created = await create();
    expect(created).toMatchObject({
      agentId,
      name: "Marketing site",
      env: "live",
      allowedOrigins: [SITE],
      rateLimitRpm: 60,
      requireIdentityVerification: false,
      status: "active",
      previousKeyExpiresAt: null,
      revokedAt: null,
    });
    expect(created.id).toMatch(/^pk_/);
    expect(created.keyPublic).toMatch(/^flowyte_pk_live_[\w-]{32}$/);

    const listed = await app.api("GET", keysPath(), { key });
    expect(listed.status).toBe(200);
    expect(listed.body.data.find((k: { id: string }) => k.id === created.id)).toEqual(created);
    expect(listed.body.pagination).toMatchObject({ limit: 20, hasMore: false });
  });

  it("mints test keys and keeps the settings sent", async () => {
    const created = await create({ env: "test", rateLimitRpm: 600, requireIdentityVerification: true });
    expect(created.keyPublic).toMatch(/^flowyte_pk_test_/);
    expect(created).toMatchObject({ env: "test", rateLimitRpm: 600, requireIdentityVerification: true });
  });

  it("normalizes allowed origins to what browsers send and refuses anything that is not an origin", async () => {
    const created = await create({ allowedOrigins: ["HTTPS://Example.COM", "https://example.com:443/", "http://127.0.0.1:8080", "https://shop.example.com"] });
    expect(created.allowedOrigins).toEqual(["https://example.com", "http://127.0.0.1:8080", "https://shop.example.com"]);

    const bad = await app.api("POST", keysPath(), {
      key,
      body: {
        name: "x",
        allowedOrigins: ["https://ok.example", "https://example.com/pricing", "example.com", "ftp://example.com", "https://*.example.com", "https://a.example?x=1"],
      },
    });
    expect(bad.status).toBe(400);
    expect(bad.body.code).toBe("validation_error");
    expect(bad.body.errors.map((e: { field: string }) => e.field)).toEqual([
      "allowedOrigins[1]",
      "allowedOrigins[2]",
      "allowedOrigins[3]",
      "allowedOrigins[4]",
      "allowedOrigins[5]",
    ]);
    expect((await app.api("POST", keysPath(), { key, body: { name: "x", allowedOrigins: [] } })).status).toBe(400);
    expect((await app.api("POST", keysPath(), { key, body: { name: "x", allowedOrigins: Array.from({ length: 21 }, (_, i) => `https://s${i}.example`) } })).status).toBe(400);
    expect((await app.api("POST", keysPath(), { key, body: { name: "x", allowedOrigins: [SITE], rateLimitRpm: 0 } })).status).toBe(400);
    expect((await app.api("POST", keysPath(), { key, body: { name: "x", allowedOrigins: [SITE], rateLimitRpm: 6001 } })).status).toBe(400);
  });

  it("replays a create retried with the same Idempotency-Key", async () => {
    const headers = { "idempotency-key": "pk-create-1" };
    const first = await app.api("POST", keysPath(), { key, headers, body: { name: "Once", allowedOrigins: [SITE] } });
    const again = await app.api("POST", keysPath(), { key, headers, body: { name: "Once", allowedOrigins: [SITE] } });
    expect(again.status).toBe(201);
    expect(again.headers.get("idempotent-replayed")).toBe("true");
    expect(again.body.data.id).toBe(first.body.data.id);
  });

  it("updates name, origins, rate limit and identity requirement, and the change applies at once", async () => {
    const created = await create();
    expect((await bootstrap(created.keyPublic, "https://new.example.com")).status).toBe(403);
    const res = await app.api("PATCH", `${keysPath()}/${created.id}`, {
      key,
      body: { name: "Renamed", allowedOrigins: ["https://NEW.example.com"], rateLimitRpm: 30, requireIdentityVerification: true },
    });
    expect(res.status).toBe(200);
    expect(res.body.data).toMatchObject({
      name: "Renamed",
      allowedOrigins: ["https://new.example.com"],
      rateLimitRpm: 30,
      requireIdentityVerification: true,
      keyPublic: created.keyPublic,
    });
    expect(res.body.data.updatedAt >= created.updatedAt).toBe(true);
    expect((await bootstrap(created.keyPublic, "https://new.example.com")).status).toBe(200);
    expect((await bootstrap(created.keyPublic, SITE)).body.code).toBe("origin_not_allowed");
  });

  it("rotates: a new value, the old one working through its grace window and not after", async () => {
    const created = await create();
    expect((await bootstrap(created.keyPublic)).status).toBe(200);
    const before = Date.now();
    const rotated = (await app.api("POST", `${keysPath()}/${created.id}/rotate`, { key })).body.data;
    expect(rotated.id).toBe(created.id);
    expect(rotated.keyPublic).not.toBe(created.keyPublic);
    expect(rotated.keyPublic).toMatch(/^flowyte_pk_live_/);
    expect(rotated.allowedOrigins).toEqual(created.allowedOrigins);
    const grace = Date.parse(rotated.previousKeyExpiresAt) - before;
    expect(grace).toBeGreaterThan(24 * 3600_000 - 60_000);
    expect(grace).toBeLessThanOrEqual(24 * 3600_000 + 1000);

    expect((await bootstrap(rotated.keyPublic)).status).toBe(200);
    expect((await bootstrap(created.keyPublic)).status).toBe(200);

    // Close the grace window in storage, then announce the key as the service does after every change,
    // so the authenticator's cache forgets the old value and the next request reads the expiry.
    await app.query(`update publishable_keys set previous_key_expires_at = now() - interval '1 second' where id = '${created.id}'`);
    app.server.database.changes.announce("publishable_key", created.id);
    const expired = await bootstrap(created.keyPublic);
    expect(expired.status).toBe(401);
    expect(expired.body.code).toBe("invalid_api_key");
    expect((await bootstrap(rotated.keyPublic)).status).toBe(200);
  });

  it("ends the previous value's grace at once when the key is rotated again", async () => {
    const created = await create();
    const once = (await app.api("POST", `${keysPath()}/${created.id}/rotate`, { key })).body.data;
    const twice = (await app.api("POST", `${keysPath()}/${created.id}/rotate`, { key })).body.data;
    expect((await bootstrap(created.keyPublic)).status).toBe(401);
    expect((await bootstrap(once.keyPublic)).status).toBe(200);
    expect((await bootstrap(twice.keyPublic)).status).toBe(200);
  });

  it("revokes at once: the next request with the key, or its previous value, is 401", async () => {
    const created = await create();
    const rotated = (await app.api("POST", `${keysPath()}/${created.id}/rotate`, { key })).body.data;
    expect((await bootstrap(rotated.keyPublic)).status).toBe(200);
    expect((await bootstrap(created.keyPublic)).status).toBe(200);

    const revoked = await app.api("DELETE", `${keysPath()}/${created.id}`, { key });
    expect(revoked.status).toBe(200);
    expect(revoked.body.data.status).toBe("revoked");
    expect(revoked.body.data.revokedAt).not.toBeNull();
    expect((await bootstrap(rotated.keyPublic)).status).toBe(401);
    expect((await bootstrap(created.keyPublic)).status).toBe(401);

    expect((await app.api("DELETE", `${keysPath()}/${created.id}`, { key })).body.data.revokedAt).toBe(revoked.body.data.revokedAt);
    expect((await app.api("POST", `${keysPath()}/${created.id}/rotate`, { key })).body.code).toBe("key_revoked");
    expect((await app.api("PATCH", `${keysPath()}/${created.id}`, { key, body: { name: "again" } })).body.code).toBe("key_revoked");
  });

  it("answers 404 for another organization's keys and agents, and for an unknown agent", async () => {
    const created = await create();
    const other = await app.newOrg();
    for (const [method, path] of [
      ["GET", keysPath()],
      ["POST", keysPath()],
      ["PATCH", `${keysPath()}/${created.id}`],
      ["POST", `${keysPath()}/${created.id}/rotate`],
      ["DELETE", `${keysPath()}/${created.id}`],
    ] as const) {
      const res = await app.api(method, path, { key: other.key, body: method === "GET" || method === "DELETE" ? undefined : { name: "x", allowedOrigins: [SITE] } });
      expect({ method, path, status: res.status }).toEqual({ method, path, status: 404 });
    }
    const otherAgent = (await app.api("POST", "/api/v1/agents", { key, body: { name: "Other" } })).body.data.id;
    expect((await app.api("PATCH", `/api/v1/agents/${otherAgent}/publishable-keys/${created.id}`, { key, body: { name: "x" } })).body.code).toBe("publishable_key_not_found");
    expect((await app.api("GET", "/api/v1/agents/agt_unknown/publishable-keys", { key })).body.code).toBe("agent_not_found");
  });

  it("needs pubkeys:read to list and pubkeys:write to change", async () => {
    const { organizationId, key: owner } = await app.newOrg();
    const agent = (await app.api("POST", "/api/v1/agents", { key: owner, body: { name: "Scoped" } })).body.data.id;
    const reader = await app.keyWith(organizationId, ["pubkeys:read"]);
    expect((await app.api("GET", `/api/v1/agents/${agent}/publishable-keys`, { key: reader })).status).toBe(200);
    const res = await app.api("POST", `/api/v1/agents/${agent}/publishable-keys`, { key: reader, body: { name: "x", allowedOrigins: [SITE] } });
    expect(res.status).toBe(403);
    expect(res.body.requiredScope).toBe("pubkeys:write");
  });

  it("pages through keys newest first", async () => {
    const { key: owner } = await app.newOrg();
    const agent = (await app.api("POST", "/api/v1/agents", { key: owner, body: { name: "Paged" } })).body.data.id;
    const ids: string[] = [];
    for (let i = 0; i < 3; i++)
      ids.push((await app.api("POST", `/api/v1/agents/${agent}/publishable-keys`, { key: owner, body: { name: `k${i}`, allowedOrigins: [SITE] } })).body.data.id);
    const first = await app.api("GET", `/api/v1/agents/${agent}/publishable-keys?limit=2`, { key: owner });
    const second = await app.api("GET", `/api/v1/agents/${agent}/publishable-keys?limit=2&cursor=${first.body.pagination.nextCursor}`, { key: owner });
    expect([...first.body.data, ...second.body.data].map((k: { id: string }) => k.id)).toEqual(ids.reverse());
    expect(second.body.pagination.hasMore).toBe(false);
  });
});

describe("what a publishable key can reach", () => {
  it("never reads tenant data: every secret-key route answers 403", async () => {
    const created = await create();
    for (const path of ["/api/v1/agents", `/api/v1/agents/${agentId}`, keysPath(), `/api/v1/agents/${agentId}/widget`]) {
      const res = await app.api("GET", path, { key: created.keyPublic, headers: { origin: SITE } });
      expect({ path, status: res.status, code: res.body.code }).toEqual({ path, status: 403, code: "insufficient_scope" });
    }
  });

  it("works only from its allowed origins, and needs the Origin header", async () => {
    const created = await create();
    expect((await bootstrap(created.keyPublic, SITE)).status).toBe(200);
    const other = await bootstrap(created.keyPublic, "https://evil.example");
    expect(other.status).toBe(403);
    expect(other.body.code).toBe("origin_not_allowed");
    expect(other.headers.get("content-type")).toBe("application/problem+json");
    const missing = await bootstrap(created.keyPublic, null);
    expect(missing.status).toBe(403);
    expect(missing.body.code).toBe("origin_not_allowed");
  });

  it("accepts the key in ?key= as well as the bearer header", async () => {
    const created = await create();
    const res = await app.api("GET", `/api/v1/chat/widget/bootstrap?key=${created.keyPublic}`, { key: null, headers: { origin: SITE } });
    expect(res.status).toBe(200);
  });

  it("answers CORS preflights on the widget routes for any origin, and opens CORS on their answers", async () => {
    const preflight = await fetch(`${app.url}/api/v1/chat/widget/sessions`, {
      method: "OPTIONS",
      headers: { origin: "https://anywhere.example", "access-control-request-method": "POST", "access-control-request-headers": "authorization, content-type" },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get("access-control-allow-origin")).toBe("https://anywhere.example");
    expect(preflight.headers.get("access-control-allow-methods")).toContain("POST");
    expect(preflight.headers.get("access-control-allow-headers")).toContain("authorization");

    const created = await create();
    const refused = await bootstrap(created.keyPublic, "https://evil.example");
    expect(refused.headers.get("access-control-allow-origin")).toBe("https://evil.example");
    const allowed = await bootstrap(created.keyPublic);
    expect(allowed.headers.get("access-control-allow-origin")).toBe(SITE);
    // The control plane stays closed to browsers.
    const agents = await fetch(`${app.url}/api/v1/agents`, { headers: { origin: SITE, authorization: `Bearer ${key}` } });
    expect(agents.headers.get("access-control-allow-origin")).toBeNull();
  });

  it("rate-limits each key at its rateLimitRpm with 429 and Retry-After", async () => {
    const created = await create({ rateLimitRpm: 3 });
    const statuses: number[] = [];
    let last: Awaited<ReturnType<typeof bootstrap>> | undefined;
    for (let i = 0; i < 5; i++) {
      last = await bootstrap(created.keyPublic);
      statuses.push(last.status);
    }
    expect(statuses).toEqual([200, 200, 200, 429, 429]);
    expect(last!.body.code).toBe("rate_limited");
    expect(Number(last!.headers.get("retry-after"))).toBeGreaterThan(0);
    expect(last!.headers.get("ratelimit-limit")).toBe("3");
    // Another key of the same agent has its own budget.
    expect((await bootstrap((await create()).keyPublic)).status).toBe(200);
  });
});
