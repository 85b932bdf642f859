// Serves the embeddable widget's files at /widget/…: plain JS and CSS, no build step. They change with the server,
// so caches keep them only briefly; the embed snippet names loader.js, which loads the rest from the same base.
import { join } from "node:path";
import { Elysia } from "elysia";
import type { Conventions } from "../../api/context.ts";
import { notFound } from "../../platform/http/problem.ts";

const FILES: Record<string, string> = {
  "loader.js": "text/javascript; charset=utf-8",
  "chat.js": "text/javascript; charset=utf-8",
  "chat.css": "text/css; charset=utf-8",
};

export function widgetAssetRoutes(conventions: Conventions) {
  return new Elysia().use(conventions).get(
    "/widget/:file",
    ({ params, set }) => {
      const type = FILES[params.file];
      if (!type) throw notFound("widget file", params.file);
      set.headers["content-type"] = type;
      set.headers["cache-control"] = "public, max-age=300";
      return Bun.file(join(import.meta.dir, params.file));
    },
    { publicRoute: true, detail: { hide: true } },
  );
}
