// The audit recorder against the app's real storage, with failures injected in front of it: a write that fails
// the way a lost connection or a serialization conflict does, or storage refusing an entry outright.
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { AuditRecorder, RETRY_DELAYS_MS, type AuditEntry } from "../../../src/platform/audit/recorder.ts";
import type { Db } from "../../../src/platform/db/index.ts";
import { createLogger } from "../../../src/platform/log.ts";
import { startTestApp, type TestApp } from "../../support/app.ts";

let app: TestApp;
let organizationId: string;
beforeAll(async () => {
  app = await startTestApp();
  ({ organizationId } = await app.newOrg());
});
afterAll(() => app.stop());

/** A driver error as postgres-js raises it, wrapped the way Drizzle wraps failed queries. */
const driverError = (code: string) => Object.assign(new Error("Failed query: insert into audit_logs"), { cause: Object.assign(new Error(code), { code }) });

/** The app's database, except that each insert takes the next of `failures` (if any) and fails with it. */
function flaky(failures: unknown[]) {
  const real = app.server.database.db;
  const calls = { inserts: 0 };
  const db = new Proxy(real, {
    get(target, prop, receiver) {
      if (prop !== "insert") return Reflect.get(target, prop, receiver);
      return (table: never) => {
        calls.inserts++;
        const failure = failures.shift();
        if (!failure) return target.insert(table);
        return { values: () => ({ onConflictDoNothing: () => Promise.reject(failure) }) };
      };
    },
  }) as Db;
  return { db, calls };
}

function capturingLog() {
  const lines: string[] = [];
  return { log: createLogger("warn", (line) => lines.push(line)), lines };
}

let n = 0;
const entry = (over: Partial<AuditEntry> = {}): AuditEntry => ({
  organizationId,
  actorType: "apiKey",
  actorId: "key_test",
  method: "PATCH",
  path: `/api/v1/agents/agt_recorder_${++n}`,
  status: 200,
  requestId: `req_recorder_${n}`,
  ...over,
});
const storedPaths = async (paths: string[]) =>
  (await app.query<{ path: string }>(`select path from audit_logs where path in (${paths.map((p) => `'${p}'`).join(",")}) order by path`)).map((r) => r.path);

describe("the audit recorder", () => {
  it("retries a write that failed transiently and has stored the entry when record() resolves", async () => {
    const { db, calls } = flaky([driverError("CONNECTION_CLOSED"), driverError("40001")]);
    const { log, lines } = capturingLog();
    const waits: number[] = [];
    const recorder = new AuditRecorder(db, log, async (ms) => void waits.push(ms));
    const e = entry();
    await recorder.record(e);
    expect(await storedPaths([e.path])).toEqual([e.path]);
    expect(calls.inserts).toBe(3);
    expect(waits).toEqual(RETRY_DELAYS_MS.slice(0, 2));
    expect(lines).toEqual([]);
  });

  it("keeps entries storage keeps failing on, logs them whole, and stores them with the next write", async () => {
    const { db } = flaky(Array.from({ length: RETRY_DELAYS_MS.length + 1 }, () => driverError("57P01")));
    const { log, lines } = capturingLog();
    const recorder = new AuditRecorder(db, log, async () => {});
    const lost = entry();
    await recorder.record(lost);
    expect(await storedPaths([lost.path])).toEqual([]);
    expect(recorder.pending).toBe(1);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain("ERROR");
    expect(lines[0]).toContain(lost.path);
    expect(lines[0]).toContain(lost.requestId!);

    const next = entry();
    await recorder.record(next);
    expect(await storedPaths([lost.path, next.path])).toEqual([lost.path, next.path].sort());
    expect(recorder.pending).toBe(0);
  });

  it("stores kept entries at flush (shutdown)", async () => {
    const { db } = flaky(Array.from({ length: RETRY_DELAYS_MS.length + 1 }, () => driverError("ECONNRESET")));
    const recorder = new AuditRecorder(db, capturingLog().log, async () => {});
    const lost = entry();
    await recorder.record(lost);
    expect(recorder.pending).toBe(1);
    await recorder.flush();
    expect(await storedPaths([lost.path])).toEqual([lost.path]);
    expect(recorder.pending).toBe(0);
  });

  it("does not let an entry storage refuses outright sink the others written with it, and logs it whole", async () => {
    const { db } = flaky([]);
    const { log, lines } = capturingLog();
    const recorder = new AuditRecorder(db, log, async () => {});
    const first = entry();
    const refused = entry({ organizationId: "org_does_not_exist" }); // foreign key violation: not transient
    const third = entry();
    // The first write carries `first`; the two recorded while it runs share the next one.
    await Promise.all([recorder.record(first), recorder.record(refused), recorder.record(third)]);
    expect(await storedPaths([first.path, refused.path, third.path])).toEqual([first.path, third.path].sort());
    expect(recorder.pending).toBe(0);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(refused.path);
    expect(lines[0]).toContain("org_does_not_exist");
  });

  it("writes entries recorded while a write runs together in the next one", async () => {
    const { db, calls } = flaky([]);
    const recorder = new AuditRecorder(db, capturingLog().log);
    const entries = Array.from({ length: 50 }, () => entry());
    await Promise.all(entries.map((e) => recorder.record(e)));
    expect(calls.inserts).toBe(2);
    expect(await storedPaths(entries.map((e) => e.path))).toHaveLength(50);
  });
});
