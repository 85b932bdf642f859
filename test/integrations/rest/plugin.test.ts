// The rest plugin against the Petstore-like OpenAPI stand-in: discovery of its document, bindings compiled to frozen
// calls, each auth type, the provider's failures as the contract's codes, OAuth client-credentials tokens cached per
// connection and fetched again after a 401, and caller values that try to change the request staying encoded.
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import type { DiscoveredSchema, PluginError } from "../../../src/api/integrations/contract.ts";
import { PETSTORE_API_KEY, PETSTORE_BASIC, PETSTORE_BEARER, PETSTORE_CLIENT, PETSTORE_DOCUMENT, type PetstoreStandIn, startPetstore } from "../../support/petstore-stand-in.ts";
import { bind, context, plugin } from "./support.ts";

let store: PetstoreStandIn;
let apiKeyAuth: Record<string, unknown>;
let schema: DiscoveredSchema;

beforeAll(async () => {
  store = startPetstore();
  apiKeyAuth = { documentUrl: `${store.url}/openapi.json`, authType: "api_key_header", apiKeyName: "api_key", apiKey: PETSTORE_API_KEY };
  schema = await plugin.discover!(context(apiKeyAuth));
});
afterAll(() => store?.stop());

const failure = async (promise: Promise<unknown>): Promise<PluginError> => {
  try {
    await promise;
  } catch (error) {
    return error as PluginError;
  }
  throw new Error("expected a PluginError");
};

const getPet = () => bind(schema, { operation: "getPetById", inputs: [{ param: "pet_id", arg: "petId" }], projection: [{ path: "name", leaf: "name" }, { path: "status", leaf: "status" }, { path: ["category", "name"], leaf: "kind" }] });
const getUser = () => bind(schema, { operation: "getUserByName", inputs: [{ param: "user", arg: "username" }], projection: [{ path: "firstName", leaf: "first_name" }] });

describe("discovery (Petstore-like OpenAPI stand-in)", () => {
  it("turns the component schemas into objects with typed fields, allowed values, sensitivity and one-hop relationships", () => {
    expect(schema.objects.map((o) => o.name).sort()).toEqual(["Category", "Order", "Pet", "User", "getInventory_result"]);
    const pet = schema.objects.find((o) => o.name === "Pet")!;
    const field = (object: string, name: string) => schema.objects.find((o) => o.name === object)!.fields.find((f) => f.name === name)!;
    expect(field("Pet", "id")).toMatchObject({ type: "integer", primaryKey: true, unique: true, required: false });
    expect(field("Pet", "name")).toMatchObject({ type: "string", required: true });
    expect(field("Pet", "status").allowedValues).toEqual(["available", "pending", "sold"]);
    expect(field("Pet", "photoUrls").type).toBe("json");
    expect(field("Pet", "category")).toMatchObject({ type: "json", nativeType: "Category", references: { object: "Category", field: "id" } });
    expect(schema.relationships).toContainEqual({ name: "Pet.category", from: { object: "Pet", field: "category" }, to: { object: "Category", field: "id" } });
    expect(field("Order", "shipDate").type).toBe("datetime");
    expect(field("User", "email").sensitivity).toBe("contact");
    expect(field("User", "phone").sensitivity).toBe("contact");
    expect(field("User", "password").sensitivity).toBe("secret");
    // Parameters are fields of the operation's object, marked as such; one that names a field already there is that field.
    expect(field("Pet", "petId")).toMatchObject({ type: "integer", nativeType: "path parameter", unique: true, required: false });
    expect(pet.fields.filter((f) => f.name === "status")).toHaveLength(1);
    expect(field("User", "username")).toMatchObject({ type: "string", unique: true });
  });

  it("lists each operation on the object it returns or accepts, its call leading its description", () => {
    const ops = Object.fromEntries(schema.operations.map((o) => [o.name, o]));
    expect(Object.keys(ops).sort()).toEqual(["addPet", "deletePet", "findPetsByStatus", "getInventory", "getOrderById", "getPetById", "getUserByName"]);
    expect(ops.getPetById).toEqual({ name: "getPetById", object: "Pet", kind: "read", description: "GET /pet/{petId}\nFind pet by ID. Needs: petId." });
    expect(ops.findPetsByStatus).toMatchObject({ object: "Pet", kind: "read", description: "GET /pet/findByStatus?status\nFinds Pets by status." });
    expect(ops.addPet).toMatchObject({ object: "Pet", kind: "write", effect: "create" });
    expect(ops.getOrderById!.object).toBe("Order");
    // A DELETE without a body is about what its path's GET returns; its header parameter is not offered.
    expect(ops.deletePet).toEqual({ name: "deletePet", object: "Pet", kind: "write", effect: "delete", description: "DELETE /pet/{petId}\nDeletes a pet. Needs: petId." });
    expect(schema.objects.find((o) => o.name === "Pet")!.fields.some((f) => f.name === "api_key")).toBe(false);
  });

  it("names an operation without an operationId by its method and path", async () => {
    const document = { openapi: "3.1.0", info: { title: "Tiny" }, paths: { "/things/{id}": { delete: { responses: { "204": { description: "gone" } } } } } };
    const tiny = await plugin.discover!(context({ document: JSON.stringify(document), baseUrl: store.url, authType: "none" }));
    expect(tiny.operations).toEqual([{ name: "delete_things_id", object: "delete_things_id_params", kind: "write", effect: "delete", description: "DELETE /things/{id}\nNeeds: id." }]);
  });

  it("reads a YAML document given inline, and refuses one that is not OpenAPI 3 or has a remote $ref", async () => {
    const yaml = `openapi: "3.0.0"\ninfo: {title: Yaml}\npaths:\n  /ping:\n    get:\n      operationId: ping\n      responses: {"200": {description: ok}}\n`;
    expect((await plugin.discover!(context({ document: yaml, baseUrl: store.url, authType: "none" }))).operations.map((o) => o.name)).toEqual(["ping"]);
    const swagger = await failure(plugin.discover!(context({ document: { swagger: "2.0", paths: {} }, baseUrl: store.url, authType: "none" })));
    expect([swagger.code, swagger.message]).toEqual(["invalid_input", "only OpenAPI 3.x documents are supported (the document has no `openapi: 3.x`)"]);
    const remote = { openapi: "3.0.0", paths: { "/x": { get: { responses: { "200": { $ref: "https://evil.example/r.json" } } } } } };
    expect((await failure(plugin.discover!(context({ document: remote, baseUrl: store.url, authType: "none" })))).message).toContain("only local $refs are followed");
    const none = await failure(plugin.discover!(context({ baseUrl: store.url, authType: "none" })));
    expect([none.code, none.fields]).toEqual(["invalid_input", ["document", "documentUrl"]]);
  });
});

