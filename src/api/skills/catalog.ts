// The skill-type catalog: what each of the 16 skill types does, the executionConfig it takes (the executor's own
// TypeBox schema, published as JSON Schema), a parametersSchema to start from, and whether this installation
// can run it now.
import type { TSchema } from "@sinclair/typebox";
import type { Config } from "../../config.ts";
import { SKILL_TYPES, type SkillType } from "../../runtime/compiled.ts";
import { EXECUTION_CONFIGS, INTEGRATION_KINDS, type IntegrationSkillType } from "../../runtime/tools/index.ts";
import type { SkillTypeInfoDto } from "./model.ts";

interface Entry {
  label: string;
  description: string;
  category: "custom" | "communication" | "call_control" | "location" | "knowledge" | "flow" | "data" | "scheduling";
  parametersTemplate: Record<string, unknown>;
}

const param = (type: string, description: string, extra: Record<string, unknown> = {}) => ({ type, description, ...extra });
const params = (properties: Record<string, unknown>, required: string[] = Object.keys(properties)) => ({ type: "object", properties, required });
const NO_PARAMS = params({});

const ENTRIES: Record<SkillType, Entry> = {
  http_webhook: {
    label: "Call a webhook",
    description: "Sends the collected values to your HTTPS endpoint and reads its small JSON answer back (order status, warranty lookup, booking).",
    category: "custom",
    parametersTemplate: params({ order_number: param("string", "The order number the caller reads out") }),
  },
  email: {
    label: "Send an email",
    description: "Emails the collected values to your team or the caller from this installation's no-reply sender.",
    category: "communication",
    parametersTemplate: params({ caller_name: param("string", "The caller's name"), message: param("string", "What the caller wants us to know") }),
  },
  sms: {
    label: "Send a text message",
    description: "Texts the caller or your team through a connected SMS number.",
    category: "communication",
    parametersTemplate: params({ phone: param("string", "Number to text", { format: "phone" }) }),
  },
  transfer: {
    label: "Transfer the call",
    description: "Connects the caller to a person: a fixed number, or wherever the agent's handoff rules say.",
    category: "call_control",
    parametersTemplate: params({ reason: param("string", "Why the caller needs a person") }, []),
  },
  builtin: {
    label: "Call control",
    description: "Ends the call, takes a message, repeats the last answer or collects keypad digits.",
    category: "call_control",
    parametersTemplate: NO_PARAMS,
  },
  geo: {
    label: "Service area and nearest location",
    description: "Checks whether the caller's address is inside your service radius, or finds your location nearest to them.",
    category: "location",
    parametersTemplate: params({ address: param("string", "The caller's street address, city or ZIP code") }),
  },
  knowledge_query: {
    label: "Look up knowledge",
    description: "Searches the agent's knowledge sources and returns the best passages.",
    category: "knowledge",
    parametersTemplate: params({ query: param("string", "What to look up") }),
  },
  playbook: {
    label: "Start a playbook",
    description: "Hands the conversation to a playbook that gathers several inputs over a few turns before acting.",
    category: "flow",
    parametersTemplate: NO_PARAMS,
  },
  db_query: {
    label: "Query a database",
    description: "Runs a read-only query against a connected database.",
    category: "data",
    parametersTemplate: params({ account_number: param("string", "The caller's account number") }),
  },
  native_sql: {
    label: "SQL binding",
    description: "A mapped read or write on a connected SQL database.",
    category: "data",
    parametersTemplate: NO_PARAMS,
  },
  native_rest: {
    label: "REST binding",
    description: "A mapped operation of a connected REST/OpenAPI service.",
    category: "data",
    parametersTemplate: NO_PARAMS,
  },
  native_graphql: {
    label: "GraphQL binding",
    description: "A mapped query or mutation of a connected GraphQL service.",
    category: "data",
    parametersTemplate: NO_PARAMS,
  },
  calendar: {
    label: "Calendar",
    description: "Checks availability and books appointments on a connected calendar.",
    category: "scheduling",
    parametersTemplate: params({ date: param("string", "The day the caller wants", { format: "date" }) }),
  },
  google_sheets: {
    label: "Log a row",
    description: "Appends the collected values as a row of a connected spreadsheet.",
    category: "data",
    parametersTemplate: NO_PARAMS,
  },
  crm: {
    label: "CRM",
    description: "Looks up or updates contacts and deals in a connected CRM.",
    category: "data",
    parametersTemplate: params({ email: param("string", "The caller's email address", { format: "email" }) }),
  },
  mcp: {
    label: "MCP tool",
    description: "Reserved for the managed MCP gateway; use http_webhook meanwhile.",
    category: "custom",
    parametersTemplate: NO_PARAMS,
  },
};

/** The catalog as this installation offers it; computed once at start, since it depends only on configuration. */
export function skillTypeCatalog(config: Pick<Config, "smtp">): SkillTypeInfoDto[] {
  return SKILL_TYPES.map((type) => ({ type, ...ENTRIES[type], executionConfigSchema: toJsonSchema(EXECUTION_CONFIGS[type]), ...availability(type, config) }));
}

function availability(type: SkillType, config: Pick<Config, "smtp">): Pick<SkillTypeInfoDto, "requires" | "available" | "reason"> {
  if (type === "mcp") return { requires: null, available: false, reason: "reserved" };
  if (type in INTEGRATION_KINDS) {
    return { requires: { integration: INTEGRATION_KINDS[type as IntegrationSkillType] }, available: false, reason: "integration not connected" };
  }
  if (type === "email") {
    return config.smtp ? { requires: { config: "SMTP_URL" }, available: true } : { requires: { config: "SMTP_URL" }, available: false, reason: "SMTP is not configured; the operator sets SMTP_URL" };
  }
  return { requires: null, available: true };
}

/** TypeBox schemas are JSON Schema plus symbol-keyed metadata, which JSON leaves out. */
const toJsonSchema = (schema: TSchema): Record<string, unknown> => JSON.parse(JSON.stringify(schema));
