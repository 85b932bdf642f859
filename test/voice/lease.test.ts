// The telephony lease (voice/lease.ts) on the app's own storage, embedded or Postgres: one holder at a time, taken
// over once expired or released, and at once on the embedded store, which only one process can open.
import { afterAll, beforeAll, expect, it } from "bun:test";
import { VoiceLease } from "../../voice/lease.ts";
import { startTestApp, type TestApp } from "../support/app.ts";
import { until } from "../support/until.ts";
import { SLOW_SETUP } from "../support/voice.ts";

let app: TestApp;
beforeAll(async () => {
  app = await startTestApp();
}, SLOW_SETUP);
afterAll(async () => {
  await app.stop();
}, SLOW_SETUP);

const lease = (key: string, holder: string, opts: { ttlSeconds?: number; exclusive?: boolean } = {}) =>
  new VoiceLease({ db: app.server.database.db, key, holder, ttlSeconds: opts.ttlSeconds ?? 60, exclusive: opts.exclusive ?? false });

it("is held by one replica at a time, renewed by its holder, and taken by another once it expires", async () => {
  const a = lease("flowyte@http://asterisk-1:8088", "replica-a", { ttlSeconds: 1 });
  const b = lease("flowyte@http://asterisk-1:8088", "replica-b");
  expect(await a.hold()).toBe(true);
  expect(await b.hold()).toBe(false);
  expect(await a.hold()).toBe(true);
  // A lease on another Asterisk is another lease.
  expect(await lease("flowyte@http://asterisk-2:8088", "replica-b").hold()).toBe(true);
  // replica-a stops renewing (it died): once a second has passed on the database's clock, b takes it.
  await until(() => b.hold());
  expect(await a.hold()).toBe(false);
  const [row] = await app.query<{ holder: string }>(`select holder from voice_leases where asterisk_key = 'flowyte@http://asterisk-1:8088'`);
  expect(row!.holder).toBe("replica-b");
});

it("is free at once when its holder releases it, and a release by another replica changes nothing", async () => {
  const a = lease("flowyte@http://asterisk-3:8088", "replica-a");
  const b = lease("flowyte@http://asterisk-3:8088", "replica-b");
  expect(await a.hold()).toBe(true);
  await b.release();
  expect(await b.hold()).toBe(false);
  await a.release();
  expect(await b.hold()).toBe(true);
});

it("is taken at once, expired or not, when the store is one process's alone (the embedded store)", async () => {
  const before = lease("flowyte@http://asterisk-4:8088", "run-before-a-crash");
  const after = lease("flowyte@http://asterisk-4:8088", "run-after-it", { exclusive: true });
  expect(await before.hold()).toBe(true);
  expect(await after.hold()).toBe(true);
  expect(await before.hold()).toBe(false);
});
