import { integer, pgTable, primaryKey, text, timestamp } from "drizzle-orm/pg-core";

/** The first result of a POST sent with an Idempotency-Key, replayed on retries. */
export const idempotencyKeys = pgTable(
  "idempotency_keys",
  {
    organizationId: text("organization_id").notNull(),
    /** The caller that made the first request (API key id): its result is replayed to that caller only. */
    actorId: text("actor_id").notNull(),
    key: text("key").notNull(),
    /** SHA-256 of method, path and body: a retry must repeat the same request. */
    requestHash: text("request_hash").notNull(),
    /** null while the first request is still running. */
    status: integer("status"),
    /** The response body, sealed with the master key (it may hold a secret shown once, e.g. a new API key). */
    sealedBody: text("sealed_body"),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.organizationId, t.actorId, t.key] })],
);
