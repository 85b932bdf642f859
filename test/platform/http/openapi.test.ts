import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { ALL_SCOPES, SCOPES, type Scope } from "../../../src/platform/auth/scopes.ts";
import { referencePath } from "../../../src/platform/http/openapi.ts";
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
  it("is served at /api/v1/openapi.json as OpenAPI 3.1 in the reference's shape", () => {
    expect(doc.openapi).toBe("3.1.0");
    expect(doc.info.title).toBe("Flowyte V2 Control-Plane REST API");
    expect(doc.servers).toEqual([{ url: "/api/v1", description: "versioned URI; additive in v1" }]);
    expect(doc.components.securitySchemes).toEqual({
      apiKey: { type: "oauth2", description: expect.stringContaining("Authorization: Bearer flowyte_sk_"), flows: { clientCredentials: { tokenUrl: "/api/v1/api-keys", scopes: SCOPES } } },
    });
  });

  it("lists paths relative to the server, with the reference's parameter names, and nothing outside /api/v1", () => {
    const paths = Object.keys(doc.paths);
    for (const path of paths) expect(path).not.toMatch(/^\/api\/v1|^\/(health|ready|metrics|widget)\b/);
    for (const path of ["/agents", "/agents/{id}", "/agents/{id}/publish", "/agents/{id}/versions/{versionId}/diff", "/agents/{id}/voice", "/agents/{agentId}/skills/{skillId}", "/agents/{agentId}/simulate", "/agents/{agentId}/talk-token", "/agents/{agentId}/probe/runs/{runId}", "/agents/{agentId}/playbooks/{id}/graph", "/agents/{agentId}/knowledge/sources/{id}", "/agents/{agentId}/knowledge-gaps/{gapId}", "/agents/{agentId}/publishable-keys/{id}/rotate"]) expect(paths).toContain(path);
    for (const { method, path, op } of operations()) {
      const named = [...path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();
      const declared = (op.parameters ?? []).filter((p: any) => p.in === "path").map((p: any) => p.name).sort();
      expect({ op: `${method} ${path}`, declared }).toEqual({ op: `${method} ${path}`, declared: named });
    }
  });

  it("names every operation once, in camelCase, as the reference does where it names them", () => {
    const ids = operations().map(({ op }) => op.operationId as string);
    for (const id of ids) expect(id).toMatch(/^[a-z][A-Za-z0-9]*$/);
    expect(new Set(ids).size).toBe(ids.length);
    const idOf = (method: string, path: string) => doc.paths[path][method].operationId;
    expect([idOf("get", "/agents"), idOf("post", "/agents"), idOf("get", "/agents/{id}"), idOf("patch", "/agents/{id}"), idOf("delete", "/agents/{id}"), idOf("post", "/agents/{id}/publish")]).toEqual([
      "listAgents",
      "createAgent",
      "getAgent",
      "updateAgent",
      "deleteAgent",
      "publishAgent",
    ]);
  });

  it("names resources, envelopes and shared error responses under components and refers to them", () => {
    for (const name of ["Agent", "AgentVersion", "Skill", "Playbook", "KnowledgeSource", "ProblemDetails", "ApiResponse_Agent", "ApiResponse_Void", "PaginatedResponse_Agent"]) expect(Object.keys(doc.components.schemas)).toContain(name);
    for (const name of ["NotFound", "ValidationError", "Unauthorized", "Forbidden", "Conflict", "RateLimited"]) expect(Object.keys(doc.components.responses)).toContain(name);
    const list = doc.paths["/agents"].get.responses;
    expect(list["200"].content["application/json"].schema).toEqual({ $ref: "#/components/schemas/PaginatedResponse_Agent" });
    expect(list["401"].$ref).toBe("#/components/responses/Unauthorized");
    expect(doc.components.responses.NotFound.content["application/problem+json"].schema).toEqual({ $ref: "#/components/schemas/ProblemDetails" });
    expect(doc.components.schemas.PaginatedResponse_Agent.properties.data.items).toEqual({ $ref: "#/components/schemas/Agent" });
  });

  it("lists every enum the server can answer null with as nullable", () => {
    const open: string[] = [];
    const walk = (node: any, at: string) => {
      if (!node || typeof node !== "object") return;
      if (Array.isArray(node.type) && node.type.includes("null") && Array.isArray(node.enum) && !node.enum.includes(null)) open.push(at);
      for (const [k, v] of Object.entries(node)) walk(v, `${at}/${k}`);
    };
    walk(doc, "#");
    expect(open).toEqual([]);
    expect(doc.components.schemas.Skill.properties.smsMode.enum).toContain(null);
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
      const scopes = scopesOf(op);
      expect({ op: `${method} ${path}`, scoped: scopes.length > 0 && scopes.every((s) => ALL_SCOPES.includes(s as Scope)) }).toEqual({ op: `${method} ${path}`, scoped: true });
      for (const status of ["401", "403", "429"]) expect({ op: `${method} ${path}`, status, has: status in op.responses }).toEqual({ op: `${method} ${path}`, status, has: true });
      // JSON everywhere but the upload, which takes its file as multipart/form-data.
      const bodyTypes = path === "/uploads" ? ["multipart/form-data"] : ["application/json"];
      if (op.requestBody) expect({ op: `${method} ${path}`, types: Object.keys(op.requestBody.content) }).toEqual({ op: `${method} ${path}`, types: bodyTypes });
    }
  });

  it("documents the Idempotency-Key header and its problems on every route that honours it", () => {
    const marked = app.server.routes.filter((r) => !r.hidden && r.detail?.["x-idempotent"] === true).map((r) => `${r.method} ${referencePath(r.path.replace(/:(\w+)/g, "{$1}")).path}`);
    // The routes the spec marks (publish), those creating what a retry must not create twice, and rotation.
    for (const op of ["POST /agents", "POST /agents/{id}/publish", "POST /agents/{id}/rollback", "POST /api-keys", "POST /api-keys/{id}/rotate"]) expect(marked).toContain(op);
    const documented = operations().filter(({ op }) => op["x-idempotent"] === true);
    expect(documented.map(({ method, path }) => `${method} ${path}`).sort()).toEqual([...marked].sort());
    for (const { method, path, op } of documented) {
      const header = (op.parameters ?? []).filter((p: any) => p.in === "header" && p.name === "Idempotency-Key");
      expect({ op: `${method} ${path}`, header: header.length }).toEqual({ op: `${method} ${path}`, header: 1 });
      // Routes with path parameters keep them next to the header.
      for (const [, name] of path.matchAll(/\{(\w+)\}/g)) expect(op.parameters.some((p: any) => p.in === "path" && p.name === name)).toBe(true);
      for (const [status, code] of [["400", "invalid_idempotency_key"], ["409", "idempotency_in_progress"], ["422", "idempotency_key_reused"]] as const) {
        expect({ op: `${method} ${path}`, status, codes: op["x-problem-codes"]?.[status] ?? [] }).toEqual({ op: `${method} ${path}`, status, codes: expect.arrayContaining([code]) });
        expect(op.responses[status].description).toContain(code);
      }
    }
    const plain = operations().find(({ method, path }) => method === "PATCH" && path === "/agents/{id}")!.op;
    expect(plain.parameters.some((p: any) => p.name === "Idempotency-Key")).toBe(false);
    expect(plain.parameters.some((p: any) => p.in === "header" && p.name === "if-match")).toBe(true);
  });

  it("lists 413 and 415 on every operation that takes a body, and serves problems as application/problem+json", () => {
    let withBody = 0;
    for (const { method, path, op } of operations()) {
      for (const [status, response] of Object.entries<any>(op.responses)) {
        if (Number(status) < 400) continue;
        const resolved = response.$ref ? doc.components.responses[response.$ref.split("/").pop()] : response;
        expect({ op: `${method} ${path}`, status, types: Object.keys(resolved.content) }).toEqual({ op: `${method} ${path}`, status, types: ["application/problem+json"] });
        expect(resolved.content["application/problem+json"].schema).toEqual({ $ref: "#/components/schemas/ProblemDetails" });
      }
      if (!op.requestBody) continue;
      for (const status of ["413", "415"]) expect({ op: `${method} ${path}`, status, has: status in op.responses }).toEqual({ op: `${method} ${path}`, status, has: true });
      if (!op.requestBody.content["application/json"]) continue;
      withBody++;
      for (const [status, code] of [["400", "invalid_json"], ["413", "payload_too_large"], ["415", "unsupported_media_type"]] as const) {
        expect({ op: `${method} ${path}`, status, codes: op["x-problem-codes"]?.[status] ?? [] }).toEqual({ op: `${method} ${path}`, status, codes: expect.arrayContaining([code]) });
      }
    }
    expect(withBody).toBeGreaterThan(20);
  });

  it("answers the codes it documents: a bad Idempotency-Key on the publish route is 400 invalid_idempotency_key", async () => {
    const org = await app.newOrg();
    const agent = (await app.api("POST", "/api/v1/agents", { key: org.key, body: { name: "Doc" } })).body.data;
    const res = await app.api("POST", `/api/v1/agents/${agent.id}/publish`, { key: org.key, headers: { "idempotency-key": "k".repeat(256) } });
    expect(res.status).toBe(400);
    expect(res.body.code).toBe("invalid_idempotency_key");
    const documented = doc.paths["/agents/{id}/publish"].post["x-problem-codes"]["400"];
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
      const url = `/api/v1${path.replace(/\{[^}]+\}/g, "zz_unknown")}`;
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
