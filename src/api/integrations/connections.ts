// An organization's connections, as plugins see them: the stored row, its credentials opened with the master key,
// and the context a plugin runs in (egress-checked fetch and host check, a logger that never sees credentials, a
// deadline and an abort signal). The API (connect, discover, test) and the runtime (integration skills) both reach
// plugins through here, so what a plugin may reach is decided in one place.
import { and, eq } from "drizzle-orm";
import type { Sealer } from "../../platform/crypto.ts";
import type { ChangeFeed } from "../../platform/db/changes.ts";
import type { Database } from "../../platform/db/index.ts";
import { integrations } from "../../platform/db/schema/index.ts";
import { EgressRefused, type EgressGuard } from "../../platform/egress.ts";
import type { Logger } from "../../platform/log.ts";
import type { AgentHours, IntegrationPlugin, PluginContext } from "./contract.ts";
import { oauthOf, type OAuthGrants } from "./oauth.ts";
import type { PluginRegistry } from "./registry.ts";

export type IntegrationRow = typeof integrations.$inferSelect;

export interface ConnectionsDeps {
  db: Database["db"];
  sealer: Sealer;
  registry: PluginRegistry;
  guard: EgressGuard;
  log: Logger;
  /** The deadline of one plugin call when the caller gives none. */
  timeoutMs: number;
  /** Hosts that may be reached without TLS (SQL_PLAINTEXT_HOSTS). */
  plaintextHosts: readonly string[];
  /** Connections replaced or ended on any replica: every replica releases what its plugins hold for them. */
  changes?: ChangeFeed;
  /** Tokens of oauth2 connections: refreshed before they expire and when a provider refuses one. */
  oauth?: OAuthGrants;
}

export class IntegrationConnections {
  /** The connection each (organization, kind) last ran on here: what this replica's plugins may hold pools for. */
  private readonly held = new Map<string, { organizationId: string; kind: string; connectionId: string }>();

  constructor(private readonly deps: ConnectionsDeps) {
    deps.changes?.subscribe("integration", {
      changed: (id) => void this.recheck(id),
      flush: () => {
        for (const id of this.held.keys()) void this.recheck(id);
      },
    });
  }

  /** A connection was made, replaced or ended: tell every replica (this one included) to let go of the old one. */
  announce(organizationId: string, kind: string): void {
    const id = heldKey(organizationId, kind);
    if (this.deps.changes) this.deps.changes.announce("integration", id);
    else void this.recheck(id);
  }

  /** Releases what the plugin holds for a connection this replica used, once storage says it is no longer current. */
  private async recheck(id: string): Promise<void> {
    const held = this.held.get(id);
    if (!held) return;
    try {
      const row = await this.row(held.organizationId, held.kind);
      if (row?.status === "connected" && row.connectionId === held.connectionId) return;
      if (this.held.get(id) === held) this.held.delete(id);
      await this.deps.registry.get(held.kind)?.release?.(held.connectionId);
    } catch (error) {
      this.deps.log.warn("releasing an ended integration connection failed", { kind: held.kind, error: error instanceof Error ? error.message : String(error) });
    }
  }

  get registry() {
    return this.deps.registry;
  }

  async row(organizationId: string, kind: string): Promise<IntegrationRow | null> {
    const [row] = await this.deps.db.select().from(integrations).where(and(eq(integrations.organizationId, organizationId), eq(integrations.kind, kind)));
    return row ?? null;
  }

  /**
   * The connected row and its plugin, or null when the kind is unknown or not connected. An oauth2 connection's
   * access token is refreshed first when it is about to expire (IntegrationAuthFailed when the grant is gone).
   */
  async connected(organizationId: string, kind: string): Promise<{ row: IntegrationRow; plugin: IntegrationPlugin; credentials: Record<string, unknown> } | null> {
    const plugin = this.deps.registry.get(kind);
    if (!plugin) return null;
    const row = await this.row(organizationId, kind);
    if (row?.status !== "connected" || !row.sealedCredentials) return null;
    const credentials = JSON.parse(this.deps.sealer.open(row.sealedCredentials)) as Record<string, unknown>;
    const auth = oauthOf(plugin);
    if (auth && this.deps.oauth) return { row, plugin, credentials: await this.deps.oauth.fresh(organizationId, kind, auth, credentials) };
    return { row, plugin, credentials };
  }

