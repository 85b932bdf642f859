// One NUL or unpaired UTF-16 surrogate once made every later message of a conversation answer 500 (the database
// cannot store them), and gave 500 on about 20 routes through path ids, query values and a forged cursor. Requests
// carrying them are now refused at the edge with a 400 naming the field, on every route, and text from outside the
// API (skill answers, documents) is made storable before it is written.
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { connect } from "node:net";
import { extractDocument } from "../../../src/knowledge/ingestion/extract.ts";
import { readableText } from "../../../src/knowledge/ingestion/html.ts";
import { storableText, storableValue, unstorableCharacter } from "../../../src/platform/text.ts";
import { referencePath } from "../../../src/platform/http/openapi.ts";
import { startLocalSite } from "../../api/knowledge/local-site.ts";
import { orderStatusSkill, startWebhookTarget } from "../../support/agent-builder.ts";
import { startTestApp, type TestApp } from "../../support/app.ts";
import { inlineSchemas } from "../../support/openapi-check.ts";

const DANGEROUS = [
  { name: "NUL", char: "\u0000", message: "contains U+0000 (NUL)" },
  { name: "a lone high surrogate", char: "\ud800", message: "contains an unpaired surrogate U+D800" },
  { name: "a lone low surrogate", char: "\udfff", message: "contains an unpaired surrogate U+DFFF" },
];
/** Other control characters, a non-character and a real pair: all storable, all kept. */
const HARMLESS = "tab\there\u0001\u001f\u007f\u0085\u2028\ufffe\ud83d\ude00";

describe("storable text", () => {
  it("names NUL and each unpaired surrogate, and passes every other character", () => {
    for (const { char, message } of DANGEROUS) expect(unstorableCharacter(`a${char}b`)).toBe(message);
    expect(unstorableCharacter("\ude00\ud83d")).toBe("contains an unpaired surrogate U+DE00");
    expect(unstorableCharacter(HARMLESS)).toBeNull();
  });

  it("drops NULs and mends unpaired surrogates in strings and object keys, leaving clean values untouched", () => {
    expect(storableText("a\u0000b\ud800c")).toBe("ab\ufffdc");
    expect(storableText(HARMLESS)).toBe(HARMLESS);
    const clean = { a: [1, "x", { b: null }], when: new Date(0) };
    expect(storableValue(clean)).toBe(clean);
    const dirty: Record<string, unknown> = { "k\u0000": ["ok", { deep: "\udc00" }], when: clean.when };
    expect(storableValue(dirty)).toEqual({ k: ["ok", { deep: "\ufffd" }], when: clean.when });
  });

  it("makes what the ingestion extractors read from documents and pages storable", async () => {
    const text = await extractDocument(new TextEncoder().encode("Opening hours\u0000: nine to five"), "text");
    expect(text.text).toBe("Opening hours: nine to five");
    const page = readableText("<html><head><title>T&#0;itle</title></head><body><p>Half &#xD800; a pair, a NUL &#0; here.</p></body></html>");
    expect(unstorableCharacter(page.text)).toBeNull();
    expect(unstorableCharacter(page.title ?? "")).toBeNull();
    expect(page.text).toContain("a pair");
  });
});

// ---- requests over HTTP ----

let app: TestApp;
let key: string;
let agentId: string;
let publishable: string;
const SITE = "https://shop.example.com";
const site = startLocalSite({ "/hours": { body: "<html><head><title>Hours\u0000</title></head><body><main><p>We open at nine\u0000 and close at five &#xD800; on weekdays.</p></main></body></html>" } });
const lookups = startWebhookTarget(() => ({ status: "ship\u0000ped", note: "half \ud800 pair", ["k\u0000ey"]: 1 }));

interface Operation {
  method: string;
  path: string;
  parameters?: { in: string; name: string; required?: boolean; schema: Schema }[];
  requestBody?: { content?: Record<string, { schema: Schema }> };
}
interface Schema {
  type?: string | string[];
  properties?: Record<string, Schema>;
  required?: string[];
  items?: Schema;
  anyOf?: Schema[];
  enum?: unknown[];
  const?: unknown;
  format?: string;
  pattern?: string;
  minLength?: number;
  minimum?: number;
  minItems?: number;
  default?: unknown;
  additionalProperties?: boolean | Schema;
}
let operations: Operation[];

