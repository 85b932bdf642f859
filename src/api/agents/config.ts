// An agent's draft configuration: defaults for a new agent, the checks the schema cannot express
// (time zones, phone numbers, language support, consistent ranges, installed voices), and normalization (E.164,
// languages).
import { normalizePhoneNumber, notAPhoneNumber, phoneRegionOf, type PhoneRegion } from "../../platform/e164.ts";
import { Problem, validationProblem, type FieldError } from "../../platform/http/problem.ts";
import { isSupportedLanguage } from "../meta/languages.ts";
import { WEEKDAYS, type AgentConfig, type AgentCreateInput, type AgentPatchInput } from "./model.ts";

export const CONFIG_FIELDS = [
  "persona", "goals", "neverDo", "tone", "lexicon", "languages", "primaryLanguage", "languageMode", "voiceMap", "defaultVoiceId",
  "voiceSettings", "llmModel", "llmTemperature", "ttsModel", "sttModel", "endpointing", "greeting", "handoffConfig", "callControl",
  "businessHours", "channelOverrides", "enabledChannels", "avgTicketCents",
] as const satisfies readonly (keyof AgentConfig)[];

export function defaultConfig(): AgentConfig {
  return {
    persona: "",
    goals: [],
    neverDo: [],
    tone: "friendly and concise",
    lexicon: { preferred: [], banned: [], pronunciations: {} },
    languages: ["en"],
    primaryLanguage: "en",
    languageMode: "single_language",
    voiceMap: {},
    defaultVoiceId: null,
    voiceSettings: {},
    llmModel: null,
    llmTemperature: 0.3,
    ttsModel: null,
    sttModel: null,
    endpointing: { minSilenceMs: 500, maxSilenceMs: 1500, semantic: false },
    greeting: "Hello! How can I help you today?",
    handoffConfig: { warm: false, transferRules: [] },
    callControl: {},
    businessHours: {},
    channelOverrides: {},
    enabledChannels: ["voice", "chat"],
    avgTicketCents: null,
  };
}

/** Apply the fields a create or PATCH body carries onto a configuration: each top-level field replaces the stored one. */
export function applyFields(base: AgentConfig, input: AgentCreateInput | AgentPatchInput): AgentConfig {
  const next: Record<string, unknown> = { ...base };
  for (const field of CONFIG_FIELDS) {
    const value = (input as Record<string, unknown>)[field];
    if (value !== undefined) next[field] = structuredClone(value);
  }
  const config = next as unknown as AgentConfig;
  // A new primary language joins the supported list rather than being refused.
  if (input.primaryLanguage !== undefined && input.languages === undefined && !config.languages.includes(config.primaryLanguage)) {
    config.languages = [config.primaryLanguage, ...config.languages];
  }
  if (input.languages !== undefined && input.primaryLanguage === undefined && !config.languages.includes(config.primaryLanguage)) {
    config.primaryLanguage = config.languages[0]!;
  }
  return config;
}

/** The installed voice catalog, as the agents module sees it. */
export interface InstalledVoices {
  has(id: string): boolean;
  /** Whether the installed voice `id` speaks `language` (BCP-47). */
  supports(id: string, language: string): boolean;
}

/** A voice a request gives the agent: the field it came in, and the language it must speak. */
export interface VoiceAssignment {
  field: string;
  voiceId: string;
  language: string;
}

/**
 * Refuse voices that are not installed (404 voice_not_found) or do not speak their language (422
 * voice_language_unsupported), naming each field. The one check behind create, PATCH and PUT /agents/{id}/voice.
 */
export function checkVoices(voices: InstalledVoices, assignments: VoiceAssignment[]): void {
  const missing = assignments.filter((a) => !voices.has(a.voiceId));
  if (missing.length) {
    const ids = [...new Set(missing.map((a) => a.voiceId))];
    throw new Problem(404, "voice_not_found", `${ids.length > 1 ? "voices" : "voice"} ${ids.join(", ")} ${ids.length > 1 ? "are" : "is"} not installed here; see GET /voices`, {
      errors: missing.map((a) => ({ field: a.field, message: "is not an installed voice" })),
    });
  }
  const mismatched = assignments.filter((a) => !voices.supports(a.voiceId, a.language));
  if (mismatched.length) {
    throw new Problem(422, "voice_language_unsupported", mismatched.map((a) => `voice ${a.voiceId} does not speak ${a.language}`).join("; "), {
      errors: mismatched.map((a) => ({ field: a.field, message: `does not speak ${a.language}` })),
    });
  }
}

/**
 * The voices `config` assigns that `stored` did not (every one on create): `voiceMap.<language>` must speak that
 * language, `defaultVoiceId` the primary language. A voice sent back unchanged is not checked again, so an agent
 * whose voice was uninstalled can still be edited (the call then speaks with espeak-ng, see docs/voice.md).
 */