  seal(credentials: Record<string, unknown>): string {
    return this.deps.sealer.seal(JSON.stringify(credentials));
  }

  /**
   * The context one plugin call runs in. `signal` (the turn's, or the request's) and the deadline both abort it.
   * The logger names the plugin and never the credentials (the log's own redaction also strips parameters).
   */
  context(input: {
    organizationId: string;
    connectionId: string;
    kind: string;
    credentials: Record<string, unknown>;
    timeoutMs?: number;
    signal?: AbortSignal;
    /** Credentials under test, not the stored connection: the caller releases them itself. */
    temporary?: boolean;
    conversationId?: string;
    agentHours?: AgentHours;
  }): PluginContext & { dispose(): void } {
    const key = heldKey(input.organizationId, input.kind);
    const previous = this.held.get(key);
    if (!input.temporary && previous?.connectionId !== input.connectionId) {
      this.held.set(key, { organizationId: input.organizationId, kind: input.kind, connectionId: input.connectionId });
      // This replica ran on older credentials until now: whatever was kept for them goes.
      if (previous) void this.deps.registry.get(input.kind)?.release?.(previous.connectionId);
    }
    const timeoutMs = input.timeoutMs ?? this.deps.timeoutMs;
    const deadline = Date.now() + timeoutMs;
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(new DeadlineExceeded(timeoutMs)), timeoutMs);
    const onAbort = () => controller.abort(input.signal?.reason);
    input.signal?.addEventListener("abort", onAbort, { once: true });
    const { guard, log } = this.deps;
    const fields = (f?: Record<string, unknown>) => ({ ...f, integration: input.kind, organizationId: input.organizationId });
    const { oauth } = this.deps;
    const auth = oauthOf(this.deps.registry.get(input.kind));
    const ctx: PluginContext & { dispose(): void } = {
      organizationId: input.organizationId,
      connectionId: input.connectionId,
      credentials: input.credentials,
      ...(input.conversationId ? { conversationId: input.conversationId } : {}),
      ...(input.agentHours ? { agentHours: input.agentHours } : {}),
      providerUrl: (url) => oauth?.providerUrl(auth, url) ?? url,
      ...(auth && oauth && !input.temporary
        ? {
            async refreshCredentials() {
              ctx.credentials = await oauth.refresh(input.organizationId, input.kind, auth, ctx.credentials.access_token);
              return ctx.credentials;
            },
          }
        : {}),
      signal: controller.signal,
      deadline,
      fetch: (url, init) => {
        const target = typeof url === "string" ? new URL(url) : url;
        const body = typeof init?.body === "string" ? init.body : init?.body == null ? undefined : String(init.body);
        return guard.fetch(target, { method: init?.method ?? "GET", headers: new Headers(init?.headers), body, signal: controller.signal });
      },
      async checkHost(host) {
        const { pinned } = await guard.check(new URL(`https://${host.includes(":") && !host.startsWith("[") ? `[${host}]` : host}/`));
        return pinned ?? host;
      },
      plaintextAllowed: (host) => this.deps.plaintextHosts.includes(host.trim().toLowerCase()),
      log: {
        debug: (m, f) => log.debug(m, fields(f)),
        info: (m, f) => log.info(m, fields(f)),
        warn: (m, f) => log.warn(m, fields(f)),
        error: (m, f) => log.error(m, fields(f)),
      },
      dispose() {
        clearTimeout(timer);
        input.signal?.removeEventListener("abort", onAbort);
      },
    };
    return ctx;
  }
}

const heldKey = (organizationId: string, kind: string) => `${organizationId}:${kind}`;

export class DeadlineExceeded extends Error {
  override name = "DeadlineExceeded";
  constructor(readonly timeoutMs: number) {
    super(`the integration did not answer within ${timeoutMs} ms`);
  }
}

export { EgressRefused };
