// An owned number's life over HTTP: import, assign, unassign, release back to the inventory; the inbound-routing
// lookup the voice bridge uses; other organizations and narrow keys kept out.
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { agentForDialedNumber } from "../../../src/api/numbers/service.ts";
import { startTestApp, type TestApp } from "../../support/app.ts";

const POOL_FREE = "+14155550301";
const POOL_PRICED = "+14155550302";
const POOL_BUY = "+12125550303";
const OFF_POOL = "+16465550399";

let app: TestApp;
let mine: { key: string; organizationId: string };
let theirs: { key: string; organizationId: string };
let agentId: string;
let otherAgentId: string;
let theirAgentId: string;

const call = (method: string, path: string, body?: unknown, key = mine.key) => app.api(method, `/api/v1${path}`, { key, body });
const createAgent = async (key: string, name: string) => (await app.api("POST", "/api/v1/agents", { key, body: { name } })).body.data.id as string;
const route = (e164: string) => agentForDialedNumber(app.server.database.db, e164, "US");

beforeAll(async () => {
  app = await startTestApp({ TRUNK_NUMBERS: [POOL_FREE, POOL_PRICED, POOL_BUY].join(",") });
  mine = await app.newOrg("Mine");
  theirs = await app.newOrg("Theirs");
  agentId = await createAgent(mine.key, "Front desk");
  otherAgentId = await createAgent(mine.key, "After hours");
  theirAgentId = await createAgent(theirs.key, "Elsewhere");
  await app.query(`update number_pool set monthly_cost_cents = 100 where e164 = '${POOL_PRICED}'`);
});
afterAll(() => app.stop());

describe("POST /numbers/import", () => {
  it("brings in a number the trunk routes but the inventory lacks, free, and assigns it in the same call", async () => {
    const res = await call("POST", "/numbers/import", { e164: "(646) 555-0399", agentId });
    expect(res.status).toBe(201);
    expect(res.body.data).toMatchObject({ e164: OFF_POOL, status: "assigned", defaultAgentId: agentId, monthlyCost: 0, provider: "sip-trunk" });
    expect(await app.query(`select id from wallet_transactions where organization_id = '${mine.organizationId}'`)).toEqual([]);
    expect(await route(OFF_POOL)).toEqual({ organizationId: mine.organizationId, agentId });
    // The trunk may present the dialed number without the plus.
    expect(await route("16465550399")).toEqual({ organizationId: mine.organizationId, agentId });
  });

  it("takes an unowned, unpriced inventory number without assigning it", async () => {
    const res = await call("POST", "/numbers/import", { e164: POOL_FREE });
    expect(res.status).toBe(201);
    expect(res.body.data).toMatchObject({ e164: POOL_FREE, status: "available", defaultAgentId: null });
    expect(await route(POOL_FREE)).toBeNull();
  });

  it("refuses numbers that are for sale, owned or held, and agents of another organization", async () => {
    const forSale = await call("POST", "/numbers/import", { e164: POOL_PRICED });
    expect(forSale.status).toBe(409);
    expect(forSale.body.code).toBe("number_for_sale");
    expect((await call("POST", "/numbers/import", { e164: OFF_POOL }, theirs.key)).body.code).toBe("number_not_available");
    expect((await call("POST", "/numbers/import", { e164: POOL_FREE })).body.code).toBe("number_not_available");

    await call("POST", "/numbers/reserve", { e164: POOL_BUY }, theirs.key);
    expect((await call("POST", "/numbers/import", { e164: POOL_BUY })).body.code).toBe("number_held");

    const foreignAgent = await call("POST", "/numbers/import", { e164: "+16465550398", agentId: theirAgentId });
    expect(foreignAgent.status).toBe(404);
    expect(foreignAgent.body.code).toBe("agent_not_found");
    expect(await app.query(`select e164 from number_pool where e164 = '+16465550398'`)).toEqual([]);
  });
});

