// OAuth 2 for oauth2 plugins, run by the app so a plugin only names endpoints and scopes: the authorization code
// flow with PKCE (S256) and a one-time `state` kept in storage (the browser may come back to any replica), the
// callback that exchanges the code and stores the tokens sealed, refreshing before expiry or after a 401 under a
// row lock (two replicas refreshing at once must not lose a rotated refresh token), a dead grant turning the
// connection to `error`, and revocation on disconnect. The operator brings the OAuth client (GOOGLE_OAUTH_*).
import { createHash, randomBytes } from "node:crypto";
import { and, eq, lt, sql } from "drizzle-orm";
import { Elysia, t } from "elysia";
import type { OAuthClient } from "../../config.ts";
import type { Sealer } from "../../platform/crypto.ts";
import type { Database } from "../../platform/db/index.ts";
import { integrationOAuthRequests, integrations } from "../../platform/db/schema/index.ts";
import type { EgressGuard } from "../../platform/egress.ts";
import type { Conventions } from "../context.ts";
import { Problem } from "../../platform/http/problem.ts";
import { newId } from "../../platform/ids.ts";
import type { Logger } from "../../platform/log.ts";
import type { IntegrationPlugin, OAuth2Auth } from "./contract.ts";
import type { PluginRegistry } from "./registry.ts";

/** Where providers send the browser back: a page for a person, outside the JSON API (register it with the provider). */
export const OAUTH_CALLBACK_PATH = "/integrations/oauth/callback";
/** How long a consent page may stay open before its state is refused. */
const REQUEST_TTL_MS = 10 * 60_000;
/** A token this close to expiry is refreshed before a call rather than sent and refused. */
const REFRESH_MARGIN_MS = 60_000;
const TOKEN_TIMEOUT_MS = 10_000;

/** The connection's grant is gone (revoked, expired, client changed): an operator must connect it again. */
export class IntegrationAuthFailed extends Error {
  override name = "IntegrationAuthFailed";
}

/** A callback that cannot complete; `message` is shown to the person in the browser. */
class CallbackFailed extends Error {}

/** What oauth2 connections keep sealed, and what a plugin finds in `ctx.credentials`. */
export interface OAuthCredentials {
  access_token: string;
  refresh_token: string | null;
  /** Epoch milliseconds; null when the provider gave no lifetime. */
  expires_at: number | null;
  scope: string | null;
  token_type: string;
}

export interface OAuthDeps {
  db: Database["db"];
  sealer: Sealer;
  guard: EgressGuard;
  registry: PluginRegistry;
  clients: Record<string, OAuthClient>;
  publicBaseUrl: string;
  log: Logger;
  now?: () => number;
}

export const oauthOf = (plugin: IntegrationPlugin | undefined): OAuth2Auth | null => (plugin?.auth.type === "oauth2" ? plugin.auth : null);

export class OAuthGrants {
  constructor(private readonly deps: OAuthDeps) {}

  private now() {
    return this.deps.now?.() ?? Date.now();
  }

  get redirectUri() {
    return `${this.deps.publicBaseUrl}${OAUTH_CALLBACK_PATH}`;
  }

  /** The URL to call for one of the provider's: its origin replaced when the operator's client names a base URL. */
  providerUrl(auth: OAuth2Auth | null, url: string): string {
    const base = auth ? this.deps.clients[auth.client]?.baseUrl : null;
    if (!base) return url;
    const given = new URL(url);
    return `${base}${given.pathname}${given.search}`;
  }

  /** Starts an authorization: stores the state and PKCE verifier, answers the provider's consent page. */
  async start(organizationId: string, kind: string, auth: OAuth2Auth): Promise<string> {
    const client = this.client(auth);
    const state = randomBytes(32).toString("base64url");
    const verifier = randomBytes(48).toString("base64url");
    const now = this.now();
    await this.deps.db.delete(integrationOAuthRequests).where(lt(integrationOAuthRequests.expiresAt, new Date(now)));
    await this.deps.db.insert(integrationOAuthRequests).values({ stateHash: hash(state), organizationId, kind, sealedVerifier: this.deps.sealer.seal(verifier), expiresAt: new Date(now + REQUEST_TTL_MS) });
    const url = new URL(this.providerUrl(auth, auth.authorizeUrl));
    const params = {
      response_type: "code",
      client_id: client.clientId,
      redirect_uri: this.redirectUri,
      scope: auth.scopes.join(" "),
      state,
      code_challenge: createHash("sha256").update(verifier).digest("base64url"),
      code_challenge_method: "S256",
      ...auth.authorizeParams,
    };
    for (const [name, value] of Object.entries(params)) url.searchParams.set(name, value);
    return url.toString();
  }

