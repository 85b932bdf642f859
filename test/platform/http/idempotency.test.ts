// Idempotency-Key results belong to the key that made the request: another key of the same organization sending
// the same Idempotency-Key and body has its own request authorized and run (or refused), and never receives the
// first key's result — above all not a secret shown once. Every route marked idempotent is tried.
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { randomBytes } from "node:crypto";
import { Elysia } from "elysia";
import { AuditRecorder } from "../../../src/platform/audit/recorder.ts";
import { SecretKeyAuthenticator } from "../../../src/platform/auth/keys.ts";
import { PublishableKeyAuthenticator } from "../../../src/platform/auth/publishable.ts";
import { SCOPES, type Scope } from "../../../src/platform/auth/scopes.ts";
import { createSealer } from "../../../src/platform/crypto.ts";
import { createConventions } from "../../../src/platform/http/conventions.ts";
import { IdempotencyStore } from "../../../src/platform/http/idempotency.ts";
import { Problem } from "../../../src/platform/http/problem.ts";
import { memoryRateLimitStore, RateLimit } from "../../../src/platform/http/rate-limit.ts";
import { createLogger } from "../../../src/platform/log.ts";
import { startTestApp, type ApiResult, type TestApp } from "../../support/app.ts";

const FREE_NUMBER = "+14155550601";
const OFF_POOL = "+16465550699";
const SECRET_SCOPES = Object.keys(SCOPES).filter((s) => s !== "chat:public") as Scope[];

let app: TestApp;
let org: { organizationId: string; key: string };
/** A second key of the same organization, holding every scope the owner holds. */
let peer: string;

beforeAll(async () => {
  app = await startTestApp({ TRUNK_NUMBERS: FREE_NUMBER });
  org = await app.newOrg();
  peer = await app.keyWith(org.organizationId, SECRET_SCOPES);
});
afterAll(() => app.stop());

const post = (path: string, key: string, idempotencyKey: string, body?: unknown) =>
  app.api("POST", path, { key, body, headers: { "idempotency-key": idempotencyKey } });
const ok = <T = any>(res: ApiResult<T>) => {
  if (res.status >= 300) throw new Error(`${res.status} ${JSON.stringify(res.body)}`);
  return (res.body as { data: any }).data;
};
const newAgent = async (name: string) => ok(await app.api("POST", "/api/v1/agents", { key: org.key, body: { name } })).id as string;

