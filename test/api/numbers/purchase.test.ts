// Reserve and purchase over HTTP: holds between organizations, hold expiry, wallet debits (402 when short),
// and Idempotency-Key replay that charges once.
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { creditWallet } from "../../../src/api/billing/wallet.ts";
import { startTestApp, type TestApp } from "../../support/app.ts";

const FREE_1 = "+14155550201";
const FREE_2 = "+14155550202";
const FREE_3 = "+12125550203";
const FREE_4 = "+12125550204";
const PRICED = "+13105550205";
const PRICED_2 = "+13105550206";

let app: TestApp;
let a: { key: string; organizationId: string };
let b: { key: string; organizationId: string };

const reserve = (key: string, e164: string) => app.api("POST", "/api/v1/numbers/reserve", { key, body: { e164 } });
const purchase = (key: string, body: Record<string, unknown>, headers: Record<string, string> = {}) => app.api("POST", "/api/v1/numbers/purchase", { key, body, headers });
const balance = async (key: string) => (await app.api("GET", "/api/v1/billing/wallet", { key })).body.data.balanceUsd as number;
const transactions = (organizationId: string) =>
  app.query<{ amount_cents: string | number; kind: string; reference: string | null }>(
    `select amount_cents, kind, reference from wallet_transactions where organization_id = '${organizationId}' order by id`,
  );
const pool = async (e164: string) =>
  (await app.query<{ owned_by_organization_id: string | null; held_by_organization_id: string | null; hold_id: string | null }>(
    `select owned_by_organization_id, held_by_organization_id, hold_id from number_pool where e164 = '${e164}'`,
  ))[0]!;

beforeAll(async () => {
  app = await startTestApp({ TRUNK_NUMBERS: [FREE_1, FREE_2, FREE_3, FREE_4, PRICED, PRICED_2].join(",") });
  a = await app.newOrg("Holder");
  b = await app.newOrg("Other");
  await app.query(`update number_pool set setup_cost_cents = 100, monthly_cost_cents = 250 where e164 in ('${PRICED}', '${PRICED_2}')`);
});
afterAll(() => app.stop());

