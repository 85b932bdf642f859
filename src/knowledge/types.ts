// The knowledge index: what ingestion writes to and what retrieval reads from. It owns the chunk rows
// (knowledge_chunks, the source of truth, with their embeddings) and keeps the search engine in step with them.
import type { Retriever } from "../runtime/tools/types.ts";
import type { Embedder } from "./embedders/types.ts";
import type { SearchEngine, SearchHit } from "./search/types.ts";

export interface ChunkInput {
  text: string;
  question?: string | null;
  answer?: string | null;
  sourceUrl?: string | null;
  language?: string | null;
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
}
