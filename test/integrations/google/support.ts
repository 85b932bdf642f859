// One Google for a test file: the OAuth, Calendar and Sheets stand-ins on one server (GOOGLE_OAUTH_BASE_URL points
// the app's Google hosts at it), an app with an OAuth client for it, and the consent round trip done over HTTP for
// tests whose subject is not the browser (oauth.test.ts does it in Chromium).
import { startTestApp, type TestApp } from "../../support/app.ts";
import { GoogleCalendarStandIn } from "../../support/google-calendar-stand-in.ts";
import { GoogleOAuthStandIn, serveGoogle } from "../../support/google-oauth-stand-in.ts";
import { GoogleSheetsStandIn } from "../../support/google-sheets-stand-in.ts";

export const CLIENT = { clientId: "1234567890-flowyte.apps.googleusercontent.com", clientSecret: "GOCSPX-stand-in-client-secret" };
/** Where the app says it lives: the browser test routes this origin to the test server. */
export const PUBLIC_BASE_URL = "http://flowyte.test";

export async function startGoogle(env: Record<string, string> = {}) {
  const oauth = new GoogleOAuthStandIn(CLIENT);
  const calendar = new GoogleCalendarStandIn(oauth);
  const sheets = new GoogleSheetsStandIn(oauth);
  const google = serveGoogle([oauth, calendar, sheets]);
  const app = await startTestApp({
    GOOGLE_OAUTH_CLIENT_ID: CLIENT.clientId,
    GOOGLE_OAUTH_CLIENT_SECRET: CLIENT.clientSecret,
    GOOGLE_OAUTH_BASE_URL: google.url,
    EGRESS_ALLOWLIST: "127.0.0.1",
    PUBLIC_BASE_URL,
    ...env,
  });
  return {
    app,
    oauth,
    calendar,
    sheets,
    google,
    async stop() {
      await app.stop();
      google.stop();
    },
  };
}

/** Connect answers the consent page; "Allow" is pressed over HTTP and the browser's trip back replayed on the app. */
export async function connectOverHttp(app: TestApp, googleUrl: string, key: string, kind: string): Promise<Response> {
  const started = await app.api("POST", `/api/v1/integrations/${kind}/connect`, { key, body: {} });
  if (started.status !== 200) throw new Error(`connect → ${started.status} ${JSON.stringify(started.body)}`);
  const consent = new URL(started.body.data.oauthUrl);
  const form = new URLSearchParams({ decision: "allow" });
  for (const name of ["redirect_uri", "state", "code_challenge", "scope"]) form.set(name, consent.searchParams.get(name) ?? "");
  const approved = await fetch(`${googleUrl}/o/oauth2/v2/auth/approve`, { method: "POST", body: form, redirect: "manual" });
  const back = new URL(approved.headers.get("location")!);
  return fetch(`${app.url}${back.pathname}${back.search}`);
}
