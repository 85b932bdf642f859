// The organization's integrations: connecting (credentials checked against the plugin's schema, tried when the
// plugin can test them, sealed), disconnecting, discovering (the snapshot replaced, the scoping kept), reading the
// schema through the scoping, and turning actions, bindings and pack presets into skills of an agent's draft. Every
// plugin call goes through IntegrationConnections (credentials, egress guard, deadline); credentials never leave
// this module except sealed into the row.
import { randomBytes } from "node:crypto";
import { Value } from "@sinclair/typebox/value";
import { and, eq, sql } from "drizzle-orm";
import type { Config } from "../../config.ts";
import type { Sealer } from "../../platform/crypto.ts";
import type { Database } from "../../platform/db/index.ts";
import { integrations, skills } from "../../platform/db/schema/index.ts";
import { fieldErrors } from "../../platform/http/errors.ts";
import { encodeCursor, decodeCursor } from "../../platform/http/pagination.ts";
import { Problem, validationProblem, type FieldError } from "../../platform/http/problem.ts";
import { newId } from "../../platform/ids.ts";
import type { Logger } from "../../platform/log.ts";
import { SKILL_TYPES, type SkillType } from "../../runtime/compiled.ts";
import type { SkillDto } from "../skills/model.ts";
import type { SkillsService } from "../skills/service.ts";
import { proposeBinding } from "./automap.ts";
import { checkBinding, type CallerParameter } from "./bindings.ts";
import { filterOperations, objectDetail, objectSummary, scoped, searchSchema } from "./browse.ts";
import { DeadlineExceeded, EgressRefused, type IntegrationConnections, type IntegrationRow } from "./connections.ts";
import { type CompiledOperation, type ConnectionCheck, type DiscoveredSchema, type IntegrationPlugin, PluginError, type PluginAction, type ValidatedBinding } from "./contract.ts";
import type { BindingInput, ScopingDto } from "./model.ts";
import { IntegrationAuthFailed, oauthOf, type OAuthGrants, ProviderUnavailable } from "./oauth.ts";
import { DiscoveredSchemaShape } from "./shape.ts";
import type { OperationSigner } from "./signing.ts";

/** Providers the reference lists as coming soon: connecting one is a reserved endpoint (403) until a plugin provides it. */
const RESERVED_KINDS = new Set(["calendly", "hubspot", "square", "opentable"]);
/** Checks whose failure is a warning: the connection works, the operator should still know. */
const WARNING_CHECKS = new Set(["read_only", "latency"]);
const DISCOVERY_DEADLINE_MS = 60_000;
/** Where skills made from an integration say they came from; removing an integration's skills removes these only. */
const SOURCES = ["action", "binding", "pack"] as const;

export interface IntegrationsDeps {
  database: Database;
  connections: IntegrationConnections;
  oauth: OAuthGrants;
  signer: OperationSigner;
  skills: SkillsService;
  sealer: Sealer;
  config: Pick<Config, "llm" | "publicBaseUrl">;
  log: Logger;
}

export class IntegrationsService {
  constructor(private readonly deps: IntegrationsDeps) {}

  private get db() {
    return this.deps.database.db;
  }
  private get registry() {
    return this.deps.connections.registry;
  }

  catalog(organizationId: string) {
    return this.orgRows(organizationId).then((rows) =>
      this.registry
        .list()
        .sort((a, b) => a.kind.localeCompare(b.kind))
        .map((p) => {
          const row = rows.find((r) => r.kind === p.kind);
          const connected = row?.status === "connected";
          return {
            kind: p.kind,
            name: p.name,
            category: p.category,
            description: p.description,
            logo: p.kind,
            version: p.version,
            authType: p.auth.type,
            actionCount: p.actions?.length ?? 0,
            hasPack: !!p.pack,
            connected,
            accountLabel: connected ? (row?.accountLabel ?? null) : null,
          };
        }),
    );
  }

  async list(organizationId: string) {
    return (await this.orgRows(organizationId)).map((r) => ({
      kind: r.kind,
      status: r.status as "connected" | "disconnected" | "error",
      statusReason: r.status === "error" ? r.statusReason : null,
      accountLabel: r.accountLabel,
      connectedAt: r.connectedAt?.toISOString() ?? null,
      discoveredAt: r.discoveredAt?.toISOString() ?? null,
    }));
  }

