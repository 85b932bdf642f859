// Chooses the embedder once at start, and says which and why in one log line:
// EMBEDDINGS_BASE_URL → that OpenAI-compatible server; else the local model when its files are in MODELS_DIR;
// else the hashing embedder (lexical only, so it is announced as a warning).
import type { Config } from "../../config.ts";
import type { Logger } from "../../platform/log.ts";
import { createHashingEmbedder } from "./hashing.ts";
import { createLocalEmbedder, LocalModelMissingError } from "./local.ts";
import { createOpenAiCompatibleEmbedder } from "./openai-compatible.ts";
import type { Embedder } from "./types.ts";

export type { Embedder } from "./types.ts";
export { createHashingEmbedder, hashText } from "./hashing.ts";
export { createLocalEmbedder, DEFAULT_LOCAL_MODEL, loadFeatureExtractor, LocalModelMissingError } from "./local.ts";
export { createOpenAiCompatibleEmbedder, EmbeddingServerError } from "./openai-compatible.ts";

/** An embedder the running server can switch to another (the local model, once fetched at first start). */
export interface SwappableEmbedder extends Embedder {
  use(next: Embedder): void;
}

/** `model` and `dimensions` are read at each use, so the index labels and compares vectors by the embedder now in use. */
export function swappableEmbedder(initial: Embedder): SwappableEmbedder {
  let current = initial;
  return {
    get model() {
      return current.model;
    },
    get dimensions() {
      return current.dimensions;
    },
    embed: (texts, signal) => current.embed(texts, signal),
    use(next) {
      current = next;
    },
  };
}

export function createEmbedder(config: Pick<Config, "embeddings" | "modelsDir">, log: Logger): Embedder {
  if (config.embeddings) {
    const { baseUrl, model } = config.embeddings;
    log.info(`knowledge embeddings: OpenAI-compatible server ${baseUrl}, model ${model} (EMBEDDINGS_BASE_URL is set)`);
    return createOpenAiCompatibleEmbedder(config.embeddings);
  }
  try {
    const local = createLocalEmbedder(config.modelsDir);
    log.info(`knowledge embeddings: local model ${local.model} (${local.dimensions} dimensions) from ${config.modelsDir}/embeddings`);
    return local;
  } catch (error) {
    if (!(error instanceof LocalModelMissingError)) throw error;
    const hashing = createHashingEmbedder();
    log.warn(`knowledge embeddings: hashing fallback ${hashing.model}, which matches words, not meaning: EMBEDDINGS_BASE_URL is not set and ${error.message}`);
    return hashing;
  }
}
