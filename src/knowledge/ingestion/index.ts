// Knowledge ingestion as background jobs: every source is read by a job on the `knowledge-ingest` queue (one
// run per source at a time, retried with backoff), and a tick every minute re-reads the URL sources whose
// automatic refresh is due and revives sources a crash left pending. Both survive restarts: the jobs and the
// schedule live in the database. The index's own upkeep (re-embedding after an embedder change, refilling a search
// engine that lost its documents) is scheduled here too, with the rest of knowledge's background work.
import { and, eq, inArray, isNotNull, lt, lte, sql } from "drizzle-orm";
import type { Db } from "../../platform/db/index.ts";
import { knowledgeSources } from "../../platform/db/schema/index.ts";
import type { EgressGuard } from "../../platform/egress.ts";
import { defineQueue, type Jobs } from "../../platform/jobs/index.ts";
import type { Logger } from "../../platform/log.ts";
import type { Metrics } from "../../platform/telemetry/index.ts";
import { scheduleReindexing } from "../reindex.ts";
import type { KnowledgeIndex } from "../types.ts";
import { createPageFetcher } from "./fetcher.ts";
import { SourceIngestion, type FileStore, type IndexedSource } from "./ingest.ts";

export { DEFAULT_MAX_DEPTH, DEFAULT_MAX_PAGES, MAX_DEPTH_LIMIT, MAX_PAGES_LIMIT } from "./crawl.ts";
export type { FileStore, IndexedSource, SourceRow } from "./ingest.ts";
export { sha256 } from "./ingest.ts";

export const ingestQueue = defineQueue<{ sourceId: string }>("knowledge-ingest", {
  policy: "keyed",
  retryLimit: 4,
  retryDelayS: 2,
  // A crawl of 200 slow pages fits; a run held longer belonged to a process that died.
  expireInSeconds: 15 * 60,
  concurrency: 2,
});

/** Sources still pending or indexing this long after their last change lost their job (a crash after the last retry). */
const STUCK_AFTER_MS = 20 * 60 * 1000;
const SWEEP_BATCH = 100;

export interface Ingestion {
  /** Read (or re-read) a source in the background; repeated requests while one waits fold into it. */
  enqueue(sourceId: string): Promise<void>;
}

export interface IngestionDeps {
  db: Db;
  jobs: Jobs;
  index: KnowledgeIndex;
  files: FileStore;
  egress: EgressGuard;
  log: Logger;
  metrics?: Metrics;
  onIndexed?(source: IndexedSource): Promise<void>;
  clock?: () => number;
}

export function createIngestion(deps: IngestionDeps): Ingestion {
  const { db, jobs } = deps;
  const clock = deps.clock ?? Date.now;
  const ingestion = new SourceIngestion({ ...deps, fetchPage: createPageFetcher(deps.egress) });
  const enqueue = async (sourceId: string) => {
    await jobs.send(ingestQueue, { sourceId }, { key: sourceId });
  };

  scheduleReindexing({ db, jobs, index: deps.index, log: deps.log });
  jobs.work(ingestQueue, (data, run) => ingestion.run(data.sourceId, run.signal, run.retryCount >= ingestQueue.retryLimit));
  jobs.schedule("knowledge-refresh", "* * * * *", async () => {
    const now = new Date(clock());
    // Claim due refreshes by moving their next date, so the next tick does not send them again.
    const due = await db
      .update(knowledgeSources)
      .set({ nextRefreshAt: sql`${now.toISOString()}::timestamptz + make_interval(secs => ${knowledgeSources.refreshIntervalS})` })
      .where(
        inArray(
          knowledgeSources.id,
          db
            .select({ id: knowledgeSources.id })
            .from(knowledgeSources)
            .where(and(eq(knowledgeSources.refreshEnabled, true), eq(knowledgeSources.kind, "url"), isNotNull(knowledgeSources.nextRefreshAt), lte(knowledgeSources.nextRefreshAt, now)))
            .limit(SWEEP_BATCH),
        ),
      )
      .returning({ id: knowledgeSources.id });
    const stuck = await db
      .select({ id: knowledgeSources.id })
      .from(knowledgeSources)
      .where(and(inArray(knowledgeSources.status, ["pending", "indexing"]), lt(knowledgeSources.updatedAt, new Date(now.getTime() - STUCK_AFTER_MS))))
      .limit(SWEEP_BATCH);
    for (const { id } of [...due, ...stuck]) await enqueue(id);
  });

  return { enqueue };
}
