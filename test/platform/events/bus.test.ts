// The event bus on the app's own storage (PGlite, or Postgres with DATABASE_URL): what is appended in a transaction
// is delivered only if it commits, in order per aggregate, at least once, from a durable cursor or a replay point.
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { sql } from "drizzle-orm";
import type { Db } from "../../../src/platform/db/index.ts";
import { appendEvents, type DomainEvent, eventsInsert, type NewEvent } from "../../../src/platform/events/index.ts";
import { newId } from "../../../src/platform/ids.ts";
import { startTestApp, storageKind, type TestApp } from "../../support/app.ts";
import { until } from "../../support/until.ts";

let app: TestApp;
beforeAll(async () => {
  app = await startTestApp();
});
afterAll(() => app?.stop());

const db = () => app.server.database.db;
const bus = () => app.server.events;
/** Subscribe and wait until its starting point is fixed. */
async function subscribe(...args: Parameters<ReturnType<typeof bus>["subscribe"]>) {
  const sub = bus().subscribe(...args);
  await sub.ready;
  return sub;
}

/** A fresh organization id per test: every test filters the shared log down to its own events. */
const freshOrg = () => newId("org");

function published(organizationId: string, agentId: string, version: number): NewEvent {
  return {
    type: "agent.published",
    organizationId,
    aggregateId: agentId,
    payload: { agentId, versionId: `ver_${version}`, version, publishedBy: null, note: null, rollback: false },
  };
}

const versionOf = (e: DomainEvent) => (e.type === "agent.published" ? e.payload.version : -1);

/** Collects the events of one organization that a subscription receives. */
function collector(organizationId: string) {
  const seen: DomainEvent[] = [];
  return { seen, handler: (e: DomainEvent) => void (e.organizationId === organizationId && seen.push(e)) };
}

class Rollback extends Error {}

async function appendInRolledBackTransaction(events: NewEvent[]) {
  await db()
    .transaction(async (tx) => {
      await appendEvents(tx as unknown as Db, events);
      throw new Rollback();
    })
    .catch((e) => {
      if (!(e instanceof Rollback)) throw e;
    });
}

describe("appending", () => {
  it("never delivers events appended in a transaction that rolled back", async () => {
    const org = freshOrg();
    const { seen, handler } = collector(org);
    const sub = await subscribe("rollback-test", handler, { from: "beginning", durable: false });
    await appendInRolledBackTransaction([published(org, "agt_rolled", 1)]);
    await db().transaction((tx) => appendEvents(tx as unknown as Db, [published(org, "agt_kept", 2)]));
    await until(() => seen.length >= 1);
    await sub.stop();
    expect(seen.map((e) => e.aggregateId)).toEqual(["agt_kept"]);
    expect(await app.query(`select 1 from domain_events where aggregate_id = 'agt_rolled'`)).toEqual([]);
  });

  it("appends from a raw statement through eventsInsert as a CTE (as a conversation's turn does), and no-ops on none", async () => {
    const org = freshOrg();
    const { seen, handler } = collector(org);
    const sub = await subscribe("cte-test", handler, { from: "latest", durable: false });
    await db().execute(sql`with domain as (${eventsInsert([])}) select 1 as done`);
    await db().execute(sql`with domain as (${eventsInsert([published(org, "agt_cte", 1), published(org, "agt_cte", 2)])}) select 1 as done`);
    await until(() => seen.length === 2);
    await sub.stop();
    expect(seen.map(versionOf)).toEqual([1, 2]);
  });

  it("gives each event an evt_ id, its aggregate's type and the time of its transaction", async () => {
    const org = freshOrg();
    await db().transaction((tx) => appendEvents(tx as unknown as Db, [published(org, "agt_1", 1)]));
    // Readable once every transaction that was running when it committed has ended (pg-boss's, on Postgres).
    const event = await until(async () => (await bus().read(null, 10_000)).find((e) => e.organizationId === org));
    expect(event).toMatchObject({ type: "agent.published", aggregateType: "agent", aggregateId: "agt_1", payload: { version: 1 } });
    expect(event!.id).toMatch(/^evt_[0-9A-Z]{26}$/);
    expect(Date.parse(event!.occurredAt)).toBeGreaterThan(Date.now() - 60_000);
  });
});