/** One request per idempotent route, with what it needs created first by the owner. */
const CASES: Record<string, () => Promise<{ path: string; body?: unknown }>> = {
  "POST /api/v1/agents": async () => ({ path: "/api/v1/agents", body: { name: "Replayed agent" } }),
  "POST /api/v1/agents/{id}/publish": async () => ({ path: `/api/v1/agents/${await newAgent("To publish")}/publish`, body: { note: "first" } }),
  "POST /api/v1/agents/{id}/rollback": async () => {
    const agent = await newAgent("To roll back");
    const v1 = ok(await app.api("POST", `/api/v1/agents/${agent}/publish`, { key: org.key, body: {} }));
    ok(await app.api("POST", `/api/v1/agents/${agent}/publish`, { key: org.key, body: {} }));
    return { path: `/api/v1/agents/${agent}/rollback`, body: { versionId: v1.id } };
  },
  "POST /api/v1/agents/{id}/skills": async () => ({
    path: `/api/v1/agents/${await newAgent("Skilled")}/skills`,
    body: {
      name: "Check warranty",
      description: "When the caller asks about their warranty",
      skillType: "http_webhook",
      parametersSchema: { type: "object", properties: { serial: { type: "string", description: "Serial number" } }, required: ["serial"] },
      requiredParams: ["serial"],
      executionConfig: { url: "https://api.yourco.com/warranty/{serial}", method: "POST", timeout_ms: 4000 },
    },
  }),
  "POST /api/v1/agents/{id}/probe/run": async () => ({ path: `/api/v1/agents/${await newAgent("Probed")}/probe/run`, body: { scenarioId: "greeting", mode: "loopback" } }),
  "POST /api/v1/chat/sessions": async () => ({ path: "/api/v1/chat/sessions", body: { agentId: await newAgent("Chatty"), draftMode: true } }),
  "POST /api/v1/chat/sessions/{id}/messages": async () => {
    const session = ok(await app.api("POST", "/api/v1/chat/sessions", { key: org.key, body: { agentId: await newAgent("Talkative"), draftMode: true } }));
    return { path: `/api/v1/chat/sessions/${session.id}/messages`, body: { content: "Hello there" } };
  },
  "POST /api/v1/agents/{id}/playbooks": async () => ({ path: `/api/v1/agents/${await newAgent("Playbooked")}/playbooks`, body: { name: "Callback", description: "Books a callback" } }),
  "POST /api/v1/agents/{id}/knowledge/sources": async () => ({
    path: `/api/v1/agents/${await newAgent("Knowing")}/knowledge/sources`,
    body: { kind: "text", label: "Shipping", text: "We ship to Canada and Mexico in five business days." },
  }),
  "POST /api/v1/numbers/purchase": async () => ({ path: "/api/v1/numbers/purchase", body: { e164: FREE_NUMBER } }),
  "POST /api/v1/numbers/import": async () => ({ path: "/api/v1/numbers/import", body: { e164: OFF_POOL } }),
  "POST /api/v1/agents/{id}/publishable-keys": async () => ({
    path: `/api/v1/agents/${await newAgent("Embedded")}/publishable-keys`,
    body: { name: "Site", allowedOrigins: ["https://shop.example.com"] },
  }),
  "POST /api/v1/api-keys": async () => ({ path: "/api/v1/api-keys", body: { name: "ci", scopes: ["agents:read"] } }),
  "POST /api/v1/api-keys/{id}/rotate": async () => {
    const target = ok(await app.api("POST", "/api/v1/api-keys", { key: org.key, body: { name: "rotated", scopes: ["agents:read"] } }));
    return { path: `/api/v1/api-keys/${target.id}/rotate` };
  },
};

const idempotentRoutes = () =>
  app.server.routes
    .filter((r) => !r.hidden && r.detail?.["x-idempotent"] === true)
    .map((r) => ({ route: `${r.method} ${r.path.replace(/:(\w+)/g, "{$1}")}`, scope: r.detail!["x-scope"] as Scope }));

const storedRecords = async (idempotencyKey: string) =>
  (await app.query<{ n: string | number }>(`select count(*) as n from idempotency_keys where organization_id = '${org.organizationId}' and key = '${idempotencyKey}'`))[0]!.n;

describe("Idempotency-Key results belong to the calling key", () => {
  it("has a case here for every route marked idempotent", () => {
    expect(idempotentRoutes().map((r) => r.route).sort()).toEqual(Object.keys(CASES).sort());
  });

  for (const name of Object.keys(CASES)) {
    it(`${name}: another key replaying the owner's Idempotency-Key and body runs its own request, never getting the owner's result`, async () => {
      const { path, body } = await CASES[name]!();
      const { scope } = idempotentRoutes().find((r) => r.route === name)!;
      const idempotencyKey = `replay ${name}`;
      const first = await post(path, org.key, idempotencyKey, body);
      expect(first.status).toBeLessThan(300);
      const secret: string | undefined = first.body.data?.secret;

      // A key without the route's scope is refused before anything is looked up.
      const unscoped = await post(path, await app.keyWith(org.organizationId, SECRET_SCOPES.filter((s) => s !== scope)), idempotencyKey, body);
      expect(unscoped.status).toBe(403);
      expect(unscoped.body.code).toBe("insufficient_scope");

      const theirs = await post(path, peer, idempotencyKey, body);
      expect(theirs.headers.get("idempotent-replayed")).toBeNull();
      if (secret) expect(JSON.stringify(theirs.body)).not.toContain(secret);
      if (theirs.status < 300) {
        // Its own request ran and was recorded beside the owner's (a rollback may well answer the same version).
        expect(Number(await storedRecords(idempotencyKey))).toBe(2);
      } else {
        expect(theirs.headers.get("content-type")).toBe("application/problem+json");
        expect(Number(await storedRecords(idempotencyKey))).toBe(1);
      }

      const again = await post(path, org.key, idempotencyKey, body);
      expect(again.status).toBe(first.status);
      expect(again.headers.get("idempotent-replayed")).toBe("true");
      expect(again.body).toEqual(first.body);
    });
  }
});