  private orgRows(organizationId: string) {
    return this.db.select().from(integrations).where(eq(integrations.organizationId, organizationId)).orderBy(integrations.kind);
  }

  /** The plugin of `kind`: 403 for a reserved provider no plugin offers, 404 for anything else unknown. */
  plugin(kind: string): IntegrationPlugin {
    const plugin = this.registry.get(kind);
    if (plugin) return plugin;
    if (RESERVED_KINDS.has(kind)) throw new Problem(403, "reserved_integration", `${kind} is coming soon and cannot be connected yet`);
    throw new Problem(404, "integration_not_found", `there is no ${kind} integration (GET /integrations/catalog lists them)`);
  }

  async connect(organizationId: string, kind: string, credentials: Record<string, unknown> | undefined): Promise<{ oauthUrl: string } | { status: "connected" }> {
    const plugin = this.plugin(kind);
    if (plugin.auth.type === "oauth2") return { oauthUrl: await this.deps.oauth.start(organizationId, kind, plugin.auth) };
    const given = this.checkCredentials(plugin, credentials ?? {});
    const connectionId = newId("conn");
    if (plugin.test) {
      const checks = await this.runTest(plugin, organizationId, connectionId, given);
      const failed = checks.find((c) => !c.ok && !WARNING_CHECKS.has(c.name));
      if (failed) {
        await this.release(plugin, connectionId);
        throw new Problem(400, "connection_failed", `the ${failed.name} check failed: ${failed.detail}`, { extensions: { checks } });
      }
    }
    await this.store(organizationId, plugin, given, connectionId);
    return { status: "connected" };
  }

  /** Makes credentials that need no connection test (a claimed App Store install's token) the organization's connection. */
  async attach(organizationId: string, kind: string, credentials: Record<string, unknown>): Promise<void> {
    const plugin = this.plugin(kind);
    await this.store(organizationId, plugin, this.checkCredentials(plugin, credentials), newId("conn"));
  }

  private async store(organizationId: string, plugin: IntegrationPlugin, given: Record<string, unknown>, connectionId: string) {
    const kind = plugin.kind;
    const accountLabel = accountLabelOf(plugin, given);
    const sealedCredentials = this.deps.connections.seal(given);
    await this.db
      .insert(integrations)
      .values({ organizationId, kind, status: "connected", connectionId, sealedCredentials, accountLabel, connectedAt: new Date() })
      .onConflictDoUpdate({
        target: [integrations.organizationId, integrations.kind],
        set: { status: "connected", connectionId, sealedCredentials, accountLabel, connectedAt: new Date(), revision: sql`${integrations.revision} + 1`, updatedAt: sql`now()` },
      });
    // Every replica (this one too) lets go of what its plugin holds for the replaced credentials.
    this.deps.connections.announce(organizationId, kind);
  }

  async disconnect(organizationId: string, kind: string): Promise<void> {
    const plugin = this.plugin(kind);
    const row = await this.deps.connections.row(organizationId, kind);
    if (!row || row.status === "disconnected") throw notConnected404(kind);
    const auth = oauthOf(plugin);
    if (auth && row.sealedCredentials) await this.deps.oauth.revoke(auth, JSON.parse(this.deps.sealer.open(row.sealedCredentials)) as Record<string, unknown>);
    await this.db
      .update(integrations)
      .set({ status: "disconnected", statusReason: null, sealedCredentials: null, revision: sql`${integrations.revision} + 1`, updatedAt: sql`now()` })
      .where(and(eq(integrations.organizationId, organizationId), eq(integrations.kind, kind)));
    this.deps.connections.announce(organizationId, kind);
  }

