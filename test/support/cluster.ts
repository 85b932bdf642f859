// Test harness for a cluster: several replicas of the real server, in this process, on one fresh Postgres database,
// as several pods behind a load balancer run. They share the master key, the admin key and the data folder (the
// shared volume of a chart with replicaCount > 1). A cluster needs Postgres: the tests that use it run when
// DATABASE_URL names one (the suite's Postgres pass) and skip themselves on the embedded store.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { sql } from "drizzle-orm";
import type { Config } from "../../src/config.ts";
import { createOrganization } from "../../src/platform/auth/organizations.ts";
import { createLogger, type Logger } from "../../src/platform/log.ts";
import { startServer, type RunningServer } from "../../src/server.ts";
import { type ApiResult, callApi, freshPostgres, newAdminKey, testConfig } from "./app.ts";

/** Why cluster tests cannot run here (no Postgres to share), or null when they can. */
export const clusterUnavailable: string | null = process.env.DATABASE_URL ? null : "a cluster needs Postgres: set DATABASE_URL";

const quiet = createLogger((process.env.TEST_LOG_LEVEL as "error") ?? "error");

export interface Replica {
  /** 0, 1, 2…: the replica's place in the cluster. */
  index: number;
  url: string;
  config: Config;
  server: RunningServer;
  api<T = any>(method: string, path: string, opts?: { key?: string | null; body?: unknown; headers?: Record<string, string>; raw?: string }): Promise<ApiResult<T>>;
  /** Stop (drained, as a rolling update does) and start again on the same storage, with the same configuration. */
  restart(): Promise<void>;
  /** Stop it for good (drained); the others go on. */
  stop(): Promise<void>;
  readonly running: boolean;
}

export interface TestCluster {
  replicas: Replica[];
  adminKey: string;
  /** The shared database's URL. */
  databaseUrl: string;
  newOrg(name?: string): Promise<{ organizationId: string; key: string }>;
  /** Raw SQL against the shared storage. */
  query<T = Record<string, unknown>>(text: string): Promise<T[]>;
  stop(): Promise<void>;
}

/**
 * Starts `replicas` servers on one fresh Postgres database. `env` applies to all; `envFor(i)` adds a replica's own
 * settings (e.g. a replica id). `log` receives every replica's log lines.
 */
export async function startCluster(opts: { replicas?: number; env?: Record<string, string>; envFor?: (index: number) => Record<string, string>; log?: Logger } = {}): Promise<TestCluster> {
  if (clusterUnavailable) throw new Error(clusterUnavailable);
  const count = opts.replicas ?? 2;
  const log = opts.log ?? quiet;
  const pg = await freshPostgres(process.env.DATABASE_URL!);
  const dataDir = mkdtempSync(join(tmpdir(), "flowyte-cluster-"));
  const adminKey = newAdminKey();
  const masterKey = randomBytes(32).toString("hex");
  const replicas: Replica[] = [];
  // One at a time, as a rollout starts them: the first migrates and bootstraps, the others find it done.
  for (let index = 0; index < count; index++) {
    const config = testConfig(dataDir, pg.url, adminKey, { ...opts.env, ...opts.envFor?.(index) }, masterKey);
    let server = await startServer(config, log);
    let running = true;
    const replica: Replica = {
      index,
      config,
      get url() {
        return server.url;
      },
      get server() {
        return server;
      },
      get running() {
        return running;
      },
      api: (method, path, o = {}) => callApi(server.url, adminKey, method, path, o),
      async restart() {
        if (running) await server.stop();
        server = await startServer({ ...config, port: 0 }, log);
        running = true;
      },
      async stop() {
        if (!running) return;
        running = false;
        await server.stop();
      },
    };
    replicas.push(replica);
  }
  const anyRunning = () => {
    const r = replicas.find((x) => x.running);
    if (!r) throw new Error("no replica is running");
    return r.server;
  };
  return {
    replicas,
    adminKey,
    databaseUrl: pg.url,
    async newOrg(name = "Cluster test org") {
      const { organization, key } = await createOrganization(anyRunning().database.db, name);
      return { organizationId: organization.id, key: key.secret };
    },
    async query<T>(text: string) {
      const result = (await anyRunning().database.db.execute(sql.raw(text))) as unknown as { rows?: T[] } | T[];
      return Array.isArray(result) ? result : (result.rows ?? []);
    },
    async stop() {
      for (const r of replicas) await r.stop();
      await pg.drop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
