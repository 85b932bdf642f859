// Number search over HTTP: the inventory seeded from TRUNK_NUMBERS, every filter, bestEffort widening, limits,
// the one-number re-check, and the operator's pool endpoint that describes and prices the trunk's numbers.
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { startTestApp, type TestApp } from "../../support/app.ts";

const SF_1 = "+14155550101";
const SF_2 = "+14155550102";
const SF_LUCKY = "+14155557777";
const NYC = "+12125550103";
const LA = "+13105550104";
const TOLL_FREE = "+18005550105";
const LONDON = "+442071230106";
const VANCOUVER = "+16045550107";
const TRUNK = [SF_1, SF_2, SF_LUCKY, NYC, LA, TOLL_FREE, LONDON, VANCOUVER];

let app: TestApp;
let key: string;

const search = async (query: string, k = key) => {
  const res = await app.api("GET", `/api/v1/numbers/search?${query}`, { key: k });
  expect(res.status).toBe(200);
  return res.body.data as { e164: string; bestEffort: boolean; [field: string]: unknown }[];
};
const e164s = (rows: { e164: string }[]) => rows.map((r) => r.e164);
const declare = (body: Record<string, unknown>, k = app.adminKey) => app.api("POST", "/api/v1/numbers/pool", { key: k, body });

beforeAll(async () => {
  app = await startTestApp({ TRUNK_NUMBERS: TRUNK.join(",") });
  ({ key } = await app.newOrg());
});
afterAll(() => app.stop());

describe("GET /numbers/search", () => {
  it("lists the trunk's numbers as a plain array of available numbers", async () => {
    const res = await app.api("GET", "/api/v1/numbers/search", { key });
    expect(res.status).toBe(200);
    expect(res.body.pagination).toBeUndefined();
    expect(e164s(res.body.data).sort()).toEqual([...TRUNK].sort());
    expect(res.body.data.find((n: { e164: string }) => n.e164 === SF_1)).toEqual({
      e164: SF_1,
      formatted: "(415) 555-0101",
      country: "US",
      numberType: "local",
      locality: null,
      region: null,
      rateCenter: null,
      features: ["voice"],
      monthlyCost: 0,
      setupCost: 0,
      currency: "USD",
      reservable: true,
      vanityFormat: null,
      bestEffort: false,
    });
  });

  it("reads country and number type from the number itself", async () => {
    expect(e164s(await search("country=GB"))).toEqual([LONDON]);
    expect(e164s(await search("country=ca"))).toEqual([VANCOUVER]);
    expect(e164s(await search("numberType=toll_free"))).toEqual([TOLL_FREE]);
    expect((await search("country=GB")).at(0)?.formatted).toBe("+44 2071230106");
  });

  it("matches area code, prefix, digits anywhere and the last digits exactly when bestEffort is false", async () => {
    expect(e164s(await search("areaCode=415&bestEffort=false"))).toEqual([SF_1, SF_2, SF_LUCKY]);
    expect(e164s(await search("startsWith=212555&bestEffort=false"))).toEqual([NYC]);
    expect(e164s(await search("contains=5557&bestEffort=false"))).toEqual([SF_LUCKY]);
    expect(e164s(await search("endsWith=0102&bestEffort=false"))).toEqual([SF_2]);
    expect(await search("areaCode=999&bestEffort=false")).toEqual([]);
  });

  it("reads vanity letters as keypad digits and spells the match", async () => {
    const [hit] = await search("endsWith=PQRS&bestEffort=false");
    expect(hit).toMatchObject({ e164: SF_LUCKY, vanityFormat: "+1 415555PQRS", bestEffort: false });
  });

  it("fills the answer with nearby numbers after the exact ones, widening the digits first, then the area code", async () => {
    const exactFirst = await search("areaCode=415&endsWith=0102");
    expect(exactFirst[0]).toMatchObject({ e164: SF_2, bestEffort: false });
    // The rest of the area code comes before any other area code once the last digits are dropped.
    expect(e164s(exactFirst.slice(1, 3)).sort()).toEqual([SF_1, SF_LUCKY]);
    expect(exactFirst.slice(1).every((n) => n.bestEffort)).toBe(true);
    expect(exactFirst).toHaveLength(TRUNK.length);

    const nothingExact = await search("areaCode=415&contains=9999");
    expect(e164s(nothingExact.slice(0, 3))).toEqual([SF_1, SF_2, SF_LUCKY]);
    expect(nothingExact.every((n) => n.bestEffort)).toBe(true);
  });

  it("never widens country, number type or features", async () => {
    expect(e164s(await search("country=GB&areaCode=415"))).toEqual([LONDON]);
    expect(e164s(await search("numberType=toll_free&endsWith=0000"))).toEqual([TOLL_FREE]);
    expect(await search("features=sms&areaCode=415")).toEqual([]);
  });

  it("honours limit from 1 to 50, default 20, and refuses values outside", async () => {
    expect(await search("limit=2")).toHaveLength(2);
    expect(await search("areaCode=415&limit=1")).toEqual([expect.objectContaining({ e164: SF_1, bestEffort: false })]);
    for (const limit of ["0", "51", "x"]) {
      const res = await app.api("GET", `/api/v1/numbers/search?limit=${limit}`, { key });
      expect(res.status).toBe(400);
      expect(res.body.code).toBe("validation_error");
    }
    for (let i = 0; i < 15; i++) expect((await declare({ e164: `+1628555${String(1000 + i)}` })).status).toBe(201);
    expect(await search("")).toHaveLength(20);
    expect(await search("limit=50")).toHaveLength(TRUNK.length + 15);
  });

  it("refuses unknown features, malformed patterns and bad countries", async () => {
    for (const query of ["features=voice,telepathy", "contains=55-5", "country=USA", "numberType=landline", "bestEffort=maybe"]) {
      const res = await app.api("GET", `/api/v1/numbers/search?${query}`, { key });
      expect({ query, status: res.status, code: res.body.code }).toEqual({ query, status: 400, code: "validation_error" });
    }
  });
});