  /**
   * The browser came back: the state is consumed (once, whatever happens next), the code exchanged with the PKCE
   * verifier, the tokens sealed into the organization's row. Answers what was connected, for the caller to announce.
   */
  async complete(query: { state?: string; code?: string; error?: string }): Promise<{ organizationId: string; kind: string; label: string | null }> {
    if (!query.state) throw new CallbackFailed("This page was opened without the sign-in it belongs to. Start again from Connect.");
    const [request] = await this.deps.db.delete(integrationOAuthRequests).where(eq(integrationOAuthRequests.stateHash, hash(query.state))).returning();
    if (!request || request.expiresAt.getTime() < this.now()) throw new CallbackFailed("This sign-in has expired or was already used. Start again from Connect.");
    const plugin = this.deps.registry.get(request.kind);
    const auth = oauthOf(plugin);
    if (!plugin || !auth) throw new CallbackFailed("This integration is no longer available on this server.");
    if (query.error) throw new CallbackFailed(`${plugin.name} was not connected: the provider answered ${query.error.slice(0, 100)}.`);
    if (!query.code) throw new CallbackFailed("The provider sent no authorization code. Start again from Connect.");
    const client = this.client(auth);
    const answer = await this.tokenRequest(auth, {
      grant_type: "authorization_code",
      code: query.code,
      redirect_uri: this.redirectUri,
      client_id: client.clientId,
      client_secret: client.clientSecret,
      code_verifier: this.deps.sealer.open(request.sealedVerifier),
    });
    if (!answer.ok) throw new CallbackFailed(`${plugin.name} refused the sign-in (${answer.error}). Start again from Connect.`);
    const credentials = this.credentialsOf(answer.body, null);
    if (!credentials) throw new CallbackFailed(`${plugin.name} answered without an access token.`);
    const label = (await this.accountOf(auth, answer.body, credentials)) ?? safeLabel(plugin, credentials);
    const sealedCredentials = this.deps.sealer.seal(JSON.stringify(credentials));
    const values = { status: "connected", statusReason: null, connectionId: newId("conn"), sealedCredentials, accountLabel: label, connectedAt: new Date() };
    await this.deps.db
      .insert(integrations)
      .values({ organizationId: request.organizationId, kind: request.kind, ...values })
      .onConflictDoUpdate({ target: [integrations.organizationId, integrations.kind], set: { ...values, revision: sql`${integrations.revision} + 1`, updatedAt: sql`now()` } });
    return { organizationId: request.organizationId, kind: request.kind, label };
  }

  /** The credentials to call with: refreshed first when the access token expires within a minute. */
  async fresh(organizationId: string, kind: string, auth: OAuth2Auth, credentials: Record<string, unknown>): Promise<Record<string, unknown>> {
    const expiresAt = typeof credentials.expires_at === "number" ? credentials.expires_at : null;
    if (expiresAt === null || expiresAt - this.now() > REFRESH_MARGIN_MS) return credentials;
    return this.refresh(organizationId, kind, auth, credentials.access_token);
  }

