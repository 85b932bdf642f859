// Skill types backed by a connected integration (databases, calendars, sheets, CRMs, SMS, REST/GraphQL APIs)
// and the reserved mcp type. Their settings are stored as given; until an integration plugin is connected for
// the organization, running one answers integration_not_connected.
import { Type, type TProperties } from "@sinclair/typebox";
import type { SkillType } from "../compiled.ts";
import { failure } from "./outcomes.ts";
import type { RunSkill } from "./types.ts";

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

export const integrationExecutor: RunSkill = async (skill) => {
  const kind = (skill.executionConfig.integration as string | undefined) ?? INTEGRATION_KINDS[skill.skillType as IntegrationSkillType];
  return failure("integration_not_connected", `connect the ${kind} integration first`);
};
