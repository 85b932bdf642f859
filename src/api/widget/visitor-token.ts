// Visitor tokens: what lets one browser continue the widget conversation it started, and nobody else.
// `vt1.<payload>.<signature>`: base64url JSON {c: conversationId, k: publishableKeyId, v: visitorId, exp: epoch ms}
// and its HMAC-SHA256 under a key derived from MASTER_KEY, so any replica checks a token without storage.
// The key id (not its value) is bound, so a token survives a rotation of its publishable key.
import { createHmac, timingSafeEqual } from "node:crypto";
import { Problem } from "../../platform/http/problem.ts";

export const VISITOR_TOKEN_TTL_MS = 24 * 60 * 60 * 1000;
const VERSION = "vt1";

export interface VisitorClaims {
  conversationId: string;
  publishableKeyId: string;
  visitorId: string;
  /** Expiry, epoch milliseconds. */
  exp: number;
}

export class VisitorTokens {
  private readonly key: Buffer;

  constructor(
    masterKey: Buffer,
    private clock: () => number = Date.now,
  ) {
    // A key of its own, so a visitor token can never be confused with anything else signed under MASTER_KEY.
    this.key = createHmac("sha256", masterKey).update("flowyte/visitor-token/v1").digest();
  }

  issue(claims: Omit<VisitorClaims, "exp">, ttlMs = VISITOR_TOKEN_TTL_MS): { token: string; expiresAt: Date } {
    const exp = this.clock() + ttlMs;
    const payload = Buffer.from(JSON.stringify({ c: claims.conversationId, k: claims.publishableKeyId, v: claims.visitorId, exp })).toString("base64url");
    return { token: `${VERSION}.${payload}.${this.sign(payload)}`, expiresAt: new Date(exp) };
  }

  /** The claims of a token this server issued and that has not expired; 401 otherwise. */
  verify(token: string): VisitorClaims {
    const [version, payload, signature, extra] = token.split(".");
    if (version !== VERSION || !payload || !signature || extra !== undefined || !this.matches(payload, signature)) throw invalidToken();
    let claims: { c?: unknown; k?: unknown; v?: unknown; exp?: unknown };
    try {
      claims = JSON.parse(Buffer.from(payload, "base64url").toString("utf8"));
    } catch {
      throw invalidToken();
    }
    const { c, k, v, exp } = claims;
    if (typeof c !== "string" || typeof k !== "string" || typeof v !== "string" || typeof exp !== "number") throw invalidToken();
    if (exp <= this.clock()) throw new Problem(401, "visitor_token_expired", "this visitor token has expired; start a new widget session");
    return { conversationId: c, publishableKeyId: k, visitorId: v, exp };
  }

  private sign(payload: string): string {
    return createHmac("sha256", this.key).update(payload).digest("base64url");
  }

  private matches(payload: string, signature: string): boolean {
    const expected = Buffer.from(this.sign(payload));
    const given = Buffer.from(signature);
    return given.length === expected.length && timingSafeEqual(given, expected);
  }
}

const invalidToken = () => new Problem(401, "invalid_visitor_token", "the visitor token is not one this server issued; start a new widget session");