  /**
   * A new access token for the grant, unless another call (on any replica) already replaced `stale`: the row is
   * locked while the provider is asked, so a refresh token a provider rotates is never overwritten by an older one.
   * A refused grant (invalid_grant) turns the connection to `error` and throws IntegrationAuthFailed.
   */
  async refresh(organizationId: string, kind: string, auth: OAuth2Auth, stale: unknown): Promise<Record<string, unknown>> {
    const outcome = await this.deps.db.transaction(async (tx) => {
      const [row] = await tx
        .select()
        .from(integrations)
        .where(and(eq(integrations.organizationId, organizationId), eq(integrations.kind, kind)))
        .for("update");
      if (row?.status !== "connected" || !row.sealedCredentials) return { failed: row?.statusReason ?? `${kind} is not connected` };
      const current = JSON.parse(this.deps.sealer.open(row.sealedCredentials)) as Record<string, unknown>;
      if (current.access_token !== stale) return { credentials: current };
      if (typeof current.refresh_token !== "string") return { failed: await this.markError(tx, organizationId, kind, "the provider gave no refresh token: connect it again") };
      const client = this.client(auth);
      const answer = await this.tokenRequest(auth, { grant_type: "refresh_token", refresh_token: current.refresh_token, client_id: client.clientId, client_secret: client.clientSecret });
      if (!answer.ok && answer.final) return { failed: await this.markError(tx, organizationId, kind, `the provider refused to refresh the access token (${answer.error}): connect it again`) };
      if (!answer.ok) return { unavailable: answer.error };
      const credentials = this.credentialsOf(answer.body, current.refresh_token);
      if (!credentials) return { unavailable: "no access token in the answer" };
      await tx
        .update(integrations)
        .set({ sealedCredentials: this.deps.sealer.seal(JSON.stringify(credentials)), revision: sql`${integrations.revision} + 1`, updatedAt: sql`now()` })
        .where(and(eq(integrations.organizationId, organizationId), eq(integrations.kind, kind)));
      return { credentials: credentials as unknown as Record<string, unknown> };
    });
    if ("failed" in outcome) throw new IntegrationAuthFailed(`${kind} needs to be connected again: ${outcome.failed}`);
    if ("unavailable" in outcome) throw new ProviderUnavailable(`${kind} could not refresh its access token (${outcome.unavailable})`);
    return outcome.credentials;
  }

  /** Best effort (RFC 7009): the grant is dropped here whatever the provider answers. */
  async revoke(auth: OAuth2Auth, credentials: Record<string, unknown>): Promise<void> {
    const token = credentials.refresh_token ?? credentials.access_token;
    if (!auth.revokeUrl || typeof token !== "string") return;
    try {
      const response = await this.deps.guard.fetch(new URL(this.providerUrl(auth, auth.revokeUrl)), {
        method: "POST",
        headers: new Headers({ "content-type": "application/x-www-form-urlencoded" }),
        body: new URLSearchParams({ token }).toString(),
        signal: AbortSignal.timeout(TOKEN_TIMEOUT_MS),
      });
      if (!response.ok) this.deps.log.warn("the provider did not revoke the token", { client: auth.client, status: response.status });
    } catch (error) {
      this.deps.log.warn("could not reach the provider to revoke the token", { client: auth.client, error: error instanceof Error ? error.message : String(error) });
    }
  }

  private client(auth: OAuth2Auth): OAuthClient {
    const client = this.deps.clients[auth.client];
    if (!client) throw new Problem(409, "oauth_client_not_configured", `this server has no OAuth client for it: set ${auth.client}_CLIENT_ID and ${auth.client}_CLIENT_SECRET (docs/operator-guide.md)`);
    return client;
  }

  private async markError(tx: Pick<Database["db"], "update">, organizationId: string, kind: string, reason: string): Promise<string> {
    await tx
      .update(integrations)
      .set({ status: "error", statusReason: reason, revision: sql`${integrations.revision} + 1`, updatedAt: sql`now()` })
      .where(and(eq(integrations.organizationId, organizationId), eq(integrations.kind, kind)));
    this.deps.log.warn("an integration's OAuth grant failed; it needs to be connected again", { kind, organizationId, reason });
    return reason;
  }

  /**
   * One token endpoint request (RFC 6749 §4.1.3, §6), the client authenticated in the body. `final`: the provider
   * refused the grant itself (a 400/401 answer), as opposed to not answering.
   */
  private async tokenRequest(auth: OAuth2Auth, form: Record<string, string>): Promise<{ ok: true; body: Record<string, unknown> } | { ok: false; final: boolean; error: string }> {
    try {
      const response = await this.deps.guard.fetch(new URL(this.providerUrl(auth, auth.tokenUrl)), {
        method: "POST",
        headers: new Headers({ "content-type": "application/x-www-form-urlencoded", accept: "application/json" }),
        body: new URLSearchParams(form).toString(),
        signal: AbortSignal.timeout(TOKEN_TIMEOUT_MS),
      });
      const body = (await response.json().catch(() => ({}))) as Record<string, unknown>;
      if (response.ok) return { ok: true, body };
      const error = typeof body.error === "string" ? body.error.slice(0, 100) : `HTTP ${response.status}`;
      return { ok: false, final: response.status === 400 || response.status === 401, error };
    } catch (error) {
      return { ok: false, final: false, error: error instanceof Error ? error.message.slice(0, 200) : "no answer" };
    }
  }

