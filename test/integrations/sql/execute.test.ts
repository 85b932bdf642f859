// Compiled bindings and operator templates executed on real databases: a read with a one-hop foreign-key
// projection, a single-row insert and an update by key, injection attempts through every caller parameter,
// statement timeouts and caller values the plugin refuses.
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { type CompiledOperation, type DiscoveredSchema, PluginError, type ValidatedBinding } from "../../../src/api/integrations/contract.ts";
import { context, count, createTables, DIALECTS, type Fixture, fixture } from "./support.ts";

const INJECTIONS = [
  "' OR '1'='1",
  "+15550001' --",
  "+15550001'; DROP TABLE customers; --",
  "1; DELETE FROM appointments",
  "'); DELETE FROM appointments; SELECT ('",
  '" OR ""="',
  "` OR 1=1 #",
  "\\'; DROP TABLE requests; -- ",
  "+1555\u0000001",
  "＇ OR １=１ -- ʼ; DROP TABLE customers",
  "𝕯𝖗𝖔𝖕 🧨 '||(SELECT password_hash FROM customers LIMIT 1)||'",
  "x".repeat(1_000_000),
];

for (const dialect of DIALECTS) {
  describe(`${dialect} execute`, () => {
    let f: Fixture;
    let schema: DiscoveredSchema;
    const connectionId = `exec_${dialect}`;
    const ctx = (options: { timeoutMs?: number; signal?: AbortSignal } = {}) => context(f.credentials(), { connectionId, ...options });

    function binding(operation: string, rest: Partial<ValidatedBinding>): ValidatedBinding {
      const op = schema.operations.find((o) => o.name === operation)!;
      return { operation: op, object: schema.objects.find((o) => o.name === op.object)!, isWrite: op.kind === "write", inputs: [], values: [], projection: [], ...rest };
    }
    const lookup = () =>
      f.plugin.compile!(
        binding("appointments.select", {
          search: { field: "phone", param: "caller_phone", limit: 5 },
          projection: [
            { path: ["starts_at"], leaf: "start_time" },
            { path: ["day"], leaf: "day" },
            { path: ["status"], leaf: "status" },
            { path: ["customer_id", "name"], leaf: "customer_name" },
            { path: ["customer_id", "email"], leaf: "customer_email" },
          ],
        }),
      );
    const snapshot = async () => [await count(f, "customers"), await count(f, "appointments"), await count(f, "requests")];

    beforeAll(async () => {
      f = await fixture(dialect);
      await createTables(f);
      schema = await f.plugin.discover!(ctx());
    });
    afterAll(async () => {
      await f?.plugin.release?.(connectionId);
      await f?.cleanup();
    });

    it("compiles a read into a frozen parameterized statement with a one-hop join", () => {
      const op = lookup();
      expect(Object.isFrozen(op)).toBe(true);
      const q = dialect === "postgres" ? (s: string) => `"${s}"` : (s: string) => `\`${s}\``;
      expect(op).toEqual({
        operation: "appointments.select",
        dialect,
        statement:
          `SELECT a.${q("starts_at")} AS ${q("start_time")}, a.${q("day")} AS ${q("day")}, a.${q("status")} AS ${q("status")}, j1.${q("name")} AS ${q("customer_name")}, ` +
          `j1.${q("email")} AS ${q("customer_email")} FROM ${q("appointments")} a LEFT JOIN ${q("customers")} j1 ON j1.${q("id")} = a.${q("customer_id")} ` +
          `WHERE a.${q("phone")} = ${dialect === "postgres" ? "$1" : "?"} LIMIT 5`,
        params: ["caller_phone"],
        write: false,
      });
    });

    it("reads a caller's appointments with the customer's fields in a read-only transaction", async () => {
      const result = await f.plugin.execute(lookup(), { caller_phone: "+15550001" }, ctx());
      expect(result.rows).toHaveLength(2);
      expect(result.rows.find((r) => r.day === "2026-03-01")).toEqual({
        start_time: expect.stringMatching(/^2026-03-0[12]T\d\d:\d\d:00\.000Z$/),
        day: "2026-03-01",
        status: "booked",
        customer_name: "Ada Lovelace",
        customer_email: "ada@example.com",
      });
      expect((await f.plugin.execute(lookup(), { caller_phone: "+19999999" }, ctx())).rows).toEqual([]);
    });

    it("caps the row limit at 50", () => {
      const op = f.plugin.compile!(binding("customers.select", { search: { field: "phone", param: "p", limit: 10_000 }, projection: [{ path: ["name"], leaf: "name" }] }));
      expect(op.statement).toEndWith("LIMIT 50");
    });

    it("refuses bindings the SQL provider cannot run", () => {
      const odd: [string, Partial<ValidatedBinding>][] = [
        ["appointments.select", { projection: [{ path: ["notes"], leaf: "n" }] }],
        ["appointments.select", { search: { field: "notes", param: "p", limit: 5 }, projection: [{ path: ["notes"], leaf: "n" }] }],
        ["appointments.select", { search: { field: "phone", param: "p; DROP", limit: 5 }, projection: [{ path: ["notes"], leaf: "n" }] }],
        ["appointments.select", { search: { field: "phone", param: "p", limit: 5 }, projection: [{ path: ["notes", "x"], leaf: "n" }] }],
        ["appointments.select", { search: { field: "phone", param: "p", limit: 5 }, projection: [{ path: ["nope"], leaf: "n" }] }],
        ["requests.insert", { values: [{ field: "summary", param: "s" }] }],
        ["requests.update", { values: [{ field: "summary", param: "s" }], key: { field: "summary", param: "k" } }],
        ["requests.update", { values: [{ field: "summary", param: "s" }] }],
      ];
      for (const [operation, rest] of odd) {
        expect(() => f.plugin.compile!(binding(operation, rest))).toThrow(PluginError);
      }
    });

    it("inserts one row from caller values and pinned constants, all bound", async () => {
      const op = f.plugin.compile!(
        binding("requests.insert", {
          values: [
            { field: "ref", param: "request_ref" },
            { field: "summary", param: "summary" },
            { field: "total", constant: 42 },
          ],
          projection: [
            { path: ["id"], leaf: "request_id" },
            { path: ["ref"], leaf: "ref" },
          ],
        }),
      );
      expect(op.statement).not.toContain("42");
      expect(op.params).toEqual(["request_ref", "summary", { constant: 42 }]);
      const result = await f.plugin.execute(op, { request_ref: "R-2", summary: "call me back" }, ctx());
      expect(result).toEqual({ rows: [{ request_id: 2, ref: "R-2" }], info: { affected: 1 } });
      const [row] = await f.admin.query("SELECT summary, total FROM requests WHERE ref = 'R-2'");
      expect(row).toMatchObject({ summary: "call me back" });
      expect(Number(row!.total)).toBe(42);
      await expect(f.plugin.execute(op, { request_ref: "R-2", summary: "again" }, ctx())).rejects.toMatchObject({ code: "conflict" });
    });

    it("updates one row by its unique key, and answers not_found when none matches", async () => {
      const op = f.plugin.compile!(
        binding("requests.update", { values: [{ field: "summary", param: "summary" }], key: { field: "ref", param: "request_ref" }, projection: [{ path: ["summary"], leaf: "summary" }] }),
      );
      expect(op.statement).toContain(dialect === "postgres" ? "RETURNING" : "LIMIT 1");
      expect(await f.plugin.execute(op, { request_ref: "R-1", summary: "done" }, ctx())).toEqual({ rows: [{ summary: "done" }], info: { affected: 1 } });
      expect((await f.admin.query("SELECT summary FROM requests WHERE ref = 'R-1'"))[0]!.summary).toBe("done");
      await expect(f.plugin.execute(op, { request_ref: "R-404", summary: "x" }, ctx())).rejects.toMatchObject({ code: "not_found" });
    });

    it("maps a value the database refuses to invalid_input", async () => {
      const op = f.plugin.compile!(binding("appointments.insert", { values: [{ field: "phone", param: "p" }, { field: "starts_at", param: "when" }] }));
      await expect(f.plugin.execute(op, { p: "+1", when: "not a date" }, ctx())).rejects.toMatchObject({ code: "invalid_input" });
      const flag = f.plugin.compile!(binding("appointments.update", { values: [{ field: "status", param: "s" }], key: { field: "id", param: "id" } }));
      await expect(f.plugin.execute(flag, { s: "maybe", id: 1 }, ctx())).rejects.toMatchObject({ code: "invalid_input" });
      // MySQL compares an int key with text by converting the text (to 0 here), so it simply matches no row.
      await expect(f.plugin.execute(flag, { s: "booked", id: "one" }, ctx())).rejects.toMatchObject({ code: dialect === "postgres" ? "invalid_input" : "not_found" });
    });

    it("refuses missing, structured and oversized caller values before reaching the database", async () => {
      const op = lookup();
      for (const args of [{}, { caller_phone: undefined }, { caller_phone: { $ne: 1 } }, { caller_phone: ["a"] }, { caller_phone: "x".repeat(2_001) }, { caller_phone: Number.NaN }]) {
        const error = await f.plugin.execute(op, args, ctx()).catch((e) => e);
        expect(error).toBeInstanceOf(PluginError);
        expect(error).toMatchObject({ code: "invalid_input", fields: ["caller_phone"] });
      }
    });

    it("changes nothing and leaks nothing whatever a caller sends through any parameter", async () => {
      const before = await snapshot();
      const read = lookup();
      const insert = f.plugin.compile!(binding("requests.insert", { values: [{ field: "ref", param: "ref" }, { field: "summary", param: "summary" }] }));
      const update = f.plugin.compile!(binding("requests.update", { values: [{ field: "summary", param: "summary" }], key: { field: "ref", param: "ref" } }));
      const template = { operation: "query", sql: "SELECT name FROM customers WHERE phone = {phone} OR email = {phone}" };
      let inserted = 0;
      for (const [i, value] of INJECTIONS.entries()) {
        const outcomes = [
          await f.plugin.execute(read, { caller_phone: value }, ctx()).catch((e) => e),
          await f.plugin.execute(template, { phone: value }, ctx()).catch((e) => e),
          await f.plugin.execute(update, { ref: value, summary: value }, ctx()).catch((e) => e),
          await f.plugin.execute(insert, { ref: `inj-${i}`, summary: value }, ctx()).catch((e) => e),
        ];
        for (const outcome of outcomes.slice(0, 2)) {
          if (outcome instanceof Error) expect(outcome).toMatchObject({ code: "invalid_input" });
          else expect(outcome.rows).toEqual([]);
        }
        expect(outcomes[2]).toBeInstanceOf(PluginError);
        if (!(outcomes[3] instanceof Error)) inserted++;
        for (const outcome of outcomes) {
          const text = outcome instanceof Error ? outcome.message : JSON.stringify(outcome);
          expect(text).not.toContain("password_hash");
          if (value.length > 3) expect(text).not.toContain(value.slice(0, 40));
        }
      }
      // Only the inserts happened, with the hostile text stored as plain data; nothing was dropped or deleted.
      const after = await snapshot();
      expect(after).toEqual([before[0]!, before[1]!, before[2]! + inserted]);
      const stored = await f.admin.query("SELECT summary FROM requests WHERE ref = 'inj-2'");
      expect(stored).toEqual([{ summary: INJECTIONS[2] }]);
    });

    it("runs operator templates with bound parameters, read-only unless marked as a write", async () => {
      const read = { operation: "query", sql: "SELECT name FROM customers WHERE phone = {caller_phone} -- {ignored}\n" };
      expect((await f.plugin.execute(read, { caller_phone: "+15550002" }, ctx())).rows).toEqual([{ name: "Alan Turing" }]);
      const sneaky = { operation: "query", sql: "UPDATE customers SET name = {name} WHERE phone = {phone}" };
      await expect(f.plugin.execute(sneaky, { name: "Eve", phone: "+15550002" }, ctx())).rejects.toMatchObject({ code: "refused" });
      expect((await f.admin.query("SELECT name FROM customers WHERE phone = '+15550002'"))[0]!.name).toBe("Alan Turing");
      const write = { ...sneaky, write: true };
      expect((await f.plugin.execute(write, { name: "Alan M. Turing", phone: "+15550002" }, ctx())).info).toEqual({ affected: 1 });
      for (const sql of ["SELECT 1; DROP TABLE customers", "SELECT * FROM customers WHERE id = ?", "SELECT * FROM customers WHERE id = $1", "SELECT {bad name}", "SELECT 'unclosed"]) {
        await expect(f.plugin.execute({ operation: "query", sql }, {}, ctx())).rejects.toMatchObject({ code: "invalid_binding" });
      }
      expect(await count(f, "customers")).toBe(2);
    });

    it("refuses an operation compiled for the other dialect or edited into an odd shape", async () => {
      const other = { ...lookup(), dialect: dialect === "postgres" ? "mysql" : "postgres" };
      await expect(f.plugin.execute(other, { caller_phone: "+1" }, ctx())).rejects.toMatchObject({ code: "invalid_binding" });
      await expect(f.plugin.execute({ operation: "x", statement: "SELECT 1", params: [{}], write: false, dialect }, {}, ctx())).rejects.toMatchObject({ code: "invalid_binding" });
    });

    it("ends a statement that outlives its deadline as a timeout", async () => {
      const sleep: CompiledOperation = { operation: "query", sql: dialect === "postgres" ? "SELECT pg_sleep({seconds}) AS slept" : "SELECT SLEEP({seconds}) AS slept" };
      const started = Date.now();
      const error = await f.plugin.execute(sleep, { seconds: 30 }, ctx({ timeoutMs: 600 })).catch((e) => e);
      expect(error).toBeInstanceOf(PluginError);
      expect(error).toMatchObject({ code: "timeout" });
      expect(Date.now() - started).toBeLessThan(20_000);
      // The pool is still usable afterwards.
      expect((await f.plugin.execute(lookup(), { caller_phone: "+15550002" }, ctx())).rows).toHaveLength(1);
    });

    it("stops a statement when the caller goes away", async () => {
      const controller = new AbortController();
      const sleep: CompiledOperation = { operation: "query", sql: dialect === "postgres" ? "SELECT pg_sleep(30)" : "SELECT SLEEP(30)" };
      const pending = f.plugin.execute(sleep, {}, ctx({ signal: controller.signal }));
      setTimeout(() => controller.abort(), 100);
      await expect(pending).rejects.toMatchObject({ code: "timeout" });
      expect((await f.plugin.execute(lookup(), { caller_phone: "+15550002" }, ctx())).rows).toHaveLength(1);
    });
  });
}
