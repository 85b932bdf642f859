// TypeBox shapes of the Skills tag: what clients send and what they get back, shared by routes and the OpenAPI document.
import { Type } from "@sinclair/typebox";
import { t, type Static } from "elysia";
import { SKILL_TYPES } from "../../runtime/compiled.ts";
import { oneOf } from "../../runtime/tools/index.ts";

export const PARAMETER_TYPES = ["string", "number", "integer", "boolean"] as const;
export const SKILL_CHANNELS = ["voice", "chat"] as const;
export const STAKES = ["low", "medium", "high"] as const;
export const SMS_MODES = ["two_way", "one_way"] as const;
export const ON_ERROR = ["apologize", "transfer", "continue"] as const;
export const MAX_ROSTER_ENTRIES = 100;

const Nullable = <T extends Parameters<typeof t.Union>[0][number]>(s: T) => t.Union([s, t.Null()]);

export const ParameterSpec = t.Object({
  type: oneOf(PARAMETER_TYPES),
  description: t.Optional(t.String({ maxLength: 1000, description: "What to ask the caller for; the model reads it" })),
  enum: t.Optional(t.Array(t.Union([t.String({ maxLength: 200 }), t.Number(), t.Boolean()]), { minItems: 1, maxItems: 100, description: "The only values allowed" })),
  format: t.Optional(t.String({ maxLength: 50, description: "e.g. email, date, phone" })),
});

export const ParametersSchema = t.Object(
  {
    type: t.Optional(t.Literal("object")),
    properties: t.Record(t.String(), ParameterSpec, { maxProperties: 50, description: "Parameter name (letters, digits and _) → its JSON Schema" }),
    required: t.Optional(t.Array(t.String({ maxLength: 64 }), { maxItems: 50, description: "Names of required properties" })),
  },
  {
    description:
      'JSON Schema object of the values the agent collects from the caller (never operator settings), e.g. {"type":"object","properties":{"serial_number":{"type":"string"}},"required":["serial_number"]}. A flat map such as {"serial_number":"string"} is refused.',
  },
);
export type ParametersSchemaInput = Static<typeof ParametersSchema>;

export const ErrorHandling = t.Object({
  message: t.Optional(t.String({ maxLength: 1000, description: "What the agent says when the action fails" })),
  onError: t.Optional(oneOf(ON_ERROR)),
});

const Name = t.String({ minLength: 1, maxLength: 100, pattern: "\\S", description: "Unique within the agent" });
const Description = t.String({ minLength: 1, maxLength: 2000, pattern: "\\S", description: "When to use the skill, written as the trigger condition; the model reads it" });
const SkillTypeField = oneOf(SKILL_TYPES, { description: "See GET /skill-types" });

/** Every field a skill holds besides name, description and skillType; all optional so one list serves create and PATCH. */
const editable = {
  parametersSchema: t.Optional(ParametersSchema),
  requiredParams: t.Optional(t.Array(t.String({ minLength: 1, maxLength: 64 }), { maxItems: 50, description: "Parameters the agent must collect before running; each must be a declared property. Default: parametersSchema.required" })),
  executionConfig: t.Optional(t.Record(t.String(), t.Unknown(), { description: "Operator settings; the shape depends on skillType (GET /skill-types lists each executionConfigSchema)" })),
  smsMode: t.Optional(Nullable(oneOf(SMS_MODES, { description: "sms skills: two_way lets the recipient answer" }))),
  dataEgressMap: t.Optional(t.Record(t.String(), t.Unknown(), { description: "Which fields leave the system and where; shown in the pre-publish report" })),
  allowedFields: t.Optional(t.Array(t.String({ minLength: 1, maxLength: 200 }), { maxItems: 200, description: "Fields of the result the agent may disclose" })),
  isWrite: t.Optional(t.Boolean({ description: "Changes data; subject to the write_gate policy" })),
  requiresVerifiedIdentity: t.Optional(t.Boolean({ description: "Blocked until caller verification passed" })),
  requiresConfirmation: t.Optional(t.Boolean({ description: "The agent asks the caller to confirm before running it" })),
  nonParallelizable: t.Optional(t.Boolean({ description: "Never runs at the same time as another action" })),
  stakes: t.Optional(oneOf(STAKES, { description: "How strict the confirmation gate is" })),
  channels: t.Optional(t.Array(oneOf(SKILL_CHANNELS), { minItems: 1, maxItems: SKILL_CHANNELS.length, uniqueItems: true, description: "Channels the skill is offered on; default both" })),
  errorHandling: t.Optional(ErrorHandling),
  isEnabled: t.Optional(t.Boolean()),
  expectedLatencyMs: t.Optional(Nullable(Type.Integer({ minimum: 0, maximum: 60_000, description: "Typical run time; above ~1 s the voice agent plays filler" }))),
};

