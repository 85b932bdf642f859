// Short-lived tokens any replica can check without storage: `<version>.<payload>.<signature>`, where the payload is
// base64url JSON of the claims plus `exp` (epoch ms) and the signature is HMAC-SHA256 under a purpose-derived key.
import { createHmac, timingSafeEqual } from "node:crypto";

export class SignedTokens<Claims extends Record<string, unknown>> {
  constructor(
    private readonly key: Buffer,
    private readonly version: string,
    private readonly clock: () => number = Date.now,
  ) {}

  issue(claims: Claims, ttlMs: number): { token: string; expiresAt: Date } {
    const exp = this.clock() + ttlMs;
    const payload = Buffer.from(JSON.stringify({ ...claims, exp })).toString("base64url");
    return { token: `${this.version}.${payload}.${this.sign(payload)}`, expiresAt: new Date(exp) };
  }

  /** The claims of a token signed here, or why not: "invalid" (not ours, tampered) or "expired". */
  verify(token: string): { ok: true; claims: Claims & { exp: number } } | { ok: false; reason: "invalid" | "expired" } {
    const [version, payload, signature, extra] = token.split(".");
    if (version !== this.version || !payload || !signature || extra !== undefined || !this.matches(payload, signature)) return { ok: false, reason: "invalid" };
    let claims: Claims & { exp?: unknown };
    try {
      claims = JSON.parse(Buffer.from(payload, "base64url").toString("utf8"));
    } catch {
      return { ok: false, reason: "invalid" };
    }
    if (typeof claims.exp !== "number") return { ok: false, reason: "invalid" };
    if (claims.exp <= this.clock()) return { ok: false, reason: "expired" };
    return { ok: true, claims: claims as Claims & { exp: number } };
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