beforeAll(async () => {
  app = await startTestApp({ EGRESS_ALLOWLIST: "127.0.0.1" });
  ({ key } = await app.newOrg());
  agentId = (await app.api("POST", "/api/v1/agents", { key, body: { name: "Shop helper" } })).body.data.id;
  await app.api("POST", `/api/v1/agents/${agentId}/skills`, { key, body: orderStatusSkill(lookups.url) });
  await app.api("POST", `/api/v1/agents/${agentId}/publish`, { key, body: {} });
  publishable = (await app.api("POST", `/api/v1/agents/${agentId}/publishable-keys`, { key, body: { name: "Site", allowedOrigins: [SITE], rateLimitRpm: 6000 } })).body.data.keyPublic;
  const doc = inlineSchemas((await app.api("GET", "/api/v1/openapi.json", { key: null })).body);
  // The document names path parameters as the reference does; a refusal names the route's own (`id` for `{agentId}`).
  for (const r of app.server.routes) {
    const { path, renames } = referencePath(r.path.replace(/:(\w+)/g, "{$1}"));
    routeNames.set(path, Object.fromEntries(Object.entries(renames).map(([route, documented]) => [documented, route])));
  }
  operations = Object.entries(doc.paths as Record<string, Record<string, Operation>>).flatMap(([path, item]) => Object.entries(item).map(([method, op]) => ({ ...op, method: method.toUpperCase(), path })));
});
afterAll(async () => {
  await app?.stop();
  lookups.stop();
  site.stop();
});

/** A value the schema accepts, for filling what a request needs besides the field under test. */
function sample(schema: Schema): unknown {
  if ("const" in schema) return schema.const;
  if (schema.enum) return schema.enum[0];
  if ("default" in schema) return schema.default;
  if (schema.anyOf) return sample(schema.anyOf.find((s) => s.type !== "null") ?? schema.anyOf[0]!);
  const type = Array.isArray(schema.type) ? schema.type.find((t) => t !== "null") : schema.type;
  switch (type) {
    case "object":
      return Object.fromEntries((schema.required ?? []).map((name) => [name, sample(schema.properties![name]!)]));
    case "array":
      return Array.from({ length: schema.minItems ?? 0 }, () => sample(schema.items!));
    case "string":
      if (schema.format === "date-time") return new Date().toISOString();
      if (schema.format === "uri") return "https://example.com/";
      if (schema.format === "email") return "someone@example.com";
      if (schema.pattern) return ["+14155550100", "en", "ok", "a1", "#123456", "09:00"].find((c) => new RegExp(schema.pattern!).test(c)) ?? "ok";
      return "x".repeat(Math.max(2, schema.minLength ?? 0));
    case "integer":
    case "number":
      return schema.minimum ?? 1;
    case "boolean":
      return false;
    default:
      return null;
  }
}

const freeText = (s: Schema) => [s.type].flat().includes("string") && !s.enum && !s.format && !("const" in s) && (!s.pattern || new RegExp(s.pattern).test("a\u0000b"));

/**
 * A body the schema accepts with `text` in one free-text string field (top-level fields first, then inside objects,
 * arrays and union members), and that field's name as the API gives it (`rules[0].message`); null if there is none.
 */
function withText(schema: Schema, text: string, at = ""): { body: unknown; field: string } | null {
  if (schema.anyOf) {
    for (const option of schema.anyOf) {
      const found = withText(option, text, at);
      if (found) return found;
    }
    return null;
  }
  if (freeText(schema)) return { body: text, field: at || "body" };
  if (schema.type === "array" && schema.items) {
    const found = withText(schema.items, text, `${at}[0]`);
    if (!found) return null;
    const body = sample(schema) as unknown[];
    body[0] = found.body;
    return { body, field: found.field };
  }
  const props = Object.entries(schema.properties ?? {});
  for (const [name, s] of [...props.filter(([, s]) => freeText(s)), ...props.filter(([, s]) => !freeText(s))]) {
    const found = withText(s, text, at ? `${at}.${name}` : name);
    if (found) return { body: { ...(sample(schema) as object), [name]: found.body }, field: found.field };
  }
  return null;
}

const isWidget = (path: string) => path.startsWith("/chat/widget/");
const routeNames = new Map<string, Record<string, string>>();