describe("bindings compiled and executed (Petstore-like OpenAPI stand-in)", () => {
  it("calls getPetById with the caller's id in the path and projects fields, one hop included", async () => {
    const compiled = getPet();
    expect(compiled).toMatchObject({ operation: "getPetById", method: "GET", path: "/pet/{petId}", pathArgs: [{ name: "petId", param: "pet_id" }], queryArgs: [], body: null });
    const result = await plugin.execute(compiled, { pet_id: 42 }, context(apiKeyAuth));
    expect(result).toEqual({ rows: [{ name: "Rex", status: "available", kind: "Dogs" }] });
    expect(store.requests.at(-1)).toMatchObject({ method: "GET", target: "/api/v3/pet/42", apiKey: PETSTORE_API_KEY, body: "" });
  });

  it("passes a query parameter and answers an array as rows", async () => {
    const compiled = bind(schema, { operation: "findPetsByStatus", inputs: [{ param: "status", arg: "status" }], projection: [{ path: "id", leaf: "pet_id" }, { path: "name", leaf: "name" }] });
    const result = await plugin.execute(compiled, { status: "available" }, context(apiKeyAuth));
    expect(result.rows).toEqual([
      { pet_id: 42, name: "Rex" },
      { pet_id: 8, name: "Felix" },
    ]);
    expect(store.requests.at(-1)!.target).toBe("/api/v3/pet/findByStatus?status=available");
  });

  it("writes a JSON body from caller parameters and operator constants, and projects what was created", async () => {
    const compiled = bind(schema, {
      operation: "addPet",
      isWrite: true,
      inputObjectMap: [
        { field: "name", param: "pet_name" },
        { field: "photoUrls", constant: null },
        { field: "status", constant: "pending" },
      ],
      projection: [{ path: "id", leaf: "pet_id" }],
    });
    expect(compiled).toMatchObject({ method: "POST", path: "/pet", pathArgs: [], queryArgs: [] });
    const result = await plugin.execute(compiled, { pet_name: "Nibbles" }, context(apiKeyAuth));
    expect(result.rows).toEqual([{ pet_id: 43 }]);
    expect(JSON.parse(store.requests.at(-1)!.body)).toEqual({ name: "Nibbles", photoUrls: null, status: "pending" });
  });

  it("deletes by the path parameter named as the write's key", async () => {
    const compiled = bind(schema, { operation: "deletePet", isWrite: true, sqlWrite: { keyColumn: "petId", keyParam: "pet_id" }, projection: [] });
    expect(compiled).toMatchObject({ method: "DELETE", path: "/pet/{petId}", pathArgs: [{ name: "petId", param: "pet_id" }], body: null });
    expect(await plugin.execute(compiled, { pet_id: 8 }, context(apiKeyAuth))).toEqual({ rows: [] });
    expect(store.requests.at(-1)).toMatchObject({ method: "DELETE", target: "/api/v3/pet/8", body: "" });
    expect((await failure(plugin.execute(getPet(), { pet_id: 8 }, context(apiKeyAuth)))).code).toBe("not_found");
    expect((await failure(plugin.execute(compiled, { pet_id: 8 }, context(apiKeyAuth)))).code).toBe("not_found");
  });

  it("refuses at compile time an argument that is not the operation's parameter, a path left unbound, and projecting a parameter", () => {
    const refuse = (run: () => unknown) => {
      try {
        run();
      } catch (error) {
        const e = error as PluginError;
        return [e.code, e.message, e.fields];
      }
      throw new Error("expected a refusal");
    };
    expect(refuse(() => bind(schema, { operation: "getPetById", inputs: [{ param: "pet_id", arg: "petId" }, { param: "name", arg: "name" }], projection: [{ path: "name", leaf: "name" }] }))).toEqual([
      "invalid_binding",
      '"name" is not a parameter of getPetById (it takes petId)',
      ["inputs[1].arg"],
    ]);
    expect(refuse(() => bind(schema, { operation: "getPetById", inputs: [], projection: [{ path: "name", leaf: "name" }] }))).toEqual([
      "invalid_binding",
      "getPetById needs petId in its path: bind it to a parameter",
      ["inputs"],
    ]);
    expect(refuse(() => bind(schema, { operation: "getPetById", inputs: [{ param: "pet_id", arg: "petId" }], projection: [{ path: "petId", leaf: "id" }] }))[1]).toBe(
      "petId is a parameter of the call, not a field it answers",
    );
  });
});

