// What a published agent version freezes, and what the runtime runs: the agent's configuration plus its
// enabled skills, playbooks, guardrail policies and caller-verification settings. The draft compiles to the
// same shape on demand (tester, draftMode), so one runtime serves both.

export interface TimeRange {
  start: string;
  end: string;
}

export interface AgentSettings {
  name: string;
  persona: string;
  goals: string[];
  neverDo: string[];
  tone: string;
  lexicon: { preferred?: string[]; banned?: string[]; pronunciations?: Record<string, string> };
  languages: string[];
  primaryLanguage: string;
  languageMode: "single_language" | "code_switch";
  voiceMap: Record<string, string>;
  defaultVoiceId: string | null;
  voiceSettings: Record<string, number | boolean | undefined>;
  llmModel: string | null;
  llmTemperature: number;
  ttsModel: string | null;
  sttModel: string | null;
  endpointing: { minSilenceMs?: number; maxSilenceMs?: number; semantic?: boolean };
  greeting: string;
  handoffConfig: {
    warm?: boolean;
    transferDestination?: string | null;
    escalationThreshold?: number;
    contextSummaryUrl?: string | null;
    transferRules?: { label: string; when: string; destination: string }[];
    holdMessage?: string | null;
  };
  callControl: {
    maxCallSeconds?: number;
    maxDurationMessage?: string;
    idleReminderDelaySeconds?: number;
    idleReminderIntervalSeconds?: number;
    maxIdleReminders?: number;
    endCallPhrasesEnabled?: boolean;
    onNoResponseAction?: "end" | "transfer" | "continue";
  };
  businessHours: {
    timezone?: string;
    weekly?: Partial<Record<string, TimeRange[]>>;
    holidays?: { date: string; name?: string; endDate?: string | null; closed?: boolean; ranges?: TimeRange[] }[];
    afterHours?: {
      mode?: "full" | "take_message" | "closed_message";
      message?: string;
      allowHumanTransfer?: boolean;
      number?: string | null;
      emergencyNumber?: string | null;
    };
  };
  channelOverrides: Record<string, { enabled?: boolean; greeting?: string; persona?: string; tone?: string }>;
  enabledChannels: string[];
  avgTicketCents: number | null;
}

export const SKILL_TYPES = [
  "db_query",
  "http_webhook",
  "transfer",
  "sms",
  "email",
  "calendar",
  "google_sheets",
  "crm",
  "mcp",
  "playbook",
  "knowledge_query",
  "builtin",
  "geo",
  "native_graphql",
  "native_rest",
  "native_sql",
] as const;
export type SkillType = (typeof SKILL_TYPES)[number];

export interface CompiledSkill {
  id: string;
  name: string;
  description: string;
  skillType: SkillType;
  parametersSchema: { type?: string; properties?: Record<string, { type?: string; description?: string; enum?: unknown[]; format?: string }>; required?: string[] };
  requiredParams: string[];
  /** Operator settings; secret header values stay sealed here and are opened only by the executor. */
  executionConfig: Record<string, unknown>;
  dataEgressMap: Record<string, unknown>;
  allowedFields: string[];
  isWrite: boolean;
  requiresVerifiedIdentity: boolean;
  requiresConfirmation: boolean;
  nonParallelizable: boolean;
  stakes: "low" | "medium" | "high";
  channels: string[];
  errorHandling: { message?: string; onError?: "apologize" | "transfer" | "continue" };
  expectedLatencyMs: number | null;
}

export interface PlaybookNode {
  id: string;
  type: string;
  position?: { x: number; y: number };
  data: Record<string, unknown>;
}

export interface PlaybookConnection {
  id: string;
  source: string;
  target: string;
  sourceHandle?: string | null;
  targetHandle?: string | null;
}

export interface CompiledPlaybook {
  id: string;
  flowId: string;
  name: string;
  description: string;
  inputSchema: Record<string, unknown>;
  outputSchema: Record<string, unknown>;
  graph: { nodes: PlaybookNode[]; connections: PlaybookConnection[] };
}

export const POLICY_TYPES = ["verify_before_disclose", "allowed_fields", "write_gate", "rate_limit", "business_hours", "content_policy"] as const;
export type PolicyType = (typeof POLICY_TYPES)[number];

export interface CompiledGuardrail {
  id: string;
  policyType: PolicyType;
  appliesToSkillType: string | null;
  config: Record<string, unknown>;
}

export const VERIFICATION_METHODS = ["dob_postcode", "otp_sms", "account_pin", "knowledge_based"] as const;
export type VerificationMethod = (typeof VERIFICATION_METHODS)[number];

export interface CompiledVerification {
  id: string;
  method: VerificationMethod;
  verifierSkillId: string;
  requiredFields: string[];
  tokenTtlSeconds: number;
  maxAttempts: number;
  stepUpFor: string[];
}

export interface CompiledConfig {
  agent: AgentSettings;
  skills: CompiledSkill[];
  playbooks: CompiledPlaybook[];
  guardrails: CompiledGuardrail[];
  callerVerification: CompiledVerification[];
}

/** Variables the runtime always provides; they cannot be declared. */
export const RESERVED_VARIABLES = ["caller_info", "caller_number", "caller_name", "verified"] as const;