/** Calls an operation with valid values everywhere except the one `inject`ed. */
function call(op: Operation, inject: { path?: [string, string]; query?: [string, string]; body?: unknown } = {}) {
  const path = `/api/v1${op.path}`.replace(/\{([^}]+)\}/g, (_, name: string) => (inject.path?.[0] === name ? inject.path[1] : name === "id" || name === "agentId" ? agentId : name === "e164" ? "+14155550100" : `x_${name}`));
  const query = new URLSearchParams();
  for (const p of op.parameters ?? []) {
    if (p.in !== "query") continue;
    if (inject.query?.[0] === p.name) query.set(p.name, inject.query[1]);
    else if (p.required) query.set(p.name, String(sample(p.schema)));
  }
  const schema = op.requestBody?.content?.["application/json"]?.schema;
  const body = inject.body ?? (schema ? sample(schema) : undefined);
  const url = `${path}${query.size ? `?${query}` : ""}`;
  return isWidget(op.path) ? app.api(op.method, url, { key: publishable, body, headers: { origin: SITE } }) : app.api(op.method, url, { key, body });
}

const refusedNaming = (res: { status: number; headers: Headers; body: any }, field: string, where: string) => {
  expect({ where, status: res.status, type: res.headers.get("content-type"), code: res.body.code }).toEqual({ where, status: 400, type: "application/problem+json", code: "validation_error" });
  expect({ where, fields: res.body.errors.map((e: { field: string }) => e.field) }).toEqual({ where, fields: expect.arrayContaining([field]) });
};

