// TypeBox shapes of the Agents tag: what clients send and what they get back, shared by routes and the OpenAPI document.
import { Type } from "@sinclair/typebox";
import { t, type Static } from "elysia";

const Text = (maxLength: number, description?: string) => t.String({ maxLength, ...(description ? { description } : {}) });
const Language = t.String({ pattern: "^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$", description: "BCP-47 tag, e.g. en, es, pt-BR", maxLength: 35 });
const Phone = t.String({ minLength: 3, maxLength: 32, description: "Phone number; stored in E.164 (a 10-digit US number gets +1)" });
const Time = t.String({ pattern: "^([01]\\d|2[0-3]):[0-5]\\d$|^24:00$", description: "HH:MM, 24-hour" });
const DateOnly = t.String({ pattern: "^\\d{4}-\\d{2}-\\d{2}$", description: "YYYY-MM-DD" });
const Range = t.Object({ start: Time, end: Time }, { description: "Open from start to end; an end before the start runs past midnight" });
const Nullable = <T extends Parameters<typeof t.Union>[0][number]>(s: T) => t.Union([s, t.Null()]);

export const CHANNELS = ["voice", "chat", "sms", "whatsapp", "email"] as const;
export const WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"] as const;

export const Lexicon = t.Object({
  preferred: t.Optional(t.Array(Text(200), { maxItems: 500 })),
  banned: t.Optional(t.Array(Text(200), { maxItems: 500, description: "Words and phrases the agent never says" })),
  pronunciations: t.Optional(t.Record(t.String({ maxLength: 200 }), Text(200), { description: "word → how TTS should say it" })),
});

export const VoiceSettings = t.Object({
  stability: t.Optional(t.Number({ minimum: 0, maximum: 1 })),
  similarityBoost: t.Optional(t.Number({ minimum: 0, maximum: 1 })),
  style: t.Optional(t.Number({ minimum: 0, maximum: 1 })),
  useSpeakerBoost: t.Optional(t.Boolean()),
  speed: t.Optional(t.Number({ minimum: 0.5, maximum: 2 })),
});

export const Endpointing = t.Object({
  minSilenceMs: t.Optional(Type.Integer({ minimum: 100, maximum: 10_000, description: "Silence after speech before the turn may end" })),
  maxSilenceMs: t.Optional(Type.Integer({ minimum: 100, maximum: 30_000, description: "Silence after which the turn always ends" })),
  semantic: t.Optional(t.Boolean({ description: "Wait longer when the caller sounds unfinished" })),
});

export const TransferRule = t.Object({
  label: Text(200),
  when: Text(1000, "Plain-language condition, e.g. 'caller asks about an invoice'"),
  destination: Phone,
});

export const HandoffConfig = t.Object({
  warm: t.Optional(t.Boolean({ description: "Summarise the caller and reason to the human before connecting" })),
  transferDestination: t.Optional(Nullable(Phone)),
  escalationThreshold: t.Optional(t.Number({ minimum: 0 })),
  contextSummaryUrl: t.Optional(Nullable(t.String({ format: "uri", maxLength: 2000 }))),
  transferRules: t.Optional(t.Array(TransferRule, { maxItems: 100 })),
  holdMessage: t.Optional(
    Nullable(Text(500, "What a phone call hears before a transfer is dialled, unless a playbook step says its own line (default: \"Let me connect you with someone who can help. Please hold.\" in the conversation's language)")),
  ),
});

export const CallControl = t.Object(
  {
    maxCallSeconds: t.Optional(Type.Integer({ minimum: 30, maximum: 14_400 })),
    maxDurationMessage: t.Optional(Text(1000)),
    idleReminderDelaySeconds: t.Optional(Type.Integer({ minimum: 1, maximum: 600 })),
    idleReminderIntervalSeconds: t.Optional(Type.Integer({ minimum: 1, maximum: 600 })),
    maxIdleReminders: t.Optional(Type.Integer({ minimum: 0, maximum: 20 })),
    endCallPhrasesEnabled: t.Optional(t.Boolean()),
    onNoResponseAction: t.Optional(t.Union([t.Literal("end"), t.Literal("transfer"), t.Literal("continue")])),
  },
  { description: "{} = platform defaults: 10-minute calls, idle reminders on, end on no response" },
);

export const Holiday = t.Object({
  date: DateOnly,
  name: t.Optional(Text(200)),
  endDate: t.Optional(Nullable(DateOnly)),
  closed: t.Optional(t.Boolean({ default: true })),
  ranges: t.Optional(t.Array(Range, { maxItems: 10, description: "Special opening hours on this day when not closed" })),
});

