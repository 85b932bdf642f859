// The HTTP side of telemetry: request counts and durations by route template (never the raw path, whose ids would
// make a series per resource) and, with tracing on, a server span around each request, used before anything else;
// and GET /metrics (Prometheus text, behind a bearer token when METRICS_TOKEN is set), used after the conventions.
import { type Span, SpanStatusCode, trace } from "@opentelemetry/api";
import { Elysia, StatusMap } from "elysia";
import { createHash, timingSafeEqual } from "node:crypto";
import { Problem } from "../http/problem.ts";
import type { Telemetry } from "./index.ts";

/** Anything else a client sends as a method is counted as `other`, so no client can mint series. */
const METHODS = new Set(["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]);
/** Probes and scrapes, every few seconds from every replica: counted, but a trace of each would drown the rest. */
const UNTRACED = new Set(["/health", "/ready", "/metrics"]);

export function requestTelemetry(telemetry: Telemetry) {
  const { metrics, tracing } = telemetry;
  const requests = new WeakMap<object, { started: number; span: Span | undefined }>();
  const plugin = new Elysia({ name: "flowyte-request-telemetry" });
  // Elysia's way to run the whole request (every hook and the handler) inside a function of ours, here the span's
  // context; the framework's own OpenTelemetry plugin does the same.
  if (tracing) {
    const serve = (handle: (...args: never[]) => unknown, request: Request) => (UNTRACED.has(new URL(request.url).pathname) ? handle : tracing.serve(request, handle));
    plugin.wrap(serve as unknown as Parameters<typeof plugin.wrap>[0]);
  }
  return plugin
    .onRequest((ctx) => {
      requests.set(ctx, { started: performance.now(), span: trace.getActiveSpan() });
    })
    .onAfterResponse({ as: "global" }, (ctx) => {
      const request = requests.get(ctx);
      if (!request) return;
      const { route: template, responseValue } = ctx as unknown as { route?: string; responseValue?: unknown };
      // A handler may set the status by name ("Not Found"): count it by its number all the same.
      const set = ctx.set.status ?? 200;
      const status = responseValue instanceof Response ? responseValue.status : typeof set === "number" ? set : (StatusMap[set as keyof typeof StatusMap] ?? 200);
      const method = METHODS.has(ctx.request.method) ? ctx.request.method : "other";
      const route = template || "unmatched";
      const labels = { method, route, status: String(status) };
      metrics.httpRequests.inc(labels);
      metrics.httpDuration.observe(labels, (performance.now() - request.started) / 1000);
      const { span } = request;
      if (!span) return;
      span.updateName(`${method} ${route}`);
      span.setAttributes({ "http.route": route, "http.response.status_code": status });
      if (status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
      span.end();
    });
}

export function metricsRoute(telemetry: Telemetry, metricsToken: string | null) {
  const { metrics } = telemetry;
  const expected = metricsToken === null ? null : digest(metricsToken);
  return new Elysia({ name: "flowyte-metrics" }).get(
    "/metrics",
    async ({ headers, set }) => {
      if (expected && !matches(headers.authorization, expected)) {
        throw new Problem(401, "unauthorized", "send the metrics token (METRICS_TOKEN) as Authorization: Bearer <token>", { headers: { "www-authenticate": 'Bearer realm="metrics"' } });
      }
      set.headers["content-type"] = metrics.contentType;
      set.headers["cache-control"] = "no-store";
      return metrics.render();
    },
    // For Prometheus, not API clients: described in the operator guide, not in the API document.
    { detail: { hide: true } },
  );
}

const digest = (value: string) => createHash("sha256").update(value).digest();

function matches(header: string | undefined, expected: Buffer): boolean {
  const token = header && /^Bearer\s+(\S+)\s*$/i.exec(header)?.[1];
  return Boolean(token) && timingSafeEqual(digest(token!), expected);
}
