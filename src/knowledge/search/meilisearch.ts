// Meilisearch (≥ 1.6) as the search engine, over its published HTTP API with fetch. One index holds every
// organization's chunks; `organizationId`, `agentId` and `sourceId` are filterable and every query filters on them.
// Vectors are user-provided (embedder "default", `_vectors.default`).
// A search is one /multi-search request with two queries under the same filter: a keyword query, and a vector query
// (`vector` with `hybrid: { embedder, semanticRatio: 1 }`). The two are fused here as fusion.ts says, like the
// in-process engine, rather than by Meilisearch's own hybrid merge at a middle ratio: that merge keeps one of the two
// scores per hit, and scores vector hits (1 + cosine) / 2, so an unrelated chunk scores about 0.5 and every question
// would look covered. Here the vector score is turned back into its cosine, and a chunk found by both queries gets
// credit for both, so thresholds mean the same on either engine.
// Writes are asynchronous tasks in Meilisearch; every write here waits for its task, so a resolved upsert or
// removal is visible to the next search. Before 1.13, vector search is the experimental `vectorStore` feature,
// switched on here when the server's version needs it.
// Requests go through the maintained `meilisearch` client: each has a deadline (MEILI_TIMEOUT_MS), and a search also
// ends when its caller's signal does (a turn's retrieval deadline), so a hung server costs bounded time.
import {
  Meilisearch,
  MeilisearchApiError,
  MeilisearchRequestError,
  MeilisearchRequestTimeOutError,
  MeilisearchTaskTimeOutError,
  type EnqueuedTaskPromise,
  type MultiSearchQuery,
  type MultiSearchResponse,
  type Settings,
} from "meilisearch";
import { fuse } from "./fusion.ts";
import type { ChunkDocument, SearchEngine, SearchHit, SearchQuery } from "./types.ts";

export interface MeilisearchOptions {
  url: string;
  apiKey: string | null;
  /** Index uid; one per installation. */
  index?: string;
  /** How long to wait for one task before giving up. */
  taskTimeoutMs?: number;
  /** How long one request may take (MEILI_TIMEOUT_MS). */
  timeoutMs?: number;
}

/** What went wrong with Meilisearch, with its error `code` (e.g. `index_not_found`), or `request_timeout`, `request_failed`, `task_timeout`. */
export class MeilisearchError extends Error {
  override name = "MeilisearchError";
  constructor(
    message: string,
    readonly code: string | null,
  ) {
    super(message);
  }
}

const EMBEDDER = "default";
const DOCUMENT_BATCH = 1000;
const FILTERABLE = ["organizationId", "agentId", "sourceId"];
const RETRIEVED = ["id", "sourceId", "text", "question", "answer", "sourceUrl", "language"];

type MeiliHit = Omit<SearchHit, "score"> & { _rankingScore: number };
/** A vector query refused because the index has no embedder of that size (yet): answered by keywords alone. */
const VECTOR_SETUP_ERRORS = ["invalid_vector_dimensions", "invalid_search_embedder", "invalid_embedder"];

