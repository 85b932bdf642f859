// The OpenAPI document (generated from the route schemas) at /api/v1/openapi.json and a browsable page at
// /api/v1/docs. The page's Swagger UI assets are served from the installed package: nothing loads from a CDN.
import { openapi } from "@elysiajs/openapi";
import { Elysia } from "elysia";
import { join } from "node:path";
import { SCOPES } from "../auth/scopes.ts";
import { BODY_PROBLEMS } from "./body.ts";
import { IDEMPOTENT_MARK, SECURITY_SCHEME } from "./conventions.ts";
import { IDEMPOTENCY_PROBLEMS } from "./idempotency.ts";
import { JSON_SHAPE_PROBLEMS } from "./json-shape.ts";
import { ProblemSchema, TITLES } from "./problem.ts";
import { EVENT_STREAM, type EventStreamDoc } from "./sse.ts";

const ASSETS = join(import.meta.dir, "../../../node_modules/swagger-ui-dist");
const ASSET_TYPES: Record<string, string> = { "swagger-ui-bundle.js": "text/javascript", "swagger-ui.css": "text/css" };
const SPEC_PATH = "/api/v1/openapi.json";

const IDEMPOTENCY_HEADER = {
  name: "Idempotency-Key",
  in: "header",
  required: false,
  description: "Retry-safe key (1–255 chars). A retry with the same key and body replays the first result for 24 h.",
  schema: { type: "string", minLength: 1, maxLength: 255 },
};

type Problems = Record<number, { code: string; when: string }>;
const VALIDATION_PROBLEMS: Problems = { 400: { code: "validation_error", when: "a path, query or body value is invalid; `errors[]` names each" } };
/** Any operation can fail unexpectedly (storage down, a bug): a problem quoting the request id, never a stack trace. */
const INTERNAL_PROBLEMS: Problems = { 500: { code: "internal_error", when: "an unexpected failure; quote the requestId" } };
type Json = Record<string, unknown>;
interface ResponseObject {
  $ref?: string;
  description?: string;
  headers?: Json;
  content?: Record<string, { schema?: { title?: string; $id?: string } }>;
  "x-problem-codes"?: string[];
}
interface Operation {
  operationId?: string;
  parameters?: { name: string; in: string }[];
  requestBody?: { content?: Record<string, unknown> };
  responses?: Record<string, ResponseObject>;
  "x-problem-codes"?: Record<string, string[]>;
  [IDEMPOTENT_MARK]?: boolean;
  [EVENT_STREAM]?: EventStreamDoc;
}
export interface OpenApiDocument {
  openapi: string;
  info: Json;
  servers?: { url: string; description?: string }[];
  paths: Record<string, Record<string, Operation>>;
  components: { schemas?: Record<string, Json>; responses?: Record<string, ResponseObject>; securitySchemes?: Json };
  [key: string]: unknown;
}

/** Every documented operation lives under this base, which the document names as its server. */
export const API_BASE = "/api/v1";

/**
 * The reference names an agent `{id}` on the agent itself and its own actions, and `{agentId}` on everything hanging
 * off it (skills, playbooks, knowledge, …), whose own ids it names `{id}` again for playbooks, knowledge sources and
 * publishable keys. The router cannot follow it: one path segment has one parameter name for every route below it
 * (memoirist refuses `/agents/:agentId/skills` next to `/agents/:id/publish`), so routes use `:id` and the document
 * renames. Returns the documented path and the renames its parameters need.
 */
export function referencePath(routePath: string): { path: string; renames: Record<string, string> } {
  let path = routePath.startsWith(API_BASE) ? routePath.slice(API_BASE.length) : routePath;
  const renames: Record<string, string> = {};
  const rename = (from: string, to: string) => {
    path = path.replace(`{${from}}`, `{${to}}`);
    renames[from] = to;
  };
  if (path.startsWith("/agents/{id}/") && !AGENT_OWN_ACTIONS.test(path)) {
    rename("id", "agentId");
    for (const [segment, param] of SUB_RESOURCE_IDS) if (path.startsWith(`/agents/{agentId}/${segment}/{${param}}`)) rename(param, "id");
  }
  return { path, renames };
}
const AGENT_OWN_ACTIONS = /^\/agents\/\{id\}\/(publish|versions|versions\/\{versionId\}\/diff|prepublish-report|rollback|assist|voice)$/;
const SUB_RESOURCE_IDS = [
  ["playbooks", "playbookId"],
  ["knowledge/sources", "sourceId"],
  ["publishable-keys", "keyId"],
] as const;

