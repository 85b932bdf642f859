// TypeBox shapes of the Integrations tag: what clients send and what they get back, shared by routes and the OpenAPI document.
import { Type } from "@sinclair/typebox";
import { t, type Static } from "elysia";
import { Skill } from "../skills/model.ts";

const Nullable = <T extends Parameters<typeof t.Union>[0][number]>(s: T) => t.Union([s, t.Null()]);
const Json = (description?: string) => t.Record(t.String(), t.Unknown(), description ? { description } : {});
const Count = (description: string) => Type.Integer({ minimum: 0, description });
const Identifier = (description: string) => t.String({ minLength: 1, maxLength: 64, pattern: "^[A-Za-z_][A-Za-z0-9_]*$", description });
const SchemaName = (description: string) => t.String({ minLength: 1, maxLength: 200, description });

export const KindParams = t.Object({ kind: t.String({ maxLength: 40, description: "Integration kind, e.g. postgres, mysql, shopify (GET /integrations/catalog lists them)" }) });
export const AgentKindParams = t.Object({ id: t.String({ maxLength: 64, description: "Agent id" }), kind: KindParams.properties.kind });
export const ObjectParams = t.Object({ kind: KindParams.properties.kind, object: SchemaName("Object (table) name") });

export const CatalogEntry = t.Object(
  {
    kind: t.String(),
    name: t.String(),
    category: t.String(),
    description: t.String(),
    logo: t.String({ description: "Logo slug (the kind)" }),
    version: t.String({ description: "The plugin's version" }),
    authType: t.Union([t.Literal("oauth2"), t.Literal("api_key"), t.Literal("credentials")]),
    actionCount: Count("Pre-built actions; 0 with hasPack means install the pack instead"),
    hasPack: t.Boolean(),
    connected: t.Boolean(),
    accountLabel: Nullable(t.String()),
  },
  { $id: "IntegrationCatalogEntry" },
);

export const Connection = t.Object(
  {
    kind: t.String(),
    status: t.Union([t.Literal("connected"), t.Literal("disconnected"), t.Literal("error")], { description: "error: the provider no longer honours the grant (revoked, expired); connect it again" }),
    statusReason: Nullable(t.String({ description: "Why the status is error; null otherwise" })),
    accountLabel: Nullable(t.String()),
    connectedAt: Nullable(t.String({ format: "date-time" })),
    discoveredAt: Nullable(t.String({ format: "date-time" })),
  },
  { $id: "Integration", description: "A connection of the organization; credentials are never returned" },
);

export const ConnectBody = t.Object(
  { credentials: t.Optional(Json("Provider credentials (e.g. {apiKey}); ignored for oauth2 providers")) },
  { $id: "IntegrationConnect" },
);
export const ConnectResult = t.Union([t.Object({ oauthUrl: t.String({ format: "uri" }) }), t.Object({ status: t.Literal("connected") })], { $id: "IntegrationConnectResult" });

export const ClaimBody = t.Object({ shop: t.String({ minLength: 1, maxLength: 255, description: "The store's myshopify.com domain" }), claimSecret: t.String({ minLength: 1, maxLength: 500 }) }, { $id: "IntegrationClaim" });
export const ClaimResult = t.Object({ connected: t.Literal(true), kind: t.String(), shop: t.String() }, { $id: "IntegrationClaimResult" });

export const DiscoverySummary = t.Object(
  {
    objectCount: Count("Objects (tables)"),
    fieldCount: Count("Fields (columns)"),
    edgeCount: Count("Relationships (foreign keys)"),
    operationCount: Count("Operations"),
    discoveredAt: t.String({ format: "date-time" }),
  },
  { $id: "DiscoverySummary" },
);

