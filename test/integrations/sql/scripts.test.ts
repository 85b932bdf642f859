// Setup scripts run for real: the read-only login cannot change anything, the write login can insert and update
// only the tables it was given, and the connection test tells the two apart.
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { PluginError } from "../../../src/api/integrations/contract.ts";
import { setupScripts } from "../../../plugins/sql/scripts.ts";
import { type Admin, context, count, createTables, DIALECTS, type Fixture, fixture } from "./support.ts";

const PASSWORD = "Str0ng-pass'word\\with-quotes";

for (const dialect of DIALECTS) {
  describe(`${dialect} setup scripts`, () => {
    let f: Fixture;
    let ro: Admin;
    let rw: Admin;
    let scripts: ReturnType<typeof setupScripts>;

    beforeAll(async () => {
      f = await fixture(dialect);
      await createTables(f);
      scripts = setupScripts(dialect, { database: f.database, tables: ["appointments", "requests"], password: PASSWORD, suffix: f.suffix });
      await f.admin.exec(scripts.readOnly.sql);
      await f.admin.exec(scripts.write.sql);
      ro = await f.as(scripts.readOnly.user, PASSWORD);
      rw = await f.as(scripts.write.user, PASSWORD);
    });
    afterAll(() => f?.cleanup());

    it("names the logins flowyte_ro and flowyte_rw and grants the listed tables only", () => {
      const plain = f.plugin.scripts!({ database: "appdb", tables: ["appointments"], password: "a-generated-password" });
      expect(plain.readOnly.user).toBe("flowyte_ro");
      expect(plain.write.user).toBe("flowyte_rw");
      expect(plain.readOnly.sql).toContain("GRANT SELECT");
      expect(plain.readOnly.sql).not.toMatch(/INSERT|UPDATE/);
      expect(plain.write.sql).toMatch(/GRANT INSERT, UPDATE ON .*appointments/);
    });

    it("refuses table and database names that are not plain identifiers", () => {
      for (const tables of [["appointments; DROP TABLE x"], ['a"b'], ["a`b"], ["1abc"]]) {
        expect(() => f.plugin.scripts!({ database: "appdb", tables, password: "a-generated-password" })).toThrow(PluginError);
      }
      expect(() => f.plugin.scripts!({ database: "app db", tables: [], password: "a-generated-password" })).toThrow(PluginError);
      expect(() => f.plugin.scripts!({ database: "appdb", tables: [], password: "short" })).toThrow(PluginError);
    });

    it("lets the read-only login read but refuses every write and every DDL statement", async () => {
      expect((await ro.query("SELECT name FROM customers ORDER BY id")).map((r) => r.name)).toEqual(["Ada Lovelace", "Alan Turing"]);
      const attempts = [
        "INSERT INTO customers (name, phone) VALUES ('Eve', '+1999')",
        "UPDATE customers SET name = 'Eve' WHERE id = 1",
        "DELETE FROM appointments WHERE id = 1",
        "CREATE TABLE intruder (id int)",
        "DROP TABLE requests",
      ];
      // The read-only default is a setting the login may switch off itself: the refusals must come from privileges.
      if (dialect === "postgres") await ro.exec("SET default_transaction_read_only = off");
      for (const attempt of attempts) await expect(ro.exec(attempt)).rejects.toThrow(/permission denied|must be owner|command denied/);
      expect(await count(f, "customers")).toBe(2);
      expect(await count(f, "appointments")).toBe(3);
      expect(await count(f, "requests")).toBe(1);
    });

    it("lets the read-only login read a table created after the script ran", async () => {
      await f.admin.exec("CREATE TABLE later_table (id int PRIMARY KEY, label varchar(20))");
      await f.admin.exec("INSERT INTO later_table VALUES (1, 'later')");
      expect(await ro.query("SELECT label FROM later_table")).toEqual([{ label: "later" }]);
      await expect(ro.exec("INSERT INTO later_table VALUES (2, 'no')")).rejects.toThrow();
    });

    it("lets the write login insert and update the listed tables and nothing else", async () => {
      await rw.exec("INSERT INTO requests (ref, summary) VALUES ('R-2', 'new')");
      await rw.exec("UPDATE appointments SET notes = 'moved' WHERE id = 2");
      expect(await count(f, "requests")).toBe(2);
      await expect(rw.exec("INSERT INTO customers (name, phone) VALUES ('Eve', '+1999')")).rejects.toThrow();
      await expect(rw.exec("UPDATE customers SET name = 'Eve' WHERE id = 1")).rejects.toThrow();
      await expect(rw.exec("DELETE FROM requests WHERE ref = 'R-2'")).rejects.toThrow();
      await expect(rw.exec("DROP TABLE requests")).rejects.toThrow();
      expect((await rw.query("SELECT COUNT(*) AS n FROM customers"))[0]!.n).toBeDefined();
    });

    it("passes every connection check as the read-only login", async () => {
      const checks = await f.plugin.test!(context(f.credentials(scripts.readOnly.user, PASSWORD)));
      expect(checks.map((c) => c.name)).toEqual(["reachability", "authentication", "schema_read", "read_probe", "read_only", "latency"]);
      for (const check of checks) expect(check).toMatchObject({ ok: true });
      expect(checks[0]!.detail).toContain("plaintext");
      expect(JSON.stringify(checks)).not.toContain(PASSWORD);
    });

    it("fails the read-only check for the admin and the write login, naming what they can write", async () => {
      for (const [user, password] of [[undefined, undefined], [scripts.write.user, PASSWORD]] as const) {
        const checks = await f.plugin.test!(context(f.credentials(user, password)));
        const readOnly = checks.find((c) => c.name === "read_only")!;
        expect(readOnly.ok).toBe(false);
        expect(readOnly.detail).toMatch(/this user can write to .*(appointments|database|superuser|all databases)/);
        expect(checks.find((c) => c.name === "latency")!.detail).toBe("skipped: read_only failed");
      }
    });
  });
}