export const SkillCreate = t.Object({ name: Name, description: Description, skillType: SkillTypeField, ...editable }, { $id: "SkillCreate" });
export const SkillPatch = t.Object(
  { name: t.Optional(Name), description: t.Optional(Description), skillType: t.Optional(SkillTypeField), ...editable },
  { $id: "SkillPatch", description: "Partial skill: each top-level field sent replaces the stored one; the merged skill is validated again" },
);
export type SkillCreateInput = Static<typeof SkillCreate>;
export type SkillPatchInput = Static<typeof SkillPatch>;

export const Skill = t.Object({
  id: t.String(),
  agentId: t.String(),
  organizationId: t.String(),
  name: t.String(),
  description: t.String(),
  skillType: SkillTypeField,
  parametersSchema: ParametersSchema,
  requiredParams: t.Array(t.String()),
  executionConfig: t.Record(t.String(), t.Unknown(), { description: "Header values of http_webhook skills read back masked (••••last4); send the mask back to keep a value" }),
  smsMode: Nullable(oneOf(SMS_MODES)),
  dataEgressMap: t.Record(t.String(), t.Unknown()),
  allowedFields: t.Array(t.String()),
  isWrite: t.Boolean(),
  requiresVerifiedIdentity: t.Boolean(),
  requiresConfirmation: t.Boolean(),
  nonParallelizable: t.Boolean(),
  stakes: oneOf(STAKES),
  channels: t.Array(t.String()),
  errorHandling: ErrorHandling,
  isEnabled: t.Boolean(),
  expectedLatencyMs: Nullable(Type.Integer()),
  createdAt: t.String({ format: "date-time" }),
  updatedAt: t.String({ format: "date-time" }),
}, { $id: "Skill" });
export type SkillDto = Static<typeof Skill>;

export const SkillTypeInfo = t.Object({
  type: SkillTypeField,
  label: t.String(),
  description: t.String(),
  category: t.String(),
  executionConfigSchema: t.Record(t.String(), t.Unknown(), { description: "JSON Schema of this type's executionConfig" }),
  parametersTemplate: t.Record(t.String(), t.Unknown(), { description: "A typical parametersSchema to start from" }),
  requires: Nullable(
    t.Object({
      integration: t.Optional(t.String({ description: "Integration kind to connect first" })),
      config: t.Optional(t.String({ description: "Server setting the operator must set, e.g. SMTP_URL" })),
    }),
  ),
  available: t.Boolean({ description: "Whether skills of this type can run on this installation now" }),
  reason: t.Optional(t.String({ description: "Why not, when unavailable" })),
}, { $id: "SkillType" });
export type SkillTypeInfoDto = Static<typeof SkillTypeInfo>;

export const RosterEntry = t.Object({
  label: t.String({ minLength: 1, maxLength: 200 }),
  address: t.String({ minLength: 1, maxLength: 500 }),
  phone: t.Optional(Nullable(t.String({ maxLength: 32 }))),
});
export const GeocodeRosterBody = t.Object({
  entries: t.Array(RosterEntry, { minItems: 1, maxItems: MAX_ROSTER_ENTRIES, description: `Roster rows, 1 to ${MAX_ROSTER_ENTRIES} per request; send larger rosters in chunks` }),
});
export type RosterEntryInput = Static<typeof RosterEntry>;

export const GeocodedEntry = t.Object({
  label: t.String(),
  address: t.String(),
  phone: Nullable(t.String()),
  lat: Nullable(t.Number()),
  lng: Nullable(t.Number()),
  geocoded: t.Boolean(),
  formatted: Nullable(t.String({ description: "The place the address was matched to" })),
  precision: Nullable(oneOf(["postal_code", "city", "address"], { description: "postal_code and city are centroids (offline data); address comes from a configured geocoder" })),
});
export const GeocodeRosterResult = t.Object({
  entries: t.Array(GeocodedEntry),
  geocoded: Type.Integer(),
  failed: Type.Integer(),
}, { $id: "GeocodeRosterResult" });
export type GeocodeRosterResultDto = Static<typeof GeocodeRosterResult>;