describe("auth types (Petstore-like OpenAPI stand-in)", () => {
  const base = () => ({ documentUrl: `${store.url}/openapi.json` });
  it.each([
    ["api_key_header", () => ({ apiKeyName: "api_key", apiKey: PETSTORE_API_KEY }), (r: PetstoreStandIn["requests"][0]) => expect(r.apiKey).toBe(PETSTORE_API_KEY)],
    ["api_key_query", () => ({ apiKeyName: "api_key", apiKey: PETSTORE_API_KEY }), (r: PetstoreStandIn["requests"][0]) => expect(r.target).toBe(`/api/v3/pet/42?api_key=${PETSTORE_API_KEY}`)],
    ["bearer", () => ({ token: PETSTORE_BEARER }), (r: PetstoreStandIn["requests"][0]) => expect(r.authorization).toBe(`Bearer ${PETSTORE_BEARER}`)],
    ["basic", () => PETSTORE_BASIC, (r: PetstoreStandIn["requests"][0]) => expect(r.authorization).toStartWith("Basic ")],
    ["oauth_client_credentials", () => ({ tokenUrl: `${store.url}/oauth/token`, ...PETSTORE_CLIENT, scope: "read:pets" }), (r: PetstoreStandIn["requests"][0]) => expect(r.authorization).toStartWith("Bearer tok-")],
  ])("%s authenticates the call", async (authType, extra, check) => {
    const result = await plugin.execute(getPet(), { pet_id: 42 }, context({ ...base(), authType, ...extra() }));
    expect(result.rows[0]).toMatchObject({ name: "Rex" });
    check(store.requests.at(-1)!);
  });

  it("a wrong key is refused, and the connection test's authentication check fails on it", async () => {
    const wrong = { ...apiKeyAuth, apiKey: "not-the-key" };
    const error = await failure(plugin.execute(getPet(), { pet_id: 42 }, context(wrong)));
    expect(error.code).toBe("refused");
    const checks = await plugin.test!(context(wrong));
    expect(checks.map((c) => [c.name, c.ok])).toEqual([
      ["document", true],
      ["reachability", true],
      ["authentication", false],
    ]);
  });

  it("an auth type missing what it needs is named", async () => {
    const checks = await plugin.test!(context({ ...base(), authType: "basic", username: "keeper" }));
    expect(checks).toEqual([{ name: "document", ok: false, ms: expect.any(Number), detail: "basic needs password" }]);
  });
});

