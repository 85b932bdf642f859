// The pre-publish report: a deterministic, plain-language account of what the draft will do once published,
// built only from its configuration (no model involved), so the same draft always reads the same.
import type { CompiledConfig, CompiledGuardrail, CompiledSkill } from "../../runtime/compiled.ts";
import { validateGraph } from "../../runtime/playbooks/graph.ts";
import { languageMatrix, primarySubtag } from "../meta/languages.ts";
import { WEEKDAYS, type AgentConfig, type PrepublishReportDto } from "./model.ts";

const LANGUAGE_NAMES = new Map(languageMatrix().languages.map((l) => [l.code, l.name]));
const languageName = (tag: string) => LANGUAGE_NAMES.get(primarySubtag(tag)) ?? tag;
const list = (items: string[]) => (items.length <= 1 ? items.join("") : `${items.slice(0, -1).join(", ")} and ${items[items.length - 1]}`);
const DAY_SHORT: Record<string, string> = { monday: "Mon", tuesday: "Tue", wednesday: "Wed", thursday: "Thu", friday: "Fri", saturday: "Sat", sunday: "Sun" };

export interface ReportInput {
  isActive: boolean;
  compiled: CompiledConfig;
  everPublished: boolean;
  hasUnpublishedChanges: boolean;
}

const INTEGRATION_TYPES = new Set(["db_query", "native_sql", "native_rest", "native_graphql", "calendar", "google_sheets", "crm", "sms", "mcp"]);

