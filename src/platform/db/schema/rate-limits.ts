import { index, integer, pgTable, text, timestamp } from "drizzle-orm/pg-core";

/**
 * Requests counted per key and window, shared by every replica on Postgres (rate-limiter-flexible's Drizzle store:
 * one INSERT … ON CONFLICT DO UPDATE per request). The column names are the ones that library reads and writes.
 */
export const rateLimits = pgTable(
  "rate_limits",
  {
    /** `<limit name>:<who>`, e.g. `api:key_…` or `widget_sessions:pk_…|198.51.100.7`. */
    key: text("key").primaryKey(),
    /** Requests counted in the window under way. */
    points: integer("points").notNull(),
    /** When the window under way closes; the next request after it starts a new one. */
    expire: timestamp("expire", { withTimezone: true }),
  },
  (t) => [index("rate_limits_expire_idx").on(t.expire)],
);
