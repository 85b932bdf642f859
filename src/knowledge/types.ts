// The knowledge index: what ingestion writes to and what retrieval reads from. It owns the chunk rows
// (knowledge_chunks, the source of truth, with their embeddings) and keeps the search engine in step with them.
import type { Retriever } from "../runtime/tools/types.ts";
import type { Embedder } from "./embedders/types.ts";
import type { EngineStats, SearchEngine, SearchHit } from "./search/types.ts";

export interface ChunkInput {
  text: string;
  question?: string | null;
  answer?: string | null;
  sourceUrl?: string | null;
  language?: string | null;
}

/** How storage, the embedder and the engine stand with one another. */
export interface IndexState {
  /** Chunks in knowledge_chunks. */
  chunks: number;
  /** Chunks whose vectors another embedder made (model null: not recorded), by that model. */
  stale: { model: string | null; chunks: number }[];
  /** What a persistent engine holds; null for one filled from storage at start. */
  engine: EngineStats | null;
}

export interface KnowledgeIndex {
  readonly embedder: Embedder;
  readonly engine: SearchEngine;
  /** Replace every chunk of a source: embed, store the rows, update the engine. */
  replaceSource(input: { organizationId: string; agentId: string; sourceId: string; chunks: ChunkInput[] }, onProgress?: (done: number, total: number) => void): Promise<{ chunkCount: number }>;
  removeSource(organizationId: string, agentId: string, sourceId: string): Promise<void>;
  /** Hybrid search over an agent's chunks; embeds the query. */
  search(query: { organizationId: string; agentId: string; text: string; limit: number; sourceIds?: string[] }): Promise<SearchHit[]>;
  /** The runtime's view: passages for a question. */
  readonly retriever: Retriever;
  /** Load what the engine needs from storage (the in-process engine rebuilds from knowledge_chunks at start). */
  ready(): Promise<void>;
  inspect(): Promise<IndexState>;
  /**
   * Embed the stale chunks again with the current embedder, a batch at a time (each committed, so a run cut off
   * loses at most one batch), updating the engine and the sources' embeddingModel; stops early once `until` passes.
   */
  reembed(run: { signal: AbortSignal; until: number }): Promise<{ chunks: number; finished: boolean }>;
  /** Write stored chunks (every one, or only the stale ones) into the engine again; stale ones without their vectors. */
  refill(run: { signal: AbortSignal; staleOnly: boolean }): Promise<{ chunks: number }>;
}
