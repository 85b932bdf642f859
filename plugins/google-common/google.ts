// What both Google plugins share: Google's OAuth 2.0 endpoints (one operator OAuth client, GOOGLE_OAUTH_*, for
// both) and a JSON call to a Google API that refreshes the access token once when Google refuses it (401).
import { type OAuth2Auth, PluginError, type PluginContext } from "../../src/api/integrations/contract.ts";

/** Google's published OAuth 2.0 endpoints (developers.google.com/identity/protocols/oauth2/web-server). */
export function googleAuth(scopes: string[]): OAuth2Auth {
  return {
    type: "oauth2",
    client: "GOOGLE_OAUTH",
    authorizeUrl: "https://accounts.google.com/o/oauth2/v2/auth",
    tokenUrl: "https://oauth2.googleapis.com/token",
    revokeUrl: "https://oauth2.googleapis.com/revoke",
    userinfoUrl: "https://openidconnect.googleapis.com/v1/userinfo",
    // openid + email: the account's address becomes the connection's label.
    scopes: ["openid", "email", ...scopes],
    // offline + consent: Google sends a refresh token, on a reconnect too.
    authorizeParams: { access_type: "offline", prompt: "consent", include_granted_scopes: "true" },
  };
}

export interface GoogleAnswer {
  status: number;
  body: Record<string, unknown>;
}

/** One Google API call with the connection's access token; a 401 gets a new token and one more try. */
export async function googleCall(ctx: PluginContext, url: string, init: { method?: string; body?: unknown } = {}): Promise<GoogleAnswer> {
  const send = async () => {
    const response = await ctx.fetch(ctx.providerUrl?.(url) ?? url, {
      method: init.method ?? "GET",
      headers: { authorization: `Bearer ${String(ctx.credentials.access_token)}`, accept: "application/json", ...(init.body === undefined ? {} : { "content-type": "application/json" }) },
      ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
    });
    const body = (await response.json().catch(() => ({}))) as Record<string, unknown>;
    return { status: response.status, body };
  };
  const first = await send();
  if (first.status !== 401 || !ctx.refreshCredentials) return first;
  await ctx.refreshCredentials();
  const second = await send();
  if (second.status === 401) throw new PluginError("refused", "Google refused the connection's access token");
  return second;
}

/** Google's error message (its `error.message`), for what the provider said no to. */
export const googleMessage = (answer: GoogleAnswer) => {
  const error = answer.body.error as { message?: unknown } | undefined;
  return typeof error?.message === "string" ? error.message.slice(0, 300) : `HTTP ${answer.status}`;
};

/** An answer no action expects, as the skill error closest to it. */
export function googleFailure(answer: GoogleAnswer, what: string): PluginError {
  if (answer.status === 429 || answer.status >= 500) return new PluginError("unavailable", `Google could not ${what} right now (${googleMessage(answer)})`);
  if (answer.status === 401 || answer.status === 403) return new PluginError("refused", `Google refused to ${what}: ${googleMessage(answer)}`);
  if (answer.status === 404) return new PluginError("not_found", `Google found nothing to ${what}: ${googleMessage(answer)}`);
  return new PluginError("invalid_input", `Google could not ${what}: ${googleMessage(answer)}`);
}

/** A setting as a list: a JSON list, or a comma-separated string. */
export function listSetting(value: unknown, fallback: string[]): string[] {
  if (Array.isArray(value)) return value.map(String).filter(Boolean);
  if (typeof value === "string" && value.trim()) return value.split(",").map((v) => v.trim()).filter(Boolean);
  return fallback;
}
