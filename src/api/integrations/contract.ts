// The plugin contract: everything an integration plugin may import from the app, and everything the app expects
// of one. A plugin declares what it is and how it authenticates, describes the provider's data as a normalized
// schema, compiles an operator-approved binding into a frozen operation, and executes operations within a
// deadline. It gets credentials, an egress-checked fetch, a host check, a logger and the organization's scoping
// through its context, never the database: what it may reach is decided by the app.
import type { Static, TObject } from "@sinclair/typebox";

/**
 * TypeBox, for credential and parameter schemas: a plugin outside this repository (PLUGINS_DIR) cannot resolve the
 * app's packages itself, so it takes TypeBox from here.
 */
export { Type } from "@sinclair/typebox";

/** A provider's answer read up to a size (null when larger): plugins cap what they read with the app's own reader. */
export { readCapped } from "../../platform/http/capped-body.ts";

export type IntegrationCategory = "database" | "calendar" | "spreadsheet" | "commerce" | "crm" | "messaging" | "other";

/** How a provider is connected. `credentials`/`api_key` take a body validated against `schema`; `oauth2` is a browser hop. */
export type PluginAuth = { type: "credentials" | "api_key"; schema: TObject } | OAuth2Auth;

/**
 * OAuth 2 authorization code with PKCE, run by the app: the plugin names the provider's endpoints and scopes; the
 * app sends the browser to `authorizeUrl`, takes the code at its callback, keeps the tokens sealed, refreshes them
 * and revokes them on disconnect. The plugin then finds `access_token` in `ctx.credentials`.
 */
export interface OAuth2Auth {
  type: "oauth2";
  authorizeUrl: string;
  tokenUrl: string;
  scopes: readonly string[];
  /**
   * The env prefix of the operator's OAuth client: `<client>_CLIENT_ID`, `<client>_CLIENT_SECRET` and the optional
   * `<client>_BASE_URL` standing for the provider's hosts (e.g. `GOOGLE_OAUTH`, shared by both Google plugins).
   */
  client: string;
  /** RFC 7009 revocation endpoint, called (best effort) on disconnect. */
  revokeUrl?: string;
  /** OpenID Connect userinfo endpoint, asked for the account's email when the token answer has no id_token. */
  userinfoUrl?: string;
  /** Extra authorization request parameters (Google: `access_type=offline`, `prompt=consent` to get a refresh token). */
  authorizeParams?: Record<string, string>;
}

/**
 * Sensitive data classes. `contact`: how a person is reached (name, phone, email, address), which a booking must
 * write and a caller gives about themselves; `pii`: identity and other sensitive personal data (national ids, dates
 * of birth, bank accounts); `payment_card`; `secret` (passwords, tokens). A binding may write `contact` fields only;
 * search shows `contact` and `pii` as the PII badge.
 */
export type Sensitivity = "contact" | "pii" | "payment_card" | "secret";

export type FieldType = "string" | "integer" | "number" | "boolean" | "date" | "datetime" | "time" | "json" | "binary" | "uuid";

export interface SchemaField {
  name: string;
  type: FieldType;
  /** The provider's own type name (e.g. `timestamp with time zone`), for people reading the schema. */
  nativeType?: string;
  /** Must be given when the object is created (NOT NULL without a default, for SQL). */
  required: boolean;
  nullable: boolean;
  allowedValues?: string[] | null;
  /** The object and field this one points at (a foreign key). */
  references?: { object: string; field: string } | null;
  sensitivity?: Sensitivity | null;
  primaryKey?: boolean;
  /** Unique on its own (a primary key or single-column unique index): an update may target a row by it. */
  unique?: boolean;
  /** The first column of an index: a lookup on it is cheap, so a bound read may filter on it. */
  leadingIndex?: boolean;
  /** Filled by the provider (default, identity, generated): never needs a value on create. */
  generated?: boolean;
  description?: string;
}

export interface SchemaObject {
  name: string;
  description?: string;
  fields: SchemaField[];
}

export interface SchemaRelationship {
  name: string;
  from: { object: string; field: string };
  to: { object: string; field: string };
}