export const AfterHours = t.Object({
  mode: t.Optional(t.Union([t.Literal("full"), t.Literal("take_message"), t.Literal("closed_message")], { description: "full = keep working (default)" })),
  message: t.Optional(Text(2000)),
  allowHumanTransfer: t.Optional(t.Boolean({ description: "Off by default" })),
  number: t.Optional(Nullable(Phone)),
  emergencyNumber: t.Optional(Nullable(Phone)),
});

export const BusinessHours = t.Object(
  {
    timezone: t.Optional(t.String({ maxLength: 64, description: "IANA time zone, required once any schedule is set" })),
    weekly: t.Optional(t.Partial(t.Object(Object.fromEntries(WEEKDAYS.map((d) => [d, t.Array(Range, { maxItems: 10 })])) as Record<(typeof WEEKDAYS)[number], ReturnType<typeof t.Array<typeof Range>>>), { description: "Day → open ranges; a missing or empty day is closed" })),
    holidays: t.Optional(t.Array(Holiday, { maxItems: 366 })),
    afterHours: t.Optional(AfterHours),
  },
  { description: "{} = unconfigured: always open" },
);

export const ChannelOverride = t.Object(
  {
    enabled: t.Optional(t.Boolean()),
    greeting: t.Optional(Text(2000)),
    persona: t.Optional(Text(20_000)),
    tone: t.Optional(Text(500)),
  },
  { additionalProperties: false },
);

/** Every field an agent's draft holds; all optional so one schema serves create (with name) and PATCH. */
const editable = {
  persona: t.Optional(Text(20_000)),
  goals: t.Optional(t.Array(Text(1000), { maxItems: 100 })),
  neverDo: t.Optional(t.Array(Text(1000), { maxItems: 100 })),
  tone: t.Optional(Text(500)),
  lexicon: t.Optional(Lexicon),
  languages: t.Optional(t.Array(Language, { minItems: 1, maxItems: 40 })),
  primaryLanguage: t.Optional(Language),
  languageMode: t.Optional(t.Union([t.Literal("single_language"), t.Literal("code_switch")])),
  voiceMap: t.Optional(t.Record(t.String({ maxLength: 35 }), t.String({ minLength: 1, maxLength: 200 }), { description: "language → voiceId" })),
  defaultVoiceId: t.Optional(Nullable(t.String({ minLength: 1, maxLength: 200 }))),
  voiceSettings: t.Optional(VoiceSettings),
  llmModel: t.Optional(Nullable(t.String({ maxLength: 200 }))),
  llmTemperature: t.Optional(t.Number({ minimum: 0, maximum: 2 })),
  ttsModel: t.Optional(Nullable(t.String({ maxLength: 200 }))),
  sttModel: t.Optional(Nullable(t.String({ maxLength: 200 }))),
  endpointing: t.Optional(Endpointing),
  greeting: t.Optional(Text(2000)),
  handoffConfig: t.Optional(HandoffConfig),
  callControl: t.Optional(CallControl),
  businessHours: t.Optional(BusinessHours),
  channelOverrides: t.Optional(t.Partial(t.Object({ voice: ChannelOverride, chat: ChannelOverride, sms: ChannelOverride, whatsapp: ChannelOverride, email: ChannelOverride }))),
  enabledChannels: t.Optional(t.Array(t.Union(CHANNELS.map((c) => t.Literal(c))), { maxItems: CHANNELS.length, uniqueItems: true })),
  avgTicketCents: t.Optional(Type.Integer({ minimum: 0, maximum: 100_000_000 })),
  isActive: t.Optional(t.Boolean({ description: "false pauses the agent on every live channel" })),
};

const Name = t.String({ minLength: 1, maxLength: 200, pattern: "\\S", description: "Display name" });

export const AgentCreate = t.Object({ name: Name, ...editable }, { $id: "AgentCreate" });
export const AgentPatch = t.Object({ name: t.Optional(Name), ...editable }, { $id: "AgentPatch", description: "Partial agent: each top-level field sent replaces the stored one" });

export type AgentCreateInput = Static<typeof AgentCreate>;
export type AgentPatchInput = Static<typeof AgentPatch>;

