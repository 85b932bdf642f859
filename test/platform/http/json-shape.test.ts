// Deeply nested or huge JSON bodies once held the whole process while they were validated (depth 10,000: 7–10 s;
// 40 KB of nested arrays on /chat/completions: 52 s) and depth 100,000 answered 500. Every JSON route now refuses a
// body past the nesting or value-count bound before anything parses it.
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { JsonShape, MAX_JSON_DEPTH, MAX_JSON_VALUES } from "../../../src/platform/http/json-shape.ts";
import { referencePath } from "../../../src/platform/http/openapi.ts";
import { startTestApp, type TestApp } from "../../support/app.ts";

const nest = (depth: number) => "[".repeat(depth) + "]".repeat(depth);
const bytes = (text: string) => new TextEncoder().encode(text);

describe("JsonShape", () => {
  it("counts brackets only outside strings, escaped quotes included", () => {
    const text = JSON.stringify({ a: `"${nest(500)}\\"{{{{`, b: [nest(10)] });
    expect(new JsonShape().scan(bytes(text))).toBeNull();
  });

  it("refuses one level past the limit however the text is split into chunks", () => {
    for (const depth of [MAX_JSON_DEPTH, MAX_JSON_DEPTH + 1]) {
      // A key holding an escaped quote and a bracket, a value ending in an escaped backslash, then the nesting.
      const text = bytes(`{"k\\"[":"\\\\","a":${nest(depth - 1)}}`);
      const shape = new JsonShape();
      let problem = null;
      for (let i = 0; i < text.length && !problem; i++) problem = shape.scan(text.subarray(i, i + 1));
      if (depth > MAX_JSON_DEPTH) expect(problem).toMatchObject({ status: 400, code: "json_too_complex", extensions: { limit: "depth", maximum: MAX_JSON_DEPTH } });
      else expect(problem).toBeNull();
    }
  });

  it("counts every value, keys, strings, numbers and literals included", () => {
    // {"a":[…]} is the object, its key and the array: three values besides the items.
    const body = (items: number) => bytes(`{"a":[${Array.from({ length: items }, (_, i) => ["1.5e3", "true", "null", '"s"', "-2"][i % 5]).join(",")}]}`);
    expect(new JsonShape().scan(body(MAX_JSON_VALUES - 3))).toBeNull();
    expect(new JsonShape().scan(body(MAX_JSON_VALUES - 2))).toMatchObject({ code: "json_too_complex", extensions: { limit: "values", maximum: MAX_JSON_VALUES } });
  });
});