/** The reference's operation names where known, readable ones where it names none. A route's `detail.operationId` wins. */
const OPERATION_IDS: Record<string, string> = {
  "GET /agents": "listAgents",
  "POST /agents": "createAgent",
  "GET /agents/{id}": "getAgent",
  "PATCH /agents/{id}": "updateAgent",
  "DELETE /agents/{id}": "deleteAgent",
  "POST /agents/{id}/publish": "publishAgent",
  "GET /agents/{id}/versions": "listAgentVersions",
  "GET /agents/{id}/versions/{versionId}/diff": "diffAgentVersion",
  "GET /agents/{id}/prepublish-report": "getPrepublishReport",
  "POST /agents/{id}/rollback": "rollbackAgent",
  "POST /agents/{id}/assist": "agentAssist",
  "POST /assist": "accountAssist",
  "PUT /agents/{id}/voice": "setAgentVoice",
  "POST /api-keys": "createApiKey",
  "GET /api-keys": "listApiKeys",
  "GET /api-keys/{id}": "getApiKey",
  "DELETE /api-keys/{id}": "revokeApiKey",
  "POST /api-keys/{id}/rotate": "rotateApiKey",
  "GET /audit-logs": "listAuditLogs",
  "GET /meta/account": "getAccount",
  "GET /meta/languages": "listLanguages",
  "GET /skill-types": "listSkillTypes",
  "GET /agents/{agentId}/skills": "listSkills",
  "POST /agents/{agentId}/skills": "createSkill",
  "GET /agents/{agentId}/skills/{skillId}": "getSkill",
  "PATCH /agents/{agentId}/skills/{skillId}": "updateSkill",
  "DELETE /agents/{agentId}/skills/{skillId}": "deleteSkill",
  "POST /agents/{agentId}/geocode-roster": "geocodeRoster",
  "GET /agents/{agentId}/playbooks": "listPlaybooks",
  "POST /agents/{agentId}/playbooks": "createPlaybook",
  "GET /agents/{agentId}/playbooks/{id}": "getPlaybook",
  "PATCH /agents/{agentId}/playbooks/{id}": "updatePlaybook",
  "DELETE /agents/{agentId}/playbooks/{id}": "deletePlaybook",
  "GET /agents/{agentId}/playbooks/{id}/graph": "getPlaybookGraph",
  "PUT /agents/{agentId}/playbooks/{id}/graph": "replacePlaybookGraph",
  "GET /agents/{agentId}/variables": "listVariables",
  "POST /agents/{agentId}/variables": "declareVariable",
  "PATCH /agents/{agentId}/variables/{name}": "updateVariable",
  "DELETE /agents/{agentId}/variables/{name}": "deleteVariable",
  "GET /agents/{agentId}/guardrails": "getGuardrails",
  "PUT /agents/{agentId}/guardrails": "replaceGuardrails",
  "PATCH /agents/{agentId}/guardrails": "patchGuardrails",
  "GET /agents/{agentId}/caller-verification": "getCallerVerification",
  "PUT /agents/{agentId}/caller-verification": "replaceCallerVerification",
  "PATCH /agents/{agentId}/caller-verification": "patchCallerVerification",
  "POST /agents/{agentId}/simulate": "simulateConversation",
  "POST /agents/{agentId}/talk-token": "createTalkToken",
  "POST /agents/{agentId}/probe/run": "runProbe",
  "GET /agents/{agentId}/probe/runs/{runId}": "getProbeRun",
  "GET /agents/{agentId}/probe/runs/{runId}/stream": "streamProbeRun",
  "POST /chat/sessions": "createChatSession",
  "GET /chat/sessions/{id}": "getChatSession",
  "GET /chat/sessions/{id}/messages": "listChatMessages",
  "POST /chat/sessions/{id}/messages": "sendChatMessage",
  "POST /chat/sessions/{id}/end": "endChatSession",
  "POST /chat/completions": "createChatCompletion",
  "GET /chat/widget/bootstrap": "getWidgetBootstrap",
  "POST /chat/widget/sessions": "createWidgetSession",
  "POST /chat/widget/sessions/{conversationId}/messages": "sendWidgetMessage",
  "GET /chat/widget/sessions/{conversationId}/messages": "listWidgetMessages",
  "GET /agents/{agentId}/publishable-keys": "listPublishableKeys",
  "POST /agents/{agentId}/publishable-keys": "createPublishableKey",
  "PATCH /agents/{agentId}/publishable-keys/{id}": "updatePublishableKey",
  "DELETE /agents/{agentId}/publishable-keys/{id}": "deletePublishableKey",
  "POST /agents/{agentId}/publishable-keys/{id}/rotate": "rotatePublishableKey",
  "GET /agents/{agentId}/widget": "getWidgetConfig",
  "PUT /agents/{agentId}/widget": "replaceWidgetConfig",
  "GET /agents/{agentId}/widget/embed": "getWidgetEmbed",
  "GET /conversations": "listConversations",
  "GET /conversations/{id}": "getConversation",
  "GET /conversations/{id}/transcript": "getConversationTranscript",
  "GET /conversations/{id}/receipt": "getConversationReceipt",
  "GET /agents/{agentId}/calls": "listAgentCalls",
  "POST /uploads": "createUpload",
  "GET /agents/{agentId}/knowledge/sources": "listKnowledgeSources",
  "POST /agents/{agentId}/knowledge/sources": "addKnowledgeSource",
  "GET /agents/{agentId}/knowledge/sources/{id}": "getKnowledgeSource",
  "PATCH /agents/{agentId}/knowledge/sources/{id}": "updateKnowledgeSource",
  "DELETE /agents/{agentId}/knowledge/sources/{id}": "deleteKnowledgeSource",
  "POST /agents/{agentId}/knowledge/sources/{id}/refresh": "refreshKnowledgeSource",
  "POST /agents/{agentId}/knowledge/preview": "previewKnowledge",
  "GET /agents/{agentId}/knowledge-gaps": "listKnowledgeGaps",
  "PATCH /agents/{agentId}/knowledge-gaps/{gapId}": "updateKnowledgeGap",
  "GET /numbers": "listNumbers",
  "GET /numbers/search": "searchNumbers",
  "GET /numbers/available/{e164}": "getAvailableNumber",
  "POST /numbers/reserve": "reserveNumber",
  "DELETE /numbers/reserve/{id}": "releaseReservation",
  "POST /numbers/purchase": "purchaseNumber",
  "POST /numbers/import": "importNumber",
  "POST /numbers/{id}/assign": "assignNumber",
  "DELETE /numbers/{id}/assign": "unassignNumber",
  "DELETE /numbers/{id}": "releaseNumber",
  "POST /numbers/pool": "addPoolNumber",
  "DELETE /numbers/pool/{e164}": "removePoolNumber",
  "GET /billing/wallet": "getWallet",
  "GET /billing/usage": "getUsage",
  "GET /billing/usage/items": "listUsageItems",
  "GET /voices": "listVoices",
  "GET /voices/facets": "getVoiceFacets",
  "POST /voices/search": "searchVoices",
};
const VERBS: Record<string, [collection: string, item: string]> = { get: ["list", "get"], post: ["create", "create"], put: ["replace", "replace"], patch: ["update", "update"], delete: ["delete", "delete"] };
const pascal = (segment: string) => segment.replace(/(^|[-_.])(\w)/g, (_, __, c: string) => c.toUpperCase());
/** An operation the table does not name (a route added without `detail.operationId`): verb + its path's words. */
function derivedOperationId(method: string, path: string): string {
  const segments = path.split("/").filter(Boolean);
  const verb = VERBS[method]?.[segments.at(-1)?.startsWith("{") ? 1 : 0] ?? method;
  return verb + segments.filter((s) => !s.startsWith("{")).map(pascal).join("");
}
/** The generator's own fallback (`getApiV1AgentsById`): replaced, a route that sets `detail.operationId` is kept. */
const GENERATED_OPERATION_ID = /^(get|post|put|patch|delete)ApiV1/;

