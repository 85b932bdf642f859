// A stand-in for Google's OAuth 2.0 endpoints as published (developers.google.com/identity/protocols/oauth2/web-server
// and the OpenID Connect discovery document): the consent page (GET /o/oauth2/v2/auth, with an "Allow" button), the
// token endpoint (POST /token: authorization_code with PKCE S256 verification, refresh_token), revocation (POST
// /revoke) and userinfo (GET /v1/userinfo). One server stands for all of Google's hosts (the app's
// GOOGLE_OAUTH_BASE_URL), the Calendar and Sheets stand-ins plugged in beside it.
import { createHash, randomBytes } from "node:crypto";

export interface GoogleHandler {
  handle(request: Request, url: URL): Promise<Response | null> | Response | null;
}

/** One Google for the test: every handler asked in turn, 404 when none answers. */
export function serveGoogle(handlers: GoogleHandler[]) {
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(request) {
      const url = new URL(request.url);
      for (const h of handlers) {
        const answer = await h.handle(request, url);
        if (answer) return answer;
      }
      return Response.json({ error: { code: 404, message: "Not Found", status: "NOT_FOUND" } }, { status: 404 });
    },
  });
  return { url: `http://127.0.0.1:${server.port}`, stop: () => server.stop(true) };
}

interface Grant {
  email: string;
  scope: string;
  refreshToken: string;
  revoked: boolean;
}

const googleError = (status: number, message: string, reason: string) => Response.json({ error: { code: status, message, status: reason } }, { status });

export class GoogleOAuthStandIn implements GoogleHandler {
  /** The account that signs in on the consent page. */
  email = "dispatch@cool-air-hvac.example";
  /** Seconds an access token lives (expires_in). */
  expiresIn = 3600;
  /** Whether a refresh answers a new refresh token (Google does not; other providers rotate them). */
  rotateRefreshTokens = false;
  /** Every token request, by grant type. */
  readonly tokenRequests: string[] = [];
  readonly revoked: string[] = [];
  private readonly codes = new Map<string, { redirectUri: string; challenge: string; scope: string; used: boolean }>();
  private readonly grants = new Map<string, Grant>();
  private readonly tokens = new Map<string, { grant: Grant; valid: boolean }>();

  constructor(readonly client: { clientId: string; clientSecret: string }) {}

  /** The grant behind a request's bearer token, or null when Google would answer 401. */
  bearer(request: Request): Grant | null {
    const token = /^Bearer (.+)$/.exec(request.headers.get("authorization") ?? "")?.[1];
    const found = token ? this.tokens.get(token) : undefined;
    return found?.valid && !found.grant.revoked ? found.grant : null;
  }

  /** Every access token issued so far stops working (as when Google expires or invalidates them early). */
  invalidateAccessTokens() {
    for (const t of this.tokens.values()) t.valid = false;
  }

  /** The user removed the app's access in their Google account: refresh fails with invalid_grant. */
  revokeAllGrants() {
    for (const g of this.grants.values()) g.revoked = true;
  }

  async handle(request: Request, url: URL): Promise<Response | null> {
    if (request.method === "GET" && url.pathname === "/o/oauth2/v2/auth") return this.consent(url);
    if (request.method === "POST" && url.pathname === "/o/oauth2/v2/auth/approve") return this.approve(new URLSearchParams(await request.text()));
    if (request.method === "POST" && url.pathname === "/token") return this.token(new URLSearchParams(await request.text()));
    if (request.method === "POST" && url.pathname === "/revoke") return this.revoke(url.searchParams.get("token") ?? new URLSearchParams(await request.text()).get("token"));
    if (request.method === "GET" && url.pathname === "/v1/userinfo") {
      const grant = this.bearer(request);
      return grant ? Response.json({ sub: sub(grant.email), email: grant.email, email_verified: true }) : googleError(401, "Invalid Credentials", "UNAUTHENTICATED");
    }
    return null;
  }

