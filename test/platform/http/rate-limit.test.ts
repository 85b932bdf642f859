// Rate limits as counters: per key and per call limit, never reset for everyone as they grow, shared by two
// processes on Redis (when REDIS_URL names one, e.g. redis://127.0.0.1:6379), and waived, not enforced, when the
// store fails or hangs. Over HTTP, on both stores and across replicas: conventions.test.ts, test/cluster/state.test.ts.
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import type { Database } from "../../../src/platform/db/index.ts";
import { createRateLimitStore, memoryRateLimitStore, RateLimit, type RateLimitStore } from "../../../src/platform/http/rate-limit.ts";
import { createLogger } from "../../../src/platform/log.ts";
import { startTestApp, type TestApp } from "../../support/app.ts";

const quiet = createLogger("error");

describe("a rate limit", () => {
  it("counts each key apart, against the limit each call names", async () => {
    const limit = new RateLimit(memoryRateLimitStore(), "api", 60, quiet);
    const first = await limit.take("key_a", 2);
    expect(first).toEqual({ allowed: true, limit: 2, remaining: 1, retryAfterS: 0 });
    expect((await limit.take("key_a", 2)).remaining).toBe(0);
    const refused = await limit.take("key_a", 2);
    expect(refused.allowed).toBe(false);
    expect(refused.retryAfterS).toBeGreaterThanOrEqual(1);
    expect(refused.retryAfterS).toBeLessThanOrEqual(60);
    // A higher limit for the same key (a publishable key's rateLimitRpm raised) keeps what was spent.
    expect(await limit.take("key_a", 10)).toMatchObject({ allowed: true, remaining: 6 });
    expect((await limit.take("key_b", 2)).remaining).toBe(1);
  });

  it("keeps a client's count however many other clients come (no reset of everyone when it grows)", async () => {
    const limit = new RateLimit(memoryRateLimitStore(), "api", 60, quiet);
    await limit.take("busy", 3);
    await limit.take("busy", 3);
    await limit.take("busy", 3);
    for (let i = 0; i < 60_000; i++) await limit.take(`visitor_${i}`, 3);
    expect((await limit.take("busy", 3)).allowed).toBe(false);
  });

  it("waives the limit, logs and reports it when the store fails", async () => {
    const failing: RateLimitStore = {
      ...memoryRateLimitStore(),
      counter: () => ({ consume: () => Promise.reject(new Error("ECONNREFUSED")) }) as never,
    };
    const lines: string[] = [];
    const errors: unknown[] = [];
    const limit = new RateLimit(failing, "api", 60, createLogger("warn", (l) => lines.push(l)), (e) => errors.push(e));
    expect(await limit.take("key_a", 1)).toEqual({ allowed: true, limit: 1, remaining: 1, retryAfterS: 0 });
    expect(await limit.take("key_a", 1)).toMatchObject({ allowed: true });
    expect(errors).toHaveLength(2);
    // Once per minute at most: a store that is down must not flood the log.
    expect(lines.filter((l) => l.includes("could not be counted"))).toHaveLength(1);
  });

  it("waives the limit when the store does not answer within its deadline", async () => {
    const hanging: RateLimitStore = { ...memoryRateLimitStore(), counter: () => ({ consume: () => new Promise(() => {}) }) as never };
    const errors: unknown[] = [];
    const limit = new RateLimit(hanging, "api", 60, quiet, (e) => errors.push(e));
    expect((await limit.take("key_a", 1)).allowed).toBe(true);
    expect(String(errors[0])).toContain("did not answer");
  });
});

describe.skipIf(!process.env.DATABASE_URL)("rate limits in Postgres", () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp();
  });
  afterAll(() => app.stop());

  it("are one count for every process on the database, and windows long closed are deleted", async () => {
    const store = createRateLimitStore({ database: app.server.database, redisUrl: null, log: quiet });
    expect(store.kind).toBe("postgres");
    const [a, b] = [0, 1].map(() => new RateLimit(store, "test", 60, quiet));
    const decisions = [await a!.take("key_pg", 2), await b!.take("key_pg", 2), await a!.take("key_pg", 2)];
    expect(decisions.map((d) => [d.allowed, d.remaining])).toEqual([
      [true, 1],
      [true, 0],
      [false, 0],
    ]);
    await app.query(`insert into rate_limits (key, points, expire) values ('test:old', 3, now() - interval '2 hours')`);
    await store.purgeExpired();
    expect((await app.query<{ key: string }>("select key from rate_limits order by key")).map((r) => r.key)).toEqual(["test:key_pg"]);
  });
});

describe.skipIf(!process.env.REDIS_URL)("rate limits in Redis", () => {
  const noDatabase = { kind: "pglite" } as Database;

  it("are one count for two processes", async () => {
    const stores = [0, 1].map(() => createRateLimitStore({ database: noDatabase, redisUrl: process.env.REDIS_URL!, log: quiet }));
    try {
      expect(stores[0]!.kind).toBe("redis");
      for (const s of stores) await s.ready();
      const [a, b] = stores.map((s) => new RateLimit(s, "test", 60, quiet));
      const key = `key_${crypto.randomUUID()}`;
      const decisions = [await a!.take(key, 3), await b!.take(key, 3), await a!.take(key, 3), await b!.take(key, 3)];
      expect(decisions.map((d) => d.allowed)).toEqual([true, true, true, false]);
      expect(decisions.map((d) => d.remaining)).toEqual([2, 1, 0, 0]);
    } finally {
      for (const s of stores) await s.close();
    }
  });

  it("are waived while Redis cannot be reached", async () => {
    const store = createRateLimitStore({ database: noDatabase, redisUrl: "redis://127.0.0.1:1", log: quiet });
    try {
      const errors: unknown[] = [];
      const limit = new RateLimit(store, "test", 60, quiet, (e) => errors.push(e));
      expect((await limit.take("key_a", 1)).allowed).toBe(true);
      expect((await limit.take("key_a", 1)).allowed).toBe(true);
      expect(errors).toHaveLength(2);
    } finally {
      await store.close();
    }
  });
});
