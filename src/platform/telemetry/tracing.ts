// OpenTelemetry traces, exported over OTLP/HTTP (JSON) when OTEL_EXPORTER_OTLP_ENDPOINT is set. Each app instance
// has a tracer provider of its own (a test process runs several apps, each maybe exporting elsewhere), so nothing
// is registered globally but the context manager (AsyncLocalStorage, one per process by nature). A span's context
// carries the tracer that made it: `traced()` anywhere below a traced entry point (an HTTP request, a call's turn)
// opens a child span with it, and costs one context lookup when tracing is off.
import { type Attributes, type Context, context, createContextKey, ROOT_CONTEXT, type Span, SpanKind, SpanStatusCode, trace, type Tracer, INVALID_SPAN_CONTEXT } from "@opentelemetry/api";
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import { ExportResultCode, W3CTraceContextPropagator } from "@opentelemetry/core";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-http";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { BatchSpanProcessor, type SpanExporter, TracerProvider } from "@opentelemetry/sdk-trace";
import type { Config } from "../../config.ts";
import type { Logger } from "../log.ts";

const TRACER = createContextKey("flowyte.tracer");
/** What `traced` hands its work when nothing is traced: setting attributes on it does nothing. */
export const NO_SPAN: Span = trace.wrapSpanContext(INVALID_SPAN_CONTEXT);
/** A failing collector is logged at most this often, not once per batch. */
const EXPORT_WARNING_INTERVAL_MS = 60_000;
/** How long a stopping server waits for its last spans to be exported (an unreachable collector is retried for longer). */
const SHUTDOWN_EXPORT_MS = 3000;

let contextManager: AsyncLocalStorageContextManager | null = null;
function enableContextPropagation() {
  if (contextManager) return;
  contextManager = new AsyncLocalStorageContextManager().enable();
  context.setGlobalContextManager(contextManager);
}

/**
 * A child span of the active trace around `work`, ended when it settles (an error marks it and is rethrown).
 * Outside a trace (tracing off, or work no traced entry point started) it only runs `work`.
 */
export function traced<T>(name: string, attributes: Attributes, work: (span: Span) => Promise<T>): Promise<T> {
  const active = context.active();
  const tracer = active.getValue(TRACER) as Tracer | undefined;
  return tracer ? inSpan(tracer, active, name, attributes, work) : work(NO_SPAN);
}

/**
 * A child span that is not made active, for something that ends elsewhere (the first audio packet of a reply).
 * Null outside a trace.
 */
export function startSpan(name: string, attributes: Attributes = {}): Span | null {
  const active = context.active();
  const tracer = active.getValue(TRACER) as Tracer | undefined;
  return tracer ? tracer.startSpan(name, { attributes }, active) : null;
}

function inSpan<T>(tracer: Tracer, parent: Context, name: string, attributes: Attributes, work: (span: Span) => Promise<T>): Promise<T> {
  return tracer.startActiveSpan(name, { attributes }, parent.setValue(TRACER, tracer), async (span) => {
    try {
      return await work(span);
    } catch (error) {
      span.recordException(error instanceof Error ? error : String(error));
      span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.message : String(error) });
      throw error;
    } finally {
      span.end();
    }
  });
}

export interface Tracing {
  /** A new trace of this app's around `work` (whatever trace the caller is in), e.g. one per turn of a call. */
  trace<T>(name: string, attributes: Attributes, work: (span: Span) => Promise<T>): Promise<T>;
  /** A server span for an HTTP request (continuing a W3C `traceparent` it carries), active while `handle` runs. */
  serve<T extends (...args: never[]) => unknown>(request: Request, handle: T): T;
  /** Export what is buffered (for a few seconds at most) and stop. Never fails: a lost span is not worth a failed stop. */
  shutdown(): Promise<void>;
}

export function createTracing(otel: Config["otel"], log: Logger): Tracing | null {
  if (!otel) return null;
  enableContextPropagation();
  const provider = new TracerProvider({
    resource: resourceFromAttributes({ "service.name": otel.serviceName }),
    spanProcessors: [new BatchSpanProcessor({ exporter: warnOnFailure(new OTLPTraceExporter({ url: otel.tracesUrl, headers: otel.headers }), otel.tracesUrl, log) })],
  });
  const tracer = provider.getTracer("flowyte");
  const propagator = new W3CTraceContextPropagator();
  const headerGetter = { keys: (h: Headers) => [...h.keys()], get: (h: Headers, key: string) => h.get(key) ?? undefined };
  return {
    trace: (name, attributes, work) => inSpan(tracer, ROOT_CONTEXT, name, attributes, work),
    serve(request, handle) {
      const parent = propagator.extract(ROOT_CONTEXT, request.headers, headerGetter);
      const span = tracer.startSpan(request.method, { kind: SpanKind.SERVER, attributes: { "http.request.method": request.method } }, parent);
      return context.bind(trace.setSpan(parent, span).setValue(TRACER, tracer), handle);
    },
    async shutdown() {
      const exported = provider.shutdown().catch((error) => log.warn(`could not export the last trace spans to ${otel.tracesUrl}`, { error }));
      await Promise.race([exported, new Promise((resolve) => setTimeout(resolve, SHUTDOWN_EXPORT_MS).unref())]);
    },
  };
}

function warnOnFailure(exporter: SpanExporter, url: string, log: Logger): SpanExporter {
  let warnedAt = -Infinity;
  return {
    export(spans, done) {
      exporter.export(spans, (result) => {
        if (result.code !== ExportResultCode.SUCCESS && Date.now() - warnedAt > EXPORT_WARNING_INTERVAL_MS) {
          warnedAt = Date.now();
          log.warn(`could not export ${spans.length} trace span(s) to ${url}; later failures within a minute are not logged`, { error: result.error });
        }
        done(result);
      });
    },
    shutdown: () => exporter.shutdown(),
    forceFlush: () => exporter.forceFlush?.() ?? Promise.resolve(),
  };
}
