// The Prometheus metrics of one app instance, in a registry of its own (a test process runs several apps; the
// library's global registry would refuse the second one's metrics). Process metrics (CPU, memory, event loop, GC)
// belong to the process, not to an app: they are collected once and shown by every app's /metrics.
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from "prom-client";

/** Queue depth by state, read when Prometheus scrapes (pg-boss keeps the counts, refreshed every few seconds). */
export type QueueDepths = () => Promise<{ queue: string; queued: number; active: number; failed: number }[]>;

let processRegistry: Registry | null = null;
function processMetrics(): Registry {
  if (!processRegistry) {
    processRegistry = new Registry();
    collectDefaultMetrics({ register: processRegistry });
  }
  return processRegistry;
}

/**
 * The voice activity detection threads belong to the process (voice/speech/threads.ts), not to an app, so their
 * metrics do too: every app's /metrics shows them.
 */
const vadThreadRegistry = new Registry();
export const vadThreadMetrics = {
  backlog: new Gauge({
    name: "flowyte_vad_backlog_seconds",
    help: "Call audio waiting on each voice activity detection thread (the most for one call): how late its speech events are",
    labelNames: ["thread"] as const,
    registers: [vadThreadRegistry],
  }),
  overloads: new Counter({
    name: "flowyte_vad_overloads_total",
    help: "Times a voice activity detection thread fell behind its calls' audio by more than half a second (a warn log says so too)",
    registers: [vadThreadRegistry],
  }),
};

/** Seconds; from a fast API read to a slow brain turn. */
const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
/** Seconds a 20 ms frame left after its due time: under a frame is fine, several frames is audible. */
const LATENESS_BUCKETS = [0.001, 0.002, 0.005, 0.01, 0.02, 0.04, 0.08, 0.16];

/** Each optional dependency's status as `/ready` reports it (platform/health.ts). */
export type DependencyStatuses = () => Promise<Record<string, "up" | "down" | "not_configured">>;

export class Metrics {
  readonly registry = new Registry();
  private queueDepths: QueueDepths | null = null;
  private dependencyStatuses: DependencyStatuses | null = null;

  readonly httpRequests = new Counter({
    name: "flowyte_http_requests_total",
    help: "HTTP requests answered, by method, route template (`unmatched` for unknown paths) and status",
    labelNames: ["method", "route", "status"] as const,
    registers: [this.registry],
  });
  readonly httpDuration = new Histogram({
    name: "flowyte_http_request_duration_seconds",
    help: "Time from a request's arrival to its response (the headers, for a stream), by method, route template and status",
    labelNames: ["method", "route", "status"] as const,
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });
  readonly turnDuration = new Histogram({
    name: "flowyte_turn_duration_seconds",
    help: "Time the runtime took to answer one caller input (brain, skills, retrieval and storage), by channel",
    labelNames: ["channel"] as const,
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });
  readonly callsInProgress = new Gauge({
    name: "flowyte_calls_in_progress",
    help: "Voice calls in progress on this replica, by source (voice: phone calls; talk: in-browser tests)",
    labelNames: ["source"] as const,
    registers: [this.registry],
  });
  readonly rtpLateness = new Histogram({
    name: "flowyte_rtp_send_lateness_seconds",
    help: "How late each outbound RTP frame left after its 20 ms slot (timer and event-loop delay)",
    buckets: LATENESS_BUCKETS,
    registers: [this.registry],
  });
  readonly jobFailures = new Counter({
    name: "flowyte_job_failures_total",
    help: "Background job attempts that failed on this replica (each is retried while attempts remain), by queue",
    labelNames: ["queue"] as const,
    registers: [this.registry],
  });
  readonly jobQueue = new Gauge({
    name: "flowyte_job_queue_jobs",
    help: "Jobs in each queue by state (queued, active, failed: failures still retained), across every replica",
    labelNames: ["queue", "state"] as const,
    registers: [this.registry],
    collect: () => this.collectQueues(),
  });
  readonly ingestions = new Counter({
    name: "flowyte_knowledge_ingestions_total",
    help: "Knowledge source readings by outcome (indexed, unchanged: a refresh found the same content, failed)",
    labelNames: ["outcome"] as const,
    registers: [this.registry],
  });
  readonly webhookCalls = new Counter({
    name: "flowyte_webhook_calls_total",
    help: "http_webhook skill calls by outcome (ok, error, timeout)",
    labelNames: ["outcome"] as const,
    registers: [this.registry],
  });

  readonly dependencyUp = new Gauge({
    name: "flowyte_dependency_up",
    help: "1 when an optional dependency (meilisearch, llm, embeddings, speech) answers its health probe, 0 when not; configured ones only",
    labelNames: ["dependency"] as const,
    registers: [this.registry],
    collect: () => this.collectDependencies(),
  });
  readonly rateLimitStoreErrors = new Counter({
    name: "flowyte_rate_limit_store_errors_total",
    help: "Requests let through unlimited because the rate limit store (Postgres or Redis) failed or was late, by limit",
    labelNames: ["limit"] as const,
    registers: [this.registry],
  });

  /** Where the dependency gauge reads its statuses from (cached probes: a scrape never piles requests on them). */
  watchDependencies(statuses: DependencyStatuses) {
    this.dependencyStatuses = statuses;
  }

  /** Where the job queue gauge reads its numbers from (the job runner, once it exists). */
  watchQueues(depths: QueueDepths) {
    this.queueDepths = depths;
  }

  /** The exposition text: this app's metrics and the process's. */
  render(): Promise<string> {
    return Registry.merge([this.registry, processMetrics(), vadThreadRegistry]).metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  private async collectDependencies() {
    this.dependencyUp.reset();
    const statuses = await this.dependencyStatuses?.().catch(() => ({}));
    for (const [dependency, status] of Object.entries(statuses ?? {})) {
      if (status !== "not_configured") this.dependencyUp.set({ dependency }, status === "up" ? 1 : 0);
    }
  }

  private async collectQueues() {
    this.jobQueue.reset();
    // A scrape while storage is away shows no queue rather than failing the whole exposition.
    const depths = await this.queueDepths?.().catch(() => []);
    for (const { queue, queued, active, failed } of depths ?? []) {
      this.jobQueue.set({ queue, state: "queued" }, queued);
      this.jobQueue.set({ queue, state: "active" }, active);
      this.jobQueue.set({ queue, state: "failed" }, failed);
    }
  }
}