/** The stored draft configuration (everything editable except name and isActive), with defaults filled in. */
export interface AgentConfig {
  persona: string;
  goals: string[];
  neverDo: string[];
  tone: string;
  lexicon: Static<typeof Lexicon>;
  languages: string[];
  primaryLanguage: string;
  languageMode: "single_language" | "code_switch";
  voiceMap: Record<string, string>;
  defaultVoiceId: string | null;
  voiceSettings: Static<typeof VoiceSettings>;
  llmModel: string | null;
  llmTemperature: number;
  ttsModel: string | null;
  sttModel: string | null;
  endpointing: Static<typeof Endpointing>;
  greeting: string;
  handoffConfig: Static<typeof HandoffConfig>;
  callControl: Static<typeof CallControl>;
  businessHours: Static<typeof BusinessHours>;
  channelOverrides: Record<string, Static<typeof ChannelOverride>>;
  enabledChannels: (typeof CHANNELS)[number][];
  avgTicketCents: number | null;
}

export const Agent = t.Object({
  id: t.String(),
  organizationId: t.String(),
  name: t.String(),
  version: Type.Integer({ description: "Concurrency counter, +1 on every mutation; send it back as If-Match" }),
  status: t.Union([t.Literal("draft"), t.Literal("published")], { description: "published once any version is live" }),
  publishedVersionId: Nullable(t.String()),
  isActive: t.Boolean(),
  persona: t.String(),
  goals: t.Array(t.String()),
  neverDo: t.Array(t.String()),
  tone: t.String(),
  lexicon: Lexicon,
  languages: t.Array(t.String()),
  primaryLanguage: t.String(),
  languageMode: t.Union([t.Literal("single_language"), t.Literal("code_switch")]),
  voiceMap: t.Record(t.String(), t.String()),
  defaultVoiceId: Nullable(t.String()),
  voiceSettings: VoiceSettings,
  llmModel: Nullable(t.String()),
  llmTemperature: t.Number(),
  ttsModel: Nullable(t.String()),
  sttModel: Nullable(t.String()),
  endpointing: Endpointing,
  greeting: t.String(),
  handoffConfig: HandoffConfig,
  callControl: CallControl,
  businessHours: BusinessHours,
  channelOverrides: t.Record(t.String(), ChannelOverride),
  enabledChannels: t.Array(t.String()),
  avgTicketCents: Nullable(Type.Integer()),
  createdBy: Nullable(t.String()),
  createdAt: t.String({ format: "date-time" }),
  updatedAt: t.String({ format: "date-time" }),
}, { $id: "Agent" });
export type AgentDto = Static<typeof Agent>;

export const AgentVersion = t.Object({
  id: t.String(),
  agentId: t.String(),
  version: Type.Integer({ description: "1, 2, 3… in publish order" }),
  compiledConfig: t.Record(t.String(), t.Unknown(), { description: "The frozen configuration this version serves" }),
  note: Nullable(t.String()),
  publishedAt: t.String({ format: "date-time" }),
  publishedBy: Nullable(t.String()),
}, { $id: "AgentVersion" });
export type AgentVersionDto = Static<typeof AgentVersion>;

export const PublishBody = t.Object({ note: t.Optional(t.String({ maxLength: 1000 })) });
export const RollbackBody = t.Object({ versionId: t.String({ minLength: 1, maxLength: 64 }) });
export const SetVoiceBody = t.Object({
  voiceId: t.String({ minLength: 1, maxLength: 200 }),
  language: t.Optional(Language),
});

export const DiffChange = t.Object({
  field: t.String({ description: "Dotted path, e.g. handoffConfig.warm" }),
  kind: t.Union([t.Literal("added"), t.Literal("removed"), t.Literal("changed")]),
  before: t.Optional(t.Unknown({ description: "Value in the version (absent when added)" })),
  after: t.Optional(t.Unknown({ description: "Value in the draft (absent when removed)" })),
});
export const Diff = t.Object({ versionId: t.String(), version: Type.Integer(), changes: t.Array(DiffChange) }, { $id: "AgentVersionDiff" });

export const PrepublishReport = t.Object({
  summary: t.String({ description: "One paragraph in plain language" }),
  willSay: t.Array(t.String()),
  wontSay: t.Array(t.String()),
  dataEgress: t.Array(t.Object({ skillId: t.String(), skillName: t.String(), fields: t.Array(t.String()), destination: t.String() })),
  guardrails: t.Array(t.Object({ policyType: t.String(), summary: t.String() })),
  knowledgeCoverage: t.Object({ sources: Type.Integer(), indexed: Type.Integer(), pending: Type.Integer(), coverageScore: Nullable(t.Number()) }),
  warnings: t.Array(t.String()),
  hasUnpublishedChanges: t.Boolean(),
}, { $id: "PrepublishReport" });
export type PrepublishReportDto = Static<typeof PrepublishReport>;

export const ListQuery = t.Object({
  status: t.Optional(t.Union([t.Literal("draft"), t.Literal("published")])),
  q: t.Optional(t.String({ maxLength: 200, description: "Case-insensitive match on the name" })),
});