/** Shared error responses, by status; each operation refers to one and says in its description which codes it answers. */
const SHARED_RESPONSES: Record<number, string> = {
  400: "ValidationError",
  401: "Unauthorized",
  402: "PaymentRequired",
  403: "Forbidden",
  404: "NotFound",
  409: "Conflict",
  410: "Gone",
  413: "PayloadTooLarge",
  415: "UnsupportedMediaType",
  422: "UnprocessableContent",
  428: "PreconditionRequired",
  429: "RateLimited",
  500: "InternalError",
  503: "ServiceUnavailable",
};
const SUCCESS_DESCRIPTIONS: Record<number, string> = { 200: "OK", 201: "Created", 202: "Accepted", 204: "No content" };
/** What the generator writes when a schema has no description. */
const GENERIC_DESCRIPTION = /^Response for status \d+$/;
const PROBLEM_NAME = "ProblemDetails";
const SCHEMA_NAME = /^[A-Z][A-Za-z0-9_]*$/;

/**
 * The generated document, reshaped as the reference's: paths relative to the `/api/v1` server with the reference's
 * parameter names, its operation names, named schemas (every TypeBox schema given an `$id` where it is defined) and
 * shared error responses under `components`, each referenced by `$ref`. Also adds what the generator cannot see in a
 * route's own schemas: the Idempotency-Key header and its problems on the routes marked `idempotent` (the generator
 * rebuilds `parameters` from the route's params, query and headers, dropping a macro's), and the body problems every
 * route with a body can answer. Each operation names its problem codes per status in `x-problem-codes`.
 * Routes outside `/api/v1` (health, readiness, metrics, widget assets) are left out: the server list is `/api/v1`,
 * and a client generated from the document must not call `/api/v1/health`.
 */
