// Background jobs on pg-boss, in the application's own database (the PGlite adapter when embedded, the
// Postgres URL otherwise), so a job sent before a restart is worked after it. A stop fails the jobs still
// running (pg-boss does that once its grace period ends): they come back as retries at the next start.
// A process that dies without stopping (kill -9, a lost container) leaves its jobs `active`. Every running job
// beats a heartbeat, and the supervisor fails (so retries) one whose heartbeat stopped: on Postgres, where other
// replicas may be working jobs of their own, that is how an orphan is told apart, within seconds. On the embedded
// store one process owns the database, so at start every job still `active` is an orphan and is retried at once.
import { fromPglite, PgBoss } from "pg-boss";
import type { Database } from "../db/index.ts";
import type { Logger } from "../log.ts";
import type { Telemetry } from "../telemetry/index.ts";

/** A named queue whose jobs carry `T`. */
export interface Queue<T extends object> {
  readonly name: string;
  /**
   * `keyed`: jobs sent with the same key run one at a time, and a job sent while another with its key waits
   * folds into it. `standard`: every job runs.
   */
  readonly policy: "standard" | "keyed";
  /** Attempts after the first, each later than the one before (exponential backoff from `retryDelayS`). */
  readonly retryLimit: number;
  readonly retryDelayS: number;
  /** A job running longer is taken for lost (a crashed process) and retried. */
  readonly expireInSeconds: number;
  /** Jobs of this queue one process runs at once. */
  readonly concurrency: number;
  /** Phantom: the payload type. */
  readonly payload?: T;
}

export const defineQueue = <T extends object>(name: string, options: Omit<Queue<T>, "name" | "payload">): Queue<T> => ({ name, ...options });

export interface JobRun {
  id: string;
  /** 0 on the first attempt. */
  retryCount: number;
  /** Aborted when the server stops with this job still running. */
  signal: AbortSignal;
}

export type JobHandler<T> = (data: T, run: JobRun) => Promise<void>;

export interface Jobs {
  /** Register the handler of a queue; workers start with `start()`. */
  work<T extends object>(queue: Queue<T>, handler: JobHandler<T>): void;
  /** Run `handler` on a cron schedule (minutes), once across every replica, and once at start to catch up. */
  schedule(name: string, cron: string, handler: () => Promise<void>): void;
  /** Enqueue a job; null when a job with the same key is already waiting (it will do the same work). */
  send<T extends object>(queue: Queue<T>, data: T, options?: { key?: string }): Promise<string | null>;
  start(): Promise<void>;
  stop(): Promise<void>;
}

const POLLING_INTERVAL_S = 1;
/** A running job's heartbeat: pg-boss's minimum, refreshed every half of it. */
const HEARTBEAT_S = 10;
/** How often the supervisor looks for jobs whose heartbeat stopped (pg-boss's default is a minute). */
const SUPERVISE_INTERVAL_S = 5;
/** How long a stop waits for running jobs before failing them back to the queue. */
const STOP_GRACE_MS = 1500;

export function createJobs(deps: { database: Database; databaseUrl: string | null; log: Logger; telemetry?: Telemetry }): Jobs {
  const { database, log, telemetry } = deps;
  const metrics = telemetry?.metrics;
  const supervision = { superviseIntervalSeconds: SUPERVISE_INTERVAL_S, monitorIntervalSeconds: SUPERVISE_INTERVAL_S };
  const boss = database.pglite
    ? new PgBoss({ db: fromPglite(database.pglite), backend: "pglite", ...supervision })
    : new PgBoss({ connectionString: deps.databaseUrl!, max: 3, ...supervision });
  // A job refused or failed during shutdown surfaces here as well; it is retried, so it is not an error of ours.
  boss.on("error", (error) => log.warn("job queue error", { error }));

  const workers: { queue: Queue<object>; handler: JobHandler<object> }[] = [];
  const schedules: { name: string; cron: string; handler: () => Promise<void> }[] = [];
  const workerIds = new Map<string, string>();
  let started = false;

  const runJobs = (name: string, handler: JobHandler<object>) => async (jobs: { id: string; data: object; retryCount: number; signal: AbortSignal }[]) => {
    for (const job of jobs) {
      const attempt = async () => {
        try {
          await handler(job.data, { id: job.id, retryCount: job.retryCount, signal: job.signal });
        } catch (error) {
          metrics?.jobFailures.inc({ queue: name });
          if (!job.signal.aborted) log.warn(`job ${name} failed; it will be retried while attempts remain`, { jobId: job.id, attempt: job.retryCount + 1, error });
          throw error;
        }
      };
      // Each attempt is a trace of its own (what it logs carries its ids).
      await (telemetry ? telemetry.trace(`job ${name}`, { "job.id": job.id, "job.attempt": job.retryCount + 1 }, attempt) : attempt());
    }
  };

  /** Embedded store only: the jobs a process that died was running, failed now so their retries start. */
  const retryOrphans = async () => {
    const { rows } = await database.pglite!.query<{ name: string; ids: string[] }>(
      "select name, array_agg(id::text) as ids from pgboss.job where state = 'active' group by name",
    );
    for (const { name, ids } of rows) {
      await boss.fail(name, ids, { message: "the process running this job stopped without finishing it" });
      log.info(`retrying ${ids.length} ${name} job(s) left running by a process that stopped`);
    }
  };

  // Read on each scrape: pg-boss keeps the counts per queue (its monitor refreshes them every few seconds).
  metrics?.watchQueues(async () => {
    if (!started) return [];
    const queues = await boss.getQueues();
    return queues.map((q) => ({ queue: q.name, queued: q.queuedCount, active: q.activeCount, failed: q.failedCount }));
  });

  return {
    work(queue, handler) {
      workers.push({ queue: queue as Queue<object>, handler: handler as JobHandler<object> });
    },
    schedule(name, cron, handler) {
      schedules.push({ name, cron, handler });
    },
    async send(queue, data, options = {}) {
      const id = await boss.send(queue.name, data, options.key ? { singletonKey: options.key } : {});
      // Wake this process's worker now instead of at its next poll.
      const workerId = workerIds.get(queue.name);
      if (id && workerId) boss.notifyWorker(workerId);
      return id;
    },
    async start() {
      await boss.start();
      started = true;
      if (database.pglite) await retryOrphans();
      for (const { queue, handler } of workers) {
        const options = {
          retryLimit: queue.retryLimit,
          retryDelay: queue.retryDelayS,
          retryBackoff: true,
          expireInSeconds: queue.expireInSeconds,
          heartbeatSeconds: HEARTBEAT_S,
        };
        await boss.createQueue(queue.name, { policy: queue.policy === "keyed" ? "stately" : "standard", ...options });
        // createQueue leaves an existing queue as it was: bring settings changed since it was made up to date.
        await boss.updateQueue(queue.name, options);
        workerIds.set(queue.name, await boss.work(queue.name, { pollingIntervalSeconds: POLLING_INTERVAL_S, localConcurrency: queue.concurrency }, runJobs(queue.name, handler)));
      }
      for (const { name, cron, handler } of schedules) {
        await boss.createQueue(name, { policy: "singleton", retryLimit: 0 });
        await boss.schedule(name, cron);
        await boss.work(name, { pollingIntervalSeconds: POLLING_INTERVAL_S * 5 }, runJobs(name, handler));
        await boss.send(name, {});
      }
    },
    async stop() {
      if (!started) return;
      started = false;
      await boss.stop({ graceful: true, timeout: STOP_GRACE_MS });
    },
  };
}
