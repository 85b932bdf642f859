// Skill types backed by a connected integration (databases, calendars, sheets, CRMs, SMS, REST/GraphQL APIs) and
// the reserved mcp type. A skill names its integration (default: the kind its type implies) and carries the
// operation it runs: compiled and signed by the app when a binding, action or pack made it, or the operator's own
// SQL template for db_query. The plugin runs it within the integration deadline; whatever it throws, hangs on or
// answers malformed becomes a skill error the runtime speaks, never a broken conversation.
import { Type, type TProperties } from "@sinclair/typebox";
import type { AgentHours, CompiledOperation, OperationResult } from "../../api/integrations/contract.ts";
import { PluginError } from "../../api/integrations/contract.ts";
import { DeadlineExceeded, type IntegrationConnections } from "../../api/integrations/connections.ts";
import { IntegrationAuthFailed, ProviderUnavailable } from "../../api/integrations/oauth.ts";
import type { OperationSigner } from "../../api/integrations/signing.ts";
import type { Logger } from "../../platform/log.ts";
import type { SkillType } from "../compiled.ts";
import { failure } from "./outcomes.ts";
import type { RunSkill, SkillCallContext, SkillOutcome } from "./types.ts";

export const INTEGRATION_KINDS = {
  db_query: "postgres",
  native_sql: "postgres",
  native_rest: "rest",
  native_graphql: "graphql",
  calendar: "google_calendar",
  google_sheets: "google_sheets",
  crm: "hubspot",
  sms: "sms",
  mcp: "mcp",
} as const satisfies Partial<Record<SkillType, string>>;
export type IntegrationSkillType = keyof typeof INTEGRATION_KINDS;

export const isIntegrationSkillType = (type: string): type is IntegrationSkillType => Object.hasOwn(INTEGRATION_KINDS, type);

/** The integration a skill runs on: its executionConfig's, else the kind its type implies. */
export const integrationOf = (skill: { skillType: string; executionConfig: Record<string, unknown> }): string =>
  typeof skill.executionConfig.integration === "string" ? skill.executionConfig.integration : (INTEGRATION_KINDS[skill.skillType as IntegrationSkillType] ?? skill.skillType);

const Text = (description: string, maxLength = 500) => Type.Optional(Type.String({ minLength: 1, maxLength, description }));

/** Known settings are typed; anything else a provider needs is kept as sent. */
const integrationConfig = (skillType: IntegrationSkillType, properties: TProperties = {}) =>
  Type.Object(
    { integration: Text(`The connected integration to use (default ${INTEGRATION_KINDS[skillType]})`, 64), ...properties },
    { additionalProperties: true },
  );

export const INTEGRATION_CONFIGS = {
  db_query: Type.Object(
    {
      integration: Text("The connected database integration to use (default postgres)", 64),
      sql_template: Type.String({ minLength: 1, maxLength: 20_000, description: "The query, with {param} placeholders for the call's arguments" }),
    },
    { additionalProperties: true },
  ),
  native_sql: integrationConfig("native_sql", { sql_template: Text("The query, with {param} placeholders", 20_000) }),
  native_rest: integrationConfig("native_rest", { operation: Text("Operation id from the discovered schema", 200) }),
  native_graphql: integrationConfig("native_graphql", { operation: Text("Operation from the discovered schema", 200) }),
  calendar: integrationConfig("calendar", { calendarId: Text("Calendar to read and book", 200) }),
  google_sheets: integrationConfig("google_sheets", { spreadsheetId: Text("Spreadsheet id", 200), sheet: Text("Tab name", 200) }),
  crm: integrationConfig("crm", { object: Text("CRM object, e.g. contact or deal", 100) }),
  sms: integrationConfig("sms", { to: Text("Recipient; {param} templates allowed", 100), message: Text("Message text; {param} templates allowed", 1600) }),
  mcp: integrationConfig("mcp"),
} satisfies Record<IntegrationSkillType, unknown>;

export interface IntegrationExecutorDeps {
  /** Absent when the app runs without integrations (unit tests of other executors): every skill is not connected. */
  connections?: IntegrationConnections;
  signer?: OperationSigner;
  log: Logger;
}

const PLUGIN_CODES = new Set(["not_found", "invalid_input", "conflict", "unavailable", "timeout", "refused", "invalid_binding"]);