export function createMeilisearchEngine({ url, apiKey, index = "flowyte_knowledge", taskTimeoutMs = 60_000, timeoutMs = 10_000 }: MeilisearchOptions): SearchEngine {
  const client = new Meilisearch({ host: url, apiKey: apiKey ?? undefined, timeout: timeoutMs, defaultWaitOptions: { timeout: taskTimeoutMs, interval: 10 } });
  const target = client.index(index);
  const prepared = new Map<number, Promise<void>>();
  /** The vector size of the index's embedder: null when it has none yet (documents must not name one then). */
  let embedderSize: number | null | undefined;

  /** Runs one client call, its errors made ours; a call ended by the caller's signal rethrows the signal's reason. */
  const call = async <T>(request: () => Promise<T>, signal?: AbortSignal): Promise<T> => {
    try {
      return await request();
    } catch (error) {
      if (signal?.aborted) throw signal.reason;
      throw ours(error);
    }
  };

  /** Sends a write and waits for its task; a failed or canceled task throws with Meilisearch's reason. */
  const write = async (send: () => EnqueuedTaskPromise) => {
    const task = await call(() => send().waitTask());
    if (task.status === "failed" || task.status === "canceled") {
      throw new MeilisearchError(`Meilisearch task ${task.uid} ${task.status}: ${task.error?.message ?? "no reason given"}`, task.error?.code ?? null);
    }
  };

  const enableVectorStoreIfNeeded = async () => {
    const { pkgVersion } = await call(() => client.getVersion());
    const [major, minor] = pkgVersion.split(".").map(Number);
    // `vectorStore` left the client's list of features once it became stable (1.13).
    if (major === 1 && minor! < 13) await call(() => client.updateExperimentalFeatures({ vectorStore: true } as Parameters<Meilisearch["updateExperimentalFeatures"]>[0]));
  };

  const createIndexIfMissing = async () => {
    try {
      await call(() => target.getRawInfo());
    } catch (error) {
      if (!(error instanceof MeilisearchError && error.code === "index_not_found")) throw error;
      try {
        await write(() => client.createIndex(index, { primaryKey: "id" }));
      } catch (creating) {
        // Another replica created it first.
        if (!(creating instanceof MeilisearchError && creating.code === "index_already_exists")) throw creating;
      }
    }
  };

  /** Index, filterable attributes and the embedder for this vector size; once per size per process. */
  const prepare = (dimensions: number) => {
    let ready = prepared.get(dimensions);
    if (!ready) {
      ready = (async () => {
        await enableVectorStoreIfNeeded();
        await createIndexIfMissing();
        await write(() =>
          target.updateSettings({
            filterableAttributes: FILTERABLE,
            searchableAttributes: ["question", "text"],
            ...(dimensions ? { embedders: { [EMBEDDER]: { source: "userProvided", dimensions } } } : {}),
          }),
        );
        if (dimensions) embedderSize = dimensions;
        else if (embedderSize === undefined) embedderSize = embedderDimensions(await call(() => target.getSettings()));
      })();
      ready.catch(() => prepared.delete(dimensions));
      prepared.set(dimensions, ready);
    }
    return ready;
  };
  /** After the index is gone (deleted here or behind this process's back), everything is set up again. */
  const forgetSetup = () => {
    prepared.clear();
    embedderSize = undefined;
  };

  const search = async (query: SearchQuery, signal?: AbortSignal): Promise<SearchHit[]> => {
    if (query.sourceIds?.length === 0 || query.limit <= 0) return [];
    const filter = [`organizationId = ${quote(query.organizationId)}`, `agentId = ${quote(query.agentId)}`];
    if (query.sourceIds) filter.push(`sourceId IN [${query.sourceIds.map(quote).join(", ")}]`);
    const common = { indexUid: index, filter: filter.join(" AND "), limit: query.limit, showRankingScore: true, attributesToRetrieve: RETRIEVED };
    const queries: MultiSearchQuery[] = [{ ...common, q: query.text }];
    // A zero vector (an empty question) is similar to nothing; Meilisearch would call it identical to everything.
    if (query.embedding.some((v) => v !== 0)) queries.push({ ...common, vector: query.embedding, hybrid: { embedder: EMBEDDER, semanticRatio: 1 } });
    const multiSearch = (sent: MultiSearchQuery[]) => call(() => client.multiSearch<{ queries: MultiSearchQuery[] }, MeiliHit>({ queries: sent }, { signal }), signal);
    let results: MultiSearchResponse<MeiliHit>["results"];
    try {
      ({ results } = await multiSearch(queries));
    } catch (error) {
      if (!(error instanceof MeilisearchError)) throw error;
      if (error.code === "index_not_found") return [];
      // The index was set up for another embedder (or none yet) while it is being refilled: keywords still answer.
      if (!VECTOR_SETUP_ERRORS.includes(error.code ?? "")) throw error;
      ({ results } = await multiSearch(queries.slice(0, 1)));
    }
    const found = new Map<string, { hit: MeiliHit; keyword: number; cosine: number }>();
    for (const hit of results[0]!.hits) found.set(hit.id, { hit, keyword: hit._rankingScore, cosine: 0 });
    for (const hit of results[1]?.hits ?? []) {
      const cosine = 2 * hit._rankingScore - 1;
      const seen = found.get(hit.id);
      if (seen) seen.cosine = cosine;
      else found.set(hit.id, { hit, keyword: 0, cosine });
    }
    return [...found.values()]
      .map(({ hit, keyword, cosine }) => ({
        id: hit.id,
        sourceId: hit.sourceId,
        text: hit.text,
        question: hit.question ?? null,
        answer: hit.answer ?? null,
        sourceUrl: hit.sourceUrl ?? null,
        language: hit.language ?? null,
        score: fuse(cosine, Math.min(1, Math.max(0, keyword))),
      }))
      .filter((hit) => hit.score > 0)
      .sort((a, b) => b.score - a.score)
      .slice(0, query.limit);
  };

  return {
    name: "meilisearch",

    persistent: true,

    async stats() {
      try {
        const [stats, settings] = await Promise.all([call(() => target.getStats()), call(() => target.getSettings())]);
        return { documents: stats.numberOfDocuments, dimensions: embedderDimensions(settings) };
      } catch (error) {
        if (!(error instanceof MeilisearchError && error.code === "index_not_found")) throw error;
        forgetSetup();
        return { documents: 0, dimensions: null };
      }
    },

    async clear() {
      try {
        await write(() => client.deleteIndex(index));
      } catch (error) {
        if (!(error instanceof MeilisearchError && error.code === "index_not_found")) throw error;
      }
      forgetSetup();
    },

    async upsert(chunks) {
      if (!chunks.length) return;
      await prepare(chunks.find((c) => c.embedding.length)?.embedding.length ?? 0);
      for (let i = 0; i < chunks.length; i += DOCUMENT_BATCH) {
        const documents = chunks.slice(i, i + DOCUMENT_BATCH).map((chunk) => toDocument(chunk, embedderSize != null));
        await write(() => target.addDocuments(documents, { primaryKey: "id" }));
      }
    },

    async removeSource(agentId, sourceId) {
      try {
        await write(() => target.deleteDocuments({ filter: `agentId = ${quote(agentId)} AND sourceId = ${quote(sourceId)}` }));
      } catch (error) {
        if (!(error instanceof MeilisearchError && error.code === "index_not_found")) throw error;
      }
    },

    search,
  };
}

