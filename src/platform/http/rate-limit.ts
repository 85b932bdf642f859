// Per-key token buckets: `perMinute` requests a minute, refilled continuously, bursting up to a minute's worth.
// Held in-process: with several replicas each enforces its own share (documented in docs/api-conventions.md).
export interface RateDecision {
  allowed: boolean;
  limit: number;
  remaining: number;
  /** Seconds until a request would be allowed again (0 when allowed). */
  retryAfterS: number;
}

export class RateLimiter {
  private buckets = new Map<string, { tokens: number; at: number }>();
  constructor(private perMinute: number) {}

  get enabled() {
    return this.perMinute > 0;
  }

  /** `perMinute` overrides the default for keys with their own limit (publishable keys' rateLimitRpm). */
  take(key: string, now = Date.now(), perMinute = this.perMinute): RateDecision {
    const capacity = perMinute;
    const perMs = capacity / 60_000;
    let b = this.buckets.get(key);
    if (!b) {
      if (this.buckets.size > 50_000) this.buckets.clear();
      b = { tokens: capacity, at: now };
      this.buckets.set(key, b);
    } else {
      b.tokens = Math.min(capacity, b.tokens + (now - b.at) * perMs);
      b.at = now;
    }
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return { allowed: true, limit: capacity, remaining: Math.floor(b.tokens), retryAfterS: 0 };
    }
    return { allowed: false, limit: capacity, remaining: 0, retryAfterS: Math.max(1, Math.ceil((1 - b.tokens) / perMs / 1000)) };
  }
}
