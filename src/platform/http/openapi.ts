// The OpenAPI document (generated from the route schemas) at /api/v1/openapi.json and a browsable page at
// /api/v1/docs. The page's Swagger UI assets are served from the installed package: nothing loads from a CDN.
import { openapi } from "@elysiajs/openapi";
import { Elysia } from "elysia";
import { join } from "node:path";
import { SCOPES } from "../auth/scopes.ts";
import { BODY_PROBLEMS } from "./body.ts";
import { EVENT_STREAM_MARK } from "./docs.ts";
import { IDEMPOTENT_MARK, SECURITY_SCHEME } from "./conventions.ts";
import { IDEMPOTENCY_PROBLEMS } from "./idempotency.ts";
import { JSON_SHAPE_PROBLEMS } from "./json-shape.ts";
import { ProblemSchema, TITLES } from "./problem.ts";

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
interface ResponseObject {
  description?: string;
  content?: Record<string, { schema?: { title?: string } }>;
  "x-problem-codes"?: string[];
}
interface Operation {
  parameters?: { name: string; in: string }[];
  requestBody?: { content?: Record<string, unknown> };
  responses?: Record<string, ResponseObject>;
  [IDEMPOTENT_MARK]?: boolean;
  [EVENT_STREAM_MARK]?: { event: object; description: string };
}

/**
 * What the generator cannot see in a route's own schemas, added to the document it produced: the Idempotency-Key
 * header and its problems on the routes marked `idempotent` (the generator rebuilds `parameters` from the route's
 * params, query and headers, dropping a macro's), the body problems every route with a body can answer, and the
 * problem+json media type of error responses. Each error response names its codes in `x-problem-codes`.
 */
export function completeDocument(doc: { paths?: Record<string, Record<string, Operation>> }) {
  for (const item of Object.values(doc.paths ?? {})) {
    for (const op of Object.values(item)) {
      if (!op || typeof op !== "object" || !op.responses) continue;
      if (op[IDEMPOTENT_MARK]) {
        op.parameters ??= [];
        if (!op.parameters.some((p) => p.in === "header" && p.name.toLowerCase() === "idempotency-key")) op.parameters.push({ ...IDEMPOTENCY_HEADER });
        addProblems(op.responses, IDEMPOTENCY_PROBLEMS);
      }
      // The upload route's multipart body has problems of its own (file_too_large), which it documents itself.
      if (op.requestBody?.content?.["application/json"]) {
        addProblems(op.responses, BODY_PROBLEMS);
        addProblems(op.responses, JSON_SHAPE_PROBLEMS);
      }
      const stream = op[EVENT_STREAM_MARK];
      const ok = op.responses["200"];
      if (stream && ok) {
        // OpenAPI 3.1 cannot type the frames of a stream: the body is text, each frame's data is `x-event-schema`.
        ok.content = { ...ok.content, "text/event-stream": { schema: { type: "string", description: stream.description }, "x-event-schema": stream.event } as never };
        delete op[EVENT_STREAM_MARK];
      }
      for (const [status, response] of Object.entries(op.responses)) {
        if (Number(status) >= 400) op.responses[status] = asProblemResponse(response);
      }
    }
  }
  return doc;
}

function addProblems(responses: Record<string, ResponseObject>, problems: Problems) {
  for (const [status, { code, when }] of Object.entries(problems)) {
    const current = responses[status] ?? { description: TITLES[Number(status)] ?? `Response for status ${status}`, content: { "application/json": { schema: ProblemSchema } } };
    const codes = current["x-problem-codes"] ?? [];
    if (codes.includes(code)) continue;
    const generic = !current.description || /^Response for status \d+$/.test(current.description);
    responses[status] = {
      ...current,
      description: `${generic ? (TITLES[Number(status)] ?? "Error") : current.description}; \`${code}\`: ${when}`,
      "x-problem-codes": [...codes, code],
    };
  }
}

/** Error responses are RFC 9457 problem documents: say so in their media type. */
function asProblemResponse(response: ResponseObject): ResponseObject {
  const json = response.content?.["application/json"];
  if (!json || json.schema?.title !== ProblemSchema.title) return response;
  const { "application/json": _, ...rest } = response.content!;
  return { ...response, content: { "application/problem+json": json, ...rest } };
}

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

  const completed = new WeakSet<object>();
  return new Elysia({ name: "flowyte-openapi" })
    .use(assets)
    // The generator caches its document and hands back the same object: complete it once.
    .onAfterHandle(({ path, response }) => {
      if (path !== SPEC_PATH || !response || typeof response !== "object" || completed.has(response)) return;
      completeDocument(response as Parameters<typeof completeDocument>[0]);
      completed.add(response);
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
          title: "Flowyte V2 Control-Plane REST API (self-hosted)",
          version,
          description:
            "Base path /api/v1. Authenticate with `Authorization: Bearer flowyte_sk_live_…`; each operation lists the scope it needs. " +
            "Successes answer `{success, data}`; errors answer application/problem+json with a stable `code`. Lists are cursor-paginated.",
        },
        servers: [{ url: "/", description: "this installation" }],
        components: {
          securitySchemes: {
            [SECURITY_SCHEME]: {
              type: "http",
              scheme: "bearer",
              bearerFormat: "flowyte_sk_live_…",
              description: `Secret API key. Scopes (listed per operation): ${Object.entries(SCOPES)
                .map(([s, d]) => `\`${s}\` ${d}`)
                .join("; ")}.`,
            },
          },
        },
      },
    }),
  );
}
