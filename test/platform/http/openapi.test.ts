import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { ALL_SCOPES, type Scope } from "../../../src/platform/auth/scopes.ts";
import { startTestApp, type TestApp } from "../../support/app.ts";

let app: TestApp;
let doc: any;
beforeAll(async () => {
  app = await startTestApp();
  doc = (await app.api("GET", "/api/v1/openapi.json", { key: null })).body;
});
afterAll(() => app.stop());

type Operation = { method: string; path: string; op: any };
const operations = (): Operation[] =>
  Object.entries<any>(doc.paths).flatMap(([path, item]) =>
    ["get", "post", "put", "patch", "delete"].filter((m) => item[m]).map((m) => ({ method: m.toUpperCase(), path, op: item[m] })),
  );
const scopesOf = (op: any): string[] => (op.security ?? []).flatMap((s: Record<string, string[]>) => Object.values(s).flat());

describe("the OpenAPI document", () => {
  it("is served at /api/v1/openapi.json as OpenAPI 3.1", () => {
    expect(doc.openapi).toMatch(/^3\.1\./);
    expect(doc.info.title).toContain("Flowyte");
    expect(doc.components.securitySchemes.flowyte).toMatchObject({ type: "http", scheme: "bearer" });
  });

  it("documents every registered route with a summary, and a scope unless it is explicitly public", () => {
    const routes = app.server.routes.filter((r) => !r.hidden);
    expect(routes.length).toBeGreaterThan(15);
    for (const r of routes) {
      expect({ route: `${r.method} ${r.path}`, summary: typeof r.detail?.summary }).toEqual({ route: `${r.method} ${r.path}`, summary: "string" });
      const security = r.detail?.security as unknown[] | undefined;
      expect({ route: `${r.method} ${r.path}`, declared: Array.isArray(security) }).toEqual({ route: `${r.method} ${r.path}`, declared: true });
      if (security!.length === 0) expect(["/health", "/ready"]).toContain(r.path);
    }
  });

  it("lists each operation's scope and error responses", () => {
    for (const { method, path, op } of operations()) {
      if (path === "/health" || path === "/ready") continue;
      const scopes = scopesOf(op);
      expect({ op: `${method} ${path}`, scoped: scopes.length > 0 && scopes.every((s) => ALL_SCOPES.includes(s as Scope)) }).toEqual({ op: `${method} ${path}`, scoped: true });
      for (const status of ["401", "403", "429"]) expect({ op: `${method} ${path}`, status, has: status in op.responses }).toEqual({ op: `${method} ${path}`, status, has: true });
      // JSON everywhere but the upload, which takes its file as multipart/form-data.
      const bodyTypes = path === "/api/v1/uploads" ? ["multipart/form-data"] : ["application/json"];
      if (op.requestBody) expect({ op: `${method} ${path}`, types: Object.keys(op.requestBody.content) }).toEqual({ op: `${method} ${path}`, types: bodyTypes });
    }
  });

  it("documents the Idempotency-Key header and its problems on every route that honours it", () => {
    const marked = app.server.routes.filter((r) => !r.hidden && r.detail?.["x-idempotent"] === true).map((r) => `${r.method} ${r.path.replace(/:(\w+)/g, "{$1}")}`);
    // The routes the spec marks (publish), those creating what a retry must not create twice, and rotation.
    for (const op of ["POST /api/v1/agents", "POST /api/v1/agents/{id}/publish", "POST /api/v1/agents/{id}/rollback", "POST /api/v1/api-keys", "POST /api/v1/api-keys/{id}/rotate"]) expect(marked).toContain(op);
    const documented = operations().filter(({ op }) => op["x-idempotent"] === true);
    expect(documented.map(({ method, path }) => `${method} ${path}`).sort()).toEqual([...marked].sort());
    for (const { method, path, op } of documented) {
      const header = (op.parameters ?? []).filter((p: any) => p.in === "header" && p.name === "Idempotency-Key");
      expect({ op: `${method} ${path}`, header: header.length }).toEqual({ op: `${method} ${path}`, header: 1 });
      // Routes with path parameters keep them next to the header.
      for (const [, name] of path.matchAll(/\{(\w+)\}/g)) expect(op.parameters.some((p: any) => p.in === "path" && p.name === name)).toBe(true);
      for (const [status, code] of [["400", "invalid_idempotency_key"], ["409", "idempotency_in_progress"], ["422", "idempotency_key_reused"]] as const) {
        expect({ op: `${method} ${path}`, status, codes: op.responses[status]?.["x-problem-codes"] ?? [] }).toEqual({ op: `${method} ${path}`, status, codes: expect.arrayContaining([code]) });
        expect(op.responses[status].description).toContain(code);
      }
    }
    const plain = operations().find(({ method, path }) => method === "PATCH" && path === "/api/v1/agents/{id}")!.op;
    expect(plain.parameters.some((p: any) => p.name === "Idempotency-Key")).toBe(false);
    expect(plain.parameters.some((p: any) => p.in === "header" && p.name === "if-match")).toBe(true);
  });

  it("lists 413 and 415 on every operation that takes a body, and serves problems as application/problem+json", () => {
    let withBody = 0;
    for (const { method, path, op } of operations()) {
      for (const [status, response] of Object.entries<any>(op.responses)) {
        const problem = Object.values<any>(response.content ?? {}).some((c) => c.schema?.title === "ProblemDetails");
        if (problem) expect({ op: `${method} ${path}`, status, types: Object.keys(response.content) }).toEqual({ op: `${method} ${path}`, status, types: ["application/problem+json"] });
        else if (Number(status) >= 400) expect(`${method} ${path} ${status}`).toBe("GET /ready 503"); // readiness answers its own JSON
      }
      if (!op.requestBody) continue;
      for (const status of ["413", "415"]) expect({ op: `${method} ${path}`, status, has: status in op.responses }).toEqual({ op: `${method} ${path}`, status, has: true });
      if (!op.requestBody.content["application/json"]) continue;
      withBody++;
      for (const [status, code] of [["400", "invalid_json"], ["413", "payload_too_large"], ["415", "unsupported_media_type"]] as const) {
        expect({ op: `${method} ${path}`, status, codes: op.responses[status]?.["x-problem-codes"] ?? [] }).toEqual({ op: `${method} ${path}`, status, codes: expect.arrayContaining([code]) });
      }
      expect(op.responses["413"].content["application/problem+json"].schema.required).toContain("code");
    }
    expect(withBody).toBeGreaterThan(20);
  });

  it("answers the codes it documents: a bad Idempotency-Key on the publish route is 400 invalid_idempotency_key", async () => {
    const org = await app.newOrg();
    const agent = (await app.api("POST", "/api/v1/agents", { key: org.key, body: { name: "Doc" } })).body.data;
    const res = await app.api("POST", `/api/v1/agents/${agent.id}/publish`, { key: org.key, headers: { "idempotency-key": "k".repeat(256) } });
    expect(res.status).toBe(400);
    expect(res.body.code).toBe("invalid_idempotency_key");
    const documented = doc.paths["/api/v1/agents/{id}/publish"].post.responses["400"]["x-problem-codes"];
    expect(documented).toContain(res.body.code);
  });

  it("serves a browsable docs page whose assets come from this server", async () => {
    const page = await fetch(`${app.url}/api/v1/docs`);
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain("/api/v1/docs/assets/swagger-ui-bundle.js");
    expect(html).toContain("/api/v1/openapi.json");
    expect(html).not.toMatch(/https?:\/\/(unpkg|cdn\.jsdelivr)/);
    const js = await fetch(`${app.url}/api/v1/docs/assets/swagger-ui-bundle.js`);
    expect(js.status).toBe(200);
    expect((await js.arrayBuffer()).byteLength).toBeGreaterThan(100_000);
    expect((await fetch(`${app.url}/api/v1/docs/assets/..%2F..%2Fpackage.json`)).status).toBe(404);
  });
});

