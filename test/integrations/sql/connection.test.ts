// Connecting: the connection test answers failed checks instead of throwing, plaintext and disallowed hosts are
// refused, and a connection's pool lives until it is released.
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { PluginError } from "../../../src/api/integrations/contract.ts";
import { context, DIALECTS, type Fixture, fixture } from "./support.ts";

const SELECT_ONE = { operation: "query", sql: "SELECT 1 AS one" };

async function connectionsOf(f: Fixture): Promise<number> {
  const [row] =
    f.dialect === "postgres"
      ? await f.admin.query("SELECT COUNT(*) AS n FROM pg_stat_activity WHERE datname = $1 AND application_name = 'flowyte'", [f.database])
      : await f.admin.query("SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST WHERE DB = ? AND ID <> CONNECTION_ID()", [f.database]);
  return Number(row?.n);
}

for (const dialect of DIALECTS) {
  describe(`${dialect} connection`, () => {
    let f: Fixture;
    beforeAll(async () => {
      f = await fixture(dialect);
    });
    afterAll(() => f?.cleanup());

    it("labels the account without the password", () => {
      const credentials = f.credentials(undefined, "hunter2-secret");
      expect(f.plugin.accountLabel!(credentials)).toBe(`${credentials.user}@127.0.0.1:${credentials.port}/${f.database}`);
    });

    it("answers a failed authentication check for a login the database refuses, without throwing", async () => {
      // The local Postgres trusts every login from 127.0.0.1, so a login that does not exist stands in for a wrong password.
      const credentials = dialect === "postgres" ? f.credentials(`nobody_${f.suffix}`, "wrong") : f.credentials(undefined, "wrong-password");
      const checks = await f.plugin.test!(context(credentials));
      expect(checks.map((c) => [c.name, c.ok])).toEqual([
        ["reachability", true],
        ["authentication", false],
        ["schema_read", false],
        ["read_probe", false],
        ["read_only", false],
        ["latency", false],
      ]);
      expect(checks[1]!.detail).toMatch(/refused the login/);
      expect(checks[2]!.detail).toBe("skipped: authentication failed");
      expect(JSON.stringify(checks)).not.toContain("wrong-password");
    });

    it("answers a failed reachability check for a closed port", async () => {
      const checks = await f.plugin.test!(context({ ...f.credentials(), port: "1" }));
      expect(checks[0]).toMatchObject({ name: "reachability", ok: false, detail: "the database cannot be reached (ECONNREFUSED)" });
      expect(checks.slice(1).every((c) => !c.ok && c.detail === "skipped: reachability failed")).toBe(true);
    });

    it("answers a failed reachability check when TLS is required and the server offers none", async () => {
      const checks = await f.plugin.test!(context({ ...f.credentials(), sslmode: "require" }));
      expect(checks[0]!.ok).toBe(false);
      expect(checks[0]!.detail).toMatch(/TLS/);
    });

    it("answers a failed check for credentials missing a field", async () => {
      const { port: _, ...partial } = f.credentials();
      const checks = await f.plugin.test!(context(partial));
      expect(checks[0]).toMatchObject({ ok: false, detail: "credentials.port is required" });
    });

    it("refuses sslmode disable unless the host is listed in SQL_PLAINTEXT_HOSTS", async () => {
      const ctx = context(f.credentials(), { plaintext: false });
      const error = await f.plugin.execute(SELECT_ONE, {}, ctx).catch((e) => e);
      expect(error).toBeInstanceOf(PluginError);
      expect(error).toMatchObject({ code: "refused" });
      expect(error.message).toContain("SQL_PLAINTEXT_HOSTS");
      const checks = await f.plugin.test!(context(f.credentials(), { plaintext: false }));
      expect(checks[0]).toMatchObject({ name: "reachability", ok: false });
      expect(checks[0]!.detail).toContain("SQL_PLAINTEXT_HOSTS");
    });

    it("refuses a host the egress rules refuse", async () => {
      const ctx = context(f.credentials());
      ctx.checkHost = async () => {
        throw Object.assign(new Error("loopback destinations are not allowed"), { name: "EgressRefused" });
      };
      await expect(f.plugin.execute(SELECT_ONE, {}, ctx)).rejects.toMatchObject({ code: "refused" });
      const checks = await f.plugin.test!(ctx);
      expect(checks[0]!.detail).toContain("EGRESS_ALLOWLIST");
    });

    it("connects to the address the host check answers", async () => {
      const ctx = context({ ...f.credentials(), host: "db.internal.example" });
      ctx.plaintextAllowed = () => true;
      ctx.checkHost = async (host) => (host === "db.internal.example" ? "127.0.0.1" : "192.0.2.1");
      expect((await f.plugin.execute(SELECT_ONE, {}, ctx)).rows).toEqual([{ one: 1 }]);
      await f.plugin.release!(ctx.connectionId);
    });

    it("keeps one pool per connection and closes it on release", async () => {
      const ctx = context(f.credentials(), { connectionId: `pool_${f.suffix}` });
      const before = await connectionsOf(f);
      await Promise.all([1, 2, 3].map(() => f.plugin.execute(SELECT_ONE, {}, ctx)));
      const open = await connectionsOf(f);
      expect(open).toBeGreaterThan(before);
      expect(open - before).toBeLessThanOrEqual(4);
      await f.plugin.execute(SELECT_ONE, {}, ctx);
      expect(await connectionsOf(f)).toBe(open);
      await f.plugin.release!(ctx.connectionId);
      for (let i = 0; i < 50 && (await connectionsOf(f)) > before; i++) await Bun.sleep(20);
      expect(await connectionsOf(f)).toBe(before);
      // Used again after release, it opens a fresh pool.
      expect((await f.plugin.execute(SELECT_ONE, {}, ctx)).rows).toEqual([{ one: 1 }]);
      await f.plugin.release!(ctx.connectionId);
    });
  });
}
