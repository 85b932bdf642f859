import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { randomBytes } from "node:crypto";
import { sql } from "drizzle-orm";
import postgres from "postgres";
import { bootstrapOrganizations } from "../../../src/platform/auth/organizations.ts";
import { SECRET_KEY_SCOPES } from "../../../src/platform/auth/scopes.ts";
import { openDatabase, type Database } from "../../../src/platform/db/index.ts";
import { createLogger } from "../../../src/platform/log.ts";
import { startTestApp, storageKind, type TestApp } from "../../support/app.ts";

const quiet = createLogger("error");
let app: TestApp;
beforeAll(async () => {
  app = await startTestApp();
});
afterAll(() => app.stop());

const allScopes = [...SECRET_KEY_SCOPES].sort();

async function adminKeyRow() {
  const rows = await app.query<{ id: string; scopes: string[]; revoked_at: string | null }>(`select id, scopes, revoked_at from api_keys where name = 'FLOWYTE_ADMIN_KEY'`);
  expect(rows).toHaveLength(1);
  return rows[0]!;
}

describe("bootstrap", () => {
  it("finds the default organization and the admin key on a second start instead of making others", async () => {
    const before = await app.query<{ id: string }>("select id from organizations where is_default");
    expect(before).toHaveLength(1);
    const org = await bootstrapOrganizations(app.server.database.db, app.adminKey, quiet);
    expect(org.id).toBe(before[0]!.id);
    expect(await app.query("select id from organizations where is_default")).toHaveLength(1);
    await adminKeyRow();
  });

  it("restores the admin key when its scopes were swapped for as many others, not only when some are missing", async () => {
    const { id } = await adminKeyRow();
    // Same count, different set: one scope replaced by chat:public.
    const swapped = [...allScopes.filter((s) => s !== "keys:write"), "chat:public"];
    await app.query(`update api_keys set scopes = '${JSON.stringify(swapped)}'::jsonb where id = '${id}'`);
    await bootstrapOrganizations(app.server.database.db, app.adminKey, quiet);
    expect((await adminKeyRow()).scopes).toEqual(allScopes);

    // Same count with a scope held twice.
    const doubled = [...allScopes.slice(1), allScopes[1]!];
    await app.query(`update api_keys set scopes = '${JSON.stringify(doubled)}'::jsonb, revoked_at = now() where id = '${id}'`);
    await bootstrapOrganizations(app.server.database.db, app.adminKey, quiet);
    const restored = await adminKeyRow();
    expect(restored.scopes).toEqual(allScopes);
    expect(restored.revoked_at).toBeNull();
  });

  it("refuses a second default organization in storage", async () => {
    const insert = async () => app.server.database.db.execute(sql`insert into organizations (id, name, is_default) values ('org_second_default', 'Second', true)`);
    await expect(insert()).rejects.toThrow();
    expect(await app.query("select id from organizations where is_default")).toHaveLength(1);
    await app.server.database.db.execute(sql`insert into organizations (id, name, is_default) values ('org_not_default', 'Other', false)`);
  });

  // PGlite is one connection inside one process (its directory is locked against a second opener), so starts cannot
  // race there; on Postgres several replicas share the database.
  it.skipIf(storageKind !== "postgres")(
    "makes one default organization and one admin key when replicas start together on one Postgres (Postgres only: PGlite cannot be opened twice)",
    async () => {
      const base = process.env.DATABASE_URL!;
      const name = `flowyte_t_${randomBytes(6).toString("hex")}`;
      const admin = postgres(base, { max: 1, onnotice: () => {} });
      await admin.unsafe(`create database ${name}`);
      const url = new URL(base);
      url.pathname = `/${name}`;
      const replicas: Database[] = [];
      try {
        for (let i = 0; i < 4; i++) replicas.push(await openDatabase({ databaseUrl: url.toString(), dataDir: "/nonexistent", log: quiet }));
        const adminKey = `flowyte_sk_live_${randomBytes(32).toString("base64url")}`;
        const count = async (query: string) => Number(((await replicas[0]!.db.execute(sql.raw(query))) as unknown as { n: number }[])[0]!.n);
        // Several rounds from an empty database: the window between looking and inserting is short.
        for (let round = 0; round < 8; round++) {
          await replicas[0]!.db.execute(sql`delete from api_keys`);
          await replicas[0]!.db.execute(sql`delete from organizations`);
          const orgs = await Promise.all(replicas.map((r) => bootstrapOrganizations(r.db, adminKey, quiet)));
          expect(new Set(orgs.map((o) => o.id)).size).toBe(1);
          expect(await count("select count(*)::int as n from organizations where is_default")).toBe(1);
          expect(await count("select count(*)::int as n from organizations")).toBe(1);
          expect(await count("select count(*)::int as n from api_keys where name = 'FLOWYTE_ADMIN_KEY'")).toBe(1);
          expect(await count("select count(*)::int as n from api_keys where name = 'Owner key'")).toBe(1);
        }
      } finally {
        for (const r of replicas) await r.close();
        await admin.unsafe(`drop database if exists ${name} with (force)`);
        await admin.end();
      }
    },
  );
});
