// Chooses the embedder once at start and says which, and why, in one log line.
import type { Config } from "../../config.ts";
import type { Logger } from "../../platform/log.ts";
import { createHashingEmbedder } from "./hashing.ts";
import type { Embedder } from "./types.ts";

export type { Embedder } from "./types.ts";
export { createHashingEmbedder, hashText } from "./hashing.ts";

export function createEmbedder(_config: Config, log: Logger): Embedder {
  const embedder = createHashingEmbedder();
  log.warn(`knowledge embeddings: hashing fallback (${embedder.model}), lexical only`);
  return embedder;
}
