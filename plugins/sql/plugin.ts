// One plugin definition for both SQL dialects: pools per connection, the ordered connection test, discovery,
// setup scripts, compiling bindings and executing compiled statements or operator templates.
import { createHash } from "node:crypto";
import { connect } from "node:net";
import {
  type CompiledOperation,
  type ConnectionCheck,
  definePlugin,
  type IntegrationPlugin,
  type OperationResult,
  type PluginContext,
  PluginError,
} from "../../src/api/integrations/contract.ts";
import { buildSchema, type RawCatalog, sampleText } from "./catalog.ts";
import { accountLabel, describeTls, readCredentials, refusePlaintext, SqlCredentials } from "./credentials.ts";
import { sqlFailure, TlsFailure } from "./errors.ts";
import { type Dialect, quoteIdent } from "./identifiers.ts";
import { mysqlCatalog, mysqlTls, mysqlWriteAccess, openMysql } from "./mysql.ts";
import { type CompiledStatement, compileBinding, compileTemplate, MAX_ROWS, type QueryTemplate, type SqlParam } from "./operation.ts";
import { openPostgres, postgresCatalog, postgresOffersTls, postgresTls, postgresWriteAccess } from "./postgres.ts";
import { setupScripts } from "./scripts.ts";
import type { Run, SqlSession } from "./session.ts";
import { bindValues, plainRow } from "./values.ts";

export type { CompiledStatement, QueryTemplate, SqlParam } from "./operation.ts";

/** Connections per pool: a voice agent runs a handful of lookups at a time per organization. */
const POOL_SIZE = 4;
const LATENCY = { good: 50, acceptable: 250 };

interface Driver {
  open(credentials: SqlCredentials, address: string, plaintextAllowed: boolean, max: number): SqlSession;
  catalog(run: Run): Promise<RawCatalog>;
  writeAccess(run: Run): Promise<string[]>;
  tls(run: Run): Promise<string | null>;
}

const DRIVERS: Record<Dialect, Driver> = {
  postgres: { open: openPostgres, catalog: postgresCatalog, writeAccess: postgresWriteAccess, tls: postgresTls },
  mysql: { open: openMysql, catalog: mysqlCatalog, writeAccess: mysqlWriteAccess, tls: mysqlTls },
};