function toDocument({ embedding, ...chunk }: ChunkDocument, hasEmbedder: boolean) {
  // A chunk without an embedding opts out of vector search explicitly (null, which also drops a vector it had);
  // an index without an embedder yet refuses any `_vectors` at all.
  return hasEmbedder ? { ...chunk, _vectors: { [EMBEDDER]: embedding.length ? embedding : null } } : chunk;
}

function embedderDimensions(settings: Settings): number | null {
  const embedder = settings.embedders?.[EMBEDDER];
  return (embedder && "dimensions" in embedder ? embedder.dimensions : null) ?? null;
}

/** The client's errors as MeilisearchError, with Meilisearch's own code and message where it answered. */
function ours(error: unknown): unknown {
  if (error instanceof MeilisearchApiError) return new MeilisearchError(`Meilisearch answered ${error.response.status}: ${error.message}`, error.cause?.code ?? null);
  if (error instanceof MeilisearchTaskTimeOutError) return new MeilisearchError(error.message, "task_timeout");
  if (error instanceof MeilisearchRequestError) {
    const timedOut = error.cause instanceof MeilisearchRequestTimeOutError;
    const reason = timedOut ? `no answer within ${(error.cause as MeilisearchRequestTimeOutError).cause.timeout} ms` : String((error.cause as Error | undefined)?.message ?? error.cause);
    return new MeilisearchError(`${error.message}: ${reason}`, timedOut ? "request_timeout" : "request_failed");
  }
  return error;
}

/** A filter string literal: double-quoted, with backslashes and quotes escaped. */
function quote(value: string): string {
  return `"${value.replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"`;
}