  async discover(organizationId: string, kind: string) {
    const plugin = this.plugin(kind);
    const connection = await this.connectedOrProblem(organizationId, kind);
    const discover = plugin.discover;
    if (!discover) throw new Problem(409, "discovery_unsupported", `${plugin.name} has no schema to discover; use its actions (GET /integrations/${kind}/actions)`);
    const raw = await this.call(plugin, { organizationId, connectionId: connection.row.connectionId, credentials: connection.credentials, timeoutMs: DISCOVERY_DEADLINE_MS }, (ctx) => discover.call(plugin, ctx));
    const schema = checkDiscovered(raw, this.deps.log, kind);
    const discoveredAt = new Date();
    await this.db
      .update(integrations)
      .set({ schema, discoveredAt, revision: sql`${integrations.revision} + 1`, updatedAt: sql`now()` })
      .where(and(eq(integrations.organizationId, organizationId), eq(integrations.kind, kind)));
    return {
      objectCount: schema.objects.length,
      fieldCount: schema.objects.reduce((n, o) => n + o.fields.length, 0),
      edgeCount: schema.relationships.length,
      operationCount: schema.operations.length,
      discoveredAt: discoveredAt.toISOString(),
    };
  }

  /** The snapshot as the organization's scoping leaves it; 404 not_discovered before the first discovery. */
  async schema(organizationId: string, kind: string): Promise<{ schema: DiscoveredSchema; discoveredAt: Date; row: IntegrationRow }> {
    this.plugin(kind);
    const row = await this.deps.connections.row(organizationId, kind);
    if (!row?.schema || !row.discoveredAt) throw new Problem(404, "not_discovered", `${kind} has not been discovered yet: POST /integrations/${kind}/discover first`);
    return { schema: scoped(row.schema, scopingOf(row)), discoveredAt: row.discoveredAt, row };
  }

  async fullSchema(organizationId: string, kind: string) {
    const { schema, discoveredAt } = await this.schema(organizationId, kind);
    return { ...schema, discoveredAt: discoveredAt.toISOString() };
  }

  async objects(organizationId: string, kind: string, q: { q?: string; cursor?: string; limit: number }) {
    const { schema } = await this.schema(organizationId, kind);
    const after = decodeCursor(q.cursor);
    const needle = q.q?.toLowerCase();
    const matching = schema.objects
      .filter((o) => (!needle || o.name.toLowerCase().includes(needle)) && (after === null || o.name > after))
      .sort((a, b) => (a.name < b.name ? -1 : 1));
    const slice = matching.slice(0, q.limit);
    const hasMore = matching.length > q.limit;
    return {
      success: true as const,
      data: slice.map((o) => objectSummary(schema, o)),
      pagination: { limit: q.limit, nextCursor: hasMore ? encodeCursor(slice.at(-1)!.name) : null, hasMore },
    };
  }

  async object(organizationId: string, kind: string, name: string) {
    const { schema } = await this.schema(organizationId, kind);
    const object = schema.objects.find((o) => o.name === name);
    if (!object) throw new Problem(404, "object_not_found", `${kind} has no object ${name}`);
    return objectDetail(schema, object);
  }

  async operations(organizationId: string, kind: string, q: { readOnly: boolean; object?: string; q?: string }) {
    return filterOperations((await this.schema(organizationId, kind)).schema, q);
  }

  async search(organizationId: string, kind: string, query: string, limit: number) {
    return searchSchema((await this.schema(organizationId, kind)).schema, query, limit);
  }

  async scoping(organizationId: string, kind: string): Promise<ScopingDto> {
    this.plugin(kind);
    const row = await this.deps.connections.row(organizationId, kind);
    if (!row) throw notConnected404(kind);
    return scopingOf(row);
  }

  async setScoping(organizationId: string, kind: string, input: ScopingDto): Promise<ScopingDto> {
    this.plugin(kind);
    const row = await this.deps.connections.row(organizationId, kind);
    if (!row) throw notConnected404(kind);
    // Against a snapshot, a name it lacks is a typo that would block nothing; before one, names are taken as given.
    if (row.schema) {
      const errors: FieldError[] = [];
      input.blockedTables.forEach((name, i) => {
        if (!row.schema!.objects.some((o) => o.name === name)) errors.push({ field: `blockedTables[${i}]`, message: `"${name}" is not an object of the discovered schema` });
      });
      input.blockedColumns.forEach((name, i) => {
        const dot = name.indexOf(".");
        const object = row.schema!.objects.find((o) => o.name === name.slice(0, dot));
        if (!object?.fields.some((f) => f.name === name.slice(dot + 1))) errors.push({ field: `blockedColumns[${i}]`, message: `"${name}" is not a table.column of the discovered schema` });
      });
      if (errors.length) throw validationProblem(errors);
    }
    await this.db
      .update(integrations)
      .set({ blockedObjects: input.blockedTables, blockedFields: input.blockedColumns, revision: sql`${integrations.revision} + 1`, updatedAt: sql`now()` })
      .where(and(eq(integrations.organizationId, organizationId), eq(integrations.kind, kind)));
    return { blockedTables: input.blockedTables, blockedColumns: input.blockedColumns };
  }