describe("scope enforcement, route by route from the document", () => {
  it("refuses every operation with 403 naming its scope to a key holding every other scope", async () => {
    const { organizationId } = await app.newOrg();
    const keys = new Map<string, string>();
    let checked = 0;
    for (const { method, path, op } of operations()) {
      const scopes = scopesOf(op);
      if (scopes.length !== 1) continue; // "any authenticated key" operations list every scope
      const scope = scopes[0] as Scope;
      if (!keys.has(scope)) keys.set(scope, await app.keyWith(organizationId, ALL_SCOPES.filter((s) => s !== scope && s !== "chat:public")));
      const url = path.replace(/\{[^}]+\}/g, "zz_unknown");
      const res = await app.api(method, url, { key: keys.get(scope)!, body: ["POST", "PUT", "PATCH"].includes(method) ? {} : undefined });
      expect({ op: `${method} ${path}`, status: res.status, code: res.body?.code, requiredScope: res.body?.requiredScope }).toEqual({
        op: `${method} ${path}`,
        status: 403,
        code: "insufficient_scope",
        requiredScope: scope,
      });
      checked++;
    }
    expect(checked).toBeGreaterThan(15);
  });

  it("lets any valid key read the meta endpoints and refuses no key", async () => {
    const { organizationId } = await app.newOrg();
    const narrow = await app.keyWith(organizationId, ["numbers:read"]);
    for (const path of ["/api/v1/meta/account", "/api/v1/meta/languages"]) {
      expect((await app.api("GET", path, { key: narrow })).status).toBe(200);
      expect((await app.api("GET", path, { key: null })).status).toBe(401);
    }
  });
});