export function createSqlPlugin(options: { kind: Dialect; name: string; description: string }): IntegrationPlugin<typeof SqlCredentials> {
  const dialect = options.kind;
  const driver = DRIVERS[dialect];
  const pools = new Map<string, { fingerprint: string; session: Promise<SqlSession> }>();

  /** Resolves and checks the host (egress rules), refuses plaintext unless allowed, and opens a pool. */
  async function open(ctx: PluginContext, credentials: SqlCredentials, max: number): Promise<{ session: SqlSession; address: string }> {
    const plaintextAllowed = ctx.plaintextAllowed(credentials.host);
    refusePlaintext(credentials, plaintextAllowed);
    let address: string;
    try {
      address = await ctx.checkHost(credentials.host);
    } catch (error) {
      if (error instanceof Error && error.name === "EgressRefused") {
        throw new PluginError("refused", `${credentials.host} is not an allowed destination (private and loopback hosts must be listed in EGRESS_ALLOWLIST)`);
      }
      throw new PluginError("unavailable", `${credentials.host} could not be resolved`);
    }
    return { session: driver.open(credentials, address, plaintextAllowed, max), address };
  }

  /** The connection's pool, opened on first use and reopened if its credentials changed under the same id. */
  function pooled(ctx: PluginContext): Promise<SqlSession> {
    const credentials = readCredentials(ctx.credentials);
    const fingerprint = createHash("sha256").update(JSON.stringify(credentials)).digest("base64url");
    const existing = pools.get(ctx.connectionId);
    if (existing?.fingerprint === fingerprint) return existing.session;
    if (existing) void existing.session.then((s) => s.close()).catch(() => {});
    const session = open(ctx, credentials, POOL_SIZE).then((opened) => opened.session);
    pools.set(ctx.connectionId, { fingerprint, session });
    session.catch(() => {
      if (pools.get(ctx.connectionId)?.session === session) pools.delete(ctx.connectionId);
    });
    return session;
  }

  const mode = (ctx: PluginContext, write: boolean) => ({ write, deadline: ctx.deadline, signal: ctx.signal });

  async function execute(operation: CompiledOperation, args: Record<string, unknown>, ctx: PluginContext): Promise<OperationResult> {
    const { statement, params, write, compiled } = runnable(dialect, operation);
    const values = bindValues(params, args ?? {});
    const session = await pooled(ctx);
    try {
      return await session.transaction(mode(ctx, write), async (run) => {
        const result = await run(statement, values);
        if (!write) return { rows: result.rows.slice(0, MAX_ROWS).map(plainRow), info: { count: Math.min(result.rows.length, MAX_ROWS) } };
        if (compiled?.effect === "update" && result.affected === 0) throw new PluginError("not_found", "no row has that key");
        // A bound write changes one row; more means the key was not unique after all, so nothing is kept.
        if (compiled && result.affected > 1) throw new PluginError("conflict", "the write would change more than one row");
        const rows = compiled?.returning
          ? [Object.fromEntries(compiled.returning.map(({ leaf, from }) => [leaf, from === "insertId" ? result.insertId : values[from]]))]
          : result.rows.map(plainRow);
        return { rows, info: { affected: result.affected } };
      });
    } catch (error) {
      const failure = sqlFailure(error);
      ctx.log.warn("sql statement failed", { operation: operation.operation, code: failure.code });
      throw failure;
    }
  }

  async function test(ctx: PluginContext): Promise<ConnectionCheck[]> {
    const checks: ConnectionCheck[] = [];
    let failed: string | null = null;
    const step = async (name: string, check: () => Promise<string | { detail: string; ms: number }>) => {
      if (failed) return void checks.push({ name, ok: false, ms: 0, detail: `skipped: ${failed} failed` });
      const started = performance.now();
      try {
        const outcome = await check();
        const ms = typeof outcome === "string" ? Math.round(performance.now() - started) : outcome.ms;
        checks.push({ name, ok: true, ms, detail: typeof outcome === "string" ? outcome : outcome.detail });
      } catch (error) {
        failed = name;
        const detail = error instanceof PluginError ? error.message : sqlFailure(error).message;
        checks.push({ name, ok: false, ms: Math.round(performance.now() - started), detail });
      }
    };

    let credentials: SqlCredentials | null = null;
    let session: SqlSession | null = null;
    let tlsVersion: string | null = null;
    let loginError: PluginError | null = null;
    let tables: string[] = [];
    let probeMs = 0;
    try {
      await step("reachability", async () => {
        credentials = readCredentials(ctx.credentials);
        const c = credentials;
        const opened = await open(ctx, c, 1);
        session = opened.session;
        const { address } = opened;
        await tcpReachable(address, Number(c.port), ctx);
        if (dialect === "postgres" && c.sslmode !== "disable" && !(await postgresOffersTls(address, Number(c.port), remaining(ctx)))) {
          throw new PluginError("unavailable", `the server at ${c.host}:${c.port} does not offer TLS (${c.sslmode}); enable ssl on the server`);
        }
        try {
          tlsVersion = await session.transaction(mode(ctx, false), (run) => driver.tls(run));
        } catch (error) {
          const failure = sqlFailure(error);
          if (failure instanceof TlsFailure) throw new PluginError(failure.code, `TLS (${c.sslmode}) failed: ${failure.message}`);
          if (failure.code === "unavailable" || failure.code === "timeout") throw failure;
          loginError = failure;
        }
        return `${c.host}:${c.port} reachable; ${describeTls(c)}`;
      });
      await step("authentication", async () => {
        if (loginError) throw loginError;
        return `signed in as ${credentials!.user}${tlsVersion ? ` over ${tlsVersion}` : ""}`;
      });
      await step("schema_read", async () => {
        const raw = await session!.transaction(mode(ctx, false), (run) => driver.catalog(run));
        tables = raw.tables.map((t) => t.name);
        return tables.length
          ? `${tables.length} table${tables.length === 1 ? "" : "s"} readable in ${raw.namespace}`
          : `no tables are readable in ${raw.namespace}: grant SELECT to this user`;
      });
      await step("read_probe", async () => {
        const [first] = tables;
        const statement = first ? `SELECT 1 AS probe FROM ${quoteIdent(dialect, first)} LIMIT 1` : "SELECT 1 AS probe";
        const started = performance.now();
        await session!.transaction(mode(ctx, false), (run) => run(statement));
        probeMs = Math.round(performance.now() - started);
        return { detail: first ? `read from ${first} in ${probeMs} ms` : `SELECT 1 in ${probeMs} ms`, ms: probeMs };
      });
      await step("read_only", async () => {
        const writable = await session!.transaction(mode(ctx, false), (run) => driver.writeAccess(run));
        if (writable.length) throw new PluginError("refused", `this user can write to ${writable.slice(0, 10).join(", ")}: use the read-only login from the setup scripts`);
        return "this user can only read (no INSERT, UPDATE, DELETE or DDL privileges)";
      });
      await step("latency", async () => {
        if (probeMs >= LATENCY.acceptable) throw new PluginError("unavailable", `${probeMs} ms per read is too slow for live calls (under ${LATENCY.acceptable} ms is needed)`);
        return { detail: probeMs < LATENCY.good ? `good: ${probeMs} ms per read` : `acceptable: ${probeMs} ms per read`, ms: probeMs };
      });
    } finally {
      await (session as SqlSession | null)?.close().catch(() => {});
    }
    return checks;
  }

  return definePlugin({
    kind: options.kind,
    name: options.name,
    category: "database",
    version: "1.0.0",
    description: options.description,
    skillType: "native_sql",
    auth: { type: "credentials", schema: SqlCredentials },
    accountLabel: (credentials) => accountLabel(readCredentials(credentials)),
    async discover(ctx) {
      const session = await pooled(ctx);
      try {
        return await session.transaction(mode(ctx, false), async (run) => {
          const raw = await driver.catalog(run);
          const samples = new Map<string, Map<string, string[]>>();
          for (const table of raw.tables) {
            const text = raw.columns.filter((c) => c.table === table.name && c.type === "string").map((c) => c.name);
            samples.set(table.name, await sampleText(dialect, run, table.name, text));
          }
          return buildSchema(raw, samples);
        });
      } catch (error) {
        throw sqlFailure(error);
      }
    },
    compile: (binding) => compileBinding(dialect, binding),
    execute,
    test,
    scripts: (options) => setupScripts(dialect, options),
    async release(connectionId) {
      const entry = pools.get(connectionId);
      pools.delete(connectionId);
      if (entry) await entry.session.then((s) => s.close()).catch(() => {});
    },
  });
}