  actions(kind: string) {
    return (this.plugin(kind).actions ?? []).map((a) => ({
      slug: a.slug,
      name: a.name,
      description: a.description,
      isWrite: a.isWrite,
      important: a.important ?? false,
      parameters: JSON.parse(JSON.stringify(a.parameters)) as Record<string, unknown>,
      operatorConfig: a.operatorConfig ?? [],
    }));
  }

  async provision(organizationId: string, agentId: string, kind: string, slugs: string[] | undefined) {
    await this.deps.skills.assertAgent(organizationId, agentId);
    const plugin = this.plugin(kind);
    await this.requireConnected(organizationId, kind);
    const available = plugin.actions ?? [];
    const errors: FieldError[] = [];
    const chosen = slugs?.length
      ? slugs.flatMap((slug, i) => {
          const action = available.find((a) => a.slug === slug);
          if (!action) errors.push({ field: `actions[${i}]`, message: `"${slug}" is not an action of ${kind} (GET /integrations/${kind}/actions lists them)` });
          return action ? [action] : [];
        })
      : available.filter((a) => a.important);
    if (errors.length) throw validationProblem(errors);
    const rows = [];
    for (const action of chosen) {
      rows.push(
        await this.ensureSkill(organizationId, agentId, { integration: kind, source: "action", action: action.slug }, () => {
          const needsConfig = action.operatorConfig?.some((c) => c.required) ?? false;
          return {
            name: action.name,
            description: action.description,
            skillType: skillTypeOf(plugin, plugin.skillType),
            parametersSchema: callerSchema(action),
            executionConfig: { integration: kind, source: "action", action: action.slug, ...this.deps.signer.sign(kind, { operation: action.operation }) },
            ...(action.allowedFields ? { allowedFields: action.allowedFields } : {}),
            isWrite: action.isWrite,
            requiresConfirmation: action.requiresConfirmation ?? action.isWrite,
            nonParallelizable: action.isWrite,
            requiresVerifiedIdentity: action.requiresVerifiedIdentity ?? false,
            isEnabled: !needsConfig,
          };
        }),
      );
    }
    return rows;
  }

  async removeProvisioned(organizationId: string, agentId: string, kind: string): Promise<number> {
    await this.deps.skills.assertAgent(organizationId, agentId);
    this.plugin(kind);
    const mine = await this.db
      .select({ id: skills.id, config: skills.executionConfig })
      .from(skills)
      .where(and(eq(skills.organizationId, organizationId), eq(skills.agentId, agentId), sql`${skills.executionConfig} @> ${JSON.stringify({ integration: kind })}::jsonb`));
    let removed = 0;
    for (const row of mine) {
      if (!SOURCES.includes(row.config.source as (typeof SOURCES)[number])) continue;
      await this.deps.skills.remove(organizationId, agentId, row.id);
      removed++;
    }
    return removed;
  }

  pack(kind: string) {
    const pack = this.plugin(kind).pack;
    if (!pack) throw new Problem(404, "pack_not_found", `${kind} ships no preset pack`);
    return {
      guidance: pack.guidance,
      skills: pack.skills.map((s) => ({ slug: s.slug, name: s.name, description: s.description, skillType: s.skillType, isWrite: s.isWrite, parametersSchema: s.parametersSchema })),
    };
  }

