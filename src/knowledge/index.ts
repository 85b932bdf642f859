// The knowledge index: knowledge_chunks rows (with their embeddings and the model that made them) are the source of
// truth, and the search engine is kept in step with them. Writes to one source are serialized, so two runs of the
// same source cannot leave the engine holding both sets of chunks, and a background re-embedding or refill cannot
// put back chunks a new run just replaced; while `ready()` is loading the in-process engine, everything waits for it.
// Ingestion writes a batch at a time, each batch in its own transaction with the source's count (see WRITE_BATCH).
// An in-process engine is this process's own copy: on Postgres, other replicas' writes reach it as replicas.ts says.
import { and, asc, count, eq, gt, gte, inArray, lt, notExists, or, sql } from "drizzle-orm";
import type { Config } from "../config.ts";
import type { Database, Db } from "../platform/db/index.ts";
import { knowledgeChunks, knowledgeSources } from "../platform/db/schema/index.ts";
import { newId } from "../platform/ids.ts";
import { yieldToEventLoop } from "../platform/event-loop.ts";
import type { Logger } from "../platform/log.ts";
import { RetrievalTimeoutError, type Passage, type Retriever } from "../runtime/tools/types.ts";
import { createEmbedder, type Embedder } from "./embedders/index.ts";
import { followOtherReplicas, sourceKey } from "./replicas.ts";
import { createSearchEngine, searchableText, type ChunkDocument, type SearchEngine, type SearchHit } from "./search/index.ts";
import type { IndexState, KnowledgeIndex } from "./types.ts";

export type { ChunkInput, IndexState, KnowledgeIndex } from "./types.ts";

/** Texts an in-process embedder takes at once between turns of the event loop (the hashing one: ~0.2–1 ms each). */
const EMBED_BATCH = 16;
const LOAD_PAGE = 1000;
/**
 * Passages embedded, stored (one transaction, with the source's count) and searchable per step of an ingestion,
 * with the event loop free between steps: on PGlite (one connection, on the main thread) every request waits for
 * the step under way, so a step must stay short.
 */
const WRITE_BATCH = 16;
/**
 * A refresh writes its passages beside those in use with ordinals from here (int4, far above any source's count),
 * and swaps them in with its last batch. Rows numbered from here are not searchable: nothing loads them into the
 * engine, and the next run of their source clears them if a cut-off run left some behind.
 */
export const STAGED_ORDINAL = 1 << 30;
/** Chunks read, embedded and written back per step of a re-embedding; each step is committed on its own. */
export const REEMBED_BATCH = 64;
const DEFAULT_PASSAGES = 5;

type ChunkRow = typeof knowledgeChunks.$inferSelect;

export interface KnowledgeIndexDeps {
  database: Database;
  config: Config;
  log: Logger;
  embedder?: Embedder;
  engine?: SearchEngine;
}

