// Discovery on real databases: tables, normalized types, keys, leading indexes, enum values, foreign keys as
// relationships, sensitive columns by name and by the shape of their values, and the operations offered.
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import type { DiscoveredSchema, SchemaField } from "../../../src/api/integrations/contract.ts";
import { context, createTables, DIALECTS, type Fixture, fixture } from "./support.ts";

for (const dialect of DIALECTS) {
  describe(`${dialect} discovery`, () => {
    let f: Fixture;
    let schema: DiscoveredSchema;
    const field = (object: string, name: string): SchemaField => schema.objects.find((o) => o.name === object)!.fields.find((x) => x.name === name)!;

    beforeAll(async () => {
      f = await fixture(dialect);
      await createTables(f);
      const ctx = context(f.credentials());
      schema = await f.plugin.discover!(ctx);
      await f.plugin.release!(ctx.connectionId);
    });
    afterAll(() => f?.cleanup());

    it("finds every table with its columns in order", () => {
      expect(schema.objects.map((o) => o.name)).toEqual(["appointments", "customers", "requests"]);
      expect(schema.objects.find((o) => o.name === "appointments")!.fields.map((x) => x.name)).toEqual(["id", "customer_id", "phone", "starts_at", "day", "status", "notes", "photo"]);
    });

    it("normalizes types and keeps the native type", () => {
      expect(field("appointments", "id")).toMatchObject({ type: "integer", primaryKey: true, unique: true, leadingIndex: true, generated: true, required: false, nullable: false });
      expect(field("appointments", "starts_at")).toMatchObject({ type: "datetime", required: true, nullable: false });
      expect(field("appointments", "day")).toMatchObject({ type: "date", nativeType: "date", required: false, nullable: true, generated: false });
      expect(field("appointments", "photo").type).toBe("binary");
      expect(field("requests", "total").type).toBe("integer");
      expect(field("customers", "name")).toMatchObject({ type: "string", required: true });
      expect(field("customers", "created_at")).toMatchObject({ type: "datetime", required: false, generated: true });
    });

    it("lists enum values and marks columns with a default as generated", () => {
      expect(field("appointments", "status")).toMatchObject({ allowedValues: ["booked", "cancelled", "done"], required: false, generated: true });
      expect(field("appointments", "notes").allowedValues).toBeNull();
    });

    it("finds unique columns and the leading column of every index", () => {
      expect(field("customers", "email")).toMatchObject({ unique: true, leadingIndex: true });
      expect(field("customers", "phone")).toMatchObject({ unique: false, leadingIndex: true });
      expect(field("appointments", "phone")).toMatchObject({ unique: false, leadingIndex: true });
      expect(field("requests", "ref")).toMatchObject({ unique: true, leadingIndex: true, required: true });
      expect(field("customers", "name")).toMatchObject({ unique: false, leadingIndex: false });
    });

    it("turns single-column foreign keys into references and relationships", () => {
      expect(field("appointments", "customer_id").references).toEqual({ object: "customers", field: "id" });
      expect(schema.relationships).toEqual([{ name: "appointments.customer_id", from: { object: "appointments", field: "customer_id" }, to: { object: "customers", field: "id" } }]);
    });

    it("classifies sensitive columns by name and by the shape of sampled values", () => {
      expect(field("customers", "email").sensitivity).toBe("contact");
      expect(field("customers", "phone").sensitivity).toBe("contact");
      expect(field("customers", "password_hash").sensitivity).toBe("secret");
      // Vague names: emails and Luhn-valid card numbers are recognized from the values.
      expect(field("customers", "contact").sensitivity).toBe("contact");
      expect(field("customers", "billing_ref").sensitivity).toBe("payment_card");
      expect(field("customers", "name").sensitivity).toBeNull();
      expect(field("requests", "summary").sensitivity).toBeNull();
    });

    it("offers a read per table and inserts and updates where a unique key exists", () => {
      expect(schema.operations.filter((o) => o.object === "requests")).toEqual([
        { name: "requests.select", object: "requests", kind: "read", description: expect.any(String) },
        { name: "requests.insert", object: "requests", kind: "write", effect: "create", description: expect.any(String) },
        { name: "requests.update", object: "requests", kind: "write", effect: "update", description: expect.any(String) },
      ]);
    });

    it("shows a limited login only the tables it may read", async () => {
      const login = `flowyte_ro_${f.suffix}`;
      if (dialect === "postgres") {
        await f.admin.exec(`CREATE ROLE ${login} LOGIN; GRANT USAGE ON SCHEMA public TO ${login}; GRANT SELECT ON appointments TO ${login}`);
      } else {
        await f.admin.exec(`CREATE USER '${login}'@'%' IDENTIFIED BY 'a-long-password'; GRANT SELECT ON ${f.database}.appointments TO '${login}'@'%'`);
      }
      const ctx = context(f.credentials(login, "a-long-password"));
      const limited = await f.plugin.discover!(ctx);
      await f.plugin.release!(ctx.connectionId);
      expect(limited.objects.map((o) => o.name)).toEqual(["appointments"]);
      // The referenced table is not visible, so neither is the relationship.
      expect(limited.relationships).toEqual([]);
    });
  });
}
