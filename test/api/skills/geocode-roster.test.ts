import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { startTestApp, type TestApp } from "../../support/app.ts";

let app: TestApp;
let key: string;
let agentId: string;
beforeAll(async () => {
  app = await startTestApp();
  ({ key } = await app.newOrg());
  agentId = (await app.api("POST", "/api/v1/agents", { key, body: { name: "Dispatch" } })).body.data.id;
});
afterAll(() => app.stop());

const roster = (entries: unknown[], agent = agentId, k = key) => app.api("POST", `/api/v1/agents/${agent}/geocode-roster`, { key: k, body: { entries } });

describe("POST /agents/{id}/geocode-roster (offline data)", () => {
  it("places US ZIP codes and cities, and reports rows it cannot place without failing", async () => {
    const res = await roster([
      { label: "Beverly Hills", address: "9400 Wilshire Blvd, Beverly Hills, CA 90210", phone: "+13105550100" },
      { label: "Austin", address: "Austin, TX" },
      { label: "Nowhere", address: "qwerty asdfgh", phone: null },
    ]);
    expect(res.status).toBe(200);
    const { entries, geocoded, failed } = res.body.data;
    expect({ geocoded, failed }).toEqual({ geocoded: 2, failed: 1 });
    expect(entries[0]).toMatchObject({ label: "Beverly Hills", phone: "+13105550100", geocoded: true, formatted: "Beverly Hills, CA 90210", precision: "postal_code" });
    expect(entries[0].lat).toBeCloseTo(34.09, 1);
    expect(entries[0].lng).toBeCloseTo(-118.41, 1);
    expect(entries[1]).toMatchObject({ label: "Austin", phone: null, geocoded: true, formatted: "Austin, TX", precision: "city" });
    expect(entries[1].lat).toBeCloseTo(30.3, 0);
    expect(entries[2]).toEqual({ label: "Nowhere", address: "qwerty asdfgh", phone: null, lat: null, lng: null, geocoded: false, formatted: null, precision: null });
  });

  it("takes 1 to 100 entries", async () => {
    const many = Array.from({ length: 101 }, (_, i) => ({ label: `L${i}`, address: "90210" }));
    const tooMany = await roster(many);
    expect(tooMany.status).toBe(400);
    expect(tooMany.body.errors.map((e: { field: string }) => e.field)).toEqual(["entries"]);
    expect((await roster([])).status).toBe(400);
    const hundred = await roster(many.slice(0, 100));
    expect(hundred.status).toBe(200);
    expect(hundred.body.data.geocoded).toBe(100);
  });

  it("answers 404 for another organization's agent", async () => {
    const other = await app.newOrg();
    const res = await roster([{ label: "A", address: "90210" }], agentId, other.key);
    expect(res.status).toBe(404);
    expect(res.body.code).toBe("agent_not_found");
  });
});