export function createKnowledgeIndex(deps: KnowledgeIndexDeps): KnowledgeIndex {
  const { database, log } = deps;
  const db = database.db;
  const embedder = deps.embedder ?? createEmbedder(deps.config, log);
  const engine = deps.engine ?? createSearchEngine(deps.config, log);
  const sourceQueues = new Map<string, Promise<unknown>>();
  let loading: Promise<void> | null = null;

  const settled = async () => {
    await loading?.catch(() => {});
  };

  /** Runs `work` after every earlier write to any of these sources has finished; later writes to them wait for it. */
  const inTurn = <T>(sourceIds: string[], work: () => Promise<T>): Promise<T> => {
    const earlier = Promise.all(sourceIds.map((id) => sourceQueues.get(id)));
    const run = earlier.then(work);
    const tail = run.catch(() => {});
    for (const id of sourceIds) {
      sourceQueues.set(id, tail);
      void tail.then(() => {
        if (sourceQueues.get(id) === tail) sourceQueues.delete(id);
      });
    }
    return run;
  };

  /** An in-process embedder works on the main thread: requests get their turn between batches. */
  const embedAll = async (texts: string[]) => {
    const vectors: number[][] = [];
    for (let i = 0; i < texts.length; i += EMBED_BATCH) {
      if (i) await yieldToEventLoop();
      vectors.push(...(await embedder.embed(texts.slice(i, i + EMBED_BATCH))));
    }
    return vectors;
  };

  const search: KnowledgeIndex["search"] = async (query, signal) => {
    const work = (async () => {
      await settled();
      const [embedding] = await embedder.embed([query.text], signal);
      signal?.throwIfAborted();
      return engine.search({ ...query, embedding: embedding! }, signal);
    })();
    // A local embedder or the start-up load cannot be interrupted: the caller stops waiting for them all the same.
    return signal ? untilAborted(work, signal) : work;
  };

  const retriever: Retriever = {
    async search({ organizationId, agentId, query, limit, sourceIds }, { signal, deadlineMs = deps.config.knowledgeSearchTimeoutMs } = {}) {
      const deadline = AbortSignal.timeout(deadlineMs);
      let hits: SearchHit[];
      try {
        hits = await search({ organizationId, agentId, text: query, limit: limit ?? DEFAULT_PASSAGES, sourceIds }, signal ? AbortSignal.any([signal, deadline]) : deadline);
      } catch (error) {
        if (deadline.aborted && !signal?.aborted) throw new RetrievalTimeoutError(deadlineMs);
        throw error;
      }
      return hits.map(
        (hit): Passage => ({
          id: hit.id,
          text: hit.question && hit.answer ? `Q: ${hit.question}\nA: ${hit.answer}` : hit.text,
          score: hit.score,
          sourceId: hit.sourceId,
          sourceUrl: hit.sourceUrl,
          question: hit.question,
        }),
      );
    },
  };

  /** A stored vector the current embedder's queries can be compared with. */
  const usable = (row: Pick<ChunkRow, "embedding" | "embeddingModel">) =>
    row.embeddingModel === embedder.model && (embedder.dimensions === 0 || row.embedding.length === embedder.dimensions);
  /** Chunks whose vector another embedder made (or one of another size): they are to be embedded again. */
  const stale = () =>
    or(
      sql`${knowledgeChunks.embeddingModel} is distinct from ${embedder.model}`,
      embedder.dimensions ? sql`coalesce(array_length(${knowledgeChunks.embedding}, 1), 0) <> ${embedder.dimensions}` : undefined,
    )!;
  const toDocument = (row: ChunkRow): ChunkDocument => ({ ...document(row), embedding: usable(row) ? row.embedding : [] });

  /** Streams every stored chunk into the engine, a page at a time in id order. */
  const load = async () => {
    const started = performance.now();
    let loaded = 0;
    let keywordOnly = 0;
    let after = "";
    for (;;) {
      const rows = await db.select().from(knowledgeChunks).where(and(gt(knowledgeChunks.id, after), inUse)).orderBy(asc(knowledgeChunks.id)).limit(LOAD_PAGE);
      if (!rows.length) break;
      // Vectors from another model (or of another size) would be compared with queries they cannot match:
      // such chunks stay findable by keyword until the background re-embedding reaches them.
      const docs = rows.map(toDocument);
      keywordOnly += docs.filter((d) => !d.embedding.length).length;
      await engine.upsert(docs);
      loaded += rows.length;
      after = rows[rows.length - 1]!.id;
    }
    log.info("knowledge index loaded", { chunks: loaded, ms: Math.round(performance.now() - started) });
    if (keywordOnly) {
      log.warn(`${keywordOnly} knowledge chunks were embedded by another model than ${embedder.model}; they match by keyword only until they are re-embedded in the background`);
    }
  };

  /** Runs `work` in turn with every other write to the sources these rows belong to. */
  const inTurnFor = <T>(rows: { sourceId: string }[], work: () => Promise<T>) => inTurn([...new Set(rows.map((r) => r.sourceId))], work);

  /** Another replica changed this source's chunks: load them again from storage, in turn with this process's writes. */
  const reloadSource = (agentId: string, sourceId: string) =>
    inTurn([sourceId], async () => {
      const docs: ChunkDocument[] = [];
      let after = "";
      for (;;) {
        const rows = await db
          .select()
          .from(knowledgeChunks)
          .where(and(eq(knowledgeChunks.sourceId, sourceId), gt(knowledgeChunks.id, after), inUse))
          .orderBy(asc(knowledgeChunks.id))
          .limit(LOAD_PAGE);
        if (!rows.length) break;
        docs.push(...rows.map(toDocument));
        after = rows[rows.length - 1]!.id;
      }
      await engine.removeSource(agentId, sourceId);
      for (let i = 0; i < docs.length; i += WRITE_BATCH) {
        await engine.upsert(docs.slice(i, i + WRITE_BATCH));
        await yieldToEventLoop();
      }
    });
  // Only a copy in this process can fall behind, and only Postgres has other processes writing.
  const follower =
    !engine.persistent && database.kind === "postgres" ? followOtherReplicas({ database, reloadSource, everyMs: deps.config.cacheTtlSeconds * 1000, log }) : null;
  /** Tell the other replicas' in-process engines that a source's chunks changed (after they are committed). */
  const announce = (agentId: string, sourceId: string) => {
    if (!engine.persistent) database.changes.announce("knowledge_source", sourceKey(agentId, sourceId), "others");
  };

  const prepare = async () => {
    // Loads a local model now rather than on the first question, and learns a remote server's vector size.
    await embedder.embed(["warm-up"]).catch((error) => log.warn("knowledge embeddings are not answering yet", { error }));
    await follower?.baseline();
    if (!engine.persistent) await load();
    follower?.start();
  };

  const reembed = async ({ signal, until }: { signal: AbortSignal; until: number }, touched: Map<string, string>) => {
    await settled();
    let done = 0;
    let after = "";
    for (;;) {
      signal.throwIfAborted();
      if (Date.now() >= until) return { chunks: done, finished: false };
      const rows = await db
        .select({ id: knowledgeChunks.id, agentId: knowledgeChunks.agentId, sourceId: knowledgeChunks.sourceId, text: knowledgeChunks.text, question: knowledgeChunks.question })
        .from(knowledgeChunks)
        .where(and(gt(knowledgeChunks.id, after), stale(), inUse))
        .orderBy(asc(knowledgeChunks.id))
        .limit(REEMBED_BATCH);
      if (!rows.length) return { chunks: done, finished: true };
      after = rows[rows.length - 1]!.id;
      const vectors = await embedAll(rows.map(searchableText));
      const embeddingOf = new Map(rows.map((row, i) => [row.id, vectors[i]!]));
      await inTurnFor(rows, async () => {
        // A chunk replaced or removed since it was read is not written back, to storage or to the engine.
        const updated = await db.transaction(async (tx) => {
          const written: ChunkRow[] = [];
          for (const { id } of rows) {
            const [row] = await tx
              .update(knowledgeChunks)
              .set({ embedding: embeddingOf.get(id)!, embeddingModel: embedder.model })
              .where(and(eq(knowledgeChunks.id, id), stale()))
              .returning();
            if (row) written.push(row);
          }
          return written;
        });
        await engine.upsert(updated.map(toDocument));
        for (const row of updated) touched.set(row.sourceId, row.agentId);
        // Sources whose every chunk is now the current model's say so.
        await db
          .update(knowledgeSources)
          .set({ embeddingModel: embedder.model })
          .where(
            and(
              inArray(knowledgeSources.id, [...new Set(rows.map((r) => r.sourceId))]),
              eq(knowledgeSources.status, "indexed"),
              notExists(db.select({ id: knowledgeChunks.id }).from(knowledgeChunks).where(and(eq(knowledgeChunks.sourceId, knowledgeSources.id), stale()))),
            ),
          );
        done += updated.length;
      });
      await yieldToEventLoop();
    }
  };

  return {
    embedder,
    engine,
    retriever,
    search,

    async replaceSource(input, onProgress) {
      const { organizationId, agentId, sourceId, chunks, signal } = input;
      const progressive = input.mode === "progressive";
      const from = progressive ? Math.min(input.resumeFrom ?? 0, chunks.length) : 0;
      // A swap writes the new passages beside those in use, numbered from STAGED_ORDINAL, out of search.
      const base = progressive ? 0 : STAGED_ORDINAL;
      const staged: ChunkDocument[] = [];
      const record = (tx: unknown, batch: { written: number; total: number; last: boolean }) => input.record?.(tx as Db, batch) ?? Promise.resolve(true);
      const gone = async () => {
        // The source was deleted: what this run made searchable goes with it.
        await engine.removeSource(agentId, sourceId);
        return null;
      };
      await settled();
      const run = inTurn([sourceId], async () => {
        for (let start = from; ; start += WRITE_BATCH) {
          signal?.throwIfAborted();
          const batch = chunks.slice(start, start + WRITE_BATCH);
          const last = start + batch.length >= chunks.length;
          const embeddings = await embedAll(batch.map((c) => searchableText({ text: c.text, question: c.question ?? null })));
          const rows = batch.map((c, i) => ({
            id: newId("chk"),
            organizationId,
            agentId,
            sourceId,
            ordinal: base + start + i,
            text: c.text,
            question: c.question ?? null,
            answer: c.answer ?? null,
            sourceUrl: c.sourceUrl ?? null,
            language: c.language ?? null,
            embedding: embeddings[i]!,
            embeddingModel: embedder.model,
          }));
          const written = await db.transaction(async (tx) => {
            if (!(await record(tx, { written: start + batch.length, total: chunks.length, last: !progressive && last }))) return false;
            // The first batch clears what a run cut off earlier left beyond the passages it keeps.
            if (start === from) await tx.delete(knowledgeChunks).where(and(sourceChunks(organizationId, agentId, sourceId), gte(knowledgeChunks.ordinal, progressive ? from : STAGED_ORDINAL)));
            if (rows.length) await tx.insert(knowledgeChunks).values(rows.map((row) => ({ ...row, embedding: vectorLiteral(row.embedding) })));
            if (!progressive && last) {
              await tx.delete(knowledgeChunks).where(and(sourceChunks(organizationId, agentId, sourceId), lt(knowledgeChunks.ordinal, STAGED_ORDINAL)));
              await tx
                .update(knowledgeChunks)
                .set({ ordinal: sql`${knowledgeChunks.ordinal} - ${STAGED_ORDINAL}` })
                .where(sourceChunks(organizationId, agentId, sourceId));
            }
            return true;
          });
          if (!written) return gone();
          const docs = rows.map((row) => ({ ...document(row), embedding: row.embedding }));
          if (progressive) {
            if (start === 0) await engine.removeSource(agentId, sourceId);
            await engine.upsert(docs);
          } else staged.push(...docs);
          onProgress?.(start + batch.length, chunks.length);
          if (last) break;
          await yieldToEventLoop();
        }
        // A first indexing is finished once its last batch is searchable, in the engine too: only then does the
        // source say so (a search engine of its own, Meilisearch, takes its documents after the rows commit).
        if (progressive && !(await db.transaction((tx) => record(tx, { written: chunks.length, total: chunks.length, last: true })))) return gone();
        if (!progressive) {
          await engine.removeSource(agentId, sourceId);
          for (let i = 0; i < staged.length; i += WRITE_BATCH) {
            await engine.upsert(staged.slice(i, i + WRITE_BATCH));
            await yieldToEventLoop();
          }
        }
        return { chunkCount: chunks.length };
      });
      // Whatever the run committed before it ended (or failed) is what the other replicas are to load.
      return run.finally(() => announce(agentId, sourceId));
    },

    async removeSource(organizationId, agentId, sourceId, record) {
      await settled();
      await inTurn([sourceId], async () => {
        await db.transaction(async (tx) => {
          await tx.delete(knowledgeChunks).where(sourceChunks(organizationId, agentId, sourceId));
          await record?.(tx as unknown as Db);
        });
        await engine.removeSource(agentId, sourceId);
      });
      announce(agentId, sourceId);
    },

    async inspect(): Promise<IndexState> {
      await settled();
      const [[total], staleByModel, engineStats] = await Promise.all([
        db.select({ chunks: count() }).from(knowledgeChunks).where(inUse),
        db.select({ model: knowledgeChunks.embeddingModel, chunks: count() }).from(knowledgeChunks).where(and(stale(), inUse)).groupBy(knowledgeChunks.embeddingModel),
        engine.persistent ? engine.stats() : Promise.resolve(null),
      ]);
      return { chunks: total!.chunks, stale: staleByModel, engine: engineStats };
    },

    async reembed(run) {
      // The other replicas load each source this run touched once, when it ends, rather than after every batch.
      const touched = new Map<string, string>();
      try {
        return await reembed(run, touched);
      } finally {
        for (const [sourceId, agentId] of touched) announce(agentId, sourceId);
      }
    },

    async refill({ signal, staleOnly }) {
      await settled();
      let done = 0;
      let after = "";
      for (;;) {
        signal.throwIfAborted();
        const rows = await db
          .select()
          .from(knowledgeChunks)
          .where(and(gt(knowledgeChunks.id, after), inUse, staleOnly ? stale() : undefined))
          .orderBy(asc(knowledgeChunks.id))
          .limit(LOAD_PAGE);
        if (!rows.length) return { chunks: done };
        after = rows[rows.length - 1]!.id;
        await inTurnFor(rows, async () => {
          // A chunk replaced or removed since it was read stays out of the engine.
          const present = new Set((await db.select({ id: knowledgeChunks.id }).from(knowledgeChunks).where(inArray(knowledgeChunks.id, rows.map((r) => r.id)))).map((r) => r.id));
          const docs = rows.filter((r) => present.has(r.id)).map(toDocument);
          await engine.upsert(docs);
          done += docs.length;
        });
        await yieldToEventLoop();
      }
    },

    async stop() {
      await follower?.stop();
    },

    ready() {
      loading ??= prepare().catch((error) => {
        loading = null;
        throw error;
      });
      return loading;
    },
  };
}

