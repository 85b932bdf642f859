// Durable subscriptions' cursors and leases in `event_subscriptions`. A lease names the bus (one per server process)
// handling a subscription now; it runs out `leaseMs` after its last renewal, so a replica that died mid-handler
// leaves the subscription to the others within that time. Every write checks the lease, so a replica that lost it
// (a handler slower than the lease) can never move the cursor under the new owner.
import { and, eq, isNull, lt, or, sql } from "drizzle-orm";
import type { Db } from "../db/index.ts";
import { eventSubscriptions } from "../db/schema/index.ts";
import type { Cursor } from "./log.ts";

const leaseEnd = (leaseMs: number) => sql`now() + make_interval(secs => ${leaseMs / 1000})`;

/** Store a subscription seen for the first time, at the cursor `start()` gives; one that exists keeps its cursor. */
export async function createSubscription(db: Db, name: string, start: () => Promise<Cursor>): Promise<void> {
  const [exists] = await db.select({ name: eventSubscriptions.name }).from(eventSubscriptions).where(eq(eventSubscriptions.name, name));
  if (exists) return;
  const cursor = await start();
  await db.insert(eventSubscriptions).values({ name, txId: cursor.txId, position: cursor.position }).onConflictDoNothing();
}

/** Take or renew the lease: the stored cursor, or null while another owner's lease runs. */
export async function claimSubscription(db: Db, name: string, owner: string, leaseMs: number): Promise<Cursor | null> {
  const [row] = await db
    .update(eventSubscriptions)
    .set({ owner, leaseUntil: leaseEnd(leaseMs), seenAt: sql`now()` })
    .where(and(eq(eventSubscriptions.name, name), or(isNull(eventSubscriptions.owner), eq(eventSubscriptions.owner, owner), lt(eventSubscriptions.leaseUntil, sql`now()`))))
    .returning({ txId: eventSubscriptions.txId, position: eventSubscriptions.position });
  return row ? { txId: String(row.txId), position: Number(row.position) } : null;
}

/** Move the cursor past a handled event, renewing the lease; false when the lease is someone else's now. */
export async function advanceSubscription(db: Db, name: string, owner: string, next: Cursor, leaseMs: number): Promise<boolean> {
  const moved = await db
    .update(eventSubscriptions)
    .set({ txId: next.txId, position: next.position, leaseUntil: leaseEnd(leaseMs), seenAt: sql`now()` })
    .where(and(eq(eventSubscriptions.name, name), eq(eventSubscriptions.owner, owner)))
    .returning({ name: eventSubscriptions.name });
  return moved.length > 0;
}

/** Put a subscription's cursor at `cursor` (a replay or a skip). */
export async function moveSubscription(db: Db, name: string, cursor: Cursor): Promise<void> {
  await db.update(eventSubscriptions).set({ txId: cursor.txId, position: cursor.position }).where(eq(eventSubscriptions.name, name));
}

/** Give up `owner`'s leases (all, or one subscription's) so another replica can take over at once. */
export async function releaseSubscriptions(db: Db, owner: string, name?: string): Promise<void> {
  await db
    .update(eventSubscriptions)
    .set({ owner: null, leaseUntil: null })
    .where(and(eq(eventSubscriptions.owner, owner), name === undefined ? undefined : eq(eventSubscriptions.name, name)));
}
