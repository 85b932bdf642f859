// Rate limits counted where every replica sees the same count (rate-limiter-flexible): in Redis when REDIS_URL is
// set, otherwise in Postgres (the rate_limits table, one upsert per request), or in memory on the embedded store,
// where one process is the whole installation. Each limit counts requests per key over fixed windows. The library
// is used as an atomic counter: every limit of one name shares its counts, and each call says its own limit (a
// publishable key's rateLimitRpm), so changing a key's limit keeps what it has spent.
// A store that fails or is slow never refuses a request: the limit is waived (fail open) and the failure logged.
import Redis from "ioredis";
import { type RateLimiterAbstract, RateLimiterDrizzle, RateLimiterMemory, RateLimiterRedis } from "rate-limiter-flexible";
import { lt, sql } from "drizzle-orm";
import type { Database } from "../db/index.ts";
import { rateLimits } from "../db/schema/index.ts";
import type { Logger } from "../log.ts";

export interface RateDecision {
  allowed: boolean;
  limit: number;
  remaining: number;
  /** Seconds until a request would be allowed again (0 when allowed). */
  retryAfterS: number;
}

/** Far above any limit: the library never refuses on its own; each caller compares the count with its limit. */
const COUNT_CEILING = 1_000_000_000;
/** A store that has not answered by then is taken as failed (the request goes on unlimited). */
const STORE_DEADLINE_MS = 1000;
/** At most one log line per this long about a failing store. */
const LOG_EVERY_MS = 60_000;
/** How long a start waits for Redis before serving with limits waived. */
const REDIS_CONNECT_WAIT_MS = 5000;
/** Postgres rows of windows closed this long ago are deleted. */
const KEEP_CLOSED_MS = 60 * 60 * 1000;

export interface RateLimitStore {
  readonly kind: "memory" | "postgres" | "redis";
  /** A request counter per key over windows of `windowS` seconds; `name` keeps its keys apart from other limits'. */
  counter(name: string, windowS: number): RateLimiterAbstract;
  /** Resolves once the store can count (Redis connected), or once it has been given a few seconds to. */
  ready(): Promise<void>;
  /** Delete the counts of windows long closed (Postgres; the other stores expire them themselves). */
  purgeExpired(): Promise<void>;
  close(): Promise<void>;
}

export function createRateLimitStore(opts: { database: Database; redisUrl: string | null; log: Logger }): RateLimitStore {
  if (opts.redisUrl) return redisStore(opts.redisUrl, opts.log);
  if (opts.database.kind === "postgres") return postgresStore(opts.database);
  return memoryRateLimitStore();
}

/** Counts in this process: right for one process (the embedded store) and for tests of one. */
export function memoryRateLimitStore(): RateLimitStore {
  // One counter per name and window, so two limits of one name share their counts here as in Postgres and Redis
  // (the widget's socket messages count against the same per-key limit as its HTTP requests).
  const counters = new Map<string, RateLimiterMemory>();
  return {
    kind: "memory",
    // The library's memory store expires each key at the end of its window: it never grows past the keys seen in
    // one window, and never drops the counts of every client at once.
    counter(name, windowS) {
      const id = `${name}/${windowS}`;
      let counter = counters.get(id);
      if (!counter) counters.set(id, (counter = new RateLimiterMemory({ keyPrefix: name, points: COUNT_CEILING, duration: windowS })));
      return counter;
    },
    ready: async () => {},
    purgeExpired: async () => {},
    close: async () => {},
  };
}

function postgresStore(database: Database): RateLimitStore {
  return {
    kind: "postgres",
    counter: (name, windowS) =>
      // The library's own cleanup timer would outlive the server: purgeExpired runs from the app's hourly sweep.
      new RateLimiterDrizzle({ storeClient: database.db, schema: rateLimits, keyPrefix: name, points: COUNT_CEILING, duration: windowS, clearExpiredByTimeout: false }),
    ready: async () => {},
    async purgeExpired() {
      await database.db.delete(rateLimits).where(lt(rateLimits.expire, sql`now() - make_interval(secs => ${KEEP_CLOSED_MS / 1000})`));
    },
    close: async () => {},
  };
}

function redisStore(url: string, log: Logger): RateLimitStore {
  // No offline queue and one try per command: while Redis is away a count fails at once (and the limit is waived)
  // instead of piling up behind a reconnect; ioredis keeps reconnecting in the background.
  const client = new Redis(url, { enableOfflineQueue: false, maxRetriesPerRequest: 1, commandTimeout: STORE_DEADLINE_MS });
  const warn = throttled(LOG_EVERY_MS);
  client.on("error", (error) => warn(() => log.warn("redis for rate limits is not answering; limits are waived until it does", { error })));
  return {
    kind: "redis",
    counter: (name, windowS) => new RateLimiterRedis({ storeClient: client, keyPrefix: `flowyte:rate:${name}`, points: COUNT_CEILING, duration: windowS }),
    async ready() {
      if (client.status === "ready") return;
      let timer: ReturnType<typeof setTimeout> | undefined;
      const connected = new Promise<boolean>((resolve) => {
        client.once("ready", () => resolve(true));
        timer = setTimeout(() => resolve(false), REDIS_CONNECT_WAIT_MS);
      });
      if (!(await connected)) log.warn(`redis for rate limits did not connect within ${REDIS_CONNECT_WAIT_MS / 1000} s; limits are waived until it does`);
      clearTimeout(timer);
    },
    purgeExpired: async () => {},
    async close() {
      client.disconnect();
    },
  };
}

/** One limit: `take` counts a request of `key` and says whether it is within `limit` requests a window. */
export class RateLimit {
  private counter: RateLimiterAbstract;
  private warn = throttled(LOG_EVERY_MS);

  /** `onStoreError`: every failure of the store (for a metric); the limit is waived for that request. */
  constructor(
    store: RateLimitStore,
    readonly name: string,
    readonly windowS: number,
    private log: Logger,
    private onStoreError: (error: unknown) => void = () => {},
  ) {
    this.counter = store.counter(name, windowS);
  }

  async take(key: string, limit: number): Promise<RateDecision> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      const deadline = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`the rate limit store did not answer within ${STORE_DEADLINE_MS} ms`)), STORE_DEADLINE_MS);
      });
      const counted = await Promise.race([this.counter.consume(key), deadline]);
      const allowed = counted.consumedPoints <= limit;
      return {
        allowed,
        limit,
        remaining: Math.max(0, limit - counted.consumedPoints),
        retryAfterS: allowed ? 0 : Math.max(1, Math.ceil(counted.msBeforeNext / 1000)),
      };
    } catch (error) {
      this.onStoreError(error);
      this.warn(() => this.log.warn(`the ${this.name} rate limit could not be counted; requests go through unlimited until the store answers`, { error }));
      return { allowed: true, limit, remaining: limit, retryAfterS: 0 };
    } finally {
      clearTimeout(timer);
    }
  }
}

function throttled(everyMs: number) {
  let last = -Infinity;
  return (fn: () => void) => {
    const now = Date.now();
    if (now - last < everyMs) return;
    last = now;
    fn();
  };
}