  private credentialsOf(body: Record<string, unknown>, previousRefresh: unknown): OAuthCredentials | null {
    if (typeof body.access_token !== "string" || !body.access_token) return null;
    const expiresIn = Number(body.expires_in);
    return {
      access_token: body.access_token,
      // Providers that do not rotate refresh tokens (Google) send none on refresh: the one we had stays valid.
      refresh_token: typeof body.refresh_token === "string" ? body.refresh_token : typeof previousRefresh === "string" ? previousRefresh : null,
      expires_at: Number.isFinite(expiresIn) && expiresIn > 0 ? this.now() + expiresIn * 1000 : null,
      scope: typeof body.scope === "string" ? body.scope : null,
      token_type: typeof body.token_type === "string" ? body.token_type : "Bearer",
    };
  }

  /**
   * The account's email: from the id_token's claims, read without checking its signature because it came straight
   * from the token endpoint over TLS (OpenID Connect Core §3.1.3.7), else from the userinfo endpoint.
   */
  private async accountOf(auth: OAuth2Auth, body: Record<string, unknown>, credentials: OAuthCredentials): Promise<string | null> {
    if (typeof body.id_token === "string") {
      try {
        const claims = JSON.parse(Buffer.from(body.id_token.split(".")[1] ?? "", "base64url").toString("utf8")) as Record<string, unknown>;
        if (typeof claims.email === "string") return claims.email.slice(0, 200);
      } catch {}
    }
    if (!auth.userinfoUrl) return null;
    try {
      const response = await this.deps.guard.fetch(new URL(this.providerUrl(auth, auth.userinfoUrl)), {
        method: "GET",
        headers: new Headers({ authorization: `Bearer ${credentials.access_token}`, accept: "application/json" }),
        signal: AbortSignal.timeout(TOKEN_TIMEOUT_MS),
      });
      const info = (await response.json().catch(() => ({}))) as Record<string, unknown>;
      return response.ok && typeof info.email === "string" ? info.email.slice(0, 200) : null;
    } catch {
      return null;
    }
  }
}

/** The provider cannot be reached to refresh a token: the grant may still be good, so the connection stays. */
export class ProviderUnavailable extends Error {
  override name = "ProviderUnavailable";
}

const hash = (state: string) => createHash("sha256").update(state).digest("base64url");

function safeLabel(plugin: IntegrationPlugin, credentials: OAuthCredentials): string | null {
  try {
    return plugin.accountLabel?.(credentials as never)?.slice(0, 200) ?? null;
  } catch {
    return null;
  }
}

/** The callback page: public (the browser arrives from the provider with no API key), answering a small HTML page. */
export function oauthCallbackRoute(conventions: Conventions, grants: OAuthGrants, deps: { announce(organizationId: string, kind: string): void; log: Logger }) {
  return new Elysia().use(conventions).get(
    OAUTH_CALLBACK_PATH,
    async ({ query }) => {
      try {
        const { organizationId, kind, label } = await grants.complete(query);
        deps.announce(organizationId, kind);
        return page(200, "Connected", `${label ? `${escapeHtml(label)} is` : "Your account is"} connected. You can close this window.`);
      } catch (error) {
        if (error instanceof CallbackFailed) return page(400, "Not connected", escapeHtml(error.message));
        if (error instanceof Problem) return page(409, "Not connected", escapeHtml(error.detail));
        deps.log.error("the OAuth callback failed", { error: error instanceof Error ? error.message : String(error) });
        return page(500, "Not connected", "Something went wrong on this server. Start again from Connect.");
      }
    },
    {
      publicRoute: true,
      query: t.Object({ state: t.Optional(t.String({ maxLength: 200 })), code: t.Optional(t.String({ maxLength: 2000 })), error: t.Optional(t.String({ maxLength: 200 })) }, { additionalProperties: true }),
      detail: { hide: true },
    },
  );
}

function page(status: number, title: string, message: string): Response {
  const html = `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width"><title>${title}</title></head><body style="font-family:system-ui,sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem"><h1>${title}</h1><p id="message">${message}</p></body></html>`;
  return new Response(html, { status, headers: { "content-type": "text/html; charset=utf-8", "cache-control": "no-store", "referrer-policy": "no-referrer" } });
}

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