export function completeDocument(generated: object): OpenApiDocument {
  // A copy: the generated document holds the live TypeBox schemas the routes validate with.
  const doc = JSON.parse(JSON.stringify(generated)) as OpenApiDocument;
  const paths: OpenApiDocument["paths"] = {};
  const schemas: Record<string, Json> = {};
  const responses: Record<string, ResponseObject> = {};
  for (const [routePath, item] of Object.entries(doc.paths ?? {})) {
    if (!routePath.startsWith(`${API_BASE}/`)) continue;
    const { path, renames } = referencePath(routePath);
    for (const [method, op] of Object.entries(item)) {
      if (!op || typeof op !== "object" || !op.responses) continue;
      for (const p of op.parameters ?? []) if (p.in === "path" && renames[p.name]) p.name = renames[p.name]!;
      if (!op.operationId || GENERATED_OPERATION_ID.test(op.operationId)) op.operationId = OPERATION_IDS[`${method.toUpperCase()} ${path}`] ?? derivedOperationId(method, path);
      if (op[IDEMPOTENT_MARK]) {
        op.parameters ??= [];
        if (!op.parameters.some((p) => p.in === "header" && p.name.toLowerCase() === "idempotency-key")) op.parameters.push({ ...IDEMPOTENCY_HEADER });
        addProblems(op.responses, IDEMPOTENCY_PROBLEMS);
      }
      addProblems(op.responses, INTERNAL_PROBLEMS);
      // Path and query values are validated (and refused when the database could not store them) like bodies are.
      if (op.parameters?.some((p) => p.in === "path" || p.in === "query") || op.requestBody) addProblems(op.responses, VALIDATION_PROBLEMS);
      // The upload route's multipart body has problems of its own (file_too_large), which it documents itself.
      if (op.requestBody?.content?.["application/json"]) {
        addProblems(op.responses, BODY_PROBLEMS);
        addProblems(op.responses, JSON_SHAPE_PROBLEMS);
      }
      const stream = op[EVENT_STREAM];
      if (stream) documentEventStream(op, stream);
      delete op[EVENT_STREAM];
      const codes: Record<string, string[]> = {};
      for (const [status, response] of Object.entries(op.responses)) {
        if (response["x-problem-codes"]) codes[status] = response["x-problem-codes"];
        if (Number(status) >= 400) op.responses[status] = sharedProblemResponse(Number(status), response, responses);
        else if (GENERIC_DESCRIPTION.test(response.description ?? "")) response.description = SUCCESS_DESCRIPTIONS[Number(status)] ?? "Success";
      }
      if (Object.keys(codes).length) op["x-problem-codes"] = codes;
      (paths[path] ??= {})[method] = op;
    }
  }
  doc.paths = hoistSchemas(paths, schemas) as OpenApiDocument["paths"];
  const sharedResponses = hoistSchemas(responses, schemas) as Record<string, ResponseObject>;
  doc.components = { ...doc.components, schemas: sortedByKey(schemas), responses: sortedByKey(sharedResponses) };
  // The reference's version; the generator writes the latest 3.1 patch, which some tools do not know yet.
  doc.openapi = "3.1.0";
  return doc;
}

