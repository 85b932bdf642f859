// Every answer a test server gives under /api/v1 is checked against the OpenAPI document that server serves, by a
// strict JSON Schema 2020-12 validator (Ajv in strict mode, with ajv-formats), so the document cannot drift from the
// server: an undocumented status, media type or body shape turns the answer into a 500 `openapi_violation` naming
// the mismatch, and the test file fails when its server stops (test/support/app.ts).
import Ajv2020, { type ValidateFunction } from "ajv/dist/2020.js";
import addFormats from "ajv-formats";
import type { HandlerWrapper } from "../../src/server.ts";

const BASE = "/api/v1";
const SPEC_PATH = `${BASE}/openapi.json`;
/** Keywords OpenAPI 3.1 adds to JSON Schema, and the document's own extensions: known, not errors. */
const OPENAPI_KEYWORDS = ["discriminator", "xml", "externalDocs", "example"];

// biome-ignore lint/suspicious/noExplicitAny: an OpenAPI document read from JSON, walked by key
type Json = Record<string, any>;
interface Operation {
  template: string;
  pattern: RegExp;
  literals: number;
  methods: Record<string, Json>;
}

export class OpenApiCheck {
  readonly violations: string[] = [];
  private doc: Promise<Json> | null = null;
  private operations: Operation[] = [];
  private ajv = new Ajv2020({ strict: true, allowUnionTypes: true, allErrors: true });
  private validators = new Map<string, ValidateFunction>();

  constructor() {
    addFormats(this.ajv);
    this.ajv.addVocabulary(OPENAPI_KEYWORDS);
  }

  /** The wrapper to hand startServer: answers pass through unchanged unless they break the document. */
  readonly wrap: HandlerWrapper = (handle) => async (request, ...rest) => {
    const response = await handle(request, ...rest);

    if (!(response instanceof Response)) return response;
    const path = new URL(request.url).pathname;
    if (!path.startsWith(`${BASE}/`) || path === SPEC_PATH || path.startsWith(`${BASE}/docs`)) return response;
    // Fetched from the server itself, once (the wrapped handler serves only the request it was given).
    this.doc ??= fetch(new URL(SPEC_PATH, request.url)).then(async (r) => {
      if (r.status !== 200) throw new Error(`the server does not serve its OpenAPI document: ${r.status} ${await r.text()}`);
      return this.load((await r.json()) as Json);
    });
    await this.doc;
    // A schema strict mode refuses to compile (an unknown format, a keyword JSON Schema lacks) is a violation too.
    const problem = await this.check(request.method, path.slice(BASE.length), response).catch((error: Error) => `the document's schema does not compile: ${error.message}`);
    if (!problem) return response;
    const message = `${request.method} ${path} → ${response.status}: ${problem}`;
    this.violations.push(message);
    void response.body?.cancel().catch(() => {});
    console.error(`OpenAPI violation: ${message}`);
    return Response.json({ type: "about:blank", title: "OpenAPI violation", status: 500, code: "openapi_violation", detail: message }, { status: 500, headers: { "content-type": "application/problem+json" } });
  };

  private load(doc: Json): Json {
    // Schemas refer to each other as #/components/schemas/X; each compiled schema carries them as its $defs.
    this.ajv.addSchema({ $id: "openapi", $defs: JSON.parse(JSON.stringify(doc.components?.schemas ?? {}).replaceAll('"#/components/schemas/', '"#/$defs/')) });
    for (const [template, methods] of Object.entries<Json>(doc.paths ?? {})) {
      const segments = template.split("/").filter(Boolean);
      const pattern = new RegExp(`^/${segments.map((s) => (s.startsWith("{") ? "[^/]+" : s.replace(/[.*+?^$()|[\]\\]/g, "\\$&"))).join("/")}/?$`);
      this.operations.push({ template, pattern, literals: segments.filter((s) => !s.startsWith("{")).length, methods });
    }
    // The most specific template wins (/numbers/search before /numbers/{id}).
    this.operations.sort((a, b) => b.literals - a.literals);
    return doc;
  }

  private async check(method: string, path: string, response: Response): Promise<string | null> {
    const doc = await this.doc!;
    const candidates = this.operations.filter((o) => o.pattern.test(path));
    const operation = candidates.find((o) => o.methods[method.toLowerCase()]);
    // Unknown routes and methods (a 404 for a path nobody documents, CORS preflight) are not operations.
    if (!operation) return null;
    const op = operation.methods[method.toLowerCase()]!;
    let documented: Json | undefined = op.responses?.[String(response.status)] ?? op.responses?.default;
    if (!documented) return `status ${response.status} is not documented for ${method} ${operation.template}`;
    if (documented.$ref) documented = doc.components?.responses?.[String(documented.$ref).split("/").pop()!];
    if (!documented) return "a response $ref does not resolve";
    const type = (response.headers.get("content-type") ?? "").split(";")[0]!.trim().toLowerCase();
    if (!documented.content) return type && response.status !== 204 && (await response.clone().text()) !== "" ? `a body (${type}) where the document gives none` : null;
    const media = documented.content[type];
    if (!media) return `content-type ${type || "(none)"} is not documented (documented: ${Object.keys(documented.content).join(", ")})`;
    if (!/json$/.test(type) || !media.schema) return null;
    const text = await response.clone().text();
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      return "the body is not JSON";
    }
    const key = `${method} ${operation.template} ${response.status} ${type}`;
    let validate = this.validators.get(key);
    if (!validate) {
      validate = this.ajv.compile(JSON.parse(JSON.stringify(media.schema).replaceAll('"#/components/schemas/', '"openapi#/$defs/')));
      this.validators.set(key, validate);
    }
    if (validate(body)) return null;
    return `body does not match the document: ${(validate.errors ?? [])
      .slice(0, 5)
      .map((e) => `${e.instancePath || "/"} ${e.message}${e.params && "allowedValues" in e.params ? ` ${JSON.stringify(e.params.allowedValues)}` : ""} (value ${JSON.stringify(valueAt(body, e.instancePath))?.slice(0, 80)})`)
      .join("; ")}`;
  }
}

function valueAt(body: unknown, pointer: string): unknown {
  let value = body;
  for (const part of pointer.split("/").slice(1)) value = (value as Record<string, unknown> | undefined)?.[part.replaceAll("~1", "/").replaceAll("~0", "~")];
  return value;
}

/** The document with every `#/components/schemas/…` reference replaced by the schema it names, for tests that walk schemas. */
export function inlineSchemas<T>(doc: T): T {
  const schemas = (doc as Json).components?.schemas ?? {};
  const inline = (node: unknown): unknown => {
    if (Array.isArray(node)) return node.map(inline);
    if (!node || typeof node !== "object") return node;
    const { $ref, ...rest } = node as Json;
    if (typeof $ref === "string" && $ref.startsWith("#/components/schemas/")) return inline({ ...schemas[$ref.split("/").pop()!], ...rest });
    return Object.fromEntries(Object.entries(node).map(([k, v]) => [k, inline(v)]));
  };
  return { ...(doc as Json), paths: inline((doc as Json).paths) } as T;
}