  private consent(url: URL): Response {
    const q = url.searchParams;
    const problems = [
      q.get("client_id") !== this.client.clientId && "invalid_client",
      q.get("response_type") !== "code" && "unsupported_response_type",
      !q.get("redirect_uri") && "redirect_uri_mismatch",
      (q.get("code_challenge_method") !== "S256" || !q.get("code_challenge")) && "invalid_request: PKCE S256 required by this stand-in",
      !q.get("scope") && "invalid_scope",
    ].filter(Boolean);
    if (problems.length) return new Response(`<h1>Error 400</h1><p>${problems.join(", ")}</p>`, { status: 400, headers: { "content-type": "text/html" } });
    const hidden = ["redirect_uri", "state", "code_challenge", "scope"].map((name) => `<input type="hidden" name="${name}" value="${escapeAttr(q.get(name) ?? "")}">`).join("");
    const html = `<!doctype html><html><head><title>Sign in - Google Accounts</title></head><body>
<h1>Flowyte wants to access your Google Account</h1><p>${this.email}</p><p>${escapeAttr(q.get("scope") ?? "")}</p>
<form method="post" action="/o/oauth2/v2/auth/approve">${hidden}<button type="submit" name="decision" value="deny">Cancel</button><button type="submit" name="decision" value="allow">Allow</button></form></body></html>`;
    return new Response(html, { headers: { "content-type": "text/html; charset=utf-8" } });
  }

  private approve(form: URLSearchParams): Response {
    const target = new URL(form.get("redirect_uri")!);
    target.searchParams.set("state", form.get("state") ?? "");
    if (form.get("decision") !== "allow") {
      target.searchParams.set("error", "access_denied");
    } else {
      const code = `4/${randomBytes(24).toString("base64url")}`;
      this.codes.set(code, { redirectUri: form.get("redirect_uri")!, challenge: form.get("code_challenge")!, scope: form.get("scope")!, used: false });
      target.searchParams.set("code", code);
      target.searchParams.set("scope", form.get("scope")!);
    }
    return new Response(null, { status: 302, headers: { location: target.toString() } });
  }

  private token(form: URLSearchParams): Response {
    const grantType = form.get("grant_type") ?? "";
    this.tokenRequests.push(grantType);
    const fail = (error: string, description: string, status = 400) => Response.json({ error, error_description: description }, { status });
    if (form.get("client_id") !== this.client.clientId || form.get("client_secret") !== this.client.clientSecret) return fail("invalid_client", "The OAuth client was not found.", 401);
    if (grantType === "authorization_code") {
      const code = this.codes.get(form.get("code") ?? "");
      if (!code || code.used) return fail("invalid_grant", "Malformed auth code.");
      code.used = true;
      if (code.redirectUri !== form.get("redirect_uri")) return fail("redirect_uri_mismatch", "Bad Request");
      const verifier = form.get("code_verifier") ?? "";
      if (createHash("sha256").update(verifier).digest("base64url") !== code.challenge) return fail("invalid_grant", "Invalid code verifier.");
      const grant: Grant = { email: this.email, scope: code.scope, refreshToken: `1//${randomBytes(24).toString("base64url")}`, revoked: false };
      this.grants.set(grant.refreshToken, grant);
      return Response.json({ ...this.accessToken(grant), refresh_token: grant.refreshToken, id_token: this.idToken(grant) });
    }
    if (grantType === "refresh_token") {
      const grant = this.grants.get(form.get("refresh_token") ?? "");
      if (!grant || grant.revoked) return fail("invalid_grant", "Token has been expired or revoked.");
      if (!this.rotateRefreshTokens) return Response.json(this.accessToken(grant));
      this.grants.delete(grant.refreshToken);
      grant.refreshToken = `1//${randomBytes(24).toString("base64url")}`;
      this.grants.set(grant.refreshToken, grant);
      return Response.json({ ...this.accessToken(grant), refresh_token: grant.refreshToken });
    }
    return fail("unsupported_grant_type", "Invalid grant_type.");
  }

  private revoke(token: string | null): Response {
    const grant = token ? (this.grants.get(token) ?? this.tokens.get(token)?.grant) : undefined;
    if (!grant) return Response.json({ error: "invalid_token", error_description: "Token expired or revoked" }, { status: 400 });
    grant.revoked = true;
    this.revoked.push(grant.email);
    return new Response(null, { status: 200 });
  }

  private accessToken(grant: Grant) {
    const token = `ya29.${randomBytes(24).toString("base64url")}`;
    this.tokens.set(token, { grant, valid: true });
    return { access_token: token, expires_in: this.expiresIn, scope: grant.scope, token_type: "Bearer" };
  }

  private idToken(grant: Grant): string {
    const part = (o: object) => Buffer.from(JSON.stringify(o)).toString("base64url");
    const now = Math.floor(Date.now() / 1000);
    return `${part({ alg: "RS256", typ: "JWT" })}.${part({ iss: "https://accounts.google.com", aud: this.client.clientId, sub: sub(grant.email), email: grant.email, email_verified: true, iat: now, exp: now + 3600 })}.stand-in-signature`;
  }
}

const sub = (email: string) => createHash("sha256").update(email).digest("hex").slice(0, 21);
const escapeAttr = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
