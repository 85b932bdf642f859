// The Integrations tag: connections of the organization (catalog, connect, disconnect, discover, schema browsing,
// scoping, SQL setup helpers) and the skills an agent's draft gets from them (provision, bindings, auto-map, pack).
import { Elysia, t } from "elysia";
import type { Principal } from "../../platform/auth/principal.ts";
import { problems } from "../../platform/http/docs.ts";
import { Envelope, ok, VoidEnvelope } from "../../platform/http/envelope.ts";
import { DEFAULT_LIMIT, Paginated } from "../../platform/http/pagination.ts";
import { ProblemSchema } from "../../platform/http/problem.ts";
import type { ApiContext } from "../context.ts";
import { Skill } from "../skills/model.ts";
import type { SkillsService } from "../skills/service.ts";
import type { IntegrationConnections } from "./connections.ts";
import type { OAuthGrants } from "./oauth.ts";
import {
  Action,
  AgentKindParams,
  AutoMapBody,
  AutoMapResult,
  BindingBody,
  CatalogEntry,
  ConnectBody,
  Connection,
  ConnectResult,
  DiscoveredSchema,
  DiscoverySummary,
  KindParams,
  ObjectDetail,
  ObjectParams,
  ObjectsQuery,
  ObjectSummary,
  OperationsQuery,
  Pack,
  ProvisionBody,
  ProvisionedSkill,
  RemovedSkills,
  SchemaOperation,
  Scoping,
  Scripts,
  ScriptsQuery,
  SearchHit,
  SearchQuery,
  Spreadsheet,
  SpreadsheetQuery,
  SqlTestBody,
  SqlTestResult,
} from "./model.ts";
import { IntegrationsService } from "./service.ts";
import { shopifyInstallRoutes } from "./shopify-install.ts";
import type { OperationSigner } from "./signing.ts";

const tags = ["Integrations"];
/** Plugin failures: 502 (the plugin failed or answered malformed data), 503 (the provider cannot be reached in time). */
const upstream = { 502: ProblemSchema, 503: ProblemSchema };