describe("assign, unassign and release", () => {
  let numberId: string;

  it("points an owned number at an agent of the organization", async () => {
    numberId = (await call("GET", "/numbers")).body.data.find((n: { e164: string }) => n.e164 === POOL_FREE).id;
    const res = await call("POST", `/numbers/${numberId}/assign`, { agentId: otherAgentId });
    expect(res.status).toBe(200);
    expect(res.body.data).toMatchObject({ id: numberId, status: "assigned", defaultAgentId: otherAgentId });
    expect(await route(POOL_FREE)).toEqual({ organizationId: mine.organizationId, agentId: otherAgentId });
  });

  it("answers 404 for another organization's agent or number, and for unknown ids", async () => {
    const foreignAgent = await call("POST", `/numbers/${numberId}/assign`, { agentId: theirAgentId });
    expect(foreignAgent.status).toBe(404);
    expect(foreignAgent.body.code).toBe("agent_not_found");
    for (const [method, path, body] of [
      ["POST", `/numbers/${numberId}/assign`, { agentId: theirAgentId }],
      ["DELETE", `/numbers/${numberId}/assign`, undefined],
      ["DELETE", `/numbers/${numberId}`, undefined],
    ] as const) {
      const res = await call(method, path, body, theirs.key);
      expect({ path, method, status: res.status, code: res.body.code }).toEqual({ path, method, status: 404, code: "phone_number_not_found" });
    }
    expect((await call("POST", "/numbers/num_nope/assign", { agentId })).body.code).toBe("phone_number_not_found");
    expect((await call("POST", `/numbers/${numberId}/assign`, {})).status).toBe(400);
    expect((await call("GET", "/numbers", undefined, theirs.key)).body.data).toEqual([]);
    expect(await route(POOL_FREE)).toEqual({ organizationId: mine.organizationId, agentId: otherAgentId });
  });

  it("unassigns: the number stays owned, available, and rings no agent", async () => {
    const res = await call("DELETE", `/numbers/${numberId}/assign`);
    expect(res.status).toBe(200);
    expect(res.body.data).toMatchObject({ id: numberId, status: "available", defaultAgentId: null });
    expect(await route(POOL_FREE)).toBeNull();
    expect((await call("GET", "/numbers")).body.data.map((n: { id: string }) => n.id)).toContain(numberId);
  });

  it("stops routing to an agent once the agent is deleted", async () => {
    const temp = await createAgent(mine.key, "Temporary");
    await call("POST", `/numbers/${numberId}/assign`, { agentId: temp });
    expect(await route(POOL_FREE)).toEqual({ organizationId: mine.organizationId, agentId: temp });
    expect((await call("DELETE", `/agents/${temp}`)).status).toBe(200);
    expect(await route(POOL_FREE)).toBeNull();
  });

  it("releases for good: the number leaves the list, stops routing and returns to the inventory for anyone", async () => {
    const imported = (await call("GET", "/numbers")).body.data.find((n: { e164: string }) => n.e164 === OFF_POOL).id;
    const res = await call("DELETE", `/numbers/${imported}`);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ success: true, data: null, message: "number released" });
    expect((await call("DELETE", `/numbers/${imported}`)).status).toBe(404);
    expect((await call("POST", `/numbers/${imported}/assign`, { agentId })).status).toBe(404);
    expect((await call("GET", "/numbers")).body.data.map((n: { id: string }) => n.id)).not.toContain(imported);
    expect(await route(OFF_POOL)).toBeNull();

    const found = await call("GET", "/numbers/search?areaCode=646&bestEffort=false", undefined, theirs.key);
    expect(found.body.data.map((n: { e164: string }) => n.e164)).toEqual([OFF_POOL]);
    const bought = await call("POST", "/numbers/purchase", { e164: OFF_POOL }, theirs.key);
    expect(bought.status).toBe(201);
    expect(bought.body.data.id).not.toBe(imported);
    await call("POST", `/numbers/${bought.body.data.id}/assign`, { agentId: theirAgentId }, theirs.key);
    expect(await route(OFF_POOL)).toEqual({ organizationId: theirs.organizationId, agentId: theirAgentId });
  });
});

describe("scopes", () => {
  it("needs numbers:read to read and numbers:write to change anything", async () => {
    const reader = await app.keyWith(mine.organizationId, ["numbers:read"]);
    const writer = await app.keyWith(mine.organizationId, ["numbers:write"]);
    expect((await call("GET", "/numbers", undefined, reader)).status).toBe(200);
    expect((await call("GET", "/numbers/search", undefined, reader)).status).toBe(200);
    for (const [method, path, body] of [
      ["POST", "/numbers/reserve", { e164: POOL_PRICED }],
      ["POST", "/numbers/purchase", { e164: POOL_PRICED }],
      ["POST", "/numbers/import", { e164: "+16465550397" }],
      ["POST", "/numbers/num_x/assign", { agentId }],
      ["DELETE", "/numbers/num_x", undefined],
    ] as const) {
      const res = await call(method, path, body, reader);
      expect({ path, status: res.status, requiredScope: res.body.requiredScope }).toEqual({ path, status: 403, requiredScope: "numbers:write" });
    }
    const refused = await call("GET", "/numbers/search", undefined, writer);
    expect(refused.status).toBe(403);
    expect(refused.body.requiredScope).toBe("numbers:read");
  });
});
