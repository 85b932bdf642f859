// One running appliance: storage opened and migrated, organizations bootstrapped, HTTP listening.
import { seedNumberPool } from "./api/numbers/service.ts";
import { loadPlugins } from "./api/integrations/registry.ts";
import { createApp, type AppDeps } from "./app.ts";
import type { Config } from "./config.ts";
import { bootstrapOrganizations } from "./platform/auth/organizations.ts";
import { createSealer, loadMasterKey } from "./platform/crypto.ts";
import { openDatabase, type Database } from "./platform/db/index.ts";
import type { EventBus } from "./platform/events/index.ts";
import type { Logger } from "./platform/log.ts";
import { configuredManifest, createModelManager, startModelDownloads } from "./platform/models/index.ts";

export interface RunningServer {
  url: string;
  port: number;
  database: Database;
  /** The domain event bus, to subscribe to (tests, embedders). */
  events: EventBus;
  /** The registered routes with their documentation, for introspection (the docs test walks them). */
  routes: { method: string; path: string; hidden: boolean; detail: Record<string, unknown> | undefined }[];
  /** `/ready` answers 503 `draining` from now on; everything else still works until `stop()`. */
  startDraining(): void;
  stop(): Promise<void>;
}

/** A wrapper around the server's request handler (Elysia's `wrap`): the test harness checks every answer with it. */
export type HandlerWrapper = (handle: (request: Request, ...rest: unknown[]) => unknown) => (request: Request, ...rest: unknown[]) => unknown;

/** `downloadModels`: fetch the default models MODELS_DIR lacks, in the background (`bun start` with MODELS_AUTO_DOWNLOAD). */
export async function startServer(config: Config, log: Logger, { downloadModels = false, wrap, ...overrides }: Pick<AppDeps, "speech"> & { downloadModels?: boolean; wrap?: HandlerWrapper } = {}): Promise<RunningServer> {
  const database = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, log });
  try {
    const sealer = createSealer(loadMasterKey(config.masterKey, config.dataDir, log));
    await bootstrapOrganizations(database.db, config.adminKey, log);
    await seedNumberPool(database.db, config.trunkNumbers);
    const plugins = await loadPlugins({ pluginsDir: config.integrations.pluginsDir, log });
    const { app, events, start, drain, startDraining, modelInstalled } = createApp({ config, database, sealer, log, plugins, ...overrides });
    if (wrap) app.wrap(wrap as Parameters<typeof app.wrap>[0]);
    try {
      await start();
    } catch (err) {
      await drain();
      throw err;
    }
    app.listen({ port: config.port, hostname: config.host });
    const port = app.server!.port!;
    const url = `http://${config.host === "0.0.0.0" ? "127.0.0.1" : config.host}:${port}`;
    log.info(`listening on ${url} (storage: ${database.kind}); API docs at ${config.publicBaseUrl}/api/v1/docs`);
    const downloads = downloadModels ? startModelDownloads(createModelManager({ modelsDir: config.modelsDir, manifest: configuredManifest(config), log, onInstalled: (spec) => modelInstalled(spec.kind) }), log) : null;
    let stopped = false;
    return {
      url,
      port,
      database,
      events,
      routes: app.routes.map((r) => {
        const detail = (r.hooks as { detail?: Record<string, unknown> }).detail;
        return { method: r.method, path: r.path, hidden: detail?.hide === true, detail };
      }),
      startDraining,
      async stop() {
        if (stopped) return;
        stopped = true;
        await downloads?.stop();
        await app.stop(true);
        // Elysia runs after-response hooks in setImmediate: let the queued ones finish before storage closes.
        await new Promise((r) => setImmediate(r));
        await drain();
        await database.close();
      },
    };
  } catch (err) {
    await database.close();
    throw err;
  }
}
