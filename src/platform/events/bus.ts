// Delivery of the event log to subscribers, at least once and in log order (so in order per aggregate).
//
// A durable subscription has a name and a cursor in `event_subscriptions` (subscriptions.ts); it handles the events
// after its cursor and moves the cursor past each one only once its handler succeeded, so a restart resumes where it
// stopped and a handler that throws gets the same event again (with backoff), never the next one. Across a cluster,
// the replicas running a subscription of the same name take turns through a lease on its row: one replica handles
// its events at a time, each event once per name (a replica that crashes mid-handler leaves its lease to run out,
// and the next owner handles that event again: at least once). A name unique to a replica gets every event on that
// replica. A subscription with `durable: false` keeps its cursor in memory (from "latest" by default).
//
// Wake-up: a NOTIFY sent when events commit (LISTEN on Postgres, in-process on the embedded store), and a slow poll
// in case a notification is missed (a listening connection that was down).
import { randomUUID } from "node:crypto";
import type { Database } from "../db/index.ts";
import { Problem } from "../http/problem.ts";
import type { Logger } from "../log.ts";
import type { DomainEvent } from "./catalog.ts";
import { BEGINNING, type Cursor, cursorAt, EVENTS_CHANNEL, latestCursor, pruneEvents, readAfter } from "./log.ts";
import { advanceSubscription, claimSubscription, createSubscription, moveSubscription, releaseSubscriptions } from "./subscriptions.ts";

/** Where a new subscription starts: the start of the log, after what is there now, or after the event at a position. */
export type StartFrom = "beginning" | "latest" | number;

export type EventHandler = (event: DomainEvent) => Promise<void> | void;

export interface SubscribeOptions {
  /** Where a subscription that has no cursor yet starts. Default "latest". A durable one that exists resumes at its cursor. */
  from?: StartFrom;
  /** False: the cursor lives in memory only, and the subscription starts afresh each time. Default true. */
  durable?: boolean;
}

export interface Subscription {
  /**
   * Resolves once the starting point is fixed (after the bus started): events committed from then on are delivered.
   * Rejects with 404 event_not_found when `from` names a position that is not in the log.
   */
  ready: Promise<void>;
  stop(): Promise<void>;
}

export interface EventBus {
  subscribe(name: string, handler: EventHandler, options?: SubscribeOptions): Subscription;
  /**
   * Move a durable subscription's cursor (a replay from "beginning" or a position, or a skip to "latest"). Meant for a
   * subscription that is idle or stopped: one in the middle of a batch may write its own cursor over it.
   */
  seek(name: string, from: StartFrom): Promise<void>;
  /** Up to `limit` events after the event at `afterPosition` (null: from the start of the log), in log order. */
  read(afterPosition: number | null, limit: number): Promise<DomainEvent[]>;
  /** Retention: delete handled events older than the retention period; forget subscriptions idle as long. */
  prune(): Promise<void>;
  start(): Promise<void>;
  /** Stops delivering, waits for handlers under way, and gives up this replica's leases so another takes over. */
  stop(): Promise<void>;
}

export interface EventBusOptions {
  database: Pick<Database, "db" | "listen">;
  log: Logger;
  retentionDays: number;
  /** The safety-net poll. */
  pollMs?: number;
  /** How long a replica owns a durable subscription without renewing (a renewal comes with each event handled). */
  leaseMs?: number;
}

const BATCH = 100;
const MAX_BACKOFF_MS = 30_000;
const STOP_GRACE_MS = 5_000;
const HELD_RECHECK_MS = 100;

