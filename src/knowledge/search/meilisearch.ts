// Meilisearch (≥ 1.6) as the search engine, over its published HTTP API with fetch. One index holds every
// organization's chunks; `organizationId`, `agentId` and `sourceId` are filterable and every query filters on them.
// Vectors are user-provided (embedder "default", `_vectors.default`), and search is hybrid: keyword and vector
// results merged at a semantic ratio of 0.5, scored by Meilisearch's own `_rankingScore` in [0, 1]. Its scale
// differs from the in-process engine's: a vector hit scores (1 + cosine) / 2, so an unrelated chunk is near 0.5.
// Writes are asynchronous tasks in Meilisearch; every write here waits for its task, so a resolved upsert or
// removal is visible to the next search. Before 1.13, vector search is the experimental `vectorStore` feature,
// switched on here when the server's version needs it.
import type { ChunkDocument, SearchEngine, SearchHit, SearchQuery } from "./types.ts";

export interface MeilisearchOptions {
  url: string;
  apiKey: string | null;
  /** Index uid; one per installation. */
  index?: string;
  semanticRatio?: number;
  /** How long to wait for one task before giving up. */
  taskTimeoutMs?: number;
}

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

interface Task {
  uid: number;
  status: "enqueued" | "processing" | "succeeded" | "failed" | "canceled";
  error: { message: string; code: string } | null;
}

export function createMeilisearchEngine({ url, apiKey, index = "flowyte_knowledge", semanticRatio = 0.5, taskTimeoutMs = 60_000 }: MeilisearchOptions): SearchEngine {
  const base = url.replace(/\/+$/, "");
  const indexPath = `/indexes/${encodeURIComponent(index)}`;
  const prepared = new Map<number, Promise<void>>();

  const call = async <T>(method: string, path: string, body?: unknown): Promise<T> => {
    const res = await fetch(base + path, {
      method,
      headers: { ...(body === undefined ? {} : { "content-type": "application/json" }), ...(apiKey ? { authorization: `Bearer ${apiKey}` } : {}) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    const parsed = text ? JSON.parse(text) : null;
    if (!res.ok) throw new MeilisearchError(`Meilisearch ${method} ${path} answered ${res.status}: ${parsed?.message ?? text}`, parsed?.code ?? null);
    return parsed as T;
  };

  const waitFor = async ({ taskUid }: { taskUid: number }): Promise<void> => {
    const deadline = Date.now() + taskTimeoutMs;
    for (let pause = 5; ; pause = Math.min(pause * 2, 250)) {
      const task = await call<Task>("GET", `/tasks/${taskUid}`);
      if (task.status === "succeeded") return;
      if (task.status === "failed" || task.status === "canceled") {
        throw new MeilisearchError(`Meilisearch task ${taskUid} ${task.status}: ${task.error?.message ?? "no reason given"}`, task.error?.code ?? null);
      }
      if (Date.now() > deadline) throw new MeilisearchError(`Meilisearch task ${taskUid} still ${task.status} after ${taskTimeoutMs} ms`, null);
      await Bun.sleep(pause);
    }
  };

  const enableVectorStoreIfNeeded = async () => {
    const { pkgVersion } = await call<{ pkgVersion: string }>("GET", "/version");
    const [major, minor] = pkgVersion.split(".").map(Number);
    if (major === 1 && minor! < 13) await call("PATCH", "/experimental-features", { vectorStore: true });
  };

  const createIndexIfMissing = async () => {
    try {
      await call("GET", indexPath);
    } catch (error) {
      if (!(error instanceof MeilisearchError && error.code === "index_not_found")) throw error;
      try {
        await waitFor(await call("POST", "/indexes", { uid: index, primaryKey: "id" }));
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
        await waitFor(
          await call("PATCH", `${indexPath}/settings`, {
            filterableAttributes: FILTERABLE,
            searchableAttributes: ["question", "text"],
            ...(dimensions ? { embedders: { [EMBEDDER]: { source: "userProvided", dimensions } } } : {}),
          }),
        );
      })();
      ready.catch(() => prepared.delete(dimensions));
      prepared.set(dimensions, ready);
    }
    return ready;
  };

  const search = async (query: SearchQuery): Promise<SearchHit[]> => {
    if (query.sourceIds?.length === 0 || query.limit <= 0) return [];
    const filter = [`organizationId = ${quote(query.organizationId)}`, `agentId = ${quote(query.agentId)}`];
    if (query.sourceIds) filter.push(`sourceId IN [${query.sourceIds.map(quote).join(", ")}]`);
    // Meilisearch scores a zero vector as identical to everything; such a query (an empty text) is keyword-only.
    const semantic = query.embedding.some((v) => v !== 0) ? { vector: query.embedding, hybrid: { embedder: EMBEDDER, semanticRatio } } : {};
    let result: { hits: (Omit<SearchHit, "score"> & { _rankingScore: number })[] };
    try {
      result = await call("POST", `${indexPath}/search`, {
        q: query.text,
        ...semantic,
        filter: filter.join(" AND "),
        limit: query.limit,
        showRankingScore: true,
        attributesToRetrieve: RETRIEVED,
      });
    } catch (error) {
      if (error instanceof MeilisearchError && error.code === "index_not_found") return [];
      throw error;
    }
    return result.hits.map(({ _rankingScore, ...hit }) => ({
      id: hit.id,
      sourceId: hit.sourceId,
      text: hit.text,
      question: hit.question ?? null,
      answer: hit.answer ?? null,
      sourceUrl: hit.sourceUrl ?? null,
      language: hit.language ?? null,
      score: Math.min(1, Math.max(0, _rankingScore)),
    }));
  };

  return {
    name: "meilisearch",

    async upsert(chunks) {
      if (!chunks.length) return;
      await prepare(chunks.find((c) => c.embedding.length)?.embedding.length ?? 0);
      for (let i = 0; i < chunks.length; i += DOCUMENT_BATCH) {
        await waitFor(await call("POST", `${indexPath}/documents?primaryKey=id`, chunks.slice(i, i + DOCUMENT_BATCH).map(toDocument)));
      }
    },

    async removeSource(agentId, sourceId) {
      try {
        await waitFor(await call("POST", `${indexPath}/documents/delete`, { filter: `agentId = ${quote(agentId)} AND sourceId = ${quote(sourceId)}` }));
      } catch (error) {
        if (!(error instanceof MeilisearchError && error.code === "index_not_found")) throw error;
      }
    },

    search,
  };
}

function toDocument({ embedding, ...chunk }: ChunkDocument) {
  // A chunk without an embedding opts out of vector search explicitly; Meilisearch accepts null for that.
  return { ...chunk, _vectors: { [EMBEDDER]: embedding.length ? embedding : null } };
}

/** A filter string literal: double-quoted, with backslashes and quotes escaped. */
function quote(value: string): string {
  return `"${value.replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"`;
}
