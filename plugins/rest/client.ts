// Requests to the API: authenticated, through the egress-checked fetch, with the provider's answer mapped to the
// contract's failures and its body read up to a size cap. The document (for the server URL when no baseUrl is given)
// and OAuth tokens are kept per connection until release().
import { PluginError, type PluginContext, readCapped } from "../../src/api/integrations/contract.ts";
import { authenticate, secretsOf, TokenCache } from "./auth.ts";
import type { RestCredentials } from "./credentials.ts";
import { baseUrlOf, loadDocument, type OpenApiDocument } from "./document.ts";

/** A larger answer is refused rather than held: an agent speaks a few fields, never megabytes. */
export const MAX_RESPONSE_BYTES = 1_000_000;

export class RestClient {
  private readonly tokens = new TokenCache();
  private readonly documents = new Map<string, Promise<{ document: OpenApiDocument; source: string | null }>>();

  /** The connection's document, loaded once per connection (again when `fresh`). */
  document(ctx: PluginContext, fresh = false) {
    let loaded = fresh ? undefined : this.documents.get(ctx.connectionId);
    if (!loaded) {
      loaded = loadDocument(ctx);
      loaded.catch(() => this.documents.delete(ctx.connectionId));
      this.documents.set(ctx.connectionId, loaded);
    }
    return loaded;
  }

  async baseUrl(ctx: PluginContext): Promise<URL> {
    const credentials = ctx.credentials as RestCredentials;
    if (credentials.baseUrl) return baseUrlOf(credentials, null, null);
    const { document, source } = await this.document(ctx);
    return baseUrlOf(credentials, document, source);
  }

  token(ctx: PluginContext) {
    return this.tokens.get(ctx, ctx.credentials as RestCredentials);
  }

  /** Sends one request; an OAuth token the API answers 401 to is fetched again and the request sent once more. */
  async send(ctx: PluginContext, method: string, target: URL, body?: string): Promise<Response> {
    const credentials = ctx.credentials as RestCredentials;
    const oauth = credentials.authType === "oauth_client_credentials";
    for (let attempt = 0; ; attempt++) {
      const token = oauth ? await this.token(ctx) : null;
      const url = new URL(target.href);
      const headers = new Headers({ accept: "application/json" });
      if (body !== undefined) headers.set("content-type", "application/json");
      authenticate(credentials, url, headers, token);
      let response: Response;
      try {
        response = await ctx.fetch(url, { method, headers, ...(body !== undefined ? { body } : {}) });
      } catch (error) {
        if (ctx.signal.aborted) throw new PluginError("timeout", `${target.host} took too long to answer`);
        throw new PluginError("unavailable", redact(`could not reach ${target.host}: ${error instanceof Error ? error.message : "network error"}`, credentials));
      }
      if (oauth && response.status === 401 && attempt === 0) {
        await response.body?.cancel();
        await this.tokens.invalidate(ctx.connectionId, token!);
        continue;
      }
      return response;
    }
  }

  release(connectionId: string) {
    this.tokens.release(connectionId);
    this.documents.delete(connectionId);
  }
}

/** A non-2xx answer as the contract's failure. */
export function statusFailure(status: number, host: string): PluginError {
  if (status === 401 || status === 403) return new PluginError("refused", `${host} refused the request (${status}): check the connection's credentials and their permissions`);
  if (status === 404) return new PluginError("not_found", "nothing matched");
  if (status === 409) return new PluginError("conflict", `${host} answered 409: the record conflicts with one that exists`);
  if (status === 400 || status === 422) return new PluginError("invalid_input", `${host} refused the values given (${status})`);
  if (status === 408 || status === 504) return new PluginError("timeout", `${host} answered ${status}`);
  return new PluginError("unavailable", `${host} answered ${status}`);
}

/** The answer's JSON, read up to MAX_RESPONSE_BYTES; an empty body is null. */
export async function readJson(response: Response, host: string): Promise<unknown> {
  const body = await readCapped(response, MAX_RESPONSE_BYTES);
  if (!body) throw new PluginError("unavailable", `${host} answered more than ${MAX_RESPONSE_BYTES / 1_000_000} MB`);
  const text = new TextDecoder().decode(body);
  if (!text.trim()) return null;
  try {
    return JSON.parse(text);
  } catch {
    throw new PluginError("unavailable", `${host} answered something that is not JSON`);
  }
}

function redact(message: string, credentials: RestCredentials): string {
  let out = message;
  for (const secret of secretsOf(credentials)) out = out.split(secret).join("…");
  return out;
}
