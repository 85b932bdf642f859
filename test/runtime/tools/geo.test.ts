import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { randomBytes } from "node:crypto";
import { createSealer } from "../../../src/platform/crypto.ts";
import { distanceMiles, nominatimGeocoder, offlineGeocoder, type Geocoder } from "../../../src/platform/geo/index.ts";
import { createLogger } from "../../../src/platform/log.ts";
import { createSkillRunner, type SkillOutcome } from "../../../src/runtime/tools/index.ts";
import { callContext, compiledSkill } from "../../support/skills-compiled.ts";

const runnerWith = (geocoder: Geocoder) =>
  createSkillRunner({ sealer: createSealer(randomBytes(32)), config: { egressAllowlist: [], smtp: null }, geocoder, log: createLogger("error", () => {}) });
const run = runnerWith(offlineGeocoder());
const dataOf = (outcome: SkillOutcome) => {
  if (outcome.kind !== "result") throw new Error(`expected a result, got ${JSON.stringify(outcome)}`);
  return outcome.data;
};

// Austin, TX (78701) to Round Rock, TX (78664) is about 18 miles; to Dallas (75201) about 180.
const serviceArea = compiledSkill("geo", { action: "check_service_area", origin_address: "100 Congress Ave, Austin, TX 78701", radius_miles: 25 });
const locations = [
  { label: "Dallas branch", address: "Dallas, TX 75201", phone: "+12145550100", lat: 32.79, lng: -96.8 },
  { label: "Austin branch", address: "Austin, TX 78701", phone: "+15125550100", lat: 30.27, lng: -97.74 },
  { label: "Houston branch", address: "Houston, TX 77002", lat: 29.76, lng: -95.36 },
];
const nearest = compiledSkill("geo", { action: "find_nearest_location", locations });

describe("geo executor (offline data)", () => {
  it("check_service_area: inside the radius", async () => {
    const outcome = await run(serviceArea, { address: "Round Rock, TX 78664" }, callContext());
    expect(outcome).toEqual({ kind: "result", data: { inArea: true, distanceMiles: expect.any(Number), origin: "Austin, TX 78701", address: "Round Rock, TX 78664" } });
    const miles = dataOf(outcome).distanceMiles as number;
    expect(miles).toBeGreaterThan(10);
    expect(miles).toBeLessThan(25);
  });

  it("check_service_area: outside the radius, with the caller's address from the first text argument", async () => {
    const outcome = await run(serviceArea, { where: "Dallas, TX" }, callContext());
    expect(outcome).toMatchObject({ kind: "result", data: { inArea: false, address: "Dallas, TX" } });
    expect(dataOf(outcome).distanceMiles).toBeGreaterThan(150);
  });

  it("find_nearest_location: the closest roster entry with its distance", async () => {
    expect(await run(nearest, { address: "78664" }, callContext())).toEqual({
      kind: "result",
      data: { label: "Austin branch", address: "Austin, TX 78701", phone: "+15125550100", distanceMiles: expect.any(Number) },
    });
    expect(await run(nearest, { address: "Galveston, TX" }, callContext())).toMatchObject({ data: { label: "Houston branch", phone: null } });
  });

  it("answers address_not_found for an address it cannot place", async () => {
    expect(await run(nearest, { address: "the moon" }, callContext())).toMatchObject({ kind: "error", code: "address_not_found" });
    expect(await run(nearest, {}, callContext())).toMatchObject({ kind: "error", code: "address_not_found" });
  });
});

describe("distance", () => {
  it("is the great-circle distance in miles", () => {
    // JFK to LAX: about 2,470 miles on a sphere (2,475 on the WGS-84 ellipsoid).
    expect(distanceMiles({ lat: 40.6413, lng: -73.7781 }, { lat: 33.9416, lng: -118.4085 })).toBeCloseTo(2470, -1);
    expect(distanceMiles({ lat: 1, lng: 1 }, { lat: 1, lng: 1 })).toBe(0);
  });
});

describe("a configured Nominatim-compatible geocoder", () => {
  let server: ReturnType<typeof Bun.serve>;
  const queries: URLSearchParams[] = [];
  beforeAll(() => {
    // Stand-in for Nominatim's /search API (format=jsonv2): a JSON array of places, best first.
    server = Bun.serve({
      port: 0,
      hostname: "127.0.0.1",
      fetch(req) {
        const url = new URL(req.url);
        queries.push(url.searchParams);
        if (url.pathname !== "/search") return new Response("not found", { status: 404 });
        const q = url.searchParams.get("q") ?? "";
        if (q.includes("Downing")) return Response.json([{ lat: "51.5033", lon: "-0.1276", display_name: "10 Downing Street, London, SW1A 2AA, United Kingdom" }]);
        if (q.includes("Buckingham")) return Response.json([{ lat: "51.5014", lon: "-0.1419", display_name: "Buckingham Palace, London" }]);
        return Response.json([]);
      },
    });
  });
  afterAll(() => server.stop(true));

  it("places street addresses anywhere, and reports unknown ones as not found", async () => {
    const geocoder = nominatimGeocoder(`http://127.0.0.1:${server.port}`, "flowyte-test");
    expect(await geocoder.geocode("10 Downing St, London")).toEqual({ lat: 51.5033, lng: -0.1276, formatted: "10 Downing Street, London, SW1A 2AA, United Kingdom", precision: "address" });
    expect(Object.fromEntries(queries.at(-1)!)).toEqual({ format: "jsonv2", limit: "1", q: "10 Downing St, London" });
    expect(await geocoder.geocode("nowhere at all")).toBeNull();

    const runWith = runnerWith(geocoder);
    const area = compiledSkill("geo", { action: "check_service_area", origin_address: "10 Downing St, London", radius_miles: 1 });
    expect(await runWith(area, { address: "Buckingham Palace" }, callContext())).toMatchObject({ kind: "result", data: { inArea: true } });
  });

  it("answers geocoder_unavailable when the geocoder does not answer", async () => {
    const down = runnerWith(nominatimGeocoder("http://127.0.0.1:9", "flowyte-test"));
    expect(await down(nearest, { address: "Austin, TX" }, callContext())).toMatchObject({ kind: "error", code: "geocoder_unavailable" });
  });
});
