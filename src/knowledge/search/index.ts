// Search engines behind one interface: the in-process engine by default, Meilisearch when MEILI_URL is set.
import type { Config } from "../../config.ts";
import type { Logger } from "../../platform/log.ts";
import { createInProcessSearchEngine } from "./in-process.ts";
import type { SearchEngine } from "./types.ts";

export type { ChunkDocument, SearchEngine, SearchHit, SearchQuery } from "./types.ts";
export { createInProcessSearchEngine, searchableText } from "./in-process.ts";
export { stem, terms, words } from "./tokens.ts";

export function createSearchEngine(_config: Config, log: Logger): SearchEngine {
  log.info("knowledge search: in-process engine");
  return createInProcessSearchEngine();
}