describe("POST /numbers/reserve", () => {
  it("holds a number for 30 minutes without charging, and keeps it from other organizations", async () => {
    const before = Date.now();
    const res = await reserve(a.key, FREE_1);
    expect(res.status).toBe(201);
    expect(res.body.data).toEqual({ id: expect.stringMatching(/^rsv_/), e164: FREE_1, expiresAt: expect.any(String) });
    const minutes = (Date.parse(res.body.data.expiresAt) - before) / 60_000;
    expect(minutes).toBeGreaterThan(29.9);
    expect(minutes).toBeLessThan(30.1);
    expect(await transactions(a.organizationId)).toEqual([]);

    const again = await reserve(a.key, FREE_1);
    expect(again.body.data).toEqual(res.body.data);

    const taken = await reserve(b.key, FREE_1);
    expect(taken.status).toBe(409);
    expect(taken.body.code).toBe("number_held");
    const sniped = await purchase(b.key, { e164: FREE_1 });
    expect(sniped.status).toBe(409);
    expect(sniped.body.code).toBe("number_held");
    const seen = await app.api("GET", "/api/v1/numbers/search?areaCode=415&bestEffort=false", { key: b.key });
    expect(seen.body.data.map((n: { e164: string }) => n.e164)).toEqual([FREE_2]);

    const bought = await purchase(a.key, { e164: FREE_1, reservationId: res.body.data.id });
    expect(bought.status).toBe(201);
    expect(bought.body.data).toEqual({
      id: expect.stringMatching(/^num_/),
      organizationId: a.organizationId,
      e164: FREE_1,
      provider: "sip-trunk",
      defaultAgentId: null,
      status: "available",
      monthlyCost: 0,
      features: ["voice"],
      createdAt: expect.any(String),
    });
    expect(await pool(FREE_1)).toEqual({ owned_by_organization_id: a.organizationId, held_by_organization_id: null, hold_id: null });
    expect(await transactions(a.organizationId)).toEqual([]); // a free number moves no money
    expect((await reserve(b.key, FREE_1)).body.code).toBe("number_not_available");
    expect((await purchase(b.key, { e164: FREE_1 })).body.code).toBe("number_not_available");
  });

  it("lets the holder buy without naming the reservation, and refuses a reservation that is not theirs", async () => {
    const held = await reserve(a.key, FREE_2);
    expect((await purchase(b.key, { e164: FREE_2, reservationId: held.body.data.id })).status).toBe(409);
    const wrong = await purchase(a.key, { e164: FREE_3, reservationId: held.body.data.id });
    expect(wrong.status).toBe(404);
    expect(wrong.body.code).toBe("reservation_not_found");
    expect((await purchase(a.key, { e164: FREE_2 })).status).toBe(201);
  });

  it("frees the number when the hold is released", async () => {
    const held = await reserve(a.key, FREE_3);
    expect((await app.api("DELETE", `/api/v1/numbers/reserve/${held.body.data.id}`, { key: b.key })).status).toBe(404);
    const released = await app.api("DELETE", `/api/v1/numbers/reserve/${held.body.data.id}`, { key: a.key });
    expect(released.status).toBe(200);
    expect(released.body).toEqual({ success: true, data: null, message: "reservation released" });
    expect((await app.api("DELETE", `/api/v1/numbers/reserve/${held.body.data.id}`, { key: a.key })).body.code).toBe("reservation_not_found");
    const other = await reserve(b.key, FREE_3);
    expect(other.status).toBe(201);
    await app.api("DELETE", `/api/v1/numbers/reserve/${other.body.data.id}`, { key: b.key });
  });

  it("lets a hold lapse after its time: another organization can then hold and buy the number", async () => {
    const held = await reserve(a.key, FREE_4);
    await app.query(`update number_pool set held_until = now() - interval '1 minute' where e164 = '${FREE_4}'`);
    expect((await app.api("GET", `/api/v1/numbers/available/${FREE_4}`, { key: b.key })).status).toBe(200);
    expect((await app.api("DELETE", `/api/v1/numbers/reserve/${held.body.data.id}`, { key: a.key })).status).toBe(404);

    const taken = await reserve(b.key, FREE_4);
    expect(taken.status).toBe(201);
    expect((await purchase(a.key, { e164: FREE_4, reservationId: held.body.data.id })).body.code).toBe("number_held");
    expect((await purchase(b.key, { e164: FREE_4, reservationId: taken.body.data.id })).status).toBe(201);
    expect((await purchase(a.key, { e164: FREE_4 })).body.code).toBe("number_not_available");
  });

  it("answers 404 for a number outside the inventory and 400 for something that is not a number", async () => {
    expect((await reserve(a.key, "+14155559999")).body.code).toBe("number_not_found");
    expect((await purchase(a.key, { e164: "+14155559999" })).status).toBe(404);
    const bad = await reserve(a.key, "call me");
    expect(bad.status).toBe(400);
    expect(bad.body.errors).toEqual([{ field: "e164", message: expect.any(String) }]);
  });

  it("limits how many numbers one organization can hold at a time", async () => {
    const extra = Array.from({ length: 11 }, (_, i) => `+16285550${String(300 + i)}`);
    for (const e164 of extra) await app.api("POST", "/api/v1/numbers/pool", { body: { e164 } });
    const c = await app.newOrg("Hoarder");
    for (const e164 of extra.slice(0, 10)) expect((await reserve(c.key, e164)).status).toBe(201);
    const refused = await reserve(c.key, extra[10]!);
    expect(refused.status).toBe(409);
    expect(refused.body.code).toBe("too_many_reservations");
  });
});

