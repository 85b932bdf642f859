// The event log: the outbox table `domain_events`, appended to inside the transaction of the change that causes the
// events, and read in log order by the bus.
//
// Why the log's order is (tx_id, position), not position alone. `position` is an identity drawn when a row is
// inserted, but transactions commit in any order: a transaction may draw 5, another draw 6 and commit first. A reader
// that delivered 6 and moved its cursor past it would never see 5 when it commits a moment later. So each row also
// records the transaction that wrote it (`tx_id`, a 64-bit xid8 that never wraps), and readers only read rows whose
// transaction id is below the oldest transaction still running (`pg_snapshot_xmin(pg_current_snapshot())`): every
// transaction with a smaller id has ended, and no new transaction can get a smaller id, so that part of the log is
// final — nothing can appear in it later. Ordering by (tx_id, position) keeps the readable part a prefix of the log,
// and a cursor (tx_id, position) never skips a row. (Marten and Eventuous read their Postgres event stores this way.)
//
// The cost: a transaction that writes and stays open (minutes-long, or a session left "idle in transaction") holds
// delivery back until it ends; nothing is lost. Order per aggregate holds because every writer of an aggregate locks
// or writes its row before anything else in its transaction, so the later writer gets the later transaction id.
import { asc, eq, sql, type SQL } from "drizzle-orm";
import type { Db } from "../db/index.ts";
import { domainEvents, eventSubscriptions } from "../db/schema/index.ts";
import { newId } from "../ids.ts";
import { aggregateTypeOf, type DomainEvent, type NewEvent } from "./catalog.ts";

/** NOTIFY channel that wakes readers when events commit (a notification is sent only if its transaction commits). */
export const EVENTS_CHANNEL = "flowyte_events";

/** A place in the log: after the event at `position` written by transaction `txId`. */
export interface Cursor {
  txId: string;
  position: number;
}

export const BEGINNING: Cursor = { txId: "0", position: 0 };

const PRUNE_BATCH = 5000;

/**
 * The statement appending `events`, for a caller that writes its change as one raw statement: use it as a
 * data-modifying CTE (`with …, domain as (${eventsInsert(events)}) insert into …`), which runs with the statement
 * and so in its transaction. It also queues the wake-up NOTIFY, which Postgres sends at commit. No rows, no-op.
 * `when`: a condition the rows are inserted under (e.g. `exists (select 1 from conv)`: only if the change was made).
 */
export function eventsInsert(events: NewEvent[], when: SQL = sql`true`): SQL {
  const rows = JSON.stringify(
    events.map((e, ord) => ({
      ord,
      event_id: newId("evt"),
      organization_id: e.organizationId,
      type: e.type,
      aggregate_type: aggregateTypeOf(e.type),
      aggregate_id: e.aggregateId,
      payload: e.payload,
    })),
  );
  return sql`insert into domain_events (event_id, organization_id, type, aggregate_type, aggregate_id, payload)
    select x.event_id, x.organization_id, x.type, x.aggregate_type, x.aggregate_id, x.payload
    from jsonb_to_recordset(${rows}::jsonb) as x(ord integer, event_id text, organization_id text, type text, aggregate_type text, aggregate_id text, payload jsonb)
    where ${when}
    order by x.ord
    returning pg_notify(${EVENTS_CHANNEL}, '')`;
}

/**
 * Append `events` inside the caller's transaction (`tx`): they are delivered only if it commits, and in the given
 * order. Call it after the change's own writes (see the note on order per aggregate above).
 */
export async function appendEvents(tx: Db, events: NewEvent[]): Promise<void> {
  if (events.length) await tx.execute(eventsInsert(events));
}

/**
 * Up to `limit` events after `cursor`, in log order, from the part of the log that is final. `held`: events written
 * by transactions that committed after one still running follow; they become readable once it ends.
 */
export async function readAfter(db: Db, cursor: Cursor, limit: number): Promise<{ events: { event: DomainEvent; cursor: Cursor }[]; held: boolean }> {
  const rows = await db
    .select({ row: domainEvents, final: sql<boolean>`${domainEvents.txId} < pg_snapshot_xmin(pg_current_snapshot())` })
    .from(domainEvents)
    .where(sql`(${domainEvents.txId}, ${domainEvents.position}) > (${cursor.txId}::xid8, ${cursor.position})`)
    .orderBy(asc(domainEvents.txId), asc(domainEvents.position))
    .limit(limit);
  // The final rows come first: their transaction ids are all below those of the rows that are not.
  const final = rows.filter((r) => r.final);
  const events = final.map(({ row: r }) => ({
    event: {
      id: r.eventId,
      position: Number(r.position),
      type: r.type,
      organizationId: r.organizationId,
      aggregateType: r.aggregateType,
      aggregateId: r.aggregateId,
      payload: r.payload,
      occurredAt: r.occurredAt.toISOString(),
    } as DomainEvent,
    cursor: { txId: String(r.txId), position: Number(r.position) },
  }));
  return { events, held: final.length < rows.length };
}

/** The cursor just after the event at `position`; null when there is none (never written, or pruned). */
export async function cursorAt(db: Db, position: number): Promise<Cursor | null> {
  const [row] = await db.select({ txId: domainEvents.txId, position: domainEvents.position }).from(domainEvents).where(eq(domainEvents.position, position));
  return row ? { txId: String(row.txId), position: Number(row.position) } : null;
}

/** A cursor after everything final now: events of transactions still running (or yet to start) come after it. */
export async function latestCursor(db: Db): Promise<Cursor> {
  const result = (await db.execute(sql`select pg_snapshot_xmin(pg_current_snapshot())::text as tx_id`)) as unknown;
  const rows = (Array.isArray(result) ? result : (result as { rows: unknown[] }).rows) as { tx_id: string }[];
  return { txId: rows[0]!.tx_id, position: 0 };
}

/**
 * Retention: forget durable subscriptions nobody has run for `retentionDays` (a replica gone for good), then delete
 * events older than that which every remaining subscription has handled. Returns the names forgotten and the number
 * of events deleted.
 */
export async function pruneEvents(db: Db, retentionDays: number): Promise<{ forgotten: string[]; deleted: number }> {
  const cutoff = sql`now() - make_interval(days => ${retentionDays})`;
  const forgotten = await db.delete(eventSubscriptions).where(sql`${eventSubscriptions.seenAt} < ${cutoff}`).returning({ name: eventSubscriptions.name });
  let deleted = 0;
  for (;;) {
    // In batches, so one prune of a large backlog never holds a long transaction (which would hold delivery back).
    const batch = await db
      .delete(domainEvents)
      .where(
        sql`${domainEvents.position} in (
          select e.position from domain_events e
          where e.occurred_at < ${cutoff}
            and e.tx_id < pg_snapshot_xmin(pg_current_snapshot())
            and not exists (select 1 from event_subscriptions s where (s.tx_id, s.position) < (e.tx_id, e.position))
          limit ${PRUNE_BATCH})`,
      )
      .returning({ position: domainEvents.position });
    deleted += batch.length;
    if (batch.length < PRUNE_BATCH) break;
  }
  return { forgotten: forgotten.map((f) => f.name), deleted };
}
