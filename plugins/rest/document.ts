// The operator's OpenAPI 3.x document: given inline (JSON or YAML text, or an object) or fetched from a URL through
// the egress-checked fetch, parsed, and read through local `$ref`s. `$ref` resolution is written here rather than
// taken from a ref-parser library on purpose: such libraries fetch remote (and read file) references on their own,
// outside ctx.fetch's egress check, and dereferencing a document loses the component names this plugin turns into
// object names. Only local references (`#/components/...`) are followed; any other is refused.
import { parse as parseYaml } from "yaml";
import { PluginError, type PluginContext } from "../../src/api/integrations/contract.ts";
import type { RestCredentials } from "./credentials.ts";

/** Documents larger than this are refused: discovery holds the whole document in memory. */
const MAX_DOCUMENT_BYTES = 5_000_000;

export type Json = Record<string, unknown>;

export interface OpenApiDocument {
  openapi: string;
  info?: { title?: string; version?: string };
  servers?: { url: string }[];
  paths: Record<string, Json>;
  components?: { schemas?: Record<string, Json>; parameters?: Record<string, Json>; requestBodies?: Record<string, Json>; responses?: Record<string, Json> };
}

/** Loads the document the credentials name; `documentUrl` also becomes the base a relative server URL resolves against. */
export async function loadDocument(ctx: PluginContext): Promise<{ document: OpenApiDocument; source: string | null }> {
  const credentials = ctx.credentials as RestCredentials;
  if (credentials.document !== undefined) return { document: parseDocument(credentials.document), source: null };
  if (!credentials.documentUrl) throw new PluginError("invalid_input", "give the OpenAPI document (document) or where to fetch it (documentUrl)", ["document", "documentUrl"]);
  let response: Response;
  try {
    response = await ctx.fetch(credentials.documentUrl, { headers: { accept: "application/json, application/yaml;q=0.9, */*;q=0.1" } });
  } catch (error) {
    if (ctx.signal.aborted) throw new PluginError("timeout", "fetching the OpenAPI document took too long");
    throw new PluginError("unavailable", `could not fetch the OpenAPI document: ${error instanceof Error ? error.message : String(error)}`, ["documentUrl"]);
  }
  if (!response.ok) throw new PluginError("unavailable", `fetching the OpenAPI document answered ${response.status}`, ["documentUrl"]);
  const text = await response.text();
  if (text.length > MAX_DOCUMENT_BYTES) throw new PluginError("invalid_input", "the OpenAPI document is larger than 5 MB", ["documentUrl"]);
  return { document: parseDocument(text), source: credentials.documentUrl };
}

export function parseDocument(given: unknown): OpenApiDocument {
  let value = given;
  if (typeof given === "string") {
    if (given.length > MAX_DOCUMENT_BYTES) throw new PluginError("invalid_input", "the OpenAPI document is larger than 5 MB", ["document"]);
    try {
      // YAML is a superset of JSON, but JSON.parse is stricter and faster for what most documents are.
      value = given.trimStart().startsWith("{") ? JSON.parse(given) : parseYaml(given, { maxAliasCount: 100 });
    } catch {
      throw new PluginError("invalid_input", "the OpenAPI document is neither JSON nor YAML", ["document"]);
    }
  }
  const doc = value as Partial<OpenApiDocument> | null;
  if (!doc || typeof doc !== "object" || Array.isArray(doc)) throw new PluginError("invalid_input", "the OpenAPI document is not an object", ["document"]);
  if (typeof doc.openapi !== "string" || !doc.openapi.startsWith("3.")) {
    throw new PluginError("invalid_input", "only OpenAPI 3.x documents are supported (the document has no `openapi: 3.x`)", ["document"]);
  }
  if (!doc.paths || typeof doc.paths !== "object") throw new PluginError("invalid_input", "the OpenAPI document has no paths", ["document"]);
  return doc as OpenApiDocument;
}

/** The component name a local schema reference points at (`#/components/schemas/Pet` → `Pet`). */
export function refName(ref: string): string {
  return decodeURIComponent(ref.slice(ref.lastIndexOf("/") + 1)).replace(/~1/g, "/").replace(/~0/g, "~");
}

/** Follows `$ref`s (local only, a bounded number of hops) to the object they name. */
export function resolve<T extends Json = Json>(doc: OpenApiDocument, node: unknown): T | null {
  let current = node as Json | null;
  for (let hops = 0; current && typeof current === "object" && typeof current.$ref === "string"; hops++) {
    if (hops > 20) return null;
    current = pointer(doc, current.$ref);
  }
  return current && typeof current === "object" ? (current as T) : null;
}

function pointer(doc: OpenApiDocument, ref: string): Json | null {
  if (!ref.startsWith("#/")) throw new PluginError("invalid_input", `only local $refs are followed; "${ref.slice(0, 200)}" is not one`, ["document"]);
  let node: unknown = doc;
  for (const raw of ref.slice(2).split("/")) {
    const key = decodeURIComponent(raw).replace(/~1/g, "/").replace(/~0/g, "~");
    if (!node || typeof node !== "object" || !Object.hasOwn(node, key)) return null;
    node = (node as Json)[key];
  }
  return node && typeof node === "object" ? (node as Json) : null;
}

/** The API's root: the operator's `baseUrl`, else the document's first server (a relative one resolved against the document's URL). */
export function baseUrlOf(credentials: RestCredentials, doc: OpenApiDocument | null, source: string | null): URL {
  const server = credentials.baseUrl ?? doc?.servers?.[0]?.url;
  if (!server) throw new PluginError("invalid_input", "the document names no server: give baseUrl", ["baseUrl"]);
  let url: URL;
  try {
    url = source ? new URL(server, source) : new URL(server);
  } catch {
    throw new PluginError("invalid_input", `the API's base URL "${server.slice(0, 200)}" is not an absolute URL: give baseUrl`, ["baseUrl"]);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") throw new PluginError("invalid_input", "the API's base URL must be http or https", ["baseUrl"]);
  url.search = "";
  url.hash = "";
  return url;
}
