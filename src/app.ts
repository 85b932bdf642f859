// Builds the whole HTTP application from its dependencies; `main.ts` and the test harness both use it.
import { Elysia, t } from "elysia";
import { agentRoutes } from "./api/agents/routes.ts";
import { AgentsService } from "./api/agents/service.ts";
import { apiKeyRoutes } from "./api/api-keys/routes.ts";
import { ApiKeysService } from "./api/api-keys/service.ts";
import { auditLogRoutes } from "./api/audit-logs/routes.ts";
import { chatRoutes } from "./api/chat/routes.ts";
import type { ApiContext } from "./api/context.ts";
import { guardrailRoutes } from "./api/guardrails/routes.ts";
import { IntegrationConnections } from "./api/integrations/connections.ts";
import type { PluginRegistry } from "./api/integrations/registry.ts";
import { OAuthGrants, oauthCallbackRoute } from "./api/integrations/oauth.ts";
import { integrationRoutes } from "./api/integrations/routes.ts";
import { createOperationSigner } from "./api/integrations/signing.ts";
import { GapRecorder } from "./api/knowledge/gaps.ts";
import { knowledgeRoutes } from "./api/knowledge/routes.ts";
import { KnowledgeSourcesService } from "./api/knowledge/service.ts";
import { observeRoutes } from "./api/observe/routes.ts";
import { playbookRoutes } from "./api/playbooks/routes.ts";
import { publishableKeyRoutes } from "./api/publishable-keys/routes.ts";
import { skillRoutes } from "./api/skills/routes.ts";
import { SkillsService } from "./api/skills/service.ts";
import { testRoutes } from "./api/test/routes.ts";
import { uploadRoutes } from "./api/uploads/routes.ts";
import { UploadsService } from "./api/uploads/service.ts";
import { variableRoutes } from "./api/variables/routes.ts";
import { configuredWidgetHooks, widgetRoutes } from "./api/widget/routes.ts";
import { widgetAssetRoutes } from "./web/widget/routes.ts";
import { metaRoutes, type Capabilities } from "./api/meta/routes.ts";
import { numberRoutes } from "./api/numbers/routes.ts";
import { billingRoutes } from "./api/billing/routes.ts";
import { scheduleMetering } from "./api/billing/metering.ts";
import { languageMatrix } from "./api/meta/languages.ts";
import { voiceRoutes } from "./api/voices/routes.ts";
import { createTalk } from "./api/test/talk.ts";
import { agentForDialedNumber } from "./api/numbers/service.ts";
import { startVoiceService } from "../voice/service.ts";
import { createSpeech, type Speech, useInstalledSpeech } from "../voice/speech/index.ts";
import type { Config } from "./config.ts";
import { createEmbedder, createLocalEmbedder, swappableEmbedder } from "./knowledge/embedders/index.ts";
import { createKnowledgeIndex } from "./knowledge/index.ts";
import { requestReindex } from "./knowledge/reindex.ts";
import type { ModelKind } from "./platform/models/index.ts";
import { createIngestion } from "./knowledge/ingestion/index.ts";
import { AuditRecorder } from "./platform/audit/recorder.ts";
import { SecretKeyAuthenticator } from "./platform/auth/keys.ts";
import { PublishableKeyAuthenticator } from "./platform/auth/publishable.ts";
import type { Sealer } from "./platform/crypto.ts";
import type { Database } from "./platform/db/index.ts";
import { createEgressGuard } from "./platform/egress.ts";
import { createDependencyHealth, DEPENDENCY_NAMES } from "./platform/health.ts";
import { createConventions } from "./platform/http/conventions.ts";
import { IdempotencyStore } from "./platform/http/idempotency.ts";
import { openApiDocs } from "./platform/http/openapi.ts";
import { createRateLimitStore, RateLimit } from "./platform/http/rate-limit.ts";
import { createGeocoder } from "./platform/geo/index.ts";
import { createJobs } from "./platform/jobs/index.ts";
import { createEventBus } from "./platform/events/index.ts";
import type { Logger } from "./platform/log.ts";
import { createTelemetry, metricsRoute, requestTelemetry, traced } from "./platform/telemetry/index.ts";
import { ConversationRuntime } from "./runtime/conversation.ts";
import { ConversationStore } from "./runtime/store.ts";
import { createSkillRunner, type Retriever } from "./runtime/tools/index.ts";
import pkg from "../package.json";

