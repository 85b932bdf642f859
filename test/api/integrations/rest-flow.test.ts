// A REST API bound end to end over the real app (Petstore-like OpenAPI stand-in): connect the rest provider with the
// document's URL and an API key, discover the document, bind getPetById with the caller's pet id as its path
// parameter and two fields projected, and have a conversation ask for a pet's status. The receipt names the
// integration and the operation; credentials never come back. Without EGRESS_ALLOWLIST the stand-in on 127.0.0.1
// cannot be reached at all.
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { agentBuilder } from "../../support/agent-builder.ts";
import { startTestApp, type TestApp } from "../../support/app.ts";
import { PETSTORE_API_KEY, type PetstoreStandIn, startPetstore } from "../../support/petstore-stand-in.ts";

let app: TestApp;
let store: PetstoreStandIn;

beforeAll(async () => {
  store = startPetstore();
  app = await startTestApp({ EGRESS_ALLOWLIST: "127.0.0.1" });
});
afterAll(async () => {
  await app?.stop();
  store?.stop();
});

const credentials = () => ({ documentUrl: `${store.url}/openapi.json`, authType: "api_key_header", apiKeyName: "api_key", apiKey: PETSTORE_API_KEY });

describe("a REST API from its OpenAPI document, end to end (Petstore-like OpenAPI stand-in)", () => {
  it("connects, discovers, binds getPetById and answers a caller asking for a pet's status", async () => {
    const { key } = await app.newOrg("Pet shop");
    const responses: string[] = [];
    const api = async (method: string, path: string, body?: unknown) => {
      const res = await app.api(method, `/api/v1${path}`, { key, body });
      responses.push(JSON.stringify(res.body));
      return res;
    };

    const catalog = await api("GET", "/integrations/catalog");
    expect(catalog.body.data.find((r: { kind: string }) => r.kind === "rest")).toMatchObject({ name: "REST API (OpenAPI)", category: "other" });
    const connected = await api("POST", "/integrations/rest/connect", { credentials: credentials() });
    expect(connected.status).toBe(200);
    expect(connected.body.data).toEqual({ status: "connected" });
    const list = await api("GET", "/integrations");
    expect(list.body.data.find((r: { kind: string }) => r.kind === "rest")).toMatchObject({ status: "connected", accountLabel: new URL(store.url).host });

    const discovered = await api("POST", "/integrations/rest/discover", {});
    expect(discovered.status).toBe(200);
    expect(discovered.body.data).toMatchObject({ objectCount: 5 });
    const pet = await api("GET", "/integrations/rest/objects/Pet");
    expect(pet.body.data.fields.find((f: { name: string }) => f.name === "petId")).toMatchObject({ type: "integer", nativeType: "path parameter" });
    const ops = await api("GET", "/integrations/rest/operations?object=Pet");
    expect(ops.body.data.map((o: { name: string }) => o.name).sort()).toEqual(["findPetsByStatus", "getPetById"]);

    const b = agentBuilder(app, key);
    const agent = await b.agent({ name: "Pet shop", greeting: "Hi! Ask me about any pet." });
    const binding = {
      toolName: "pet_status",
      description: "Look up a pet's status by its id",
      operation: "getPetById",
      inputs: [{ param: "pet_id", arg: "petId" }],
      projection: [
        { path: "name", leaf: "pet_name" },
        { path: "status", leaf: "status" },
      ],
    };
    // An argument the operation does not take is refused when the binding is saved, naming it.
    const wrong = await api("POST", `/agents/${agent.id}/integrations/rest/bindings`, { ...binding, toolName: "pet_by_name", inputs: [{ param: "pet_name", arg: "name" }] });
    expect(wrong.status).toBe(400);
    expect(wrong.body.errors).toContainEqual({ field: "inputs[0].arg", message: '"name" is not a parameter of getPetById (it takes petId)' });
    const bound = await api("POST", `/agents/${agent.id}/integrations/rest/bindings`, binding);
    expect(bound.status).toBe(200);
    expect(bound.body.data).toMatchObject({ skillType: "native_rest", isEnabled: true, isWrite: false });

    const run = await b.simulate(agent.id, { transcript: ["What's the status of pet 42?"] });
    expect(run.status).toBe(200);
    const call = run.events.find((e) => e.eventType === "tool_call")!;
    expect(call.payload).toMatchObject({ integration: "rest", operation: "getPetById", arguments: { pet_id: 42 }, status: "ok" });
    expect(call.payload.result).toEqual({ pet_name: "Rex", status: "available" });
    expect(run.said.join(" ")).toContain("available");
    expect(store.requests.at(-1)).toMatchObject({ method: "GET", target: "/api/v3/pet/42", apiKey: PETSTORE_API_KEY });

    for (const text of [...responses, run.raw]) expect(text).not.toContain(PETSTORE_API_KEY);
  });
});

describe("egress to the REST API (Petstore-like OpenAPI stand-in)", () => {
  let closed: TestApp;
  beforeAll(async () => {
    closed = await startTestApp({ EGRESS_ALLOWLIST: "" });
  });
  afterAll(() => closed?.stop());

  it("refuses to connect an API on a loopback address when EGRESS_ALLOWLIST does not name it", async () => {
    const { key } = await closed.newOrg("Closed shop");
    const fetched = store.requests.length;
    const refused = await closed.api("POST", "/api/v1/integrations/rest/connect", { key, body: { credentials: credentials() } });
    expect(refused.status).toBe(400);
    expect(refused.body.code).toBe("connection_failed");
    expect(refused.body.detail).toContain("EGRESS_ALLOWLIST");
    expect(store.requests.length).toBe(fetched);
    const list = await closed.api("GET", "/api/v1/integrations", { key });
    expect(list.body.data.find((r: { kind: string; status: string }) => r.kind === "rest" && r.status === "connected")).toBeUndefined();
  });
});