  async installPack(organizationId: string, agentId: string, kind: string) {
    await this.deps.skills.assertAgent(organizationId, agentId);
    const plugin = this.plugin(kind);
    if (!plugin.pack) throw new Problem(404, "pack_not_found", `${kind} ships no preset pack`);
    await this.requireConnected(organizationId, kind);
    const rows = [];
    for (const preset of plugin.pack.skills) {
      rows.push(
        await this.ensureSkill(organizationId, agentId, { integration: kind, source: "pack", preset: preset.slug }, () => ({
          name: preset.name,
          description: preset.description,
          skillType: skillTypeOf(plugin, preset.skillType),
          parametersSchema: callerSchemaOf(preset.parametersSchema),
          executionConfig: { integration: kind, source: "pack", ...this.deps.signer.sign(kind, { ...preset.executionConfig, preset: preset.slug }) },
          isWrite: preset.isWrite,
          requiresConfirmation: preset.isWrite,
          nonParallelizable: preset.isWrite,
          isEnabled: !preset.isWrite,
        })),
      );
    }
    return rows;
  }

  async bind(organizationId: string, agentId: string, kind: string, input: BindingInput): Promise<SkillDto> {
    await this.deps.skills.assertAgent(organizationId, agentId);
    const plugin = this.plugin(kind);
    const { schema } = await this.prepareBinding(organizationId, kind, plugin);
    return this.saveBinding(organizationId, agentId, kind, plugin, schema, input);
  }

  async autoMap(organizationId: string, agentId: string, kind: string, goal: string) {
    await this.deps.skills.assertAgent(organizationId, agentId);
    const plugin = this.plugin(kind);
    const { schema } = await this.prepareBinding(organizationId, kind, plugin);
    const taken = await this.db.select({ name: skills.name }).from(skills).where(and(eq(skills.organizationId, organizationId), eq(skills.agentId, agentId)));
    const proposal = await proposeBinding({ goal, schema, takenNames: new Set(taken.map((t) => t.name.toLowerCase())), llm: this.deps.config.llm, log: this.deps.log });
    if (!proposal) throw new Problem(422, "no_mapping", "nothing in the discovered schema matches that goal; name the object or field you mean");
    const skill = await this.saveBinding(organizationId, agentId, kind, plugin, schema, { ...proposal, enabled: false });
    return { skill, proposal };
  }

  private async prepareBinding(organizationId: string, kind: string, plugin: IntegrationPlugin) {
    if (!plugin.compile) throw new Problem(409, "bindings_unsupported", `${plugin.name} takes no bindings; provision its actions instead`);
    await this.requireConnected(organizationId, kind);
    return this.schema(organizationId, kind);
  }

  private async saveBinding(organizationId: string, agentId: string, kind: string, plugin: IntegrationPlugin, schema: DiscoveredSchema, input: BindingInput): Promise<SkillDto> {
    const checked = checkBinding(input, schema);
    if ("errors" in checked) throw validationProblem(checked.errors);
    const { validated, parameters } = checked.binding;
    let compiled: CompiledOperation;
    try {
      compiled = plugin.compile!(validated);
    } catch (error) {
      if (error instanceof PluginError) {
        const fields = error.fields?.length ? error.fields : ["operation"];
        throw validationProblem(fields.map((field) => ({ field, message: error.message })));
      }
      this.deps.log.error("integration plugin failed to compile a binding", { kind, error: errorName(error) });
      throw new Problem(502, "plugin_failed", `the ${kind} plugin failed to compile the binding`, { title: "Bad gateway" });
    }
    const effect = validated.operation.effect;
    return this.deps.skills.create(organizationId, agentId, {
      name: input.toolName,
      description: input.description ?? validated.operation.description ?? input.toolName,
      skillType: skillTypeOf(plugin, plugin.skillType),
      parametersSchema: { type: "object", properties: parameters, required: Object.keys(parameters) },
      requiredParams: Object.keys(parameters),
      // `touches` is signed with the operation: the runtime refuses the skill once scoping blocks anything it names.
      executionConfig: { integration: kind, source: "binding", ...this.deps.signer.sign(kind, { ...compiled, touches: touchesOf(validated) }) },
      allowedFields: validated.projection.map((p) => p.leaf),
      isWrite: validated.isWrite,
      requiresConfirmation: validated.isWrite,
      nonParallelizable: validated.isWrite,
      requiresVerifiedIdentity: validated.isWrite && (effect === "update" || effect === "delete"),
      // Writes always land disabled, for an operator to review; reads start enabled unless asked not to.
      isEnabled: !validated.isWrite && input.enabled !== false,
    });
  }

