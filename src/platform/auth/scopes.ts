// The scope catalog of the Flowyte API. Secret keys hold any of these except `chat:public`,
// which only a publishable key (flowyte_pk_…) carries.
export const SCOPES = {
  "agents:read": "Read agents, versions, diffs, pre-publish reports, voices and probe results",
  "agents:write": "Create, update, delete, publish and roll back agents; simulate; set voices",
  "knowledge:read": "Read knowledge sources and preview retrieval",
  "knowledge:write": "Add, refresh and remove knowledge sources and uploads",
  "skills:read": "Read skills and the skill-type catalog",
  "skills:write": "Create, update and delete skills",
  "playbooks:read": "Read playbooks, their graphs and variables",
  "playbooks:write": "Create, update and delete playbooks, graphs and variable annotations",
  "guardrails:read": "Read guardrail policies and caller verification",
  "guardrails:write": "Replace guardrail policies and caller verification",
  "chat:read": "Read chat sessions and messages",
  "chat:write": "Create chat sessions, send messages, OpenAI-compatible completions",
  "chat:public": "Browser widget surface (publishable keys only)",
  "widgets:read": "Read widget configuration and embed snippet",
  "widgets:write": "Update widget configuration",
  "pubkeys:read": "Read publishable keys",
  "pubkeys:write": "Manage publishable keys",
  "calls:read": "Read conversations, receipts and transcripts",
  "analytics:read": "Read the Observe history, analytics and knowledge gaps",
  "analytics:write": "Curate knowledge gaps",
  "numbers:read": "Read owned numbers and search inventory",
  "numbers:write": "Reserve, purchase, assign and release numbers",
  "sms:read": "Read SMS registration and SMS numbers",
  "sms:write": "Manage SMS registration and SMS numbers",
  "outbound:read": "Read outbound contact lists and campaigns",
  "outbound:write": "Manage outbound contact lists, campaigns and calls",
  "integrations:read": "Read connected integrations (status only, never credentials)",
  "integrations:write": "Discover schemas, set data scoping, disconnect integrations",
  "integrations:connect": "Connect a data source (submit credentials)",
  "billing:read": "Read plans, wallet and usage",
  "billing:write": "Manage credits and plans",
  "audit:read": "Read activity logs",
  "webhooks:write": "Manage webhook endpoints",
  "keys:write": "Manage secret API keys",
} as const;

export type Scope = keyof typeof SCOPES;

export const ALL_SCOPES = Object.keys(SCOPES) as Scope[];

/** Every scope a secret key can hold. */
export const SECRET_KEY_SCOPES = ALL_SCOPES.filter((s) => s !== "chat:public");

export const isScope = (s: string): s is Scope => s in SCOPES;