const Sensitivity = Nullable(t.Union([t.Literal("contact"), t.Literal("pii"), t.Literal("payment_card"), t.Literal("secret")]));
const Reference = Nullable(t.Object({ object: t.String(), field: t.String() }));
export const SchemaField = t.Object(
  {
    name: t.String(),
    type: t.String({ description: "string, integer, number, boolean, date, datetime, time, json, binary or uuid" }),
    nativeType: t.Optional(t.String()),
    required: t.Boolean({ description: "Must be given on create" }),
    nullable: t.Boolean(),
    allowedValues: t.Optional(Nullable(t.Array(t.String()))),
    references: t.Optional(Reference),
    sensitivity: t.Optional(Sensitivity),
    primaryKey: t.Optional(t.Boolean()),
    unique: t.Optional(t.Boolean()),
    leadingIndex: t.Optional(t.Boolean({ description: "First column of an index: a bound read may search on it" })),
    generated: t.Optional(t.Boolean()),
    description: t.Optional(t.String()),
  },
  { $id: "IntegrationField" },
);
export const SchemaRelationship = t.Object(
  { name: t.String(), from: t.Object({ object: t.String(), field: t.String() }), to: t.Object({ object: t.String(), field: t.String() }) },
  { $id: "IntegrationRelationship" },
);
export const SchemaOperation = t.Object(
  {
    name: t.String(),
    object: t.String(),
    kind: t.Union([t.Literal("read"), t.Literal("write")]),
    effect: t.Optional(t.Union([t.Literal("create"), t.Literal("update"), t.Literal("delete")])),
    description: t.String(),
  },
  { $id: "IntegrationOperation" },
);
export const SchemaObject = t.Object({ name: t.String(), description: t.Optional(t.String()), fields: t.Array(SchemaField) }, { $id: "IntegrationObjectSchema" });
export const DiscoveredSchema = t.Object(
  { objects: t.Array(SchemaObject), relationships: t.Array(SchemaRelationship), operations: t.Array(SchemaOperation), discoveredAt: t.String({ format: "date-time" }) },
  { $id: "IntegrationSchema", description: "The latest snapshot with the organization's scoping applied" },
);

export const ObjectSummary = t.Object(
  {
    name: t.String(),
    description: Nullable(t.String()),
    fieldCount: Count("Visible fields"),
    relationshipCount: Count("Relationships from or to it"),
    operationCount: Count("Operations on it"),
    capabilities: t.Object({ read: t.Boolean(), create: t.Boolean(), update: t.Boolean() }),
  },
  { $id: "IntegrationObject" },
);
export const ObjectDetail = t.Object(
  { name: t.String(), description: Nullable(t.String()), fields: t.Array(SchemaField), operations: t.Array(SchemaOperation), relationships: t.Array(SchemaRelationship) },
  { $id: "IntegrationObjectDetail" },
);
export const ObjectsQuery = t.Object({
  q: t.Optional(t.String({ maxLength: 200, description: "Part of the object's name" })),
  cursor: t.Optional(t.String({ maxLength: 512, description: "Opaque cursor from the previous page's pagination.nextCursor" })),
  limit: t.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 20, description: "Page size, 1–100" })),
});
export const OperationsQuery = t.Object({
  readOnly: t.Optional(t.Union([t.Literal("true"), t.Literal("false")], { description: "Default true: reads only; false includes writes" })),
  object: t.Optional(SchemaName("Only operations on this object")),
  q: t.Optional(t.String({ maxLength: 200, description: "Part of the operation's name" })),
});
export const SearchQuery = t.Object({ q: t.String({ minLength: 1, maxLength: 200, description: "Keywords" }), limit: t.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 25 })) });
export const SearchHit = t.Object(
  {
    object: t.String(),
    field: t.String(),
    type: t.String(),
    references: Reference,
    badges: t.Array(t.Union([t.Literal("core"), t.Literal("PII"), t.Literal("payment-card")])),
    score: t.Number({ description: "Higher is more relevant" }),
  },
  { $id: "IntegrationSearchHit" },
);

export const Scoping = t.Object(
  {
    blockedTables: t.Array(SchemaName("Object (table)"), { maxItems: 1000, uniqueItems: true }),
    blockedColumns: t.Array(t.String({ minLength: 3, maxLength: 401, pattern: "^[^.]+\\..+$", description: "table.column" }), { maxItems: 5000, uniqueItems: true }),
  },
  { $id: "IntegrationScoping", description: "What agents may not see or bind; empty lists allow everything. Kept across re-discovery." },
);
export type ScopingDto = Static<typeof Scoping>;

export const Action = t.Object(
  {
    slug: t.String(),
    name: t.String(),
    description: t.String(),
    isWrite: t.Boolean(),
    important: t.Boolean({ description: "Provisioned when no actions are named" }),
    parameters: Json("JSON Schema of what the caller supplies"),
    operatorConfig: t.Array(t.Object({ name: t.String(), description: t.String(), required: t.Boolean() }), { description: "Settings the operator must still give in the skill's executionConfig" }),
  },
  { $id: "IntegrationAction" },
);

export const ProvisionBody = t.Object({ actions: t.Optional(t.Array(t.String({ minLength: 1, maxLength: 100 }), { maxItems: 100, uniqueItems: true, description: "Action slugs; omit for the important ones" })) }, { $id: "IntegrationProvision" });
export const ProvisionedSkill = t.Object({ skill: Skill, created: t.Boolean({ description: "false when the skill already existed" }) }, { $id: "ProvisionedSkill" });
export const RemovedSkills = t.Object({ removed: Count("Skills removed") }, { $id: "RemovedIntegrationSkills" });