function remaining(ctx: PluginContext): number {
  return Math.max(1, ctx.deadline - Date.now());
}

function tcpReachable(address: string, port: number, ctx: PluginContext): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: address, port });
    const timer = setTimeout(() => socket.destroy(Object.assign(new Error("timed out"), { code: "ETIMEDOUT" })), remaining(ctx));
    socket.once("connect", () => {
      clearTimeout(timer);
      socket.destroy();
      resolve();
    });
    socket.once("error", (error) => {
      clearTimeout(timer);
      reject(error);
    });
  });
}

/** A stored operation, checked again before it runs: compiled for this dialect, or an operator template. */
function runnable(dialect: Dialect, operation: CompiledOperation): { statement: string; params: readonly SqlParam[]; write: boolean; compiled: CompiledStatement | null } {
  if (operation.operation === "query") {
    const template = operation as QueryTemplate;
    const { statement, params } = compileTemplate(dialect, template.sql);
    return { statement, params, write: template.write === true, compiled: null };
  }
  const compiled = operation as Partial<CompiledStatement>;
  const params = compiled.params;
  const validParams = Array.isArray(params) && params.every((p) => typeof p === "string" || (typeof p === "object" && p !== null && "constant" in p));
  if (compiled.dialect !== dialect || typeof compiled.statement !== "string" || !validParams || typeof compiled.write !== "boolean") {
    throw new PluginError("invalid_binding", `operation ${operation.operation} was not compiled for ${dialect}`);
  }
  return { statement: compiled.statement, params: params as SqlParam[], write: compiled.write, compiled: compiled as CompiledStatement };
}