const DependencyReportSchema = t.Object(Object.fromEntries(DEPENDENCY_NAMES.map((name) => [name, t.Union([t.Literal("up"), t.Literal("down"), t.Literal("not_configured")])])));

export interface AppDeps {
  config: Config;
  database: Database;
  sealer: Sealer;
  log: Logger;
  /** The integration plugins loaded at start (built-in and PLUGINS_DIR; server.ts loads them). */
  plugins: PluginRegistry;
  /** Speech engines other than the ones MODELS_DIR and SPEECH_BASE_URL give (tests bring a scripted recognizer). */
  speech?: Speech;
}

export function createApp({ config, database, sealer, log, plugins, speech: givenSpeech }: AppDeps) {
  const audit = new AuditRecorder(database.db, log);
  const telemetry = createTelemetry(config, log);
  const { metrics } = telemetry;
  /** Set once the server is told to stop: readiness fails so load balancers move traffic away first. */
  let draining = false;
  const idempotency = new IdempotencyStore(database.db, sealer);
  const rateLimits = createRateLimitStore({ database, redisUrl: config.redisUrl, log });
  const conventions = createConventions({
    log,
    authenticator: new SecretKeyAuthenticator(database, { ttlMs: config.cacheTtlSeconds * 1000 }),
    publishableKeys: new PublishableKeyAuthenticator(database, { ttlMs: config.cacheTtlSeconds * 1000 }),
    rateLimit: new RateLimit(rateLimits, "api", 60, log, () => metrics.rateLimitStoreErrors.inc({ limit: "api" })),
    rateLimitPerMinute: config.rateLimitPerMinute,
    idempotency,
    audit,
    jsonBodyLimit: config.maxJsonBodyBytes,
  });
  const { dependencyHealth } = createDependencyHealth(config);
  metrics.watchDependencies(dependencyHealth);
  const capabilities: Capabilities = {
    storage: database.kind,
    voiceEnabled: config.ari !== null,
    outboundEnabled: false,
    smsEnabled: false,
    llmConfigured: config.llm !== null,
    rateLimitPerMinute: config.rateLimitPerMinute,
  };

  const speech = givenSpeech ?? createSpeech(config, log, { languages: languageMatrix().languages.map((l) => l.code) });
  const agents = new AgentsService(database, speech.catalog, { cacheTtlMs: config.cacheTtlSeconds * 1000, defaultPhoneRegion: config.defaultPhoneRegion });
  const geocoder = createGeocoder(config);
  const store = new ConversationStore(database.db);
  // Swappable: the local embedding model may land while the server runs (fetched at first start, docs/models.md).
  const embedder = swappableEmbedder(createEmbedder(config, log));
  const knowledge = createKnowledgeIndex({ database, config, log, embedder });
  const jobs = createJobs({ database, databaseUrl: config.databaseUrl, log, telemetry });
  const events = createEventBus({ database, log, retentionDays: config.eventRetentionDays });
  jobs.schedule("domain-events-prune", "41 * * * *", () => events.prune());
  const uploads = new UploadsService(database.db, config.dataDir);
  const gaps = new GapRecorder(database.db, knowledge, agents, log);
  const egress = createEgressGuard({ allowlist: config.egressAllowlist });
  // Plugins reach providers through the same egress guard as every outbound call; databases on a private network
  // without TLS only when SQL_PLAINTEXT_HOSTS names them.
  const oauth = new OAuthGrants({ db: database.db, sealer, guard: egress, registry: plugins, clients: config.integrations.oauthClients, publicBaseUrl: config.publicBaseUrl, log });
  const connections = new IntegrationConnections({
    oauth,
    db: database.db,
    sealer,
    registry: plugins,
    guard: egress,
    log,
    timeoutMs: config.integrations.timeoutMs,
    plaintextHosts: config.integrations.sqlPlaintextHosts,
    changes: database.changes,
  });
  const signer = createOperationSigner(sealer);
  const ingestion = createIngestion({ db: database.db, jobs, index: knowledge, files: uploads, egress, log, metrics, onIndexed: (source) => gaps.coverBy(source) });
  // Every knowledge search (a brain's, the knowledge_query skill's) is a span of the turn that made it.
  const retriever: Retriever = { search: (...args) => traced("knowledge.retrieval", {}, () => knowledge.retriever.search(...args)) };
  const runtime = new ConversationRuntime({
    store,
    runSkill: createSkillRunner({ sealer, config, geocoder, log, retriever, metrics, integrations: connections, signer }),
    llm: config.llm,
    retriever,
    onUnanswered: (question) => void gaps.record(question),
    loadCompiled: (row) => (row.agentVersionId ? agents.versionConfig(row.organizationId, row.agentId, row.agentVersionId) : agents.draftConfig(row.organizationId, row.agentId)),
    log,
    metrics,
    defaultPhoneRegion: config.defaultPhoneRegion,
  });
  scheduleMetering({ db: database.db, jobs, rates: config.usageRates, log });
  const ctx: ApiContext = { conventions, database, sealer, config, log, geocoder, agents, runtime, knowledge, jobs, speech, rateLimits, events, telemetry };

  // normalize "typebox": Elysia's default normalizer turns a wrong-typed nested object whose fields are all
  // optional into {} instead of refusing it; TypeBox's own cleaning keeps the validation honest.
  const talk = createTalk(ctx);
  // WebSocket messages (the in-browser voice test) are 20 ms audio frames and small JSON: 256 KiB is plenty.
  const app = new Elysia({ normalize: "typebox", serve: { maxRequestBodySize: 32 * 1024 * 1024 }, websocket: { maxPayloadLength: 256 * 1024 } })
    .use(requestTelemetry(telemetry))
    .use(conventions)
    .use(openApiDocs(pkg.version))
    .use(metricsRoute(telemetry, config.metricsToken))
    .get("/health", () => ({ status: "ok" as const }), {
      publicRoute: true,
      response: { 200: t.Object({ status: t.Literal("ok") }) },
      detail: { summary: "Liveness", description: "The process is up.", tags: ["Health"] },
    })
    .get(
      "/ready",
      async ({ set }) => {
        const [ready, dependencies] = await Promise.all([draining ? false : database.ready(), dependencyHealth()]);
        set.status = ready ? 200 : 503;
        return { status: ready ? ("ready" as const) : draining ? ("draining" as const) : ("not_ready" as const), storage: database.kind, dependencies };
      },
      {
        publicRoute: true,
        response: {
          200: t.Object({ status: t.Literal("ready"), storage: t.String(), dependencies: DependencyReportSchema }),
          503: t.Object({ status: t.Union([t.Literal("not_ready"), t.Literal("draining")]), storage: t.String(), dependencies: DependencyReportSchema }),
        },
        detail: {
          summary: "Readiness",
          description:
            "Storage answers and every migration is applied (else 503 `not_ready`); `draining` (503) once the server has been told to stop, so load balancers send no new requests. `dependencies` reports each optional system the server calls: `up`, `down` or `not_configured`; one that is down does not make the server unready, since conversations go on without it.",
          tags: ["Health"],
        },
      },
    )
    .use(agentRoutes(conventions, agents))
    .use(apiKeyRoutes(conventions, new ApiKeysService(database)))
    .use(auditLogRoutes(conventions, database.db, audit))
    .use(metaRoutes(conventions, database.db, capabilities))
    .use(skillRoutes(ctx))
    .use(playbookRoutes(ctx))
    .use(variableRoutes(ctx))
    .use(guardrailRoutes(ctx))
    .use(testRoutes(ctx, store))
    .use(talk.routes)
    .use(chatRoutes(ctx))
    .use(publishableKeyRoutes(ctx))
    .use(observeRoutes(ctx))
    .use(widgetRoutes(ctx, configuredWidgetHooks(config, log)))
    .use(widgetAssetRoutes(conventions))
    .use(uploadRoutes(ctx, uploads))
    .use(knowledgeRoutes(ctx, new KnowledgeSourcesService({ db: database.db, agents, index: knowledge, ingestion, uploads, gaps, egress }), gaps))
    .use(numberRoutes(ctx))
    .use(billingRoutes(ctx))
    .use(voiceRoutes(ctx))
    .use(integrationRoutes(ctx, { connections, oauth, signer, skills: new SkillsService(database, sealer, config.defaultPhoneRegion) }))
    .use(oauthCallbackRoute(conventions, oauth, { announce: (organizationId, kind) => connections.announce(organizationId, kind), log }));

  // Keys older than a day can no longer replay, and rate limit windows long closed count nothing: clear them out hourly.
  const purge = setInterval(() => {
    void idempotency.purgeExpired().catch(() => {});
    void rateLimits.purgeExpired().catch((error) => log.warn("could not delete closed rate limit windows", { error }));
  }, 60 * 60 * 1000);
  purge.unref?.();
  let voice: ReturnType<typeof startVoiceService> = null;

  return {
    app,
    /** Each optional dependency's status (Meilisearch, LLM, embeddings, speech), as `/ready` reports it. */
    dependencyHealth,
    /** Domain events: features subscribe here (docs/events.md). */
    events,
    /** Before listening: load the knowledge index, then start working jobs (ingestion may use the index). */
    async start() {
      await knowledge.ready();
      await rateLimits.ready();
      await jobs.start();
      await events.start();
      voice = startVoiceService({
        config,
        db: database.db,
        storage: database.kind,
        runtime,
        speech,
        route: (dialed) => agentForDialedNumber(database.db, dialed, config.defaultPhoneRegion),
        compiledFor: async (organizationId, agentId) => {
          const { compiled, versionId } = await agents.compiledFor(organizationId, agentId, false);
          return { compiled, versionId: versionId! };
        },
        log,
        telemetry,
      });
    },
    /** A model fetched in the background is in MODELS_DIR: switch the running part to it (docs/models.md). */
    async modelInstalled(kind: ModelKind) {
      if (kind !== "embeddings") return useInstalledSpeech(speech, config, log, kind);
      if (config.embeddings) return;
      const local = createLocalEmbedder(config.modelsDir);
      // Loaded and tried before it takes over, so a model that cannot run leaves the fallback in place.
      await local.embed(["warm-up"]);
      embedder.use(local);
      log.info(`knowledge embeddings: local model ${local.model} (${local.dimensions} dimensions), fetched while the server ran; chunks are re-embedded in the background`);
      // Vectors of the old embedder leave the engine now (keyword matches meanwhile); the reindex job makes new ones.
      await knowledge.refill({ signal: AbortSignal.timeout(5 * 60 * 1000), staleOnly: true });
      await requestReindex(jobs);
    },
    /** Stop taking new work: `/ready` answers 503 `draining` from now on (requests and calls are still served). */
    startDraining() {
      draining = true;
    },
    /** Stop background work (jobs still running come back as retries), store what is buffered (audit entries). */
    async drain() {
      clearInterval(purge);
      await voice?.stop();
      await talk.stop();
      await events.stop();
      await Promise.all([speech.vad.close?.(), speech.streaming?.close?.()]);
      await jobs.stop();
      await knowledge.stop();
      await audit.flush();
      await rateLimits.close();
      // Last: the spans of everything above go out before the process ends.
      await telemetry.shutdown();
    },
  };
}