  scripts(kind: string, q: { database: string; tables?: string; password?: string; suffix?: string }) {
    const plugin = this.plugin(kind);
    if (!plugin.scripts) throw new Problem(404, "scripts_not_found", `${kind} has no setup scripts`);
    const generated = q.password ? null : randomBytes(18).toString("base64url");
    const scripts = plugin.scripts({ database: q.database, tables: q.tables ? q.tables.split(",") : [], password: q.password ?? generated!, ...(q.suffix ? { suffix: q.suffix } : {}) });
    return { readOnly: { user: scripts.readOnly.user, sql: scripts.readOnly.sql }, write: { user: scripts.write.user, sql: scripts.write.sql }, ...(generated ? { generatedPassword: generated } : {}) };
  }

  /** Tries credentials without storing them; a failed check (the egress guard's refusal included) is data, not an error. */
  async test(organizationId: string, kind: string, credentials: Record<string, unknown>) {
    const plugin = this.plugin(kind);
    if (!plugin.test) throw new Problem(404, "connection_test_unsupported", `${kind} has no connection test`);
    const given = this.checkCredentials(plugin, credentials);
    const connectionId = newId("conn");
    try {
      const checks = await this.runTest(plugin, organizationId, connectionId, given, true);
      return { ok: checks.every((c) => c.ok || WARNING_CHECKS.has(c.name)), checks };
    } finally {
      await this.release(plugin, connectionId);
    }
  }

  /** `temporary`: credentials only tried (sql/test), never the organization's connection; the caller releases them. */
  private async runTest(plugin: IntegrationPlugin, organizationId: string, connectionId: string, credentials: Record<string, unknown>, temporary = false): Promise<ConnectionCheck[]> {
    const started = performance.now();
    try {
      return await this.call(plugin, { organizationId, connectionId, credentials, temporary }, (ctx) => plugin.test!(ctx));
    } catch (error) {
      // call() has turned the failure into a problem (an egress refusal of a private host included): it is this check's answer.
      const detail = error instanceof Problem ? error.detail : "the connection test failed";
      return [{ name: "reachability", ok: false, ms: Math.round(performance.now() - started), detail }];
    }
  }

  async spreadsheet(organizationId: string, kind: string, ref: string) {
    const plugin = this.plugin(kind);
    const lookup = plugin.spreadsheet;
    if (!lookup) throw new Problem(404, "integration_not_found", "spreadsheets are looked up on a spreadsheet integration such as google_sheets");
    const connection = await this.connectedOrProblem(organizationId, kind);
    try {
      const info = await this.call(plugin, { organizationId, connectionId: connection.row.connectionId, credentials: connection.credentials }, (ctx) => lookup.call(plugin, ref, ctx), { notFound: true });
      return { title: String(info.title), tabs: info.tabs.map((tab) => ({ name: String(tab.name), headers: tab.headers.map(String) })) };
    } catch (error) {
      if (error instanceof PluginError && error.code === "not_found") throw new Problem(404, "sheet_not_accessible", error.message);
      throw error;
    }
  }

  /** The connection, its token fresh: 409 integration_not_connected, or integration_error when its grant is gone. */
  private async connectedOrProblem(organizationId: string, kind: string) {
    try {
      const connection = await this.deps.connections.connected(organizationId, kind);
      if (connection) return connection;
    } catch (error) {
      throw authProblem(error) ?? error;
    }
    const row = await this.deps.connections.row(organizationId, kind);
    if (row?.status === "error") throw new Problem(409, "integration_error", `${kind} needs to be connected again: ${row.statusReason ?? "its grant failed"}`);
    throw notConnected(kind);
  }

  private checkCredentials(plugin: IntegrationPlugin, credentials: Record<string, unknown>): Record<string, unknown> {
    if (plugin.auth.type === "oauth2") return credentials;
    const schema = plugin.auth.schema;
    const errors = fieldErrors([...Value.Errors(schema, credentials)] as never, "credentials").map((e) => ({ ...e, field: e.field === "credentials" ? e.field : `credentials.${e.field}` }));
    if (errors.length) throw validationProblem(errors);
    // Only what the schema declares is kept: an extra key is never sealed, passed on or echoed.
    return Value.Clean(schema, structuredClone(credentials)) as Record<string, unknown>;
  }