describe("JSON bodies over the shape limits", () => {
  let app: TestApp;
  let key: string;
  let agentId: string;
  let publishable: string;
  const SITE = "https://shop.example.com";
  let jsonRoutes: { method: string; template: string; path: string }[];
  let documentedRoutes: string[];

  beforeAll(async () => {
    app = await startTestApp();
    ({ key } = await app.newOrg());
    agentId = (await app.api("POST", "/api/v1/agents", { key, body: { name: "Shape" } })).body.data.id;
    await app.api("POST", `/api/v1/agents/${agentId}/publish`, { key, body: {} });
    publishable = (await app.api("POST", `/api/v1/agents/${agentId}/publishable-keys`, { key, body: { name: "Site", allowedOrigins: [SITE] } })).body.data.keyPublic;
    const doc = (await app.api("GET", "/api/v1/openapi.json", { key: null })).body;
    documentedRoutes = Object.entries(doc.paths as Record<string, object>).flatMap(([path, item]) => Object.keys(item).map((method) => `${method.toUpperCase()} ${path}`));
    jsonRoutes = Object.entries(doc.paths as Record<string, Record<string, { requestBody?: { content?: Record<string, unknown> } }>>).flatMap(([path, item]) =>
      Object.entries(item)
        .filter(([, op]) => op.requestBody?.content?.["application/json"])
        .map(([method, op]) => ({ method: method.toUpperCase(), template: path, path: `/api/v1${path}`.replace(/\{([^}]+)\}/g, (_, name) => (name === "id" || name === "agentId" ? agentId : `x_${name}`)) })),
    );
  });
  afterAll(() => app.stop());

  /** The anonymous widget routes are called as a visitor's browser would: publishable key and an allowed Origin. */
  const send = (route: { method: string; path: string }, raw: string) =>
    app.api(route.method, route.path, route.path.startsWith("/api/v1/chat/widget/") ? { key: publishable, raw, headers: { origin: SITE, "content-type": "application/json" } } : { key, raw, headers: { "content-type": "application/json" } });

  const refused = (res: { status: number; headers: Headers; body: any }, limit: "depth" | "values", route: string) => {
    expect({ route, status: res.status, type: res.headers.get("content-type"), code: res.body.code, limit: res.body.limit }).toEqual({ route, status: 400, type: "application/problem+json", code: "json_too_complex", limit });
    expect(res.body.detail).toContain(limit === "depth" ? `${MAX_JSON_DEPTH} levels` : MAX_JSON_VALUES.toLocaleString("en-US"));
  };

  it("finds every route taking JSON in the document, the anonymous widget routes and /chat/completions included", () => {
    const listed = new Set(jsonRoutes.map((r) => `${r.method} ${r.template}`));
    for (const route of ["POST /chat/completions", "POST /chat/widget/sessions", "POST /chat/widget/sessions/{conversationId}/messages", "POST /agents", "POST /api-keys", "POST /agents/{agentId}/skills"]) {
      expect(listed).toContain(route);
    }
    // Every route that can take a body is in the document (the upload route's is multipart), so the list is complete.
    const inDocument = new Set(documentedRoutes);
    const undocumented = app.server.routes.filter((r) => !["GET", "HEAD", "WS", "OPTIONS"].includes(r.method) && !inDocument.has(`${r.method} ${referencePath(r.path.replace(/:(\w+)/g, "{$1}")).path}`));
    expect(undocumented.map((r) => `${r.method} ${r.path}`)).toEqual([]);
    expect(jsonRoutes.length).toBeGreaterThan(30);
  });

  it("answers 400 json_too_complex for a body one level deeper than the limit, on every JSON route", async () => {
    const raw = `{"a":${nest(MAX_JSON_DEPTH)}}`;
    for (const route of jsonRoutes) refused(await send(route, raw), "depth", `${route.method} ${route.path}`);
  });

  it("answers 400 json_too_complex for a body with more values than the limit, on every JSON route", async () => {
    const raw = `{"a":[${"0,".repeat(MAX_JSON_VALUES)}0]}`;
    for (const route of jsonRoutes) refused(await send(route, raw), "values", `${route.method} ${route.path}`);
  });

  it("never answers 500 to depth 100,000 (the stack overflow once seen), sent chunked too, and stays healthy", async () => {
    const raw = `{"content":${nest(100_000)}}`;
    for (const route of jsonRoutes) {
      refused(await send(route, raw), "depth", `${route.method} ${route.path}`);
      expect((await app.api("GET", "/health", { key: null })).status).toBe(200);
    }
    const chunked = await fetch(`${app.url}/api/v1/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
      body: new ReadableStream({
        start(controller) {
          for (const part of [`{"model":"${agentId}","messages":[{"role":"user","content":`, nest(100_000), "}]}"]) controller.enqueue(bytes(part));
          controller.close();
        },
      }),
    });
    expect(chunked.status).toBe(400);
    expect((await chunked.json()).code).toBe("json_too_complex");
  });

  it("refuses the nesting before authentication, like an oversized body, so no caller can stall validation", async () => {
    refused(await app.api("POST", "/api/v1/agents", { key: null, raw: `{"name":${nest(10_000)}}`, headers: { "content-type": "application/json" } }), "depth", "no key");
  });

  it("still takes a body exactly at both limits", async () => {
    // {"agentId", "draftMode", "metadata": {"deep": […]}}: the object and metadata are two levels, the arrays the rest.
    const deep = await app.api("POST", "/api/v1/chat/sessions", { key, raw: `{"agentId":"${agentId}","draftMode":true,"metadata":{"deep":${nest(MAX_JSON_DEPTH - 2)}}}`, headers: { "content-type": "application/json" } });
    expect(deep.status).toBe(201);
    expect(JSON.stringify(deep.body.data.metadata.deep)).toBe(nest(MAX_JSON_DEPTH - 2));
    // Nine values besides the items: the object, three keys and their values, the key "many" and its array.
    const items = MAX_JSON_VALUES - 9;
    const many = await app.api("POST", "/api/v1/chat/sessions", { key, raw: `{"agentId":"${agentId}","draftMode":true,"metadata":{"many":[${"7,".repeat(items - 1)}7]}}`, headers: { "content-type": "application/json" } });
    expect(many.status).toBe(201);
    expect(many.body.data.metadata.many).toHaveLength(items);
  });
});
