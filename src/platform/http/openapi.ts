// The OpenAPI document (generated from the route schemas) at /api/v1/openapi.json and a browsable page at
// /api/v1/docs. The page's Swagger UI assets are served from the installed package: nothing loads from a CDN.
import { openapi } from "@elysiajs/openapi";
import { Elysia } from "elysia";
import { join } from "node:path";
import { SCOPES } from "../auth/scopes.ts";
import { SECURITY_SCHEME } from "./conventions.ts";

const ASSETS = join(import.meta.dir, "../../../node_modules/swagger-ui-dist");
const ASSET_TYPES: Record<string, string> = { "swagger-ui-bundle.js": "text/javascript", "swagger-ui.css": "text/css" };

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

  return new Elysia({ name: "flowyte-openapi" }).use(assets).use(
    openapi({
      path: "/api/v1/docs",
      specPath: "/api/v1/openapi.json",
      provider: "swagger-ui",
      swagger: {
        cdn: "/api/v1/docs/assets/swagger-ui-bundle.js",
        theme: "/api/v1/docs/assets/swagger-ui.css",
        autoDarkMode: false,
        persistAuthorization: true,
        ...({ url: "/api/v1/openapi.json" } as object),
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