describe("delivery", () => {
  it("delivers each aggregate's events in the order they were written, across interleaved transactions", async () => {
    const org = freshOrg();
    const { seen, handler } = collector(org);
    const sub = await subscribe("order-test", handler, { from: "latest", durable: false });
    const aggregates = ["agt_a", "agt_b", "agt_c"];
    // Each aggregate's writes follow one another; the aggregates' writers run side by side.
    await Promise.all(
      aggregates.map(async (agentId) => {
        for (let v = 1; v <= 8; v++) await db().transaction((tx) => appendEvents(tx as unknown as Db, [published(org, agentId, v)]));
      }),
    );
    // Several events of one transaction keep their order too.
    await db().transaction((tx) => appendEvents(tx as unknown as Db, [9, 10, 11].map((v) => published(org, "agt_a", v))));
    await until(() => seen.length === 27);
    await sub.stop();
    for (const agentId of aggregates) {
      const versions = seen.filter((e) => e.aggregateId === agentId).map(versionOf);
      expect({ agentId, versions }).toEqual({ agentId, versions: agentId === "agt_a" ? [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11] : [1, 2, 3, 4, 5, 6, 7, 8] });
    }
  });

  it.skipIf(storageKind !== "postgres")("waits for a transaction that drew an earlier position and commits after a later one, and skips neither", async () => {
    const org = freshOrg();
    const { seen, handler } = collector(org);
    const sub = await subscribe("late-commit-test", handler, { from: "latest", durable: false });
    const positionOf = async (q: Db, agentId: string) => {
      const result = (await q.execute(sql`select position from domain_events where organization_id = ${org} and aggregate_id = ${agentId}`)) as unknown;
      const rows = (Array.isArray(result) ? result : (result as { rows: unknown[] }).rows) as { position: string }[];
      return Number(rows[0]!.position);
    };
    let commitFirst!: () => void;
    const held = new Promise<void>((r) => (commitFirst = r));
    let appended!: (position: number) => void;
    const firstAppended = new Promise<number>((r) => (appended = r));
    const first = db().transaction(async (tx) => {
      await appendEvents(tx as unknown as Db, [published(org, "agt_early", 1)]);
      appended(await positionOf(tx as unknown as Db, "agt_early"));
      await held;
    });
    try {
      const early = await firstAppended;
      await db().transaction((tx) => appendEvents(tx as unknown as Db, [published(org, "agt_late", 1)]));
      expect(early).toBeLessThan(await positionOf(db(), "agt_late"));
      // The later position is committed, but a reader moving past it now would never see the earlier one.
      expect((await bus().read(null, 10_000)).filter((e) => e.organizationId === org)).toEqual([]);
      await Bun.sleep(300);
      expect(seen).toEqual([]);
    } finally {
      commitFirst();
      await first;
    }
    await until(() => seen.length === 2);
    await sub.stop();
    expect(seen.map((e) => e.aggregateId)).toEqual(["agt_early", "agt_late"]);
  });

  it("gives a handler that throws the same event again until it succeeds, and only then the next", async () => {
    const org = freshOrg();
    const attempts: number[] = [];
    let failuresLeft = 2;
    const sub = await subscribe(
      "retry-test",
      (e) => {
        if (e.organizationId !== org) return;
        attempts.push(versionOf(e));
        if (versionOf(e) === 1 && failuresLeft-- > 0) throw new Error("webhook endpoint down");
      },
      { from: "latest" },
    );
    await db().transaction((tx) => appendEvents(tx as unknown as Db, [published(org, "agt_r", 1), published(org, "agt_r", 2)]));
    await until(() => attempts.includes(2));
    await sub.stop();
    expect(attempts).toEqual([1, 1, 1, 2]);
  });
});