export function integrationRoutes(ctx: ApiContext, deps: { connections: IntegrationConnections; oauth: OAuthGrants; signer: OperationSigner; skills: SkillsService }) {
  const me = (c: unknown) => (c as { principal: Principal }).principal.organizationId;
  const service = new IntegrationsService({ database: ctx.database, connections: deps.connections, oauth: deps.oauth, signer: deps.signer, skills: deps.skills, sealer: ctx.sealer, config: ctx.config, log: ctx.log });

  return new Elysia({ prefix: "/api/v1" })
    .use(ctx.conventions)
    .get("/integrations/catalog", async (c) => ok(await service.catalog(me(c))), {
      scope: "integrations:read",
      response: { 200: Envelope(t.Array(CatalogEntry)), ...problems() },
      detail: { operationId: "listIntegrationCatalog", summary: "List the integration catalog", description: "One row per loaded plugin (built-in or the operator's PLUGINS_DIR), with whether this organization has connected it. Reserved providers are not listed.", tags },
    })
    .get("/integrations", async (c) => ok(await service.list(me(c))), {
      scope: "integrations:read",
      response: { 200: Envelope(t.Array(Connection)), ...problems() },
      detail: { operationId: "listIntegrations", summary: "List connected integrations", description: "The organization's connections and their status; credentials are never returned.", tags },
    })
    .post("/integrations/:kind/connect", async ({ params, body, ...c }) => ok(await service.connect(me(c), params.kind, body.credentials)), {
      scope: "integrations:connect",
      params: KindParams,
      body: ConnectBody,
      parse: "json",
      response: { 200: Envelope(ConnectResult), ...problems(400, 404, 409), ...upstream },
      detail: {
        operationId: "connectIntegration",
        summary: "Connect an integration",
        description:
          "Needs integrations:connect (it ingests credentials and opens an egress path). oauth2 providers answer {oauthUrl}: the provider's consent page (authorization code with PKCE; the browser comes back to PUBLIC_BASE_URL/integrations/oauth/callback, which stores the tokens and shows the connection in GET /integrations), or 409 oauth_client_not_configured when the operator set no OAuth client for it; others validate `credentials` against the provider's schema (400 validation_error naming each field), run its connection test when it has one (400 connection_failed naming the failed check; read_only and latency failures are warnings), seal them with the master key and answer {status: connected}. Credentials are never returned or logged. 403 reserved_integration for a provider coming soon; 404 integration_not_found for an unknown kind.",
        tags,
      },
    })
    .delete(
      "/integrations/:kind",
      async ({ params, ...c }) => {
        await service.disconnect(me(c), params.kind);
        return ok(null, "integration disconnected");
      },
      {
        scope: "integrations:write",
        params: KindParams,
        response: { 200: VoidEnvelope, ...problems(404) },
        detail: { operationId: "disconnectIntegration", summary: "Disconnect an integration", description: "Clears the stored credentials (an OAuth grant is also revoked at the provider, best effort). Skills built on it stay and fail with integration_not_connected until it is connected again; the discovered schema and scoping are kept. 404 when not connected.", tags },
      },
    )
    .use(shopifyInstallRoutes(ctx, service))
    .post("/integrations/:kind/discover", async ({ params, ...c }) => ok(await service.discover(me(c), params.kind)), {
      scope: "integrations:write",
      params: KindParams,
      response: { 200: Envelope(DiscoverySummary), ...problems(404, 409), ...upstream },
      detail: {
        operationId: "discoverIntegration",
        summary: "Discover schema",
        description: "Scans the provider into objects, fields, relationships and operations, replacing the previous snapshot (scoping is kept). 409 integration_not_connected; 409 discovery_unsupported; 502 plugin_failed or plugin_invalid_response; 503 integration_unavailable.",
        tags,
      },
    })
    .get("/integrations/:kind/schema", async ({ params, ...c }) => ok(await service.fullSchema(me(c), params.kind)), {
      scope: "integrations:read",
      params: KindParams,
      response: { 200: Envelope(DiscoveredSchema), ...problems(404) },
      detail: { operationId: "getIntegrationSchema", summary: "Get discovered schema", description: "The latest snapshot without what the scoping blocks. 404 not_discovered.", tags },
    })
    .get("/integrations/:kind/schema/search", async ({ params, query, ...c }) => ok(await service.search(me(c), params.kind, query.q, query.limit ?? 25)), {
      scope: "integrations:read",
      params: KindParams,
      query: SearchQuery,
      response: { 200: Envelope(t.Array(SearchHit)), ...problems(404) },
      detail: { operationId: "searchIntegrationSchema", summary: "Search a provider's schema", description: "Ranked keyword search over fields, most relevant first, with core/PII/payment-card badges. Blocked tables and columns never appear.", tags },
    })
    .get("/integrations/:kind/objects", async ({ params, query, ...c }) => service.objects(me(c), params.kind, { ...query, limit: query.limit ?? DEFAULT_LIMIT }), {
      scope: "integrations:read",
      params: KindParams,
      query: ObjectsQuery,
      response: { 200: Paginated(ObjectSummary), ...problems(404) },
      detail: { operationId: "listIntegrationObjects", summary: "Browse a provider's objects", description: "Objects by name, with counts and capabilities; `q` filters by name. 404 not_discovered.", tags },
    })
    .get("/integrations/:kind/objects/:object", async ({ params, ...c }) => ok(await service.object(me(c), params.kind, params.object)), {
      scope: "integrations:read",
      params: ObjectParams,
      response: { 200: Envelope(ObjectDetail), ...problems(404) },
      detail: { operationId: "getIntegrationObject", summary: "Get one object's detail", description: "Fields, operations and relationships of one object. 404 object_not_found (also for a blocked object).", tags },
    })
    .get("/integrations/:kind/operations", async ({ params, query, ...c }) => ok(await service.operations(me(c), params.kind, { readOnly: query.readOnly !== "false", object: query.object, q: query.q })), {
      scope: "integrations:read",
      params: KindParams,
      query: OperationsQuery,
      response: { 200: Envelope(t.Array(SchemaOperation)), ...problems(404) },
      detail: { operationId: "listIntegrationOperations", summary: "Browse a provider's operations", description: "Read operations by default; readOnly=false includes writes.", tags },
    })
    .get("/integrations/:kind/scoping", async ({ params, ...c }) => ok(await service.scoping(me(c), params.kind)), {
      scope: "integrations:read",
      params: KindParams,
      response: { 200: Envelope(Scoping), ...problems(404) },
      detail: { operationId: "getIntegrationScoping", summary: "Get data scoping", description: "Tables and `table.column` columns agents may not see or bind.", tags },
    })
    .patch("/integrations/:kind/scoping", async ({ params, body, ...c }) => ok(await service.setScoping(me(c), params.kind, body)), {
      scope: "integrations:write",
      params: KindParams,
      body: Scoping,
      parse: "json",
      response: { 200: Envelope(Scoping), ...problems(400, 404) },
      detail: { operationId: "setIntegrationScoping", summary: "Set data scoping", description: "Replaces both lists; empty lists clear the blocks. Once discovered, names the snapshot lacks are refused (400). Survives re-discovery.", tags },
    })
    .get("/integrations/:kind/actions", ({ params }) => ok(service.actions(params.kind)), {
      scope: "integrations:read",
      params: KindParams,
      response: { 200: Envelope(t.Array(Action)), ...problems(404) },
      detail: { operationId: "listIntegrationActions", summary: "List available actions", description: "Pre-built actions with their parameters and the settings an operator must still give.", tags },
    })
    .get("/integrations/:kind/pack", ({ params }) => ok(service.pack(params.kind)), {
      scope: "integrations:read",
      params: KindParams,
      response: { 200: Envelope(Pack), ...problems(404) },
      detail: { operationId: "getIntegrationPack", summary: "Get a provider's preset pack", description: "Curated preset skills and guidance. 404 pack_not_found.", tags },
    })
    .get("/integrations/:kind/sql/scripts", ({ params, query }) => ok(service.scripts(params.kind, query)), {
      scope: "integrations:read",
      params: KindParams,
      query: ScriptsQuery,
      response: { 200: Envelope(Scripts), ...problems(404) },
      detail: { operationId: "getSqlSetupScripts", summary: "Generate DB setup scripts", description: "A read-only role (SELECT on current and future tables) and a write role (INSERT/UPDATE on the listed tables only). Without `password`, a strong one is generated and returned once.", tags },
    })
    .post("/integrations/:kind/sql/test", async ({ params, body, ...c }) => ok(await service.test(me(c), params.kind, body.credentials)), {
      scope: "integrations:connect",
      params: KindParams,
      body: SqlTestBody,
      parse: "json",
      response: { 200: Envelope(SqlTestResult), ...problems(400, 404) },
      detail: { operationId: "testSqlConnection", summary: "Test a database connection", description: "Needs integrations:connect (it carries credentials). Runs the provider's ordered checks without storing anything; always 200 with each check, a failed check (a refused private host included) being data. 400 only for malformed credentials.", tags },
    })
    .get("/integrations/:kind/spreadsheet", async ({ params, query, ...c }) => ok(await service.spreadsheet(me(c), params.kind, query.ref)), {
      scope: "integrations:read",
      params: KindParams,
      query: SpreadsheetQuery,
      response: { 200: Envelope(Spreadsheet), ...problems(404, 409), ...upstream },
      detail: { operationId: "getSpreadsheet", summary: "Look up a connected spreadsheet", description: "google_sheets only: title, tabs and each tab's header row (its first row), for a Sheets URL or a bare id. 409 integration_not_connected (also integration_error when the grant must be connected again); 404 sheet_not_accessible when the connected account cannot read it.", tags },
    })
    .post("/agents/:id/integrations/:kind/provision", async ({ params, body, ...c }) => ok(await service.provision(me(c), params.id, params.kind, body.actions)), {
      scope: "skills:write",
      params: AgentKindParams,
      body: ProvisionBody,
      parse: "json",
      response: { 200: Envelope(t.Array(ProvisionedSkill)), ...problems(400, 404, 409), ...upstream },
      detail: { operationId: "provisionIntegrationActions", summary: "Add actions as skills", description: "Adds the named actions (default: the important ones) to the agent's draft. Idempotent: existing ones answer created:false. Actions still needing operator settings land disabled. 409 integration_not_connected.", tags },
    })
    .delete("/agents/:id/integrations/:kind/provision", async ({ params, ...c }) => ok({ removed: await service.removeProvisioned(me(c), params.id, params.kind) }), {
      scope: "skills:write",
      params: AgentKindParams,
      response: { 200: Envelope(RemovedSkills), ...problems(404, 409) },
      detail: { operationId: "removeIntegrationActions", summary: "Remove an integration's skills", description: "Removes the agent's skills made from this integration (actions, bindings, pack); hand-built skills and other integrations' stay. 409 skill_in_use when a playbook calls one.", tags },
    })
    .post(
      "/agents/:id/integrations/:kind/bindings",
      async ({ params, body, ...c }) => ok(await service.bind(me(c), params.id, params.kind, body)),
      {
        scope: "skills:write",
        params: AgentKindParams,
        body: BindingBody,
        parse: "json",
        response: { 200: Envelope(Skill), ...problems(400, 404, 409), ...upstream },
        detail: {
          operationId: "createIntegrationBinding",
          summary: "Map fields to a skill",
          description:
            "Validates the binding against the discovered schema and the scoping (400 validation_error naming each field: unknown operation or field, blocked table or column, a search column without a leading index, a projection that is neither a field nor one relationship hop, a write missing required fields, sensitive write inputs, an update without a unique key), compiles it and adds the skill to the draft. Writes land disabled, need confirmation, never run in parallel, and update/delete need a verified caller. 409 integration_not_connected, 409 duplicate_name.",
          tags,
        },
      },
    )
    .post(
      "/agents/:id/integrations/:kind/bindings/auto",
      async ({ params, body, ...c }) => ok(await service.autoMap(me(c), params.id, params.kind, body.goal)),
      {
        scope: "skills:write",
        params: AgentKindParams,
        body: AutoMapBody,
        parse: "json",
        response: { 200: Envelope(AutoMapResult), ...problems(400, 404, 409, 422), ...upstream },
        detail: { operationId: "autoMapIntegrationBinding", summary: "Auto-map from a goal", description: "Proposes a read binding for the goal (the configured LLM, else a deterministic matcher over the schema), validates it and saves it as a disabled skill. 422 no_mapping when nothing matches.", tags },
      },
    )
    .post("/agents/:id/integrations/:kind/pack/install", async ({ params, ...c }) => ok(await service.installPack(me(c), params.id, params.kind)), {
      scope: "skills:write",
      params: AgentKindParams,
      response: { 200: Envelope(t.Array(ProvisionedSkill)), ...problems(404, 409), ...upstream },
      detail: { operationId: "installIntegrationPack", summary: "Install preset skills", description: "Adds the pack's presets to the draft; idempotent ({skill, created:false} for existing ones). 404 pack_not_found; 409 integration_not_connected.", tags },
    });
}
