// The knowledge index: knowledge_chunks rows (with their embeddings) are the source of truth, and the search engine
// is kept in step with them. Writes to one source are serialized, so two runs of the same source cannot leave the
// engine holding both sets of chunks; and while `ready()` is loading the in-process engine, everything waits for it.
import { and, asc, eq, gt } from "drizzle-orm";
import type { Config } from "../config.ts";
import type { Database } from "../platform/db/index.ts";
import { knowledgeChunks, knowledgeSources } from "../platform/db/schema/index.ts";
import { newId } from "../platform/ids.ts";
import type { Logger } from "../platform/log.ts";
import type { Passage, Retriever } from "../runtime/tools/types.ts";
import { createEmbedder, type Embedder } from "./embedders/index.ts";
import { createSearchEngine, searchableText, type ChunkDocument, type SearchEngine } from "./search/index.ts";
import type { KnowledgeIndex } from "./types.ts";

export type { ChunkInput, KnowledgeIndex } from "./types.ts";

const EMBED_BATCH = 64;
// Modest statements: PGlite's WebAssembly heap grows to the largest one and never shrinks (2,000-row pages of
// 384-float arrays took the process from ~0.5 to ~1.2 GB at 20,000 chunks).
const INSERT_BATCH = 250;
const LOAD_PAGE = 1000;
const DEFAULT_PASSAGES = 5;

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

  /** Runs `work` after every earlier write to the same source has finished. */
  const inTurn = <T>(sourceId: string, work: () => Promise<T>): Promise<T> => {
    const run = (sourceQueues.get(sourceId) ?? Promise.resolve()).then(work, work);
    const tail = run.catch(() => {});
    sourceQueues.set(sourceId, tail);
    void tail.then(() => {
      if (sourceQueues.get(sourceId) === tail) sourceQueues.delete(sourceId);
    });
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

  /** Streams every stored chunk into the in-process engine, a page at a time in id order. */
  const load = async () => {
    const started = performance.now();
    let loaded = 0;
    let keywordOnly = 0;
    let after = "";
    for (;;) {
      const rows = await db
        .select({ chunk: knowledgeChunks, model: knowledgeSources.embeddingModel })
        .from(knowledgeChunks)
        .leftJoin(knowledgeSources, eq(knowledgeSources.id, knowledgeChunks.sourceId))
        .where(gt(knowledgeChunks.id, after))
        .orderBy(asc(knowledgeChunks.id))
        .limit(LOAD_PAGE);
      if (!rows.length) break;
      const docs = rows.map(({ chunk, model }): ChunkDocument => {
        // Vectors from another model (or of another size) would be compared with queries they cannot match:
        // such chunks stay findable by keyword until their source is indexed again.
        const usable = (model === null || model === embedder.model) && (embedder.dimensions === 0 || chunk.embedding.length === embedder.dimensions);
        if (!usable) keywordOnly++;
        return { ...document(chunk), embedding: usable ? chunk.embedding : [] };
      });
      await engine.upsert(docs);
      loaded += rows.length;
      after = rows[rows.length - 1]!.chunk.id;
    }
    log.info("knowledge index loaded", { chunks: loaded, ms: Math.round(performance.now() - started) });
    if (keywordOnly) {
      log.warn(`${keywordOnly} knowledge chunks were embedded by another model than ${embedder.model}; they match by keyword only until their sources are refreshed`);
    }
  };

  const prepare = async () => {
    // Loads a local model now rather than on the first question, and learns a remote server's vector size.
    await embedder.embed(["warm-up"]).catch((error) => log.warn("knowledge embeddings are not answering yet", { error }));
    if (engine.name === "in-process") await load();
  };

  return {
    embedder,
    engine,
    retriever,
    search,

    async replaceSource({ organizationId, agentId, sourceId, chunks }, onProgress) {
      await settled();
      return inTurn(sourceId, async () => {
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
      await inTurn(sourceId, async () => {
        await db.delete(knowledgeChunks).where(sourceChunks(organizationId, agentId, sourceId));
        await engine.removeSource(agentId, sourceId);
      });
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