export function buildPrepublishReport(input: ReportInput): PrepublishReportDto {
  const { compiled } = input;
  const { name, ...rest } = compiled.agent;
  const c = rest as AgentConfig;
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

  for (const skill of compiled.skills) willSay.push(`Can ${lowerFirst(skill.description.replace(/\.$/, ""))} (skill "${skill.name}"${skillGates(skill)})`);
  for (const playbook of compiled.playbooks) willSay.push(`Follows the "${playbook.name}" procedure: ${lowerFirst(playbook.description.replace(/\.$/, ""))}`);

  for (const rule of c.neverDo) wontSay.push(`Will not ${rule.replace(/^never\s+/i, "")}`);
  for (const policy of compiled.guardrails) wontSay.push(...declines(policy));
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
  if (compiled.skills.some((s) => s.requiresVerifiedIdentity) && !compiled.callerVerification.length) {
    warnings.push("A skill requires a verified caller but caller verification is not configured: that skill can never run");
  }
  for (const skill of compiled.skills) {
    if (INTEGRATION_TYPES.has(skill.skillType)) warnings.push(`Skill "${skill.name}" needs the ${skill.skillType} integration, which is not connected: it will answer integration_not_connected`);
  }
  const skillIds = new Set(compiled.skills.map((s) => s.id));
  for (const playbook of compiled.playbooks) {
    if (!playbook.graph.nodes.length) {
      warnings.push(`Playbook "${playbook.name}" has no steps yet`);
      continue;
    }
    // A graph valid when saved can break later (a skill deleted or disabled, an input removed).
    const problems = validateGraph(playbook.graph, { skillIds, inputVariables: Object.keys((playbook.inputSchema.properties as Record<string, unknown> | undefined) ?? {}) });
    for (const p of problems.slice(0, 3)) warnings.push(`Playbook "${playbook.name}": ${p.field} ${p.message}`);
  }
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
    dataEgress: compiled.skills.map((skill) => ({ skillId: skill.id, skillName: skill.name, fields: egressFields(skill), destination: destinationOf(skill) })).filter((e) => e.destination !== null) as PrepublishReportDto["dataEgress"],
    guardrails: [
      ...compiled.guardrails.map((g) => ({ policyType: g.policyType, summary: describePolicy(g) })),
      ...compiled.callerVerification.map((v) => ({
        policyType: "caller_verification",
        summary: `Verifies callers by ${v.method.replace(/_/g, " ")} (asks for ${list(v.requiredFields.map((f) => f.replace(/_/g, " ")))}), at most ${v.maxAttempts} attempts, valid ${Math.round(v.tokenTtlSeconds / 60)} minutes${v.stepUpFor.length ? `; verifies again before ${list(v.stepUpFor)}` : ""}`,
      })),
    ],
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

const lowerFirst = (s: string) => s.charAt(0).toLowerCase() + s.slice(1);

function skillGates(skill: CompiledSkill): string {
  const gates = [skill.requiresVerifiedIdentity ? "verified callers only" : null, skill.requiresConfirmation || skill.isWrite ? "asks for confirmation" : null].filter(Boolean);
  return gates.length ? `; ${gates.join(", ")}` : "";
}

function egressFields(skill: CompiledSkill): string[] {
  return [...new Set([...Object.keys(skill.parametersSchema.properties ?? {}), ...Object.keys(skill.dataEgressMap)])];
}

/** Where a skill sends data, in words; null for skills that send nothing out. */
function destinationOf(skill: CompiledSkill): string | null {
  const cfg = skill.executionConfig;
  switch (skill.skillType) {
    case "http_webhook": {
      const url = String(cfg.url ?? "");
      const host = /^[a-z]+:\/\/([^/{]+)/i.exec(url)?.[1] ?? url;
      return `${String(cfg.method ?? "POST").toUpperCase()} to ${host}`;
    }
    case "email":
      return `email to ${cfg.to ?? "a configured address"}`;
    case "transfer":
      return cfg.destination ? `phone transfer to ${cfg.destination}` : "phone transfer by the handoff rules";
    case "geo":
      return "the geocoder (addresses)";
    case "builtin":
    case "playbook":
    case "knowledge_query":
      return null;
    default:
      return `the ${skill.skillType} integration`;
  }
}

function describePolicy(g: CompiledGuardrail): string {
  const cfg = g.config as Record<string, unknown>;
  switch (g.policyType) {
    case "verify_before_disclose": {
      const fields = (cfg.fields as { field: string; audience: string }[] | undefined) ?? [];
      const verified = fields.filter((f) => f.audience === "verified").map((f) => f.field);
      const anyone = fields.filter((f) => f.audience !== "verified").map((f) => f.field);
      return [verified.length ? `Discloses ${list(verified)} only to verified callers` : "", anyone.length ? `${list(anyone)} to anyone` : ""].filter(Boolean).join("; ");
    }
    case "allowed_fields":
      return `${g.appliesToSkillType ? `${g.appliesToSkillType} skills` : "Skills"} may surface only ${list(((cfg.fields as string[] | undefined) ?? []).map(String))}`;
    case "write_gate":
      return [
        cfg.confirmBeforeWrite !== false ? "Confirms before any write" : "Writes without a confirmation step",
        cfg.requireVerified ? "writes need a verified caller" : "",
        ((cfg.alwaysEscalate as string[] | undefined) ?? []).length ? `always hands ${list(cfg.alwaysEscalate as string[])} to a person` : "",
      ].filter(Boolean).join("; ");
    case "rate_limit":
      return [cfg.toolCallsPerMinute ? `At most ${cfg.toolCallsPerMinute} actions a minute` : "", cfg.toolCallsPerCall ? `${cfg.toolCallsPerCall} per conversation` : ""].filter(Boolean).join("; ");
    case "business_hours":
      return `Applies business hours in ${cfg.timezone ?? "the agent's time zone"}`;
    case "content_policy":
      return [
        ((cfg.bannedTopics as string[] | undefined) ?? []).length ? `Refuses to discuss ${list(cfg.bannedTopics as string[])}` : "",
        cfg.redactPii ? "redacts personal data in stored transcripts" : "",
        cfg.escalationThreshold ? `offers a person after ${cfg.escalationThreshold} negative turns` : "",
      ].filter(Boolean).join("; ");
  }
}

function declines(g: CompiledGuardrail): string[] {
  const cfg = g.config as Record<string, unknown>;
  if (g.policyType === "content_policy") return ((cfg.bannedTopics as string[] | undefined) ?? []).map((t) => `Will not discuss ${t}`);
  if (g.policyType === "verify_before_disclose") {
    const verified = ((cfg.fields as { field: string; audience: string }[] | undefined) ?? []).filter((f) => f.audience === "verified").map((f) => f.field);
    return verified.length ? [`Will not tell unverified callers their ${list(verified)}`] : [];
  }
  if (g.policyType === "write_gate") return ((cfg.alwaysEscalate as string[] | undefined) ?? []).map((a) => `Will not ${a.replace(/_/g, " ")} itself: a person handles it`);
  return [];
}
