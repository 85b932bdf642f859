// A stand-in for Cloudflare Turnstile's siteverify endpoint (hCaptcha's follows the same protocol): POST
// application/x-www-form-urlencoded `secret`, `response`, optional `remoteip`; answers JSON
// `{success, "error-codes", challenge_ts?, hostname?}`. Like Turnstile, each token verifies once
// (`timeout-or-duplicate` after that) and a wrong secret is `invalid-input-secret`.
// (It lives beside its only test rather than in test/support/.)
import { randomBytes } from "node:crypto";

export interface SiteverifyRequest {
  contentType: string | null;
  secret: string | null;
  response: string | null;
  remoteip: string | null;
}

export function startSiteverifyStandIn(opts: { secret: string }) {
  let secret = opts.secret;
  const issued = new Set<string>();
  const spent = new Set<string>();
  const requests: SiteverifyRequest[] = [];
  const server = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    async fetch(req) {
      if (req.method !== "POST" || new URL(req.url).pathname !== "/turnstile/v0/siteverify") return new Response("not found", { status: 404 });
      const form = new URLSearchParams(await req.text());
      const request = { contentType: req.headers.get("content-type"), secret: form.get("secret"), response: form.get("response"), remoteip: form.get("remoteip") };
      requests.push(request);
      const fail = (code: string) => Response.json({ success: false, "error-codes": [code], messages: [] });
      if (!request.secret) return fail("missing-input-secret");
      if (request.secret !== secret) return fail("invalid-input-secret");
      if (!request.response) return fail("missing-input-response");
      if (spent.has(request.response)) return fail("timeout-or-duplicate");
      if (!issued.has(request.response)) return fail("invalid-input-response");
      issued.delete(request.response);
      spent.add(request.response);
      return Response.json({ success: true, "error-codes": [], challenge_ts: new Date().toISOString(), hostname: "shop.example.com", messages: [] });
    },
  });
  return {
    url: `http://127.0.0.1:${server.port}/turnstile/v0/siteverify`,
    requests,
    /** A token as the Turnstile widget in a visitor's browser would get it. */
    issueToken() {
      const token = `0.${randomBytes(24).toString("base64url")}`;
      issued.add(token);
      return token;
    },
    /** The secret siteverify now expects (as when the operator rotates it in the Turnstile dashboard). */
    set secret(value: string) {
      secret = value;
    },
    stop: () => server.stop(true),
  };
}