describe("refused at the edge, naming the field", () => {
  it("in every path parameter of every route", async () => {
    let checked = 0;
    for (const op of operations) {
      for (const p of op.parameters ?? []) {
        if (p.in !== "path") continue;
        // A URL carries text as UTF-8, which has no unpaired surrogates: %ED%A0%80 decodes to U+FFFD, which is storable.
        refusedNaming(await call(op, { path: [p.name, "a%00b"] }), routeNames.get(op.path)?.[p.name] ?? p.name, `${op.method} ${op.path} ${p.name}`);
        expect((await call(op, { path: [p.name, "a%ED%A0%80b"] })).status).toBeLessThan(500);
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(60);
  });

  it("in every string query parameter of every route, the forged cursor included", async () => {
    let checked = 0;
    for (const op of operations) {
      for (const p of op.parameters ?? []) {
        if (p.in !== "query" || p.schema.type !== "string") continue;
        const res = await call(op, { query: [p.name, "a\u0000b"] });
        refusedNaming(res, p.name, `${op.method} ${op.path} ?${p.name}`);
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(30);
    for (const k of ["a\u0000b", "a\ud800b", "\udc00"]) {
      const forged = Buffer.from(JSON.stringify({ k })).toString("base64url");
      for (const list of ["/api/v1/agents", "/api/v1/api-keys", `/api/v1/agents/${agentId}/skills`, "/api/v1/billing/usage/items", "/api/v1/audit-logs"]) {
        const res = await app.api("GET", `${list}?cursor=${forged}`, { key });
        expect({ list, status: res.status, code: res.body.code }).toEqual({ list, status: 400, code: "invalid_cursor" });
      }
    }
  });

  it("in every JSON body, for each dangerous character, before any Idempotency-Key is claimed", async () => {
    const bodies = operations.filter((op) => op.requestBody?.content?.["application/json"]);
    const unnamed: string[] = [];
    for (const op of bodies) {
      for (const { char, message } of DANGEROUS) {
        const injected = withText(op.requestBody!.content!["application/json"]!.schema, `a${char}b`);
        if (!injected) {
          unnamed.push(`${op.method} ${op.path}`);
          break;
        }
        const { body, field } = injected;
        const res = await call(op, { body });
        refusedNaming(res, field, `${op.method} ${op.path} ${field}`);
        expect(res.body.errors.find((e: { field: string }) => e.field === field).message).toBe(message);
      }
    }
    // Bodies with no free text (only enums, booleans: talk-token, knowledge-gap status) have nothing to inject into.
    expect(unnamed.length).toBeLessThan(bodies.length / 10);
    const refused = await app.api("POST", "/api/v1/agents", { key, body: { name: "a\u0000b" }, headers: { "idempotency-key": "nul-then-fixed" } });
    refusedNaming(refused, "name", "POST /agents with Idempotency-Key");
    const retried = await app.api("POST", "/api/v1/agents", { key, body: { name: "fixed" }, headers: { "idempotency-key": "nul-then-fixed" } });
    expect(retried.status).toBe(201);
  });

  it("in object keys of bodies that keep them, and in nested fields, naming where", async () => {
    const session = await app.api("POST", "/api/v1/chat/sessions", { key, body: { agentId, metadata: { "ref\u0000": 1, ok: { list: ["fine", "bad\udc00"] } } } });
    expect(session.status).toBe(400);
    expect(session.body.errors).toEqual([
      { field: "metadata", message: "has a key that contains U+0000 (NUL)" },
      { field: "metadata.ok.list[1]", message: "contains an unpaired surrogate U+DC00" },
    ]);
    const completion = await app.api("POST", "/api/v1/chat/completions", { key, body: { model: agentId, messages: [{ role: "user", content: [{ type: "text", text: "hi\u0000" }] }] } });
    expect(completion.status).toBe(400);
    expect(completion.body.errors).toEqual([{ field: "messages[0].content[0].text", message: "contains U+0000 (NUL)" }]);
  });

  it("keeps every other character, control characters included", async () => {
    const res = await app.api("POST", "/api/v1/agents", { key, body: { name: HARMLESS } });
    expect(res.status).toBe(201);
    expect((await app.api("GET", `/api/v1/agents/${res.body.data.id}`, { key })).body.data.name).toBe(HARMLESS);
  });

  it("never answers 500 for control bytes or surrogate bytes in a header (the HTTP server refuses control bytes itself)", async () => {
    const raw = (header: Buffer) =>
      new Promise<string>((resolve) => {
        const url = new URL(app.url);
        const body = JSON.stringify({ name: "header test" });
        const socket = connect(Number(url.port), url.hostname, () =>
          socket.write(
            Buffer.concat([
              Buffer.from(`POST /api/v1/agents HTTP/1.1\r\nHost: ${url.host}\r\nAuthorization: Bearer ${key}\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: close\r\nIdempotency-Key: `),
              header,
              Buffer.from(`\r\n\r\n${body}`),
            ]),
          ),
        );
        let answer = "";
        socket.on("data", (d) => (answer += d.toString("latin1")));
        socket.on("close", () => resolve(answer.split("\r\n")[0]!));
      });
    expect(await raw(Buffer.from([0x61, 0x00, 0x62]))).toBe("HTTP/1.1 400 Bad Request");
    expect(await raw(Buffer.from([0x61, 0x01, 0x62]))).toBe("HTTP/1.1 400 Bad Request");
    expect(await raw(Buffer.from([0x61, 0xed, 0xa0, 0x80, 0x62]))).toMatch(/^HTTP\/1.1 201/);
  });
});

describe("a conversation with a refused message keeps working", () => {
  it("over the chat API", async () => {
    const session = (await app.api("POST", "/api/v1/chat/sessions", { key, body: { agentId } })).body.data;
    for (const { char, message } of DANGEROUS) {
      const res = await app.api("POST", `/api/v1/chat/sessions/${session.id}/messages`, { key, body: { content: `hello${char}` } });
      expect(res.status).toBe(400);
      expect(res.body.errors).toEqual([{ field: "content", message }]);
    }
    for (const content of ["What are your opening hours?", "Thanks!"]) {
      expect((await app.api("POST", `/api/v1/chat/sessions/${session.id}/messages`, { key, body: { content } })).status).toBe(200);
    }
    const messages = (await app.api("GET", `/api/v1/chat/sessions/${session.id}/messages?limit=100`, { key })).body.data;
    expect(messages.filter((m: { role: string }) => m.role === "user").map((m: { content: string }) => m.content)).toEqual(["What are your opening hours?", "Thanks!"]);
  });

  it("over /chat/completions, continuing the same conversation", async () => {
    const first = await app.api("POST", "/api/v1/chat/completions", { key, body: { model: agentId, messages: [{ role: "user", content: "Hi there" }] } });
    expect(first.status).toBe(200);
    const conversation = first.headers.get("x-flowyte-conversation-id")!;
    const headers = { "x-flowyte-conversation-id": conversation };
    const refused = await app.api("POST", "/api/v1/chat/completions", { key, headers, body: { model: agentId, messages: [{ role: "user", content: "a\ud800b" }] } });
    expect(refused.status).toBe(400);
    expect(refused.body.errors).toEqual([{ field: "messages[0].content", message: "contains an unpaired surrogate U+D800" }]);
    expect((await app.api("POST", "/api/v1/chat/completions", { key, headers, body: { model: agentId, messages: [{ role: "user", content: "Still there?" }] } })).status).toBe(200);
  });

  it("for an anonymous widget visitor", async () => {
    const widget = (method: string, path: string, body?: unknown) => app.api(method, `/api/v1/chat/widget${path}`, { key: publishable, body, headers: { origin: SITE } });
    const session = (await widget("POST", "/sessions", {})).body.data;
    for (const { char, message } of DANGEROUS) {
      const res = await widget("POST", `/sessions/${session.conversationId}/messages`, { content: `hi${char}`, visitorToken: session.visitorToken, clientMessageId: `m-${char.charCodeAt(0)}` });
      expect(res.status).toBe(400);
      expect(res.body.errors).toEqual([{ field: "content", message }]);
    }
    const later = await widget("POST", `/sessions/${session.conversationId}/messages`, { content: "Do you ship to Canada?", visitorToken: session.visitorToken });
    expect(later.status).toBe(200);
    const transcript = await widget("GET", `/sessions/${session.conversationId}/messages?visitorToken=${encodeURIComponent(session.visitorToken)}`);
    expect(transcript.status).toBe(200);
  });

  it("when a skill's answer holds NUL, an unpaired surrogate and a NUL in a key: stored without them", async () => {
    const session = (await app.api("POST", "/api/v1/chat/sessions", { key, body: { agentId } })).body.data;
    const asked = await app.api("POST", `/api/v1/chat/sessions/${session.id}/messages`, { key, body: { content: "check the delivery status of my order" } });
    expect(asked.status).toBe(200);
    expect(lookups.calls.length).toBeGreaterThan(0);
    expect((await app.api("POST", `/api/v1/chat/sessions/${session.id}/messages`, { key, body: { content: "and when will it arrive?" } })).status).toBe(200);
    const [stored] = await app.query<{ state: string; events: string }>(
      `select c.state::text as state, (select string_agg(payload::text, ' ') from conversation_events e where e.conversation_id = c.id) as events from conversations c where c.id = '${session.id}'`,
    );
    expect(stored!.events).toContain("shipped");
    for (const text of [stored!.state, stored!.events]) {
      expect(text).not.toContain("\\u0000");
      expect(text.toLowerCase()).not.toContain("\\ud800");
    }
  });
});

describe("knowledge from outside the API", () => {
  /** Polls a source until its reading is done. */
  async function read(body: Record<string, unknown>) {
    const created = await app.api("POST", `/api/v1/agents/${agentId}/knowledge/sources`, { key, body });
    expect({ status: created.status, body: created.status === 201 ? null : created.body }).toEqual({ status: 201, body: null });
    const deadline = Date.now() + 30_000;
    for (;;) {
      const source = (await app.api("GET", `/api/v1/agents/${agentId}/knowledge/sources/${created.body.data.id}`, { key })).body.data;
      if (source.status === "indexed" || source.status === "error") return source;
      if (Date.now() > deadline) throw new Error(`still ${source.status}`);
      await Bun.sleep(100);
    }
  }

  it("indexes an uploaded file and a web page holding NULs and an unpaired surrogate, without them", async () => {
    const form = new FormData();
    form.append("file", new Blob(["Returns are free\u0000 within 30 days.\n\nRefunds take five days."], { type: "text/plain" }), "returns.txt");
    const upload = await fetch(`${app.url}/api/v1/uploads`, { method: "POST", headers: { authorization: `Bearer ${key}` }, body: form });
    expect(upload.status).toBe(201);
    const file = await read({ kind: "file", label: "Returns", file_id: ((await upload.json()) as { data: { file_id: string } }).data.file_id });
    expect(file).toMatchObject({ status: "indexed", errorMessage: null });
    const page = await read({ kind: "url", label: "Hours", url: `${site.url}/hours` });
    expect(page).toMatchObject({ status: "indexed", errorMessage: null });
    const [stored] = await app.query<{ n: number; dirty: number }>(`select count(*)::int as n, count(*) filter (where text like '%' || chr(65533) || '%')::int as dirty from knowledge_chunks where source_id in ('${file.id}', '${page.id}')`);
    expect(stored!.n).toBeGreaterThanOrEqual(2);
    expect(stored!.dirty).toBe(1);
  });
});
