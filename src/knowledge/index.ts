// The knowledge index: knowledge_chunks rows (with their embeddings and the model that made them) are the source of
// truth, and the search engine is kept in step with them. Writes to one source are serialized, so two runs of the
// same source cannot leave the engine holding both sets of chunks, and a background re-embedding or refill cannot
// put back chunks a new run just replaced; while `ready()` is loading the in-process engine, everything waits for it.
import { and, asc, count, eq, gt, inArray, notExists, or, sql } from "drizzle-orm";
import type { Config } from "../config.ts";
import type { Database } from "../platform/db/index.ts";
import { knowledgeChunks, knowledgeSources } from "../platform/db/schema/index.ts";
import { newId } from "../platform/ids.ts";
import type { Logger } from "../platform/log.ts";
import type { Passage, Retriever } from "../runtime/tools/types.ts";
import { createEmbedder, type Embedder } from "./embedders/index.ts";
import { createSearchEngine, searchableText, type ChunkDocument, type SearchEngine } from "./search/index.ts";
import type { IndexState, KnowledgeIndex } from "./types.ts";

export type { ChunkInput, IndexState, KnowledgeIndex } from "./types.ts";

const EMBED_BATCH = 64;
// Modest statements: PGlite's WebAssembly heap grows to the largest one and never shrinks (2,000-row pages of
// 384-float arrays took the process from ~0.5 to ~1.2 GB at 20,000 chunks).
const INSERT_BATCH = 250;
const LOAD_PAGE = 1000;
/** Chunks read, embedded and written back per step of a re-embedding; each step is committed on its own. */
export const REEMBED_BATCH = 256;
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

  const embedAll = async (texts: string[], onProgress?: (done: number, total: number) => void) => {
    const vectors: number[][] = [];
    for (let i = 0; i < texts.length; i += EMBED_BATCH) {
      vectors.push(...(await embedder.embed(texts.slice(i, i + EMBED_BATCH))));
      onProgress?.(vectors.length, texts.length);
    }
    return vectors;
  };

  const search: KnowledgeIndex["search"] = async (query) => {
    await settled();
    const [embedding] = await embedder.embed([query.text]);
    return engine.search({ ...query, embedding: embedding! });
  };

  const retriever: Retriever = {
    async search({ organizationId, agentId, query, limit, sourceIds }) {
      const hits = await search({ organizationId, agentId, text: query, limit: limit ?? DEFAULT_PASSAGES, sourceIds });
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
      const rows = await db.select().from(knowledgeChunks).where(gt(knowledgeChunks.id, after)).orderBy(asc(knowledgeChunks.id)).limit(LOAD_PAGE);
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

  const prepare = async () => {
    // Loads a local model now rather than on the first question, and learns a remote server's vector size.
    await embedder.embed(["warm-up"]).catch((error) => log.warn("knowledge embeddings are not answering yet", { error }));
    if (!engine.persistent) await load();
  };

  return {
    embedder,
    engine,
    retriever,
    search,

    async replaceSource({ organizationId, agentId, sourceId, chunks }, onProgress) {
      await settled();
      return inTurn([sourceId], async () => {
        const embeddings = await embedAll(chunks.map((c) => searchableText({ text: c.text, question: c.question ?? null })), onProgress);
        const rows = chunks.map((c, ordinal) => ({
          id: newId("chk"),
          organizationId,
          agentId,
          sourceId,
          ordinal,
          text: c.text,
          question: c.question ?? null,
          answer: c.answer ?? null,
          sourceUrl: c.sourceUrl ?? null,
          language: c.language ?? null,
          embedding: embeddings[ordinal]!,
          embeddingModel: embedder.model,
        }));
        await db.transaction(async (tx) => {
          await tx.delete(knowledgeChunks).where(sourceChunks(organizationId, agentId, sourceId));
          for (let i = 0; i < rows.length; i += INSERT_BATCH) await tx.insert(knowledgeChunks).values(rows.slice(i, i + INSERT_BATCH));
        });
        await engine.removeSource(agentId, sourceId);
        await engine.upsert(rows.map((row) => ({ ...document(row), embedding: row.embedding })));
        return { chunkCount: rows.length };
      });
    },

    async removeSource(organizationId, agentId, sourceId) {
      await settled();
      await inTurn([sourceId], async () => {
        await db.delete(knowledgeChunks).where(sourceChunks(organizationId, agentId, sourceId));
        await engine.removeSource(agentId, sourceId);
      });
    },

    async inspect(): Promise<IndexState> {
      await settled();
      const [[total], staleByModel, engineStats] = await Promise.all([
        db.select({ chunks: count() }).from(knowledgeChunks),
        db.select({ model: knowledgeChunks.embeddingModel, chunks: count() }).from(knowledgeChunks).where(stale()).groupBy(knowledgeChunks.embeddingModel),
        engine.persistent ? engine.stats() : Promise.resolve(null),
      ]);
      return { chunks: total!.chunks, stale: staleByModel, engine: engineStats };
    },

    async reembed({ signal, until }) {
      await settled();
      let done = 0;
      let after = "";
      for (;;) {
        signal.throwIfAborted();
        if (Date.now() >= until) return { chunks: done, finished: false };
        const rows = await db
          .select({ id: knowledgeChunks.id, sourceId: knowledgeChunks.sourceId, text: knowledgeChunks.text, question: knowledgeChunks.question })
          .from(knowledgeChunks)
          .where(and(gt(knowledgeChunks.id, after), stale()))
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
          .where(staleOnly ? and(gt(knowledgeChunks.id, after), stale()) : gt(knowledgeChunks.id, after))
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
      }
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