/** A schema with no type, reference or members: `t.Any()`, standing for the stream in a route's response schema. */
const isAny = (schema: Json | undefined) => !!schema && !["type", "$ref", "$id", "anyOf", "oneOf", "allOf", "properties", "enum", "const"].some((k) => k in schema);

/** The success response of a streaming route lists text/event-stream, and JSON only for what it answers without streaming. */
function documentEventStream(op: Operation, stream: EventStreamDoc) {
  const { description, event } = typeof stream === "string" ? { description: stream, event: undefined } : stream;
  const status = Object.keys(op.responses ?? {}).find((s) => s.startsWith("2"));
  if (!status) return;
  const response = op.responses![status]!;
  const content = (response.content ?? {}) as Record<string, { schema?: Json }>;
  const json = content["application/json"]?.schema;
  if (json && isAny(json)) delete content["application/json"];
  else if (json && Array.isArray(json.anyOf)) {
    const rest = (json.anyOf as Json[]).filter((member) => !isAny(member));
    content["application/json"] = { schema: rest.length === 1 ? rest[0]! : { ...json, anyOf: rest } };
  }
  content["text/event-stream"] = { schema: { type: "string", description }, ...(event ? { "x-event-schema": event as Json } : {}) };
  response.content = content as ResponseObject["content"];
}

function addProblems(responses: Record<string, ResponseObject>, problems: Problems) {
  for (const [status, { code, when }] of Object.entries(problems)) {
    const current = responses[status] ?? { description: TITLES[Number(status)] ?? `Response for status ${status}`, content: { "application/json": { schema: ProblemSchema } } };
    const codes = current["x-problem-codes"] ?? [];
    if (codes.includes(code)) continue;
    const generic = !current.description || GENERIC_DESCRIPTION.test(current.description);
    responses[status] = {
      ...current,
      description: `${generic ? (TITLES[Number(status)] ?? "Error") : current.description}; \`${code}\`: ${when}`,
      "x-problem-codes": [...codes, code],
    };
  }
}

const isProblemSchema = (schema: { title?: string; $id?: string } | undefined) => schema?.$id === PROBLEM_NAME || schema?.title === PROBLEM_NAME;

/**
 * An error response that is a plain problem document becomes a reference to the shared response for its status
 * (application/problem+json, RFC 9457), keeping the operation's own description, which names its codes.
 */
function sharedProblemResponse(status: number, response: ResponseObject, shared: Record<string, ResponseObject>): ResponseObject {
  const json = response.content?.["application/json"];
  const name = SHARED_RESPONSES[status];
  if (!json || !isProblemSchema(json.schema) || Object.keys(response.content!).length !== 1 || response.headers || !name) {
    if (!json || !isProblemSchema(json.schema)) return response;
    const { "application/json": _, ...rest } = response.content!;
    return { ...response, content: { "application/problem+json": json, ...rest } };
  }
  shared[name] ??= {
    description: TITLES[status] ?? "Error",
    ...(status === 429 ? { headers: { "Retry-After": { description: "Seconds to wait before retrying", schema: { type: "integer" } } } } : {}),
    content: { "application/problem+json": { schema: ProblemSchema } },
  };
  const description = response.description && !GENERIC_DESCRIPTION.test(response.description) ? response.description : (TITLES[status] ?? "Error");
  return { $ref: `#/components/responses/${name}`, description };
}

/**
 * Moves every schema that carries an `$id` (given where the schema is defined, e.g. `t.Object({…}, { $id: "Agent" })`)
 * to `components.schemas` under that name and leaves a `$ref` in its place. The generator inlines every schema, so
 * names are the only way to find one again; two different schemas under one name are a programming error.
 */
