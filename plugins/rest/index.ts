// Any REST API from its OpenAPI 3.x document: discovery turns the document's schemas and operations into the
// normalized catalog, a binding compiles to one frozen HTTP call, and execute() makes it with the connection's auth
// through the egress-checked fetch. docs/plugins.md ("REST providers") explains how operations map to bindings.
import { type ConnectionCheck, definePlugin, PluginError, type PluginContext } from "../../src/api/integrations/contract.ts";
import { bodyOf, compileBinding, parseCall, placeholders, project, type RestOperation, requestUrl } from "./call.ts";
import { type Catalog, catalogOf } from "./catalog.ts";
import { readJson, RestClient, statusFailure } from "./client.ts";
import { checkCredentials, type RestCredentials, RestCredentialsSchema } from "./credentials.ts";
import { parseDocument } from "./document.ts";

const client = new RestClient();

export default definePlugin({
  kind: "rest",
  name: "REST API (OpenAPI)",
  category: "other",
  version: "1.0.0",
  description: "Any REST API described by an OpenAPI 3 document: its operations become skills",
  skillType: "native_rest",
  auth: { type: "credentials", schema: RestCredentialsSchema },
  accountLabel(credentials) {
    const url = credentials.baseUrl ?? credentials.documentUrl;
    const host = url ? new URL(url).host : null;
    let title: string | null = null;
    try {
      if (credentials.document !== undefined) title = parseDocument(credentials.document).info?.title ?? null;
    } catch {
      // A document that does not parse was refused at connect; the label falls back to the host.
    }
    return [title, host].filter(Boolean).join(" · ") || "REST API";
  },

  async discover(ctx) {
    checkCredentials(ctx.credentials as RestCredentials);
    // Discovering again reads the document again: the API may have changed since it was first fetched.
    const { document } = await client.document(ctx, true);
    const { objects, relationships, operations } = catalogOf(document);
    return { objects, relationships, operations };
  },

  compile: compileBinding,

  async execute(operation, args, ctx) {
    const op = operation as RestOperation;
    if (typeof op.method !== "string" || typeof op.path !== "string" || !Array.isArray(op.projection)) {
      throw new PluginError("invalid_binding", `${operation.operation} is not a compiled REST call; bind it again`);
    }
    const base = await client.baseUrl(ctx);
    const url = requestUrl(base, op, args);
    try {
      const response = await client.send(ctx, op.method, url, bodyOf(op, args));
      if (!response.ok) {
        await response.body?.cancel();
        throw statusFailure(response.status, url.host);
      }
      const answer = await readJson(response, url.host);
      return { rows: project(op, answer) };
    } catch (error) {
      if (!(error instanceof PluginError) && ctx.signal.aborted) throw new PluginError("timeout", `${url.host} took too long to answer`);
      throw error;
    }
  },

  async test(ctx) {
    const checks: ConnectionCheck[] = [];
    const check = async (name: string, run: () => Promise<string>): Promise<boolean> => {
      const started = performance.now();
      try {
        const detail = await run();
        checks.push({ name, ok: true, ms: Math.round(performance.now() - started), detail });
        return true;
      } catch (error) {
        const detail = error instanceof PluginError ? error.message : "the check failed";
        checks.push({ name, ok: false, ms: Math.round(performance.now() - started), detail });
        return false;
      }
    };
    let catalog: Catalog | undefined;
    const documentRead = await check("document", async () => {
      checkCredentials(ctx.credentials as RestCredentials);
      const { document } = await client.document(ctx);
      catalog = catalogOf(document);
      if (!catalog.operations.length) throw new PluginError("invalid_input", "the document describes no operation this plugin can call");
      const title = document.info?.title ? `${document.info.title}: ` : "";
      return `${title}${catalog.operations.length} operations, ${catalog.objects.length} objects`;
    });
    if (!documentRead || !catalog) return checks;
    const reachable = await check("reachability", async () => {
      const base = await client.baseUrl(ctx);
      try {
        // Any answer will do, a 404 included: this check is about the network path, the next one about the credentials.
        const response = await ctx.fetch(base, { method: "GET" });
        await response.body?.cancel();
        return `${base.host} answered ${response.status}`;
      } catch (error) {
        if (ctx.signal.aborted) throw new PluginError("timeout", `${base.host} took too long to answer`);
        throw new PluginError("unavailable", `could not reach ${base.host}: ${error instanceof Error ? error.message : "network error"}`);
      }
    });
    const found = catalog;
    if (reachable) await check("authentication", () => authenticated(ctx, found));
    return checks;
  },

  async release(connectionId) {
    client.release(connectionId);
  },
});

/** Calls the first GET that needs no parameter, if there is one: a 401/403 means the credentials do not work. */
async function authenticated(ctx: PluginContext, catalog: Catalog): Promise<string> {
  const credentials = ctx.credentials as RestCredentials;
  if (credentials.authType === "oauth_client_credentials") await client.token(ctx);
  const probe = catalog.calls.find((c) => c.call.method === "GET" && !c.required.length && !placeholders(c.call.path).length);
  if (!probe) return credentials.authType === "oauth_client_credentials" ? "the token endpoint issued a token; no GET operation without parameters to try it on" : "skipped: no GET operation without parameters to try the credentials on";
  const call = parseCall(probe.operation.description)!;
  const base = await client.baseUrl(ctx);
  const url = requestUrl(base, { operation: probe.operation.name, method: call.method, path: call.path, pathArgs: [], queryArgs: [], body: null, projection: [] }, {});
  const response = await client.send(ctx, "GET", url);
  await response.body?.cancel();
  if (response.status === 401 || response.status === 403) throw statusFailure(response.status, url.host);
  return `${probe.operation.name} (GET ${call.path}) answered ${response.status}`;
}