describe("a narrower key replaying the owner's key requests", () => {
  it("gets 403 scope_escalation for POST /api-keys, not the owner's full-scope secret", async () => {
    const body = { name: "admin", scopes: SECRET_SCOPES };
    const first = await post("/api/v1/api-keys", org.key, "mint-admin", body);
    expect(first.status).toBe(201);
    const narrow = await app.keyWith(org.organizationId, ["keys:write", "agents:read"]);
    const replayed = await post("/api/v1/api-keys", narrow, "mint-admin", body);
    expect(replayed.status).toBe(403);
    expect(replayed.body.code).toBe("scope_escalation");
    expect(replayed.headers.get("idempotent-replayed")).toBeNull();
    expect(JSON.stringify(replayed.body)).not.toContain(first.body.data.secret);
  });

  it("gets 403 scope_escalation for POST /api-keys/{id}/rotate of a stronger key, not its new secret", async () => {
    const strong = ok(await app.api("POST", "/api/v1/api-keys", { key: org.key, body: { name: "deployer", scopes: ["agents:read", "agents:write", "keys:write"] } }));
    const first = await post(`/api/v1/api-keys/${strong.id}/rotate`, org.key, "rotate-deployer");
    expect(first.status).toBe(200);
    const narrow = await app.keyWith(org.organizationId, ["keys:write", "agents:read"]);
    const replayed = await post(`/api/v1/api-keys/${strong.id}/rotate`, narrow, "rotate-deployer");
    expect(replayed.status).toBe(403);
    expect(replayed.body.code).toBe("scope_escalation");
    expect(JSON.stringify(replayed.body)).not.toContain(first.body.data.secret);
    // The owner's secret still works: the refused request rotated nothing.
    expect((await app.api("GET", "/api/v1/agents", { key: first.body.data.secret })).status).toBe(200);
  });
});

describe("the idempotent mechanism", () => {
  it("runs a route's own authorization (its beforeHandle) before answering a stored result, even to the same key", async () => {
    const { database } = app.server;
    const log = createLogger("error");
    const conventions = createConventions({
      log,
      authenticator: new SecretKeyAuthenticator(database),
      publishableKeys: new PublishableKeyAuthenticator(database),
      rateLimit: new RateLimit(memoryRateLimitStore(), "api", 60, log),
      rateLimitPerMinute: 0,
      idempotency: new IdempotencyStore(database.db, createSealer(randomBytes(32))),
      audit: new AuditRecorder(database.db, log),
      jsonBodyLimit: 1024,
    });
    let runs = 0;
    const guarded = new Elysia()
      .use(conventions)
      .post("/guarded", () => ({ secret: `s${++runs}` }), {
        scope: "keys:write",
        beforeHandle: ({ headers }) => {
          if (headers["x-deny"]) throw new Problem(403, "denied", "the route's own check refused");
        },
        idempotent: true,
      })
      .listen({ port: 0, hostname: "127.0.0.1" });
    try {
      const call = (deny: boolean) =>
        fetch(`http://127.0.0.1:${guarded.server!.port}/guarded`, {
          method: "POST",
          headers: { authorization: `Bearer ${org.key}`, "idempotency-key": "guarded-1", ...(deny ? { "x-deny": "1" } : {}) },
        });
      expect(await (await call(false)).json()).toEqual({ secret: "s1" });
      const refused = await call(true);
      expect(refused.status).toBe(403);
      expect((await refused.json()).code).toBe("denied");
      const replayed = await call(false);
      expect(replayed.headers.get("idempotent-replayed")).toBe("true");
      expect(await replayed.json()).toEqual({ secret: "s1" });
      expect(runs).toBe(1);
    } finally {
      await guarded.stop();
    }
  });
});
