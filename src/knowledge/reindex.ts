// Keeping the index in step when what is under it changed: another embedder (vectors of another model must be made
// again) or a search engine that lost or never had the chunks the database holds (a Meilisearch index deleted,
// emptied, or set up for vectors of another size). A check at start and every hour sends one job to the
// `knowledge-reindex` queue; the job compares knowledge_chunks with the embedder and the engine, says what it found,
// refills the engine from knowledge_chunks when it must, then re-embeds the stale chunks a batch at a time. Every
// batch is committed, so a job cut off by a restart loses at most one batch, and a run that has worked for
// RUN_BUDGET_MS hands the rest to the next job instead of outliving its expiry.
import { and, asc, eq, gt, inArray, sql } from "drizzle-orm";
import type { Db } from "../platform/db/index.ts";
import { knowledgeGaps } from "../platform/db/schema/index.ts";
import { defineQueue, type Jobs } from "../platform/jobs/index.ts";
import type { Logger } from "../platform/log.ts";
import type { IndexState, KnowledgeIndex } from "./types.ts";

export const reindexQueue = defineQueue<{ resume?: boolean }>("knowledge-reindex", {
  policy: "keyed",
  retryLimit: 5,
  retryDelayS: 10,
  expireInSeconds: 30 * 60,
  concurrency: 1,
});

const KEY = "knowledge-index";
const RUN_BUDGET_MS = 5 * 60 * 1000;
const GAP_BATCH = 256;
/** Only gaps still worked on are compared with new questions, so only they are embedded again. */
const ACTIVE_GAPS = ["open", "in_progress"];

export interface ReindexPlan {
  /** Why the engine is emptied before it is refilled (null: it is not). */
  clear: string | null;
  /** Every chunk, only the stale ones (to drop the vectors they had), or none. */
  refill: "all" | "stale" | null;
  /** Why the engine is refilled, for the log. */
  reason: string | null;
  reembed: number;
}

/** What to do about `state` with an embedder making `dimensions`-sized vectors (0: not known yet). */
export function planReindex(state: IndexState, dimensions: number, resume = false): ReindexPlan {
  const reembed = state.stale.reduce((sum, s) => sum + s.chunks, 0);
  const engine = state.engine;
  if (!engine) return { clear: null, refill: null, reason: null, reembed };
  if (engine.dimensions && dimensions && engine.dimensions !== dimensions) {
    const reason = `it is set up for ${engine.dimensions}-dimension vectors and the embedder makes ${dimensions}`;
    return { clear: reason, refill: "all", reason, reembed };
  }
  if (engine.documents > state.chunks) {
    const reason = `it holds ${engine.documents} documents for ${state.chunks} chunks`;
    return { clear: reason, refill: "all", reason, reembed };
  }
  if (engine.documents < state.chunks) return { clear: null, refill: "all", reason: `it holds ${engine.documents} of ${state.chunks} chunks`, reembed };
  // Same count, but the stale chunks' vectors there are another model's: they go back in without them.
  if (reembed && !resume) return { clear: null, refill: "stale", reason: `${reembed} of its documents carry another model's vectors`, reembed };
  return { clear: null, refill: null, reason: null, reembed };
}

export function scheduleReindexing(deps: { db: Db; jobs: Jobs; index: KnowledgeIndex; log: Logger }) {
  const { db, jobs, index, log } = deps;
  const { embedder, engine } = index;
  const engineName = engine.name === "meilisearch" ? "Meilisearch" : "the in-process engine";

  /** Gaps' question vectors, for grouping new questions with them: made again by the current embedder. */
  const reembedGaps = async (signal: AbortSignal, until: number) => {
    let done = 0;
    let after = "";
    const stale = sql`${knowledgeGaps.embeddingModel} is distinct from ${embedder.model}`;
    while (Date.now() < until) {
      signal.throwIfAborted();
      const gaps = await db
        .select({ id: knowledgeGaps.id, query: knowledgeGaps.representativeQuery })
        .from(knowledgeGaps)
        .where(and(gt(knowledgeGaps.id, after), inArray(knowledgeGaps.status, ACTIVE_GAPS), stale))
        .orderBy(asc(knowledgeGaps.id))
        .limit(GAP_BATCH);
      if (!gaps.length) return { gaps: done, finished: true };
      after = gaps[gaps.length - 1]!.id;
      const vectors = await embedder.embed(gaps.map((g) => g.query));
      await db.transaction(async (tx) => {
        for (const [i, gap] of gaps.entries()) {
          await tx.update(knowledgeGaps).set({ embedding: vectors[i]!, embeddingModel: embedder.model }).where(and(eq(knowledgeGaps.id, gap.id), stale));
        }
      });
      done += gaps.length;
    }
    return { gaps: done, finished: false };
  };

  jobs.work(reindexQueue, async (job, run) => {
    const until = Date.now() + RUN_BUDGET_MS;
    const state = await index.inspect();
    const plan = planReindex(state, embedder.dimensions, job.resume);

    if (plan.refill) {
      const started = performance.now();
      log.warn(`knowledge index: ${engineName} does not match knowledge_chunks (${plan.reason}); ${plan.clear ? "emptying it and " : ""}refilling it from knowledge_chunks in the background`);
      if (plan.clear) await engine.clear();
      const { chunks } = await index.refill({ signal: run.signal, staleOnly: plan.refill === "stale" });
      log.info(`knowledge index: ${engineName} refilled with ${chunks} chunks in ${seconds(started)} s`);
    }

    if (plan.reembed) {
      const models = state.stale.map((s) => `${s.chunks} by ${s.model ?? "an unrecorded model"}`).join(", ");
      log.warn(
        job.resume
          ? `knowledge index: ${plan.reembed} chunks still to re-embed with ${embedder.model}; continuing`
          : `knowledge index: ${plan.reembed} chunks were embedded by another model than ${embedder.model} (${models}); re-embedding them in the background, batch by batch; until then they match by keyword only`,
      );
      const started = performance.now();
      const { chunks, finished } = await index.reembed({ signal: run.signal, until });
      if (!finished) {
        log.info(`knowledge index: re-embedded ${chunks} chunks with ${embedder.model} in ${seconds(started)} s; the rest follows in the next job`);
        await jobs.send(reindexQueue, { resume: true }, { key: KEY });
        return;
      }
      log.info(`knowledge index: re-embedded ${chunks} chunks with ${embedder.model} in ${seconds(started)} s; every chunk is now ${embedder.model}'s`);
    }

    const gaps = await reembedGaps(run.signal, until);
    if (gaps.gaps) log.info(`knowledge index: re-embedded ${gaps.gaps} knowledge gap questions with ${embedder.model}`);
    if (!gaps.finished) await jobs.send(reindexQueue, { resume: true }, { key: KEY });
  });

  jobs.schedule("knowledge-index-check", "17 * * * *", () => requestReindex(jobs));
}

/** Sends the check now rather than at the next hour: the embedder just changed (a model fetched in the background). */
export async function requestReindex(jobs: Jobs): Promise<void> {
  await jobs.send(reindexQueue, {}, { key: KEY });
}

function seconds(since: number): string {
  return ((performance.now() - since) / 1000).toFixed(1);
}