function hoistSchemas(node: unknown, schemas: Record<string, Json>): unknown {
  if (Array.isArray(node)) return node.map((n) => hoistSchemas(n, schemas));
  if (!node || typeof node !== "object") return node;
  const out: Json = {};
  for (const [k, v] of Object.entries(node)) out[k] = hoistSchemas(v, schemas);
  // Elysia (normalize on) sets additionalProperties: false on a route's schemas when it first compiles that route,
  // mutating the shared schema objects, and strips unknown fields from what it validates: say so for every object,
  // so the document does not depend on which routes have been called before it was generated.
  if (out.type === "object" && out.properties && !("additionalProperties" in out)) out.additionalProperties = false;
  // The generator folds `anyOf: [{enum}, {type: null}]` into `type: [..., "null"]` and keeps the enum without null,
  // which then refuses the null the server sends: a nullable enum lists null among its values.
  if (Array.isArray(out.type) && out.type.includes("null") && Array.isArray(out.enum) && !out.enum.includes(null)) out.enum = [...out.enum, null];
  const name = out.$id;
  if (typeof name !== "string" || !SCHEMA_NAME.test(name)) return out;
  const { $id: _, description, ...schema } = out;
  const existing = schemas[name];
  if (!existing) schemas[name] = description === undefined ? schema : { ...schema, description };
  else {
    const { description: _d, ...known } = existing;
    if (JSON.stringify(known) !== JSON.stringify(schema)) throw new Error(`two different schemas are named ${name} in the OpenAPI document: ${JSON.stringify(known)} and ${JSON.stringify(schema)}`);
  }
  const ref: Json = { $ref: `#/components/schemas/${name}` };
  if (description !== undefined && description !== schemas[name]!.description) ref.description = description;
  return ref;
}

const sortedByKey = <T>(record: Record<string, T>) => Object.fromEntries(Object.entries(record).sort(([a], [b]) => a.localeCompare(b)));

export function openApiDocs(version: string) {
  const assets = new Elysia().get(
    "/api/v1/docs/assets/:file",
    ({ params, set }) => {
      const type = ASSET_TYPES[params.file];
      if (!type) {
        set.status = 404;
        return "not found";
      }
      set.headers["content-type"] = type;
      set.headers["cache-control"] = "public, max-age=86400";
      return Bun.file(join(ASSETS, params.file));
    },
    { detail: { hide: true } },
  );

  const completed = new WeakMap<object, OpenApiDocument>();
  return new Elysia({ name: "flowyte-openapi" })
    .use(assets)
    // The generator caches its document and hands back the same object: reshape it once and answer the result.
    .onAfterHandle(({ path, response }) => {
      if (path !== SPEC_PATH || !response || typeof response !== "object") return;
      let doc = completed.get(response);
      if (!doc) completed.set(response, (doc = completeDocument(response)));
      return doc;
    })
    .use(
    openapi({
      path: "/api/v1/docs",
      specPath: SPEC_PATH,
      provider: "swagger-ui",
      swagger: {
        cdn: "/api/v1/docs/assets/swagger-ui-bundle.js",
        theme: "/api/v1/docs/assets/swagger-ui.css",
        autoDarkMode: false,
        persistAuthorization: true,
        ...({ url: SPEC_PATH } as object),
      },
      exclude: { paths: [/^\/api\/v1\/docs/] },
      documentation: {
        info: {
          title: "Flowyte V2 Control-Plane REST API",
          version,
          description:
            "Self-hosted. Base path /api/v1. Authenticate with `Authorization: Bearer flowyte_sk_live_…`; each operation lists the scope it needs. " +
            "Successes answer `{success, data}`; errors answer application/problem+json with a stable `code`. Lists are cursor-paginated.",
        },
        servers: [{ url: API_BASE, description: "versioned URI; additive in v1" }],
        components: {
          securitySchemes: {
            // Declared as the reference declares it: OAuth2 client credentials, so generators and validators see the
            // scope catalog; keys are not issued at the token URL, they are sent as `Authorization: Bearer`.
            [SECURITY_SCHEME]: {
              type: "oauth2",
              description:
                "Send a secret key as `Authorization: Bearer flowyte_sk_…` (publishable keys `flowyte_pk_…` reach only `chat:public` operations). " +
                "The OAuth2 flow is nominal: it declares the scope catalog; keys are minted with POST /api-keys or the admin command, never exchanged at the token URL.",
              flows: { clientCredentials: { tokenUrl: `${API_BASE}/api-keys`, scopes: { ...SCOPES } } },
            },
          },
        },
      },
    }),
  );
}
