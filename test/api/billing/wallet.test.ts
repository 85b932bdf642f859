// The wallet over HTTP, and the debit/credit rules every charge goes through.
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { creditWallet, debitWallet, debitWalletUpTo, walletBalance } from "../../../src/api/billing/wallet.ts";
import { startTestApp, type TestApp } from "../../support/app.ts";

let app: TestApp;
beforeAll(async () => {
  app = await startTestApp();
});
afterAll(() => app.stop());

const wallet = (key: string) => app.api("GET", "/api/v1/billing/wallet", { key });

describe("GET /billing/wallet", () => {
  it("answers an empty wallet before any credit, without auto-reload", async () => {
    const { key } = await app.newOrg();
    const res = await wallet(key);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ success: true, data: { balanceUsd: 0, autoReloadEnabled: false, autoReloadThresholdUsd: null, autoReloadAmountUsd: null } });
  });

  it("shows the balance in USD after credits and debits, each recorded as a transaction", async () => {
    const { key, organizationId } = await app.newOrg();
    const db = app.server.database.db;
    expect(await creditWallet(db, organizationId, 2500, { kind: "credit" })).toBe(2500);
    expect(await debitWallet(db, organizationId, 1099, { kind: "number_purchase", reference: "num_x" })).toBe(1401);
    expect((await wallet(key)).body.data.balanceUsd).toBe(14.01);
    const rows = await app.query<{ amount_cents: string | number; kind: string; reference: string | null }>(
      `select amount_cents, kind, reference from wallet_transactions where organization_id = '${organizationId}' order by id`,
    );
    expect(rows.map((r) => [Number(r.amount_cents), r.kind, r.reference])).toEqual([
      [2500, "credit", null],
      [-1099, "number_purchase", "num_x"],
    ]);
  });

  it("never goes below zero: a short debit is 402 and changes nothing", async () => {
    const { organizationId } = await app.newOrg();
    const db = app.server.database.db;
    await creditWallet(db, organizationId, 100, { kind: "credit" });
    const refused = await debitWallet(db, organizationId, 101, { kind: "number_purchase" }).catch((e) => e);
    expect(refused).toMatchObject({ status: 402, code: "insufficient_funds", extensions: { requiredUsd: 1.01, balanceUsd: 1 } });
    expect(await walletBalance(db, organizationId)).toBe(100);
    expect(await app.query(`select id from wallet_transactions where organization_id = '${organizationId}' and amount_cents < 0`)).toEqual([]);
    expect(await debitWallet(db, organizationId, 100, { kind: "number_purchase" })).toBe(0);
  });

  it("takes usage up to what the balance holds, recording the unpaid rest, and nothing from an empty or missing wallet", async () => {
    const { organizationId } = await app.newOrg();
    const db = app.server.database.db;
    expect(await debitWalletUpTo(db, organizationId, 50, { kind: "usage", reference: "usage_a" })).toEqual({ debitedCents: 0, balanceCents: 0 });
    await creditWallet(db, organizationId, 100, { kind: "credit" });
    expect(await debitWalletUpTo(db, organizationId, 60, { kind: "usage", reference: "usage_b" })).toEqual({ debitedCents: 60, balanceCents: 40 });
    expect(await debitWalletUpTo(db, organizationId, 60, { kind: "usage", reference: "usage_c" })).toEqual({ debitedCents: 40, balanceCents: 0 });
    expect(await debitWalletUpTo(db, organizationId, 60, { kind: "usage", reference: "usage_d" })).toEqual({ debitedCents: 0, balanceCents: 0 });
    const rows = await app.query<{ amount_cents: string | number; reference: string; metadata: unknown }>(
      `select amount_cents, reference, metadata from wallet_transactions where organization_id = '${organizationId}' and kind = 'usage' order by id`,
    );
    expect(rows.map((r) => [Number(r.amount_cents), r.reference, typeof r.metadata === "string" ? JSON.parse(r.metadata) : r.metadata])).toEqual([
      [-60, "usage_b", { unpaidCents: 0 }],
      [-40, "usage_c", { unpaidCents: 20 }],
    ]);
  });

  it("needs billing:read and shows only the caller's organization", async () => {
    const { organizationId } = await app.newOrg();
    await creditWallet(app.server.database.db, organizationId, 700, { kind: "credit" });
    const narrow = await wallet(await app.keyWith(organizationId, ["numbers:read"]));
    expect(narrow.status).toBe(403);
    expect(narrow.body).toMatchObject({ code: "insufficient_scope", requiredScope: "billing:read" });
    expect((await wallet(await app.keyWith(organizationId, ["billing:read"]))).body.data.balanceUsd).toBe(7);
    expect((await wallet(app.adminKey)).body.data.balanceUsd).toBe(0);
  });
});
