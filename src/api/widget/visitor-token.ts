// Visitor tokens: what lets one browser continue the widget conversation it started, and nobody else. They bind
// {c: conversationId, k: publishableKeyId, v: visitorId}, signed under a key derived from MASTER_KEY, so any replica
// checks a token without storage. The key id (not its value) is bound, so a token survives a key rotation.
import { Problem } from "../../platform/http/problem.ts";
import { SignedTokens } from "../../platform/signed-token.ts";

export const VISITOR_TOKEN_TTL_MS = 24 * 60 * 60 * 1000;

export interface VisitorClaims {
  conversationId: string;
  publishableKeyId: string;
  visitorId: string;
  /** Expiry, epoch milliseconds. */
  exp: number;
}

export class VisitorTokens {
  private readonly tokens: SignedTokens<{ c: string; k: string; v: string }>;

  constructor(key: Buffer, clock: () => number = Date.now) {
    this.tokens = new SignedTokens(key, "vt1", clock);
  }

  issue(claims: Omit<VisitorClaims, "exp">, ttlMs = VISITOR_TOKEN_TTL_MS): { token: string; expiresAt: Date } {
    return this.tokens.issue({ c: claims.conversationId, k: claims.publishableKeyId, v: claims.visitorId }, ttlMs);
  }

  /** The claims of a token this server issued and that has not expired; 401 otherwise. */
  verify(token: string): VisitorClaims {
    const checked = this.tokens.verify(token);
    if (!checked.ok && checked.reason === "expired") throw new Problem(401, "visitor_token_expired", "this visitor token has expired; start a new widget session");
    if (!checked.ok || typeof checked.claims.c !== "string" || typeof checked.claims.k !== "string" || typeof checked.claims.v !== "string") {
      throw new Problem(401, "invalid_visitor_token", "the visitor token is not one this server issued; start a new widget session");
    }
    const { c, k, v, exp } = checked.claims;
    return { conversationId: c, publishableKeyId: k, visitorId: v, exp };
  }
}

/** The signing key's purpose, for `Sealer.deriveKey`. */
export const VISITOR_TOKEN_PURPOSE = "flowyte/visitor-token/v1";