describe("POST /numbers/purchase with a price", () => {
  it("answers 402 when the wallet is short, charging and holding nothing", async () => {
    await creditWallet(app.server.database.db, a.organizationId, 200, { kind: "credit" });
    const short = await purchase(a.key, { e164: PRICED });
    expect(short.status).toBe(402);
    expect(short.body).toMatchObject({ code: "insufficient_funds", requiredUsd: 3.5, balanceUsd: 2 });
    expect(await pool(PRICED)).toEqual({ owned_by_organization_id: null, held_by_organization_id: null, hold_id: null });
    expect(await balance(a.key)).toBe(2);
    expect((await app.api("GET", "/api/v1/numbers", { key: a.key })).body.data.map((n: { e164: string }) => n.e164)).not.toContain(PRICED);
  });

  it("debits setup plus the first month once credit is added, and a retry with the same Idempotency-Key replays without charging again", async () => {
    await creditWallet(app.server.database.db, a.organizationId, 500, { kind: "credit" });
    const headers = { "idempotency-key": "buy-priced-1" };
    const first = await purchase(a.key, { e164: PRICED }, headers);
    expect(first.status).toBe(201);
    expect(first.body.data).toMatchObject({ e164: PRICED, monthlyCost: 2.5, status: "available" });
    expect(await balance(a.key)).toBe(3.5);

    const retry = await purchase(a.key, { e164: PRICED }, headers);
    expect(retry.status).toBe(201);
    expect(retry.headers.get("idempotent-replayed")).toBe("true");
    expect(retry.body).toEqual(first.body);
    expect(await balance(a.key)).toBe(3.5);

    const moves = (await transactions(a.organizationId)).map((t) => [Number(t.amount_cents), t.kind, t.reference]);
    expect(moves).toEqual([
      [200, "credit", null],
      [500, "credit", null],
      [-350, "number_purchase", first.body.data.id],
    ]);
    // A new key is a new purchase: the number is owned now.
    expect((await purchase(a.key, { e164: PRICED }, { "idempotency-key": "buy-priced-2" })).body.code).toBe("number_not_available");
    expect((await purchase(a.key, { e164: PRICED_2 }, headers)).body.code).toBe("idempotency_key_reused");
  });

  it("lets a short purchase be retried with the same Idempotency-Key after a top-up", async () => {
    const headers = { "idempotency-key": "buy-priced-2nd" };
    expect((await purchase(b.key, { e164: PRICED_2 }, headers)).status).toBe(402);
    await creditWallet(app.server.database.db, b.organizationId, 350, { kind: "credit" });
    // A failed request frees its key just after its response is sent: a retry arriving first is told to wait.
    let bought = await purchase(b.key, { e164: PRICED_2 }, headers);
    for (let i = 0; i < 50 && bought.body.code === "idempotency_in_progress"; i++) {
      expect(bought.headers.get("retry-after")).toBe("1");
      await Bun.sleep(20);
      bought = await purchase(b.key, { e164: PRICED_2 }, headers);
    }
    expect(bought.status).toBe(201);
    expect(bought.headers.get("idempotent-replayed")).toBeNull();
    expect(await balance(b.key)).toBe(0);
  });

  it("lists what the organization owns, newest first, and nothing of another's", async () => {
    const list = await app.api("GET", "/api/v1/numbers?limit=2", { key: a.key });
    expect(list.status).toBe(200);
    expect(list.body.data.map((n: { e164: string }) => n.e164)).toEqual([PRICED, FREE_2]);
    expect(list.body.pagination).toMatchObject({ limit: 2, hasMore: true });
    const next = await app.api("GET", `/api/v1/numbers?limit=2&cursor=${list.body.pagination.nextCursor}`, { key: a.key });
    expect(next.body.data.map((n: { e164: string }) => n.e164)).toEqual([FREE_1]);
    expect(next.body.pagination.hasMore).toBe(false);
    const theirs = await app.api("GET", "/api/v1/numbers", { key: b.key });
    expect(theirs.body.data.map((n: { e164: string }) => n.e164)).toEqual([PRICED_2, FREE_4]);
  });
});
