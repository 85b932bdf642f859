// Metrics and traces: one Telemetry per app instance (its Prometheus registry and, when OTEL_EXPORTER_OTLP_ENDPOINT
// is set, its tracer), `traced()` for child spans anywhere below a traced entry point, and the HTTP side
// (`/metrics`, a server span and request metrics per route template).
import type { Attributes, Span } from "@opentelemetry/api";
import type { Config } from "../../config.ts";
import type { Logger } from "../log.ts";
import { Metrics } from "./metrics.ts";
import { createTracing, NO_SPAN, traced, type Tracing } from "./tracing.ts";

export { metricsRoute, requestTelemetry } from "./http.ts";
export { Metrics, type QueueDepths, vadThreadMetrics } from "./metrics.ts";
export { startSpan, traced } from "./tracing.ts";

export interface Telemetry {
  metrics: Metrics;
  /** Null when traces are not exported. */
  tracing: Tracing | null;
  /** A new trace around `work` (one per turn of a call), or just `work` without tracing. */
  trace<T>(name: string, attributes: Attributes, work: (span: Span) => Promise<T>): Promise<T>;
  shutdown(): Promise<void>;
}

export function createTelemetry(config: Pick<Config, "otel">, log: Logger): Telemetry {
  const tracing = createTracing(config.otel, log);
  return {
    metrics: new Metrics(),
    tracing,
    trace: (name, attributes, work) => (tracing ? tracing.trace(name, attributes, work) : work(NO_SPAN)),
    shutdown: async () => tracing?.shutdown(),
  };
}

/** One conversation turn: a span, and its duration in the turn latency histogram of its channel. */
export function observeTurn<T>(metrics: Metrics | undefined, channel: string, conversationId: string, turn: () => Promise<T>): Promise<T> {
  const started = performance.now();
  return traced("conversation.turn", { "conversation.id": conversationId, "conversation.channel": channel }, turn).finally(() =>
    metrics?.turnDuration.observe({ channel }, (performance.now() - started) / 1000),
  );
}