/** Settles as `work` does, or rejects with the signal's reason once it aborts, whichever comes first. */
function untilAborted<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  // How the work ends once the caller stopped waiting is nobody's concern, and must not be an unhandled rejection
  // (the turn's signal may be aborted before the search starts: a client that disconnected).
  work.catch(() => {});
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const abort = () => reject(signal.reason);
    signal.addEventListener("abort", abort, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener("abort", abort));
  });
}

/** Chunks searchable now: not the staged passages of a refresh under way. */
const inUse = lt(knowledgeChunks.ordinal, STAGED_ORDINAL);

/**
 * A vector as one Postgres array literal: Drizzle's own array encoding made inserting embeddings on PGlite several
 * times slower, and every insert there holds the main thread.
 */
function vectorLiteral(vector: number[]): number[] {
  return sql`${`{${vector.join(",")}}`}::real[]` as unknown as number[];
}

function sourceChunks(organizationId: string, agentId: string, sourceId: string) {
  return and(eq(knowledgeChunks.organizationId, organizationId), eq(knowledgeChunks.agentId, agentId), eq(knowledgeChunks.sourceId, sourceId));
}

function document(row: Omit<ChunkDocument, "embedding">): Omit<ChunkDocument, "embedding"> {
  return {
    id: row.id,
    organizationId: row.organizationId,
    agentId: row.agentId,
    sourceId: row.sourceId,
    text: row.text,
    question: row.question,
    answer: row.answer,
    sourceUrl: row.sourceUrl,
    language: row.language,
  };
}