describe("cursors", () => {
  it("resumes a durable subscription after a restart where it stopped: nothing lost, nothing twice", async () => {
    const org = freshOrg();
    const first = collector(org);
    await subscribe("resume-test", first.handler, { from: "latest" });
    await db().transaction((tx) => appendEvents(tx as unknown as Db, [published(org, "agt_d", 1), published(org, "agt_d", 2)]));
    await until(() => first.seen.length === 2);
    await app.restart();
    // Written while nothing ran the subscription.
    await db().transaction((tx) => appendEvents(tx as unknown as Db, [published(org, "agt_d", 3)]));
    const second = collector(org);
    await subscribe("resume-test", second.handler, { from: "latest" });
    await db().transaction((tx) => appendEvents(tx as unknown as Db, [published(org, "agt_d", 4)]));
    await until(() => second.seen.length === 2);
    await db().transaction((tx) => appendEvents(tx as unknown as Db, [published(org, "agt_d", 5)]));
    await until(() => second.seen.length === 3);
    expect([...first.seen, ...second.seen].map(versionOf)).toEqual([1, 2, 3, 4, 5]);
  });

  it("leaves a subscription to the replica holding its lease, and takes it over once that lease runs out", async () => {
    const org = freshOrg();
    const { seen, handler } = collector(org);
    // Another replica holds it, and dies without giving it up.
    await db().execute(
      sql`insert into event_subscriptions (name, tx_id, position, owner, lease_until) values ('takeover-test', pg_snapshot_xmin(pg_current_snapshot()), 0, 'bus_dead', now() + interval '1 hour')`,
    );
    await subscribe("takeover-test", handler);
    await db().transaction((tx) => appendEvents(tx as unknown as Db, [published(org, "agt_t", 1)]));
    await until(async () => (await bus().read(null, 10_000)).some((e) => e.organizationId === org));
    await Bun.sleep(300);
    expect(seen).toEqual([]);
    await app.query(`update event_subscriptions set lease_until = now() - interval '1 second' where name = 'takeover-test'`);
    await db().transaction((tx) => appendEvents(tx as unknown as Db, [published(org, "agt_t", 2)]));
    await until(() => seen.length === 2);
    expect(seen.map(versionOf)).toEqual([1, 2]);
    expect(await app.query(`select owner like 'bus_%' and owner <> 'bus_dead' as taken from event_subscriptions where name = 'takeover-test'`)).toEqual([{ taken: true }]);
  });

  it("replays from a position: read after it, a new subscription from it, and a durable one moved back to it", async () => {
    const org = freshOrg();
    await db().transaction((tx) => appendEvents(tx as unknown as Db, [1, 2, 3, 4].map((v) => published(org, "agt_p", v))));
    const mine = (events: DomainEvent[]) => events.filter((e) => e.organizationId === org);
    const all = await until(async () => {
      const events = mine(await bus().read(null, 10_000));
      return events.length === 4 && events;
    });
    expect(all.map(versionOf)).toEqual([1, 2, 3, 4]);
    expect(mine(await bus().read(all[1]!.position, 10_000)).map(versionOf)).toEqual([3, 4]);
    expect(mine(await bus().read(all[0]!.position, 2)).map(versionOf)).toEqual([2, 3]);

    const fromSecond = collector(org);
    const replay = await subscribe("replay-test", fromSecond.handler, { from: all[1]!.position, durable: false });
    await until(() => fromSecond.seen.length === 2);
    await replay.stop();
    expect(fromSecond.seen.map(versionOf)).toEqual([3, 4]);

    const durable = collector(org);
    const sub = await subscribe("seek-test", durable.handler, { from: "beginning" });
    await until(() => durable.seen.length === 4);
    await sub.stop();
    await bus().seek("seek-test", all[2]!.position);
    const again = collector(org);
    const resumed = await subscribe("seek-test", again.handler);
    await until(() => again.seen.length === 1);
    await resumed.stop();
    expect(again.seen.map(versionOf)).toEqual([4]);
  });

  it("refuses to replay from a position that is not in the log", async () => {
    await expect(bus().read(9_000_000_000, 10)).rejects.toMatchObject({ code: "event_not_found" });
    const sub = bus().subscribe("unknown-start-test", () => {}, { from: 9_000_000_000 });
    await expect(sub.ready).rejects.toMatchObject({ code: "event_not_found" });
    await sub.stop();
  });
});

describe("retention", () => {
  it("deletes old events every subscription has handled, keeps the rest, and forgets subscriptions idle as long", async () => {
    // The other tests' subscriptions are behind this test's events: they would (rightly) keep them.
    await app.query(`delete from event_subscriptions`);
    const org = freshOrg();
    const { seen, handler } = collector(org);
    const sub = await subscribe("retention-handled", handler, { from: "latest" });
    await db().transaction((tx) => appendEvents(tx as unknown as Db, [published(org, "agt_old", 1), published(org, "agt_old", 2)]));
    await until(() => seen.length === 2);
    await sub.stop();
    // A subscription that is behind (it handled nothing yet) and one nobody has run for 40 days.
    await db().execute(sql`insert into event_subscriptions (name, tx_id, position) select 'retention-behind', tx_id, position from domain_events where organization_id = ${org} and payload->>'version' = '1'`);
    await db().execute(sql`insert into event_subscriptions (name, tx_id, position, seen_at) values ('retention-gone', '0', 0, now() - interval '40 days')`);
    await db().execute(sql`update domain_events set occurred_at = now() - interval '31 days' where organization_id = ${org}`);
    await bus().prune();
    const left = await app.query<{ v: string }>(`select payload->>'version' as v from domain_events where organization_id = '${org}' order by position`);
    expect(left.map((r) => r.v)).toEqual(["2"]);
    expect(await app.query(`select name from event_subscriptions where name like 'retention-%' order by name`)).toEqual([{ name: "retention-behind" }, { name: "retention-handled" }]);
  });
});