export function integrationExecutor(deps: IntegrationExecutorDeps): RunSkill {
  return async (skill, args, ctx) => {
    const kind = integrationOf(skill);
    let connection: Awaited<ReturnType<IntegrationConnections["connected"]>> = null;
    try {
      connection = deps.connections ? await deps.connections.connected(ctx.organizationId, kind) : null;
    } catch (error) {
      if (error instanceof IntegrationAuthFailed) return failure("integration_error", error.message);
      if (error instanceof ProviderUnavailable) return failure("unavailable", error.message);
      throw error;
    }
    if (!deps.connections || !connection) {
      // A grant the provider stopped honouring says so, rather than looking never connected.
      const row = deps.connections ? await deps.connections.row(ctx.organizationId, kind) : null;
      if (row?.status === "error") return failure("integration_error", `${kind} needs to be connected again: ${row.statusReason ?? "its grant failed"}`);
      return failure("integration_not_connected", `connect the ${kind} integration first`);
    }
    const operation = operationOf(skill, kind, deps.signer);
    if (!operation) return failure("invalid_binding", "this skill's operation was not made by a binding, action or pack (or was edited since): bind it again");
    const blocked = scopedOut(skill.executionConfig, connection.row);
    if (blocked.length) return failure("scoped_out", `the organization's data scoping now blocks ${blocked.join(", ")}: bind the skill again without them`);
    const pctx = deps.connections.context({ organizationId: ctx.organizationId, connectionId: connection.row.connectionId, kind, credentials: connection.credentials, signal: ctx.signal, conversationId: ctx.conversationId, ...(ctx.businessHours ? { agentHours: agentHoursOf(ctx.businessHours) } : {}) });
    try {
      // A plugin that ignores its signal still cannot hold the turn past the deadline.
      const aborted = new Promise<never>((_, reject) => {
        if (pctx.signal.aborted) reject(pctx.signal.reason);
        pctx.signal.addEventListener("abort", () => reject(pctx.signal.reason), { once: true });
      });
      const answer = await Promise.race([connection.plugin.execute(operation, args, pctx), aborted]);
      return resultOf(answer, skill.isWrite);
    } catch (error) {
      if (isPluginError(error)) return { kind: "error", code: error.code, message: error.message, ...(error.fields ? { fields: error.fields } : {}) };
      if (error instanceof IntegrationAuthFailed) return failure("integration_error", error.message);
      if (error instanceof ProviderUnavailable) return failure("unavailable", error.message);
      if (error instanceof DeadlineExceeded) return failure("timeout", error.message);
      if (ctx.signal.aborted) return failure("cancelled", "the conversation stopped waiting for the answer");
      deps.log.warn("integration plugin failed", { kind, skillId: skill.id, error: error instanceof Error ? error.message : String(error) });
      return failure("integration_failed", `the ${kind} integration failed`);
    } finally {
      pctx.dispose();
    }
  };
}

/**
 * A PluginError, or an error shaped like one: an operator's plugin outside this repository may throw its own class
 * named PluginError (its copy of the contract is not this one).
 */
function isPluginError(error: unknown): error is PluginError {
  if (error instanceof PluginError) return true;
  if (!(error instanceof Error) || error.name !== "PluginError") return false;
  const { code, fields } = error as Partial<PluginError>;
  return typeof code === "string" && PLUGIN_CODES.has(code) && (fields === undefined || Array.isArray(fields));
}

/**
 * The operation a skill runs: the operator's SQL template (db_query), or a compiled operation whose signature holds,
 * without the app's own keys (where it came from, what it touches, its signature): those are not the plugin's. An
 * action's operator settings (`settings`, edited by the operator after provisioning) are not signed and ride along.
 */
function operationOf(skill: Parameters<RunSkill>[0], kind: string, signer: OperationSigner | undefined): CompiledOperation | null {
  const { settings, ...config } = skill.executionConfig;
  if (typeof config.sql_template === "string") return { operation: "query", sql: config.sql_template, write: skill.isWrite };
  if (typeof config.operation !== "string" || !signer?.verify(kind, config)) return null;
  const { integration: _i, source: _s, action: _a, signature: _g, touches: _t, ...operation } = config;
  return { ...(operation as CompiledOperation), ...(settings && typeof settings === "object" && !Array.isArray(settings) ? { settings } : {}) };
}

/**
 * What the operation reaches (`touches`: the objects and `object.field`s its binding named, recorded when it was
 * compiled) that the organization's scoping blocks now: a table or column scoped out after the binding was saved
 * never reaches a conversation.
 */
function scopedOut(config: Record<string, unknown>, row: { blockedObjects: string[]; blockedFields: string[] }): string[] {
  const touches = Array.isArray(config.touches) ? (config.touches as unknown[]).filter((t): t is string => typeof t === "string") : [];
  const objects = new Set(row.blockedObjects);
  const fields = new Set(row.blockedFields);
  return touches.filter((t) => fields.has(t) || objects.has(t.split(".")[0]!));
}

/**
 * One record's fields are the result (and become conversation variables); several records are `rows`; none is
 * not_found for a read. A write answers what it projected of the record it wrote.
 */
function resultOf(answer: unknown, isWrite: boolean): SkillOutcome {
  const rows = (answer as OperationResult | null)?.rows;
  if (!Array.isArray(rows) || rows.some((r) => r === null || typeof r !== "object" || Array.isArray(r))) {
    return failure("integration_invalid_response", "the integration answered something that is not a list of records");
  }
  if (rows.length === 0) return isWrite ? { kind: "result", data: {} } : failure("not_found", "nothing matched");
  if (rows.length > 1) return { kind: "result", data: { rows } };
  const data = rows[0] as Record<string, unknown>;
  const variables: Record<string, unknown> = {};
  const variableSources: Record<string, string> = {};
  for (const [leaf, value] of Object.entries(data)) {
    if (value === null || typeof value === "object") continue;
    variables[leaf] = value;
    variableSources[leaf] = leaf;
  }
  return { kind: "result", data, variables, variableSources };
}

/** The agent's schedule as plugins see it: a time zone and weekly ranges, holidays and after-hours rules left to the runtime. */
function agentHoursOf(hours: NonNullable<SkillCallContext["businessHours"]>): AgentHours {
  const weekly: AgentHours["weekly"] = {};
  for (const [day, ranges] of Object.entries(hours.weekly ?? {})) if (ranges) weekly[day] = ranges.map((r) => ({ start: r.start, end: r.end }));
  return { timeZone: hours.timezone ?? null, weekly };
}