describe("POST /numbers/pool", () => {
  it("lets the operator describe and price a trunk number, then search filters on it", async () => {
    const created = await declare({ e164: SF_1, locality: "San Francisco", administrativeArea: "CA", rateCenter: "SNFC CA", features: ["voice", "sms"] });
    expect(created.status).toBe(200); // already in the pool from TRUNK_NUMBERS
    expect(created.body.data).toMatchObject({ e164: SF_1, locality: "San Francisco", region: "CA", features: ["voice", "sms"], state: "free", provider: "sip-trunk" });
    expect((await declare({ e164: SF_2, locality: "San Francisco", administrativeArea: "CA", monthlyCost: 1.15, setupCost: 1 })).status).toBe(200);
    expect((await declare({ e164: LA, locality: "Los Angeles", administrativeArea: "CA" })).status).toBe(200);

    expect(e164s(await search("locality=san%20francisco&bestEffort=false"))).toEqual([SF_1, SF_2]);
    expect(e164s(await search("administrativeArea=ca&bestEffort=false"))).toEqual([LA, SF_1, SF_2]);
    // Dropping the city keeps the state: Los Angeles is the nearby answer, never New York.
    expect(e164s(await search("locality=Oakland&administrativeArea=CA"))).toEqual([LA, SF_1, SF_2]);
    expect(e164s(await search("features=voice&features=sms"))).toEqual([SF_1]);
    expect(e164s(await search("features=sms,voice"))).toEqual([SF_1]);
    const [priced] = await search(`endsWith=0102&bestEffort=false`);
    expect(priced).toMatchObject({ monthlyCost: 1.15, setupCost: 1, rateCenter: null });
  });

  it("adds numbers that are not in the configuration, with details read from the number", async () => {
    const res = await declare({ e164: "+1 (917) 555-0188" });
    expect(res.status).toBe(201);
    expect(res.body.data).toMatchObject({ e164: "+19175550188", country: "US", numberType: "local", features: ["voice"], state: "free", monthlyCost: 0 });
    expect(e164s(await search("areaCode=917&bestEffort=false"))).toEqual(["+19175550188"]);
  });

  it("is for the operator only: other organizations' keys are refused", async () => {
    const res = await declare({ e164: "+19175550189" }, key);
    expect(res.status).toBe(403);
    expect(res.body.code).toBe("operator_only");
    expect((await declare({ e164: "not a number" })).status).toBe(400);
  });

  it("removes a free number from the inventory, but not one that is held", async () => {
    expect((await app.api("DELETE", `/api/v1/numbers/pool/${encodeURIComponent("+19175550188")}`)).status).toBe(200);
    expect(await search("areaCode=917&bestEffort=false")).toEqual([]);
    expect((await app.api("DELETE", "/api/v1/numbers/pool/+19175550188")).body.code).toBe("number_not_found");

    expect((await app.api("POST", "/api/v1/numbers/reserve", { key, body: { e164: NYC } })).status).toBe(201);
    const held = await app.api("DELETE", `/api/v1/numbers/pool/${NYC}`);
    expect(held.status).toBe(409);
    expect(held.body.code).toBe("number_held");
  });
});

describe("GET /numbers/available/{e164}", () => {
  it("re-checks one number's price and availability", async () => {
    const res = await app.api("GET", `/api/v1/numbers/available/${encodeURIComponent(SF_2)}`, { key });
    expect(res.status).toBe(200);
    expect(res.body.data).toMatchObject({ e164: SF_2, monthlyCost: 1.15, setupCost: 1, currency: "USD" });
    expect((await app.api("GET", `/api/v1/numbers/available/${SF_2}`, { key })).status).toBe(200);
  });

  it("answers 404 once the number cannot be bought, and 400 for what is not a number", async () => {
    const other = await app.newOrg("Other");
    // NYC is held by the first organization (previous test): gone for everyone else, still there for the holder.
    const gone = await app.api("GET", `/api/v1/numbers/available/${NYC}`, { key: other.key });
    expect(gone.status).toBe(404);
    expect(gone.body.code).toBe("number_not_found");
    expect((await app.api("GET", `/api/v1/numbers/available/${NYC}`, { key })).body.data).toMatchObject({ e164: NYC, reservable: false });
    expect(e164s(await search("areaCode=212&bestEffort=false", other.key))).toEqual([]);
    expect((await app.api("GET", "/api/v1/numbers/available/+19995550000", { key })).status).toBe(404);
    expect((await app.api("GET", "/api/v1/numbers/available/hello", { key })).status).toBe(400);
  });
});
