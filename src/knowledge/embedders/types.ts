// Embedders turn text into vectors for retrieval. Three implementations share this interface: a local
// transformers.js model from MODELS_DIR, an OpenAI-compatible /embeddings server, and a deterministic hashing
// embedder used when neither is available (announced once at start).
export interface Embedder {
  /** Stored with every chunk, so a change of model is visible and re-indexing can be decided. */
  readonly model: string;
  readonly dimensions: number;
  /** One unit-length vector per text, in order. `signal` ends a remote request early (a turn's retrieval deadline). */
  embed(texts: string[], signal?: AbortSignal): Promise<number[][]>;
}