describe("OAuth client credentials (Petstore-like OpenAPI stand-in)", () => {
  const oauth = () => ({ documentUrl: `${store.url}/openapi.json`, authType: "oauth_client_credentials", tokenUrl: `${store.url}/oauth/token`, ...PETSTORE_CLIENT });

  it("fetches one token per connection, reuses it, and fetches a new one once when the API answers 401", async () => {
    const connectionId = "conn_oauth_cache";
    const before = store.issued.length;
    await plugin.execute(getPet(), { pet_id: 42 }, context(oauth(), { connectionId }));
    await plugin.execute(getPet(), { pet_id: 7 }, context(oauth(), { connectionId }));
    expect(store.issued.length - before).toBe(1);
    const first = store.issued.at(-1);

    store.revokeTokens();
    const result = await plugin.execute(getPet(), { pet_id: 7 }, context(oauth(), { connectionId }));
    expect(result.rows).toEqual([{ name: "Tom", status: "sold", kind: "Cats" }]);
    expect(store.issued.length - before).toBe(2);
    const last = store.requests.slice(-2);
    expect(last.map((r) => r.authorization)).toEqual([`Bearer ${first}`, `Bearer ${store.issued.at(-1)}`]);

    // Another connection has its own token; a released one starts over.
    await plugin.execute(getPet(), { pet_id: 42 }, context(oauth(), { connectionId: "conn_oauth_other" }));
    expect(store.issued.length - before).toBe(3);
    await plugin.release!(connectionId);
    await plugin.execute(getPet(), { pet_id: 42 }, context(oauth(), { connectionId }));
    expect(store.issued.length - before).toBe(4);
  });

  it("renews a token whose announced lifetime has run out", async () => {
    store.tokenLifetime = 0;
    try {
      const before = store.issued.length;
      await plugin.execute(getPet(), { pet_id: 42 }, context(oauth(), { connectionId: "conn_oauth_short" }));
      await plugin.execute(getPet(), { pet_id: 42 }, context(oauth(), { connectionId: "conn_oauth_short" }));
      expect(store.issued.length - before).toBe(2);
    } finally {
      store.tokenLifetime = 3600;
    }
  });

  it("a token endpoint refusing the client is refused, and nothing is sent to the API", async () => {
    const sent = store.requests.length;
    const error = await failure(plugin.execute(getPet(), { pet_id: 42 }, context({ ...oauth(), clientSecret: "wrong-secret" })));
    expect([error.code, error.message]).toEqual(["refused", "the token endpoint refused the client credentials (401)"]);
    expect(store.requests.length).toBe(sent);
  });
});

describe("failures (Petstore-like OpenAPI stand-in)", () => {
  it.each([
    [{ pet_id: 404404 }, "not_found"],
    [{ pet_id: "abc" }, "invalid_input"],
    [{ pet_id: 500 }, "unavailable"],
    [{ pet_id: 777 }, "unavailable"],
  ])("%p fails as %s", async (args, code) => {
    expect((await failure(plugin.execute(getPet(), args, context(apiKeyAuth)))).code).toBe(code as PluginError["code"]);
  });

  it("a pet that already exists is a conflict, and one without a name invalid input", async () => {
    const compiled = bind(schema, { operation: "addPet", isWrite: true, inputObjectMap: [{ field: "id", param: "id" }, { field: "name", param: "name" }, { field: "photoUrls", constant: null }], projection: [{ path: "id", leaf: "id" }] });
    expect((await failure(plugin.execute(compiled, { id: 42, name: "Rex again" }, context(apiKeyAuth)))).code).toBe("conflict");
    expect((await failure(plugin.execute(compiled, { id: 50, name: "" }, context(apiKeyAuth)))).code).toBe("invalid_input");
  });

  it("an API that never answers is a timeout at the call's deadline", async () => {
    const error = await failure(plugin.execute(getPet(), { pet_id: 999 }, context(apiKeyAuth, { timeoutMs: 300 })));
    expect(error.code).toBe("timeout");
  });

  it("an API nobody listens at is unavailable", async () => {
    const gone = startPetstore();
    gone.stop();
    const error = await failure(plugin.execute(getPet(), { pet_id: 42 }, context({ ...apiKeyAuth, baseUrl: `${gone.url}/api/v3` })));
    expect(error.code).toBe("unavailable");
    expect(error.message).not.toContain(PETSTORE_API_KEY);
  });
});

