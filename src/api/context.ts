// What every API route module is built from. Modules create their own services from it.
import type { Config } from "../config.ts";
import type { KnowledgeIndex } from "../knowledge/types.ts";
import type { Sealer } from "../platform/crypto.ts";
import type { Database } from "../platform/db/index.ts";
import type { EventBus } from "../platform/events/index.ts";
import type { Jobs } from "../platform/jobs/index.ts";
import type { createConventions } from "../platform/http/conventions.ts";
import type { Geocoder } from "../platform/geo/index.ts";
import type { RateLimitStore } from "../platform/http/rate-limit.ts";
import type { Logger } from "../platform/log.ts";
import type { Telemetry } from "../platform/telemetry/index.ts";
import type { ConversationRuntime } from "../runtime/conversation.ts";
import type { Speech } from "../../voice/speech/index.ts";
import type { AgentsService } from "./agents/service.ts";

export type Conventions = ReturnType<typeof createConventions>;

export interface ApiContext {
  conventions: Conventions;
  database: Database;
  sealer: Sealer;
  config: Config;
  log: Logger;
  geocoder: Geocoder;
  agents: AgentsService;
  /** The one conversation runtime every channel adapts. */
  runtime: ConversationRuntime;
  /** The agents' knowledge: retrieval for the runtime, passages written by ingestion. */
  knowledge: KnowledgeIndex;
  /** Background jobs (pg-boss on the application's database). */
  jobs: Jobs;
  /** VAD, STT and TTS engines and the voice catalog, chosen at start from MODELS_DIR and SPEECH_BASE_URL. */
  speech: Speech;
  /** Where rate limits are counted (shared by the replicas on Postgres or Redis). */
  rateLimits: RateLimitStore;
  /** Domain events: subscribe to react to changes (docs/events.md); emit with appendEvents inside the change's transaction. */
  events: EventBus;
  /** Metrics and traces of this app instance. */
  telemetry: Telemetry;
}
