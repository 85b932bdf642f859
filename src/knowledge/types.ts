// The knowledge index: what ingestion writes to and what retrieval reads from. It owns the chunk rows
// (knowledge_chunks, the source of truth, with their embeddings) and keeps the search engine in step with them.
import type { Db } from "../platform/db/index.ts";
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

/** The passages of one source to write, and how they replace those it has. */
export interface SourcePassages {
  organizationId: string;
  agentId: string;
  sourceId: string;
  chunks: ChunkInput[];
  /**
   * `progressive` (a first indexing): each batch is stored and searchable as soon as it commits, after the first
   * `resumeFrom` passages, which a run cut off earlier stored already (the chunking is deterministic).
   * `swap` (a refresh; the default): the passages in use stay until the last batch, which swaps the new ones in.
   */
  mode?: "progressive" | "swap";
  resumeFrom?: number;
  /**
   * Runs inside every batch's transaction, before its passages are written, so the source's count and progress
   * commit with them: `written` passages of `total` are stored once it commits. `last` marks the transaction that
   * finishes the run: a swap's final batch, or, for a progressive run, one right after its last batch reached the
   * search engine. Answers false when the source is gone: nothing of the batch is written and the run stops.
   */
  record?(tx: Db, batch: { written: number; total: number; last: boolean }): Promise<boolean>;
  signal?: AbortSignal;
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
  /**
   * Replace every chunk of a source, a batch at a time (embed, store, update the engine), each batch its own short
   * transaction with the event loop free between batches. Null when the source went away on the way.
   */
  replaceSource(input: SourcePassages, onProgress?: (done: number, total: number) => void): Promise<{ chunkCount: number } | null>;
  /** Delete every chunk of a source; `record` runs in the same transaction (the source's status and count). */
  removeSource(organizationId: string, agentId: string, sourceId: string, record?: (tx: Db) => Promise<unknown>): Promise<void>;
  /** Hybrid search over an agent's chunks; embeds the query. `signal` ends it early, rejecting with its reason. */
  search(query: { organizationId: string; agentId: string; text: string; limit: number; sourceIds?: string[] }, signal?: AbortSignal): Promise<SearchHit[]>;
  /** The runtime's view: passages for a question. */
  readonly retriever: Retriever;
  /** Load what the engine needs from storage (the in-process engine rebuilds from knowledge_chunks at start). */
  ready(): Promise<void>;
  /** Stop following the other replicas' writes (the server is stopping). */
  stop(): Promise<void>;
  inspect(): Promise<IndexState>;
  /**
   * Embed the stale chunks again with the current embedder, a batch at a time (each committed, so a run cut off
   * loses at most one batch), updating the engine and the sources' embeddingModel; stops early once `until` passes.
   */
  reembed(run: { signal: AbortSignal; until: number }): Promise<{ chunks: number; finished: boolean }>;
  /** Write stored chunks (every one, or only the stale ones) into the engine again; stale ones without their vectors. */
  refill(run: { signal: AbortSignal; staleOnly: boolean }): Promise<{ chunks: number }>;
}