  private async requireConnected(organizationId: string, kind: string) {
    const row = await this.deps.connections.row(organizationId, kind);
    if (row?.status !== "connected") throw notConnected(kind);
    return row;
  }

  /** One plugin call in its context: PluginError and deadline failures become problems that name the provider, never a 500. */
  private async call<T>(
    plugin: IntegrationPlugin,
    input: { organizationId: string; connectionId: string; credentials: Record<string, unknown>; timeoutMs?: number; temporary?: boolean },
    run: (ctx: ReturnType<IntegrationConnections["context"]>) => Promise<T>,
    options: { notFound?: boolean } = {},
  ): Promise<T> {
    const ctx = this.deps.connections.context({ ...input, kind: plugin.kind });
    const aborted = new Promise<never>((_, reject) => ctx.signal.addEventListener("abort", () => reject(ctx.signal.reason), { once: true }));
    try {
      return await Promise.race([run(ctx), aborted]);
    } catch (error) {
      if (error instanceof EgressRefused) throw new Problem(502, "egress_refused", error.message, { title: "Bad gateway" });
      const auth = authProblem(error);
      if (auth) throw auth;
      if (options.notFound && error instanceof PluginError && error.code === "not_found") throw error;
      if (error instanceof DeadlineExceeded || (error instanceof PluginError && error.code === "timeout")) {
        throw new Problem(503, "integration_unavailable", `${plugin.name} did not answer in time`, { headers: { "retry-after": "30" } });
      }
      if (error instanceof PluginError && error.code === "unavailable") throw new Problem(503, "integration_unavailable", error.message, { headers: { "retry-after": "30" } });
      if (error instanceof PluginError) throw new Problem(502, "plugin_failed", error.message, { title: "Bad gateway" });
      this.deps.log.error("integration plugin failed", { kind: plugin.kind, error: errorName(error) });
      throw new Problem(502, "plugin_failed", `the ${plugin.name} plugin failed`, { title: "Bad gateway" });
    } finally {
      ctx.dispose();
      aborted.catch(() => {});
    }
  }

  private async release(plugin: IntegrationPlugin, connectionId: string) {
    try {
      await plugin.release?.(connectionId);
    } catch (error) {
      this.deps.log.warn("integration plugin could not release a connection", { kind: plugin.kind, error: errorName(error) });
    }
  }

  /** Returns the skill an earlier run made (matched on where it came from), or creates it. */
  private async ensureSkill(organizationId: string, agentId: string, origin: Record<string, string>, build: () => Parameters<SkillsService["create"]>[2]) {
    const [existing] = await this.db
      .select({ id: skills.id })
      .from(skills)
      .where(and(eq(skills.organizationId, organizationId), eq(skills.agentId, agentId), sql`${skills.executionConfig} @> ${JSON.stringify(origin)}::jsonb`))
      .limit(1);
    if (existing) return { skill: await this.deps.skills.get(organizationId, agentId, existing.id), created: false };
    return { skill: await this.deps.skills.create(organizationId, agentId, build()), created: true };
  }
}

/** The objects and `object.field`s a binding reaches: its own object, every field it filters, writes or returns, and a projection's hop. */
function touchesOf(binding: ValidatedBinding): string[] {
  const object = binding.object.name;
  const fields = [
    ...(binding.search ? [binding.search.field] : []),
    ...binding.inputs.map((i) => i.arg),
    ...binding.values.map((v) => v.field),
    ...(binding.key ? [binding.key.field] : []),
    ...binding.projection.map((p) => p.path[0]),
  ].map((f) => `${object}.${f}`);
  const hops = binding.projection.flatMap((p) => {
    const target = p.path.length === 2 ? binding.object.fields.find((f) => f.name === p.path[0])?.references : null;
    return target ? [target.object, `${target.object}.${p.path[1]}`] : [];
  });
  return [...new Set([object, ...fields, ...hops])];
}

