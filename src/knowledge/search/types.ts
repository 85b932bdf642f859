// Search engines behind one interface: the in-process engine (the embedded default) and Meilisearch (MEILI_URL).
// Both run hybrid retrieval: keyword and vector results fused into one ranking. One contract test suite runs
// against every engine that is available.

export interface ChunkDocument {
  id: string;
  organizationId: string;
  agentId: string;
  sourceId: string;
  text: string;
  /** FAQ chunks keep their question and answer apart. */
  question: string | null;
  answer: string | null;
  sourceUrl: string | null;
  language: string | null;
  embedding: number[];
}

export interface SearchHit {
  id: string;
  sourceId: string;
  text: string;
  question: string | null;
  answer: string | null;
  sourceUrl: string | null;
  language: string | null;
  /** Fused relevance in [0, 1]; comparable across queries, so thresholds ("does the knowledge cover this?") hold. */
  score: number;
}

export interface SearchQuery {
  organizationId: string;
  agentId: string;
  text: string;
  embedding: number[];
  limit: number;
  sourceIds?: string[];
}

export interface EngineStats {
  documents: number;
  /** The vector size the engine is set up for; null before any vector arrived. */
  dimensions: number | null;
}

export interface SearchEngine {
  readonly name: "in-process" | "meilisearch";
  /**
   * Whether the engine keeps its documents across restarts. One that does not is filled from knowledge_chunks at
   * start; one that does is compared with them at start (and hourly) and refilled when it holds something else.
   */
  readonly persistent: boolean;
  stats(): Promise<EngineStats>;
  /** Drop every document (and the vector setup, so the next vectors may have another size). */
  clear(): Promise<void>;
  /** Add or replace chunks (same id = replace). */
  upsert(chunks: ChunkDocument[]): Promise<void>;
  /** Drop every chunk of a source. */
  removeSource(agentId: string, sourceId: string): Promise<void>;
  /** `signal` ends a search under way (a turn's retrieval deadline): it rejects with the signal's reason. */
  search(query: SearchQuery, signal?: AbortSignal): Promise<SearchHit[]>;
}