export function createEventBus({ database, log, retentionDays, pollMs = 5_000, leaseMs = 30_000 }: EventBusOptions): EventBus {
  const db = database.db;
  /** This bus's name as the owner of leases; new for each bus, so a restarted replica never mistakes an old lease for its own. */
  const owner = `bus_${randomUUID()}`;
  const runners = new Set<Runner>();
  let started = false;
  let poll: ReturnType<typeof setInterval> | null = null;
  let listener: { stop(): Promise<void> } | null = null;

  const startCursor = async (from: StartFrom): Promise<Cursor> => {
    if (from === "beginning") return BEGINNING;
    if (from === "latest") return latestCursor(db);
    const cursor = await cursorAt(db, from);
    if (!cursor) throw new Problem(404, "event_not_found", `there is no event at position ${from} (never written, or pruned after ${retentionDays} days)`);
    return cursor;
  };

  class Runner {
    private cursor: Cursor | null = null;
    private stored = false;
    /** Until when (this process's clock, with margin) the lease is surely ours. */
    private ownedUntil = 0;
    private running: Promise<void> | null = null;
    private again = false;
    private failures = 0;
    private heldChecks = 0;
    private retry: ReturnType<typeof setTimeout> | null = null;
    stopped = false;
    private startingPoint = Promise.withResolvers<void>();
    readonly ready = this.startingPoint.promise;

    constructor(
      readonly name: string,
      private handler: EventHandler,
      private options: Required<SubscribeOptions>,
    ) {
      // Only those who wait on `ready` hear that a subscription could not start; the log says it either way.
      this.ready.catch(() => {});
    }

    wake() {
      if (this.stopped || !started) return;
      if (this.running) {
        this.again = true;
        return;
      }
      this.running = this.pump().finally(() => {
        this.running = null;
        if (this.again) {
          this.again = false;
          this.wake();
        }
      });
    }

    async stop() {
      this.stopped = true;
      if (this.retry) clearTimeout(this.retry);
      await this.running;
    }

    /** After a seek: the next pass claims the subscription again, reading its cursor from storage. */
    reset() {
      this.ownedUntil = 0;
    }

    private async pump() {
      try {
        await this.deliver();
      } catch (error) {
        if (error instanceof Problem && error.code === "event_not_found") {
          // A starting point that is not in the log will not appear later: the subscription cannot start.
          this.stopped = true;
          log.error("event subscription cannot start", { subscription: this.name, error });
          this.startingPoint.reject(error);
          return;
        }
        this.backOff("event subscription could not read the log", { error });
      }
    }

    private async deliver() {
      while (!this.stopped) {
        const cursor = await this.position();
        if (!cursor) return;
        const { events: batch, held } = await readAfter(db, cursor, BATCH);
        if (held) this.recheck();
        else this.heldChecks = 0;
        for (const { event, cursor: next } of batch) {
          if (this.stopped) return;
          try {
            await this.handler(event);
          } catch (error) {
            this.backOff("event handler failed; it will get the same event again", { eventId: event.id, type: event.type, error });
            return;
          }
          this.failures = 0;
          if (this.options.durable && !(await this.advance(next))) return;
          this.cursor = next;
        }
        if (held || batch.length < BATCH) return;
      }
    }

    /** The cursor to read after, or null when another replica owns this subscription now. */
    private async position(): Promise<Cursor | null> {
      if (!this.options.durable) {
        this.cursor ??= await startCursor(this.options.from);
        this.startingPoint.resolve();
        return this.cursor;
      }
      if (!this.stored) {
        await createSubscription(db, this.name, () => startCursor(this.options.from));
        this.stored = true;
        this.startingPoint.resolve();
      }
      if (this.cursor && Date.now() < this.ownedUntil - leaseMs / 2) return this.cursor;
      this.cursor = await claimSubscription(db, this.name, owner, leaseMs);
      this.ownedUntil = this.cursor ? Date.now() + leaseMs : 0;
      return this.cursor;
    }

    /** Move the stored cursor past a handled event; false when the lease was lost meanwhile (another replica goes on). */
    private async advance(next: Cursor): Promise<boolean> {
      if (!(await advanceSubscription(db, this.name, owner, next, leaseMs))) {
        log.warn("event subscription lost its lease to another replica", { subscription: this.name });
        this.cursor = null;
        this.ownedUntil = 0;
        return false;
      }
      this.ownedUntil = Date.now() + leaseMs;
      return true;
    }

    /**
     * Look again soon: events are waiting for a transaction still running to end, usually within milliseconds (less
     * and less often while it goes on, down to the poll's pace).
     */
    private recheck() {
      if (this.retry) return;
      const delay = Math.min(pollMs, HELD_RECHECK_MS * 2 ** Math.min(this.heldChecks++, 10));
      this.retry = setTimeout(() => {
        this.retry = null;
        this.wake();
      }, delay);
      this.retry.unref?.();
    }

    private backOff(message: string, fields: Record<string, unknown>) {
      this.failures++;
      const delay = Math.min(MAX_BACKOFF_MS, 250 * 2 ** Math.min(this.failures, 10));
      log.warn(message, { subscription: this.name, attempt: this.failures, retryInMs: delay, ...fields });
      if (this.retry) clearTimeout(this.retry);
      this.retry = setTimeout(() => {
        this.retry = null;
        this.wake();
      }, delay);
      this.retry.unref?.();
    }
  }

  return {
    subscribe(name, handler, options = {}) {
      const opts = { from: options.from ?? "latest", durable: options.durable ?? true } as const;
      if ([...runners].some((r) => r.name === name)) throw new Error(`event subscription "${name}" is already running in this process`);
      const runner = new Runner(name, handler, opts);
      runners.add(runner);
      runner.wake();
      return {
        ready: runner.ready,
        async stop() {
          runners.delete(runner);
          await runner.stop();
          if (opts.durable) await releaseSubscriptions(db, owner, name);
        },
      };
    },
    async seek(name, from) {
      const start = await startCursor(from);
      await moveSubscription(db, name, start);
      for (const r of runners) if (r.name === name) r.reset();
    },
    async read(afterPosition, limit) {
      const cursor = afterPosition === null ? BEGINNING : await startCursor(afterPosition);
      return (await readAfter(db, cursor, limit)).events.map((r) => r.event);
    },
    async prune() {
      const { forgotten, deleted } = await pruneEvents(db, retentionDays);
      if (forgotten.length) log.warn("forgot event subscriptions not run for the retention period", { subscriptions: forgotten, retentionDays });
      if (deleted) log.info("pruned handled domain events past the retention period", { deleted, retentionDays });
    },
    async start() {
      started = true;
      listener = await database.listen(EVENTS_CHANNEL, () => {
        for (const r of runners) r.wake();
      });
      poll = setInterval(() => {
        for (const r of runners) r.wake();
      }, pollMs);
      poll.unref?.();
      for (const r of runners) r.wake();
    },
    async stop() {
      if (!started) return;
      started = false;
      if (poll) clearInterval(poll);
      await listener?.stop();
      const stopping = Promise.all([...runners].map((r) => r.stop()));
      let timer: ReturnType<typeof setTimeout> | undefined;
      // A handler that never returns must not hold a shutdown: its event is handled again by the next owner.
      await Promise.race([stopping, new Promise((r) => (timer = setTimeout(r, STOP_GRACE_MS)))]);
      clearTimeout(timer);
      await releaseSubscriptions(db, owner).catch((error) => log.warn("could not give up event subscription leases", { error }));
    },
  };
}
