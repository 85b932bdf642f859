// How a request to the API is authenticated, per the connection's auth type. OAuth client-credentials tokens are
// fetched from the operator's token endpoint (through the egress-checked fetch), kept per connection until shortly
// before they expire, and fetched again once when the API answers 401 to a cached one.
import { PluginError, type PluginContext } from "../../src/api/integrations/contract.ts";
import type { RestCredentials } from "./credentials.ts";

/** A token is renewed this long before the expiry its endpoint announced, so none expires in flight. */
const EXPIRY_MARGIN_MS = 60_000;

interface CachedToken {
  token: Promise<string>;
  /** Epoch ms after which the token is fetched again; Infinity when the endpoint named no lifetime (a 401 renews it). */
  renewAt: number;
}

export class TokenCache {
  private readonly tokens = new Map<string, CachedToken>();

  /** The connection's current token; concurrent calls share one fetch. */
  get(ctx: PluginContext, credentials: RestCredentials): Promise<string> {
    const cached = this.tokens.get(ctx.connectionId);
    if (cached && Date.now() < cached.renewAt) return cached.token;
    const entry: CachedToken = { token: Promise.resolve(""), renewAt: Number.POSITIVE_INFINITY };
    entry.token = fetchToken(ctx, credentials).then(
      ({ token, expiresIn }) => {
        if (expiresIn !== null) entry.renewAt = Date.now() + Math.max(expiresIn * 1000 - EXPIRY_MARGIN_MS, (expiresIn * 1000) / 2);
        return token;
      },
      (error) => {
        if (this.tokens.get(ctx.connectionId) === entry) this.tokens.delete(ctx.connectionId);
        throw error;
      },
    );
    this.tokens.set(ctx.connectionId, entry);
    return entry.token;
  }

  /** The API refused `token`: the next get() fetches a new one (unless another call already has). */
  async invalidate(connectionId: string, token: string) {
    const cached = this.tokens.get(connectionId);
    if (cached && (await cached.token.catch(() => null)) === token) this.tokens.delete(connectionId);
  }

  release(connectionId: string) {
    this.tokens.delete(connectionId);
  }
}

async function fetchToken(ctx: PluginContext, c: RestCredentials): Promise<{ token: string; expiresIn: number | null }> {
  const form = new URLSearchParams({ grant_type: "client_credentials" });
  if (c.scope) form.set("scope", c.scope);
  let response: Response;
  try {
    // client_secret_basic: the method every token endpoint must support (RFC 6749 §2.3.1); the id and secret are form-encoded first.
    const basic = btoa(`${encodeURIComponent(c.clientId!)}:${encodeURIComponent(c.clientSecret!)}`);
    response = await ctx.fetch(c.tokenUrl!, {
      method: "POST",
      headers: { authorization: `Basic ${basic}`, "content-type": "application/x-www-form-urlencoded", accept: "application/json" },
      body: form.toString(),
    });
  } catch (error) {
    if (ctx.signal.aborted) throw new PluginError("timeout", "the token endpoint took too long");
    throw new PluginError("unavailable", `could not reach the token endpoint: ${error instanceof Error ? error.message : "network error"}`);
  }
  if (response.status === 400 || response.status === 401 || response.status === 403) throw new PluginError("refused", `the token endpoint refused the client credentials (${response.status})`);
  if (!response.ok) throw new PluginError("unavailable", `the token endpoint answered ${response.status}`);
  const answer = (await response.json().catch(() => null)) as { access_token?: unknown; expires_in?: unknown } | null;
  if (typeof answer?.access_token !== "string" || !answer.access_token) throw new PluginError("unavailable", "the token endpoint answered no access_token");
  const expiresIn = typeof answer.expires_in === "number" ? answer.expires_in : typeof answer.expires_in === "string" && /^\d+$/.test(answer.expires_in) ? Number(answer.expires_in) : null;
  return { token: answer.access_token, expiresIn };
}

/** Headers and query parameters that authenticate one request; `token` is the OAuth token to use, when that is the auth. */
export function authenticate(credentials: RestCredentials, url: URL, headers: Headers, token: string | null) {
  switch (credentials.authType) {
    case "api_key_header":
      headers.set(credentials.apiKeyName!, credentials.apiKey!);
      break;
    case "api_key_query":
      // Set last, over any caller value of the same name.
      url.searchParams.set(credentials.apiKeyName!, credentials.apiKey!);
      break;
    case "bearer":
      headers.set("authorization", `Bearer ${credentials.token}`);
      break;
    case "basic":
      headers.set("authorization", `Basic ${Buffer.from(`${credentials.username}:${credentials.password}`).toString("base64")}`);
      break;
    case "oauth_client_credentials":
      headers.set("authorization", `Bearer ${token}`);
      break;
    case "none":
      break;
  }
}

/** The secrets of these credentials, to keep out of any message that quotes a provider's or a network error. */
export function secretsOf(c: RestCredentials): string[] {
  return [c.apiKey, c.token, c.password, c.clientSecret].filter((s): s is string => typeof s === "string" && s.length >= 4);
}