const scopingOf = (row: IntegrationRow): ScopingDto => ({ blockedTables: row.blockedObjects, blockedColumns: row.blockedFields });
const notConnected = (kind: string) => new Problem(409, "integration_not_connected", `connect the ${kind} integration first (POST /integrations/${kind}/connect)`);
const notConnected404 = (kind: string) => new Problem(404, "integration_not_found", `${kind} is not connected in this organization`);
/** A grant that is gone (409 integration_error) or a provider that could not refresh it (503), as problems. */
function authProblem(error: unknown): Problem | null {
  if (error instanceof IntegrationAuthFailed) return new Problem(409, "integration_error", error.message);
  if (error instanceof ProviderUnavailable) return new Problem(503, "integration_unavailable", error.message, { headers: { "retry-after": "30" } });
  return null;
}
const errorName = (error: unknown) => (error instanceof Error ? `${error.name}: ${error.message}`.slice(0, 300) : typeof error);

function accountLabelOf(plugin: IntegrationPlugin, credentials: Record<string, unknown>): string | null {
  try {
    return plugin.accountLabel?.(credentials as never)?.slice(0, 200) ?? null;
  } catch {
    return null;
  }
}

/** The snapshot a plugin answered, checked before it replaces the stored one: malformed data is the plugin's failure (502). */
function checkDiscovered(raw: unknown, log: Logger, kind: string): DiscoveredSchema {
  const problems: string[] = [...Value.Errors(DiscoveredSchemaShape, raw)].slice(0, 5).map((e) => `${e.path || "/"} ${e.message}`);
  if (!problems.length) {
    const schema = raw as DiscoveredSchema;
    const objects = new Map(schema.objects.map((o) => [o.name, new Set(o.fields.map((f) => f.name))]));
    if (objects.size !== schema.objects.length) problems.push("object names repeat");
    const has = (r: { object: string; field: string }) => objects.get(r.object)?.has(r.field) ?? false;
    for (const op of schema.operations) if (!objects.has(op.object)) problems.push(`operation ${op.name} is on unknown object ${op.object}`);
    for (const r of schema.relationships) if (!has(r.from) || !has(r.to)) problems.push(`relationship ${r.name} names an unknown field`);
    if (new Set(schema.operations.map((o) => o.name)).size !== schema.operations.length) problems.push("operation names repeat");
  }
  if (problems.length) {
    log.warn("integration plugin answered a malformed schema", { kind, problems: problems.slice(0, 5) });
    throw new Problem(502, "plugin_invalid_response", `the ${kind} plugin answered a malformed schema: ${problems[0]}`, { title: "Bad gateway" });
  }
  return Value.Clean(DiscoveredSchemaShape, structuredClone(raw)) as DiscoveredSchema;
}

function skillTypeOf(plugin: IntegrationPlugin, type: string): SkillType {
  if ((SKILL_TYPES as readonly string[]).includes(type)) return type as SkillType;
  throw new Problem(502, "plugin_invalid_response", `the ${plugin.kind} plugin names an unknown skill type ${type}`, { title: "Bad gateway" });
}

/** An action's TypeBox parameters reduced to what a skill's parametersSchema holds (type, description, enum, format). */
function callerSchema(action: PluginAction) {
  return callerSchemaOf(action.parameters as unknown as Record<string, unknown>);
}

function callerSchemaOf(schema: Record<string, unknown>) {
  const properties: Record<string, CallerParameter> = {};
  for (const [name, raw] of Object.entries((schema.properties ?? {}) as Record<string, Record<string, unknown>>)) {
    const type = raw.type === "integer" || raw.type === "number" || raw.type === "boolean" ? raw.type : "string";
    properties[name] = {
      type,
      ...(typeof raw.description === "string" ? { description: raw.description.slice(0, 1000) } : {}),
      ...(typeof raw.format === "string" ? { format: raw.format.slice(0, 50) } : {}),
      ...(Array.isArray(raw.enum) && type === "string" ? { enum: raw.enum.map(String).slice(0, 100) } : {}),
    };
  }
  const required = Array.isArray(schema.required) ? (schema.required as string[]).filter((r) => r in properties) : [];
  return { type: "object" as const, properties, required };
}

