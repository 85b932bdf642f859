// The pre-publish report: a deterministic, plain-language account of what the draft will do once published,
// built only from its configuration (no model involved), so the same draft always reads the same.
import { languageMatrix, primarySubtag } from "../meta/languages.ts";
import { WEEKDAYS, type AgentConfig, type PrepublishReportDto } from "./model.ts";

const LANGUAGE_NAMES = new Map(languageMatrix().languages.map((l) => [l.code, l.name]));
const languageName = (tag: string) => LANGUAGE_NAMES.get(primarySubtag(tag)) ?? tag;
const list = (items: string[]) => (items.length <= 1 ? items.join("") : `${items.slice(0, -1).join(", ")} and ${items[items.length - 1]}`);
const DAY_SHORT: Record<string, string> = { monday: "Mon", tuesday: "Tue", wednesday: "Wed", thursday: "Thu", friday: "Fri", saturday: "Sat", sunday: "Sun" };

export interface ReportInput {
  name: string;
  isActive: boolean;
  config: AgentConfig;
  everPublished: boolean;
  hasUnpublishedChanges: boolean;
}

export function buildPrepublishReport(input: ReportInput): PrepublishReportDto {
  const { config: c, name } = input;
  const willSay: string[] = [];
  const wontSay: string[] = [];
  const warnings: string[] = [];

  const channels = c.enabledChannels.length ? list(c.enabledChannels) : "no channel";
  willSay.push(`Opens every conversation with: "${c.greeting}"`);
  for (const [channel, override] of Object.entries(c.channelOverrides)) {
    if (override.greeting) willSay.push(`On ${channel}, opens with: "${override.greeting}" instead`);
  }
  const languages = c.languages.map(languageName);
  willSay.push(
    c.languages.length > 1 && c.languageMode === "code_switch"
      ? `Speaks ${list(languages)}, starting in ${languageName(c.primaryLanguage)} and switching when the caller does`
      : `Speaks ${languageName(c.primaryLanguage)}`,
  );
  if (c.tone) willSay.push(`Keeps a ${c.tone} tone`);
  for (const goal of c.goals) willSay.push(`Works toward: ${goal}`);
  if (c.lexicon.preferred?.length) willSay.push(`Prefers the words: ${list(c.lexicon.preferred)}`);

  willSay.push(describeHours(c));
  const h = c.handoffConfig;
  for (const rule of h.transferRules ?? []) willSay.push(`Transfers to ${rule.label} (${rule.destination}) when ${rule.when}`);
  if (h.transferDestination) {
    willSay.push(`Transfers to ${h.transferDestination} when a person is needed and no rule matches${h.warm ? ", after summarising the caller and reason to them" : ""}`);
  }
  const maxMinutes = Math.round((c.callControl.maxCallSeconds ?? 600) / 60);
  if (c.enabledChannels.includes("voice")) willSay.push(`Ends phone calls after ${maxMinutes} minute${maxMinutes === 1 ? "" : "s"}${c.callControl.maxDurationMessage ? ` saying "${c.callControl.maxDurationMessage}"` : ""}`);

  for (const rule of c.neverDo) wontSay.push(`Will not ${rule.replace(/^never\s+/i, "")}`);
  if (c.lexicon.banned?.length) wontSay.push(`Never says: ${list(c.lexicon.banned)}`);
  const afterHours = c.businessHours.afterHours;
  if (hasSchedule(c) && !afterHours?.allowHumanTransfer) wontSay.push("Will not transfer to a person outside business hours");
  wontSay.push("Will not answer from knowledge it has not been given: it says it does not know instead");

  if (!c.persona.trim()) warnings.push("No persona: the agent will introduce itself only by name");
  if (!c.goals.length) warnings.push("No goals: the agent has nothing to steer conversations toward");
  if (!h.transferDestination && !(h.transferRules ?? []).length) warnings.push("No handoff destination: callers who ask for a person cannot be transferred");
  if (!c.enabledChannels.length) warnings.push("No channel is enabled: nobody can reach this agent");
  if (!input.isActive) warnings.push("The agent is paused (isActive is false): live channels will not answer");
  if (c.enabledChannels.includes("voice") && !c.defaultVoiceId && !Object.keys(c.voiceMap).length) warnings.push("No voice chosen: calls use the installation's default voice");
  if (!input.everPublished) warnings.push("Never published: phone and chat answer 409 no_published_version until you publish");
  else if (!input.hasUnpublishedChanges) warnings.push("The draft matches the live version: publishing would change nothing");

  const summary =
    `${name} answers on ${channels} in ${list(languages)}. ` +
    (c.goals.length ? `It works toward ${list(c.goals.map((g) => g.replace(/\.$/, "")))}. ` : "") +
    (c.neverDo.length ? `It refuses to ${list(c.neverDo.map((r) => r.replace(/^never\s+/i, "").replace(/\.$/, "")))}. ` : "") +
    (h.transferDestination || (h.transferRules ?? []).length ? "It can hand callers to a person. " : "It cannot hand callers to a person. ") +
    describeHours(c) + ".";

  return {
    summary,
    willSay,
    wontSay,
    dataEgress: [],
    guardrails: [],
    knowledgeCoverage: { sources: 0, indexed: 0, pending: 0, coverageScore: null },
    warnings,
    hasUnpublishedChanges: input.hasUnpublishedChanges,
  };
}

function hasSchedule(c: AgentConfig) {
  return Object.values(c.businessHours.weekly ?? {}).some((r) => r && r.length > 0);
}

function describeHours(c: AgentConfig): string {
  const bh = c.businessHours;
  if (!hasSchedule(c)) return "Is always open (no business hours set)";
  const days = WEEKDAYS.map((d) => {
    const ranges = bh.weekly?.[d] ?? [];
    return `${DAY_SHORT[d]} ${ranges.length ? ranges.map((r) => `${r.start}–${r.end}`).join(", ") : "closed"}`;
  });
  const mode = bh.afterHours?.mode ?? "full";
  const after =
    mode === "take_message" ? "takes a message after hours" : mode === "closed_message" ? "tells callers it is closed after hours" : "keeps helping after hours";
  return `Is open ${days.join("; ")} (${bh.timezone}) and ${after}`;
}