describe("caller values stay values (Petstore-like OpenAPI stand-in)", () => {
  it.each([
    ["../admin", "/api/v3/user/..%2Fadmin"],
    ["../../openapi.json", "/api/v3/user/..%2F..%2Fopenapi.json"],
    ["grace?x=1", "/api/v3/user/grace%3Fx%3D1"],
    ["grace#frag", "/api/v3/user/grace%23frag"],
    ["zoë/ü", "/api/v3/user/zo%C3%AB%2F%C3%BC"],
    ["a%2Fb", "/api/v3/user/a%252Fb"],
  ])("%p goes into the path encoded", async (value, target) => {
    await failure(plugin.execute(getUser(), { user: value }, context(apiKeyAuth)));
    expect(store.requests.at(-1)!.target).toBe(target);
  });

  it("a dot-segment is refused before anything is sent", async () => {
    const sent = store.requests.length;
    for (const value of [".", ".."]) expect((await failure(plugin.execute(getUser(), { user: value }, context(apiKeyAuth)))).code).toBe("invalid_input");
    expect(store.requests.length).toBe(sent);
  });

  it("a query value cannot add parameters, nor override the API key", async () => {
    const compiled = bind(schema, { operation: "findPetsByStatus", inputs: [{ param: "status", arg: "status" }], projection: [{ path: "name", leaf: "name" }] });
    await failure(plugin.execute(compiled, { status: "sold&api_key=x#y" }, context(apiKeyAuth)));
    expect(store.requests.at(-1)!.target).toBe("/api/v3/pet/findByStatus?status=sold%26api_key%3Dx%23y");
    const byQuery = { ...apiKeyAuth, authType: "api_key_query" };
    const statusKey = bind(schema, { operation: "findPetsByStatus", inputs: [{ param: "api_key", arg: "status" }], projection: [{ path: "name", leaf: "name" }] });
    expect((await plugin.execute(statusKey, { api_key: "sold" }, context(byQuery))).rows).toEqual([{ name: "Tom" }]);
    expect(store.requests.at(-1)!.target).toBe(`/api/v3/pet/findByStatus?status=sold&api_key=${PETSTORE_API_KEY}`);
  });
});

describe("connection test (Petstore-like OpenAPI stand-in)", () => {
  it("checks the document, that the API answers, and the credentials on a GET that needs no parameter (optional ones left out)", async () => {
    const checks = await plugin.test!(context(apiKeyAuth));
    expect(checks.map((c) => [c.name, c.ok, c.detail])).toEqual([
      ["document", true, "Swagger Petstore - OpenAPI 3.0: 7 operations, 5 objects"],
      ["reachability", true, expect.stringContaining("answered")],
      ["authentication", true, "findPetsByStatus (GET /pet/findByStatus) answered 200"],
    ]);
  });

  it("skips the authentication check when no GET can be made without a parameter", async () => {
    const document = { ...PETSTORE_DOCUMENT, paths: { "/pet/{petId}": PETSTORE_DOCUMENT.paths["/pet/{petId}"] } };
    const checks = await plugin.test!(context({ document, baseUrl: `${store.url}/api/v3`, authType: "bearer", token: PETSTORE_BEARER }));
    expect(checks.at(-1)).toMatchObject({ name: "authentication", ok: true, detail: "skipped: no GET operation without parameters to try the credentials on" });
  });

  it("labels the connection with the API's title and host", () => {
    expect(plugin.accountLabel!({ document: PETSTORE_DOCUMENT, baseUrl: "https://petstore3.swagger.io/api/v3", authType: "none" } as never)).toBe("Swagger Petstore - OpenAPI 3.0 · petstore3.swagger.io");
    expect(plugin.accountLabel!({ documentUrl: "https://petstore3.swagger.io/api/v3/openapi.json", authType: "none" } as never)).toBe("petstore3.swagger.io");
  });
});