export interface SchemaOperation {
  /** Stable name, unique in the schema (e.g. `appointments.select`). */
  name: string;
  object: string;
  kind: "read" | "write";
  /** For writes: creating a record or changing one (update/delete need a verified caller). */
  effect?: "create" | "update" | "delete";
  description: string;
}

export interface DiscoveredSchema {
  objects: SchemaObject[];
  relationships: SchemaRelationship[];
  operations: SchemaOperation[];
}

/**
 * A pre-built action: provisioned as a skill of `skillType` that runs `operation`. The operator's settings (the
 * `operatorConfig` names) are given in the skill's `executionConfig.settings` and reach `execute` as
 * `operation.settings`.
 */
export interface PluginAction {
  slug: string;
  name: string;
  description: string;
  isWrite: boolean;
  /** Provisioned when the operator names no actions. */
  important?: boolean;
  /** What the caller (through the agent) supplies. */
  parameters: TObject;
  /** Settings the operator must still give in the skill's executionConfig before it can run; until then it lands disabled. */
  operatorConfig?: { name: string; description: string; required: boolean }[];
  operation: string;
  /** The result fields the provisioned skill may read back (its allowedFields); absent: all it returns. */
  allowedFields?: string[];
  requiresConfirmation?: boolean;
  requiresVerifiedIdentity?: boolean;
}

/** A binding the app has validated against the discovered schema and the organization's scoping. */
export interface ValidatedBinding {
  operation: SchemaOperation;
  object: SchemaObject;
  isWrite: boolean;
  /** READ: the one caller parameter and the leading-index field it filters on (sqlSearch), when given. */
  search?: { field: string; param: string; limit: number } | null;
  /** READ over APIs: caller parameters passed as the operation's arguments. */
  inputs: { param: string; arg: string }[];
  /** WRITE: each field of the written record, from a caller parameter or an operator-pinned constant. */
  values: ({ field: string; param: string } | { field: string; constant: string | number | boolean | null })[];
  /** WRITE by key: the unique field identifying the record to update, and the caller parameter carrying it. */
  key?: { field: string; param: string } | null;
  /** What the skill returns: a field (or a one-hop relationship and the target's field) under a canonical name. */
  projection: { path: [string] | [string, string]; leaf: string }[];
}

/** What a skill stores to run an operation: written once when the binding is saved, never edited by the agent. */
export type CompiledOperation = Record<string, unknown> & { operation: string };

