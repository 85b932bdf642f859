// A stand-in for the Swagger Petstore (the OpenAPI 3 sample, https://petstore3.swagger.io/api/v3/openapi.json): a
// small subset of its published operations and schemas (getPetById, findPetsByStatus, addPet, getOrderById,
// deletePet, getInventory, getUserByName; Pet, Category, Tag, Order, User), served under /api/v3 with its document at
// /openapi.json. Auth follows its security schemes (the `api_key` header), plus a bearer token, an `api_key` query
// parameter, basic auth, and OAuth 2 client credentials at /oauth/token (RFC 6749 §4.4) for the other auth types.
// Some pet ids misbehave on purpose: 999 never answers, 500 fails, 777 answers too much.

export const PETSTORE_API_KEY = "special-key-7c1e";
export const PETSTORE_BEARER = "petstore-bearer-3f9a";
export const PETSTORE_BASIC = { username: "keeper", password: "hunter2-petstore" };
export const PETSTORE_CLIENT = { clientId: "petstore-client", clientSecret: "petstore-client-secret-91b2" };

const idParam = (name: string, description: string) => ({ name, in: "path", required: true, description, schema: { type: "integer", format: "int64" } });
const json = (schema: unknown) => ({ content: { "application/json": { schema } } });
const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });

export const PETSTORE_DOCUMENT = {
  openapi: "3.0.4",
  info: { title: "Swagger Petstore - OpenAPI 3.0", version: "1.0.27" },
  servers: [{ url: "/api/v3" }],
  paths: {
    "/pet": {
      post: {
        operationId: "addPet",
        summary: "Add a new pet to the store.",
        requestBody: { required: true, ...json(ref("Pet")) },
        responses: { "200": { description: "Successful operation", ...json(ref("Pet")) }, "400": { description: "Invalid input" }, "422": { description: "Validation exception" } },
      },
    },
    "/pet/findByStatus": {
      get: {
        operationId: "findPetsByStatus",
        summary: "Finds Pets by status.",
        parameters: [{ name: "status", in: "query", required: false, description: "Status values that need to be considered for filter", schema: { type: "string", default: "available", enum: ["available", "pending", "sold"] } }],
        responses: { "200": { description: "successful operation", ...json({ type: "array", items: ref("Pet") }) }, "400": { description: "Invalid status value" } },
      },
    },
    "/pet/{petId}": {
      get: {
        operationId: "getPetById",
        summary: "Find pet by ID.",
        parameters: [idParam("petId", "ID of pet to return")],
        responses: { "200": { description: "successful operation", ...json(ref("Pet")) }, "400": { description: "Invalid ID supplied" }, "404": { description: "Pet not found" } },
      },
      delete: {
        operationId: "deletePet",
        summary: "Deletes a pet.",
        parameters: [{ name: "api_key", in: "header", required: false, schema: { type: "string" } }, idParam("petId", "Pet id to delete")],
        responses: { "200": { description: "Pet deleted" }, "400": { description: "Invalid pet value" } },
      },
    },
    "/store/inventory": {
      get: {
        operationId: "getInventory",
        summary: "Returns pet inventories by status.",
        responses: { "200": { description: "successful operation", ...json({ type: "object", additionalProperties: { type: "integer", format: "int32" } }) } },
      },
    },
    "/store/order/{orderId}": {
      get: {
        operationId: "getOrderById",
        summary: "Find purchase order by ID.",
        parameters: [idParam("orderId", "ID of order that needs to be fetched")],
        responses: { "200": { description: "successful operation", ...json(ref("Order")) }, "404": { description: "Order not found" } },
      },
    },
    "/user/{username}": {
      get: {
        operationId: "getUserByName",
        summary: "Get user by user name.",
        parameters: [{ name: "username", in: "path", required: true, schema: { type: "string" } }],
        responses: { "200": { description: "successful operation", ...json(ref("User")) }, "404": { description: "User not found" } },
      },
    },
  },
  components: {
    schemas: {
      Order: {
        type: "object",
        properties: {
          id: { type: "integer", format: "int64" },
          petId: { type: "integer", format: "int64" },
          quantity: { type: "integer", format: "int32" },
          shipDate: { type: "string", format: "date-time" },
          status: { type: "string", description: "Order Status", enum: ["placed", "approved", "delivered"] },
          complete: { type: "boolean" },
        },
      },
      Category: { type: "object", properties: { id: { type: "integer", format: "int64" }, name: { type: "string" } } },
      User: {
        type: "object",
        properties: {
          id: { type: "integer", format: "int64" },
          username: { type: "string" },
          firstName: { type: "string" },
          lastName: { type: "string" },
          email: { type: "string" },
          password: { type: "string" },
          phone: { type: "string" },
          userStatus: { type: "integer", format: "int32", description: "User Status" },
        },
      },
      Tag: { type: "object", properties: { id: { type: "integer", format: "int64" }, name: { type: "string" } } },
      Pet: {
        required: ["name", "photoUrls"],
        type: "object",
        properties: {
          id: { type: "integer", format: "int64" },
          name: { type: "string" },
          category: ref("Category"),
          photoUrls: { type: "array", items: { type: "string" } },
          tags: { type: "array", items: ref("Tag") },
          status: { type: "string", description: "pet status in the store", enum: ["available", "pending", "sold"] },
        },
      },
    },
    securitySchemes: {
      api_key: { type: "apiKey", name: "api_key", in: "header" },
      bearer: { type: "http", scheme: "bearer" },
      client: { type: "oauth2", flows: { clientCredentials: { tokenUrl: "/oauth/token", scopes: { "read:pets": "read your pets" } } } },
    },
  },
  security: [{ api_key: [] }, { bearer: [] }, { client: [] }],
};

