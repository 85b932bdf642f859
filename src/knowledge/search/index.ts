// Search engines behind one interface: the in-process engine by default, Meilisearch when MEILI_URL is set.
import type { Config } from "../../config.ts";
import type { Logger } from "../../platform/log.ts";
import { createInProcessSearchEngine } from "./in-process.ts";
import { createMeilisearchEngine } from "./meilisearch.ts";
import type { SearchEngine } from "./types.ts";

export type { ChunkDocument, EngineStats, SearchEngine, SearchHit, SearchQuery } from "./types.ts";
export { createInProcessSearchEngine, searchableText } from "./in-process.ts";
export { createMeilisearchEngine, MeilisearchError, type MeilisearchOptions } from "./meilisearch.ts";

export function createSearchEngine(config: Pick<Config, "meili">, log: Logger): SearchEngine {
  if (config.meili) {
    log.info(`knowledge search: Meilisearch at ${config.meili.url} (MEILI_URL is set)`);
    return createMeilisearchEngine(config.meili);
  }
  log.info("knowledge search: in-process engine (set MEILI_URL to use Meilisearch)");
  return createInProcessSearchEngine();
}