const Path = t.Union([SchemaName("A field of the operation's object"), t.Array(SchemaName("relationship field, then the target's field"), { minItems: 1, maxItems: 2 })]);
export const BindingBody = t.Object(
  {
    toolName: Identifier("LLM-facing tool name, unique on the agent"),
    operation: SchemaName("Operation to bind (GET …/operations)"),
    description: t.Optional(t.String({ minLength: 1, maxLength: 2000 })),
    isWrite: t.Optional(t.Boolean({ description: "Bind a write; it always lands disabled and gated" })),
    enabled: t.Optional(t.Boolean({ description: "Honoured for reads only" })),
    inputs: t.Optional(t.Array(t.Object({ param: Identifier("Caller parameter"), arg: SchemaName("Operation argument (a field)") }), { maxItems: 50 })),
    inputObjectMap: t.Optional(
      t.Array(
        t.Object({
          field: SchemaName("Field of the written record"),
          param: t.Optional(Identifier("Caller parameter")),
          constant: t.Optional(t.Union([t.String({ maxLength: 1000 }), t.Number(), t.Boolean(), t.Null()], { description: "Operator-pinned value" })),
        }),
        { maxItems: 100 },
      ),
    ),
    projection: t.Optional(t.Array(t.Object({ path: Path, leaf: Identifier("Canonical output name") }), { maxItems: 50 })),
    sqlSearch: t.Optional(t.Object({ column: SchemaName("A leading-index column"), param: Identifier("Caller parameter"), limit: t.Optional(Type.Integer({ minimum: 1, maximum: 100 })) })),
    sqlWrite: t.Optional(t.Object({ keyColumn: SchemaName("Unique column an update targets"), keyParam: Identifier("Caller parameter carrying the key") })),
  },
  { $id: "IntegrationBinding" },
);
export type BindingInput = Static<typeof BindingBody>;

export const AutoMapBody = t.Object({ goal: t.String({ minLength: 3, maxLength: 1000, description: "What the skill should do, in plain words" }) }, { $id: "IntegrationAutoMap" });
export const AutoMapResult = t.Object({ skill: Skill, proposal: BindingBody }, { $id: "IntegrationAutoMapResult" });

export const Pack = t.Object(
  {
    guidance: t.String(),
    skills: t.Array(t.Object({ slug: t.String(), name: t.String(), description: t.String(), skillType: t.String(), isWrite: t.Boolean(), parametersSchema: Json() })),
  },
  { $id: "IntegrationPack" },
);

const DbName = (description: string) => t.String({ minLength: 1, maxLength: 63, pattern: "^[A-Za-z_][A-Za-z0-9_$]*$", description });
export const ScriptsQuery = t.Object({
  database: DbName("Database name, e.g. appdb"),
  tables: t.Optional(t.String({ maxLength: 4000, pattern: "^[A-Za-z_][A-Za-z0-9_$]*(,[A-Za-z_][A-Za-z0-9_$]*)*$", description: "Comma list of the tables the write role may change" })),
  suffix: t.Optional(t.String({ minLength: 1, maxLength: 20, pattern: "^[a-z0-9_]+$", description: "Appended to the login names (flowyte_ro_<suffix>), to keep several environments apart on one server" })),
  password: t.Optional(t.String({ minLength: 12, maxLength: 128, pattern: "^[A-Za-z0-9_~!@#%^*()+=.,:;?/-]+$", description: "The roles' password; a strong one is generated when omitted" })),
});
export const Scripts = t.Object(
  {
    readOnly: t.Object({ user: t.String(), sql: t.String() }),
    write: t.Object({ user: t.String(), sql: t.String() }),
    generatedPassword: t.Optional(t.String({ description: "Only when none was given: shown once, never stored" })),
  },
  { $id: "SqlSetupScripts" },
);
export const SqlTestBody = t.Object({ credentials: Json("The credentials to try; nothing is stored") }, { $id: "SqlConnectionTest" });
export const SqlTestResult = t.Object(
  { ok: t.Boolean({ description: "No blocking check failed (read_only and latency are warnings)" }), checks: t.Array(t.Object({ name: t.String(), ok: t.Boolean(), ms: t.Number(), detail: t.String() })) },
  { $id: "SqlConnectionTestResult" },
);
export const SpreadsheetQuery = t.Object({ ref: t.String({ minLength: 1, maxLength: 500, description: "Sheets URL or bare id" }) });
export const Spreadsheet = t.Object({ title: t.String(), tabs: t.Array(t.Object({ name: t.String(), headers: t.Array(t.String()) })) }, { $id: "Spreadsheet" });