function newVoiceAssignments(config: AgentConfig, stored: AgentConfig | undefined): VoiceAssignment[] {
  const out: VoiceAssignment[] = [];
  for (const [language, voiceId] of Object.entries(config.voiceMap)) {
    if (stored?.voiceMap[language] !== voiceId) out.push({ field: `voiceMap.${language}`, voiceId, language });
  }
  if (config.defaultVoiceId !== null && config.defaultVoiceId !== stored?.defaultVoiceId) {
    out.push({ field: "defaultVoiceId", voiceId: config.defaultVoiceId, language: config.primaryLanguage });
  }
  return out;
}

/**
 * Check and normalize a full configuration; throws a 400 naming every bad field, or 422 for unsupported languages.
 * With `voices`, the voices it newly assigns (compared with `stored`, the configuration before a PATCH) must be
 * installed and speak their language (`checkVoices`).
 */
export function validateConfig(config: AgentConfig, defaultPhoneRegion: PhoneRegion, voices?: InstalledVoices, stored?: AgentConfig): AgentConfig {
  const errors: FieldError[] = [];
  // A number without `+` is read in the agent's own region when its primary language names one (en-GB, de-AT).
  const region = phoneRegionOf(config.primaryLanguage, defaultPhoneRegion);
  const phone = (value: string | null | undefined, field: string) => {
    if (value === null || value === undefined) return value;
    const normalized = normalizePhoneNumber(value, region);
    if (!normalized) errors.push({ field, message: notAPhoneNumber(region) });
    return normalized ?? value;
  };

  config.languages = [...new Set(config.languages)];
  if (!config.languages.includes(config.primaryLanguage)) {
    errors.push({ field: "primaryLanguage", message: "must be one of languages" });
  }
  for (const lang of Object.keys(config.voiceMap)) {
    if (!config.languages.includes(lang)) errors.push({ field: `voiceMap.${lang}`, message: "is not one of the agent's languages" });
  }

  const e = config.endpointing;
  if (e.minSilenceMs !== undefined && e.maxSilenceMs !== undefined && e.minSilenceMs > e.maxSilenceMs) {
    errors.push({ field: "endpointing.minSilenceMs", message: "must not exceed endpointing.maxSilenceMs" });
  }

  const h = config.handoffConfig;
  h.transferDestination = phone(h.transferDestination, "handoffConfig.transferDestination");
  h.transferRules?.forEach((rule, i) => {
    rule.destination = phone(rule.destination, `handoffConfig.transferRules[${i}].destination`)!;
  });

  const bh = config.businessHours;
  const hasSchedule = Object.values(bh.weekly ?? {}).some((ranges) => ranges && ranges.length > 0) || (bh.holidays?.length ?? 0) > 0;
  if (hasSchedule && !bh.timezone) errors.push({ field: "businessHours.timezone", message: "is required once a schedule is set" });
  if (bh.timezone && !isTimeZone(bh.timezone)) errors.push({ field: "businessHours.timezone", message: "is not an IANA time zone, e.g. America/New_York" });
  for (const day of Object.keys(bh.weekly ?? {})) {
    if (!(WEEKDAYS as readonly string[]).includes(day)) errors.push({ field: `businessHours.weekly.${day}`, message: `is not a weekday (${WEEKDAYS.join(", ")})` });
  }
  bh.holidays?.forEach((holiday, i) => {
    if (!isDate(holiday.date)) errors.push({ field: `businessHours.holidays[${i}].date`, message: "is not a calendar date" });
    if (holiday.endDate && (!isDate(holiday.endDate) || holiday.endDate < holiday.date)) {
      errors.push({ field: `businessHours.holidays[${i}].endDate`, message: "must be a date on or after date" });
    }
  });
  if (bh.afterHours) {
    bh.afterHours.number = phone(bh.afterHours.number, "businessHours.afterHours.number");
    bh.afterHours.emergencyNumber = phone(bh.afterHours.emergencyNumber, "businessHours.afterHours.emergencyNumber");
    if (bh.afterHours.allowHumanTransfer && !bh.afterHours.number) {
      errors.push({ field: "businessHours.afterHours.number", message: "is required when allowHumanTransfer is true" });
    }
  }

  if (errors.length) throw validationProblem(errors);

  const unsupported = config.languages.filter((l) => !isSupportedLanguage(l));
  if (unsupported.length) {
    throw new Problem(422, "unsupported_language", `the speech engines of this installation do not support ${unsupported.join(", ")}; see GET /meta/languages`, {
      errors: unsupported.map((l) => ({ field: "languages", message: `${l} is not supported` })),
    });
  }
  if (voices) checkVoices(voices, newVoiceAssignments(config, stored));
  return config;
}

function isTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

function isDate(value: string): boolean {
  const d = new Date(`${value}T00:00:00Z`);
  return !Number.isNaN(d.getTime()) && d.toISOString().startsWith(value);
}