export interface PluginLogger {
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

export interface PluginContext {
  organizationId: string;
  /** Identifies this connection's credentials: a plugin keeps pools under it and is told in `release` when it ends. */
  connectionId: string;
  credentials: Record<string, unknown>;
  /** fetch() that refuses private, loopback and metadata destinations unless the operator allows them. */
  fetch(url: string | URL, init?: RequestInit): Promise<Response>;
  /** For raw TCP clients (databases): resolves the host, refuses it as fetch would, and answers the address to connect to. */
  checkHost(host: string): Promise<string>;
  /** Whether the operator lets this host be reached without TLS (SQL_PLAINTEXT_HOSTS: databases on a private network). */
  plaintextAllowed(host: string): boolean;
  log: PluginLogger;
  /** Aborted when the deadline passes or the caller goes away. */
  signal: AbortSignal;
  /** Epoch milliseconds by which the plugin must answer. */
  deadline: number;
  /** The conversation the call serves, inside a turn (to make a write idempotent per conversation); absent elsewhere. */
  conversationId?: string;
  /**
   * The agent's business hours, inside a turn: its IANA time zone (null when it set none) and its weekly opening
   * ranges by lowercase English weekday (`monday`: [{start: "08:00", end: "17:00"}]). Absent outside a turn.
   */
  agentHours?: AgentHours;
  /**
   * The URL to call for one of the provider's URLs: the same one, unless the operator points the provider's hosts
   * elsewhere (the OAuth client's `_BASE_URL`: a proxy, or a test stand-in).
   */
  providerUrl?(url: string): string;
  /**
   * oauth2 plugins: the provider refused the access token (401), so get a new one. Answers the new credentials (also
   * put in `ctx.credentials`); when the grant itself is gone the app marks the connection `error` and the call fails.
   */
  refreshCredentials?(): Promise<Record<string, unknown>>;
}

export interface AgentHours {
  timeZone: string | null;
  weekly: Partial<Record<string, { start: string; end: string }[]>>;
}

/** What `spreadsheet(ref)` answers: a spreadsheet's title, its tabs and each tab's header row. */
export interface SpreadsheetInfo {
  title: string;
  tabs: { name: string; headers: string[] }[];
}

export interface OperationResult {
  /** Records the operation returned (reads) or wrote (writes), already projected onto the binding's leaves. */
  rows: Record<string, unknown>[];
  /** Provider extras worth telling the agent (e.g. `{ affected: 1 }`). */
  info?: Record<string, unknown>;
}

/** One ordered check of a connection test: a failed check is data, not an error. */
export interface ConnectionCheck {
  name: string;
  ok: boolean;
  ms: number;
  detail: string;
}

export interface SetupScripts {
  readOnly: { user: string; sql: string };
  write: { user: string; sql: string };
}

export interface PresetSkill {
  slug: string;
  name: string;
  description: string;
  skillType: string;
  parametersSchema: Record<string, unknown>;
  executionConfig: CompiledOperation;
  isWrite: boolean;
}

export interface IntegrationPlugin<Credentials extends TObject = TObject> {
  kind: string;
  name: string;
  category: IntegrationCategory;
  version: string;
  description: string;
  /** The skill type its actions and bindings become (e.g. `native_sql`, `calendar`). */
  skillType: string;
  auth: PluginAuth & ({ type: "oauth2" } | { schema: Credentials });
  /** The label shown for a connection (a database's host/name, a shop's domain); never a secret. */
  accountLabel?(credentials: Static<Credentials>): string;
  actions?: PluginAction[];
  discover?(ctx: PluginContext): Promise<DiscoveredSchema>;
  /** Turns a validated binding into what the skill stores; throws PluginError("invalid_binding") when it cannot. */
  compile?(binding: ValidatedBinding): CompiledOperation;
  execute(operation: CompiledOperation, args: Record<string, unknown>, ctx: PluginContext): Promise<OperationResult>;
  pack?: { guidance: string; skills: PresetSkill[] };
  /** Runs ordered checks against credentials without storing anything. */
  test?(ctx: PluginContext): Promise<ConnectionCheck[]>;
  /** `suffix` is appended to the login names (`flowyte_ro_<suffix>`), to keep several environments apart on one server. */
  scripts?(options: { database: string; tables: string[]; password: string; suffix?: string }): SetupScripts;
  /** The connection ended (disconnected, credentials replaced, server stopping): close what is held for it. */
  release?(connectionId: string): Promise<void>;
  /** Spreadsheet providers: looks up a spreadsheet by URL or id; PluginError("not_found") when it cannot be read. */
  spreadsheet?(ref: string, ctx: PluginContext): Promise<SpreadsheetInfo>;
}

/**
 * Failures a plugin reports, each one a skill error code the runtime already speaks: `not_found` (nothing matched),
 * `invalid_input` (a caller value the provider refused), `conflict` (a unique key taken), `unavailable` (the
 * provider cannot be reached), `timeout`, `refused` (the provider denied the action), `invalid_binding`.
 */
export type PluginErrorCode = "not_found" | "invalid_input" | "conflict" | "unavailable" | "timeout" | "refused" | "invalid_binding";

export class PluginError extends Error {
  override name = "PluginError";
  constructor(
    readonly code: PluginErrorCode,
    message: string,
    readonly fields?: string[],
  ) {
    super(message);
  }
}

/** Declares a plugin; the identity function that gives a plugin author the contract's types. */
export function definePlugin<Credentials extends TObject>(plugin: IntegrationPlugin<Credentials>): IntegrationPlugin<Credentials> {
  return plugin;
}