type Pet = { id: number; name: string; category?: { id: number; name: string }; photoUrls: string[]; tags?: { id: number; name: string }[]; status: string };

export interface PetstoreStandIn {
  url: string;
  /** Every request to the API (not the document or the token endpoint), as the server received its target. */
  requests: { method: string; target: string; authorization: string | null; apiKey: string | null; body: string }[];
  /** Tokens issued by /oauth/token, in order. */
  issued: string[];
  /** Every issued token stops working (the next API call with one answers 401). */
  revokeTokens(): void;
  /** The lifetime /oauth/token announces, in seconds. */
  tokenLifetime: number;
  stop(): void;
}

export function startPetstore(): PetstoreStandIn {
  const pets = new Map<number, Pet>([
    [42, { id: 42, name: "Rex", category: { id: 1, name: "Dogs" }, photoUrls: [], tags: [{ id: 1, name: "friendly" }], status: "available" }],
    [7, { id: 7, name: "Tom", category: { id: 2, name: "Cats" }, photoUrls: [], status: "sold" }],
    [8, { id: 8, name: "Felix", category: { id: 2, name: "Cats" }, photoUrls: [], status: "available" }],
  ]);
  const orders = new Map([[3, { id: 3, petId: 42, quantity: 1, shipDate: "2027-03-01T09:30:00.000Z", status: "approved", complete: false }]]);
  const valid = new Set<string>();
  const state: PetstoreStandIn = {
    url: "",
    requests: [],
    issued: [],
    tokenLifetime: 3600,
    revokeTokens: () => valid.clear(),
    stop: () => server.stop(true),
  };

  const authorized = (request: Request, url: URL) => {
    const authorization = request.headers.get("authorization");
    if (request.headers.get("api_key") === PETSTORE_API_KEY || url.searchParams.get("api_key") === PETSTORE_API_KEY) return true;
    if (authorization === `Bearer ${PETSTORE_BEARER}`) return true;
    if (authorization?.startsWith("Bearer ") && valid.has(authorization.slice(7))) return true;
    return authorization === `Basic ${btoa(`${PETSTORE_BASIC.username}:${PETSTORE_BASIC.password}`)}`;
  };

  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(request) {
      const url = new URL(request.url);
      if (url.pathname === "/openapi.json") return Response.json(PETSTORE_DOCUMENT);
      if (url.pathname === "/oauth/token") {
        const form = new URLSearchParams(await request.text());
        const basic = `Basic ${btoa(`${PETSTORE_CLIENT.clientId}:${PETSTORE_CLIENT.clientSecret}`)}`;
        if (request.method !== "POST" || form.get("grant_type") !== "client_credentials") return Response.json({ error: "unsupported_grant_type" }, { status: 400 });
        if (request.headers.get("authorization") !== basic) return Response.json({ error: "invalid_client" }, { status: 401 });
        const token = `tok-${state.issued.length + 1}-${crypto.randomUUID()}`;
        state.issued.push(token);
        valid.add(token);
        return Response.json({ access_token: token, token_type: "Bearer", expires_in: state.tokenLifetime, scope: form.get("scope") ?? "" });
      }
      // The request target as it arrived, before any decoding: what the tests check encoding against.
      const target = request.url.slice(request.url.indexOf("/", "http://".length));
      const body = await request.text();
      state.requests.push({ method: request.method, target, authorization: request.headers.get("authorization"), apiKey: request.headers.get("api_key"), body });
      if (!url.pathname.startsWith("/api/v3/")) return new Response("not found", { status: 404 });
      if (!authorized(request, url)) return Response.json({ code: 401, message: "unauthorized" }, { status: 401 });
      const path = url.pathname.slice("/api/v3".length);

      if (request.method === "GET" && path === "/store/inventory") {
        const counts: Record<string, number> = {};
        for (const pet of pets.values()) counts[pet.status] = (counts[pet.status] ?? 0) + 1;
        return Response.json(counts);
      }
      if (request.method === "GET" && path === "/pet/findByStatus") {
        const status = url.searchParams.get("status") ?? "available";
        if (!["available", "pending", "sold"].includes(status)) return Response.json({ code: 400, message: "Invalid status value" }, { status: 400 });
        return Response.json([...pets.values()].filter((p) => p.status === status));
      }
      if (request.method === "POST" && path === "/pet") {
        let pet: Partial<Pet>;
        try {
          pet = JSON.parse(body);
        } catch {
          return Response.json({ code: 400, message: "Invalid input" }, { status: 400 });
        }
        if (typeof pet.name !== "string" || !pet.name) return Response.json({ code: 422, message: "Validation exception" }, { status: 422 });
        const id = typeof pet.id === "number" ? pet.id : Math.max(...pets.keys()) + 1;
        if (pets.has(id)) return Response.json({ code: 409, message: "Pet exists" }, { status: 409 });
        const created: Pet = { id, name: pet.name, photoUrls: pet.photoUrls ?? [], status: pet.status ?? "available" };
        pets.set(id, created);
        return Response.json(created);
      }
      const pet = /^\/pet\/([^/]+)$/.exec(path);
      if (request.method === "GET" && pet) {
        const id = pet[1]!;
        if (id === "999") return new Promise<Response>(() => {}); // never answers
        if (id === "500") return Response.json({ code: 500, message: "boom" }, { status: 500 });
        if (id === "777") return Response.json({ id: 777, name: "x".repeat(1_200_000), photoUrls: [], status: "available" });
        if (!/^\d+$/.test(id)) return Response.json({ code: 400, message: "Invalid ID supplied" }, { status: 400 });
        const found = pets.get(Number(id));
        return found ? Response.json(found) : Response.json({ code: 404, message: "Pet not found" }, { status: 404 });
      }
      if (request.method === "DELETE" && pet) {
        return pets.delete(Number(pet[1])) ? new Response(null, { status: 200 }) : Response.json({ code: 404, message: "Pet not found" }, { status: 404 });
      }
      const order = /^\/store\/order\/([^/]+)$/.exec(path);
      if (request.method === "GET" && order) {
        const found = orders.get(Number(order[1]));
        return found ? Response.json(found) : Response.json({ code: 404, message: "Order not found" }, { status: 404 });
      }
      const user = /^\/user\/([^/]+)$/.exec(path);
      if (request.method === "GET" && user) {
        if (decodeURIComponent(user[1]!) !== "grace") return Response.json({ code: 404, message: "User not found" }, { status: 404 });
        return Response.json({ id: 1, username: "grace", firstName: "Grace", lastName: "Hopper", email: "grace@example.com", phone: "+14155550100", userStatus: 1 });
      }
      return Response.json({ code: 404, message: "not found" }, { status: 404 });
    },
  });
  state.url = server.url.origin;
  return state;
}
