// The pre-publish report: a deterministic, plain-language account of what the draft will do once published,
// built only from its configuration (no model involved), so the same draft always reads the same. Every gate it
// names is the one the runtime's guardrail engine (src/runtime/guardrails.ts) applies: the policies are merged and
// the rules decided by the runtime's own functions (src/runtime/policies.ts), so the report never promises a check
// the runtime does not make.
import { verificationMethodAvailable } from "../../runtime/guardrails.ts";
import { allowListFields, allowListsFor, closedAfterHours, type MergedPolicies, mergePolicies, needsConfirmation, needsVerifiedCaller, stepsUp } from "../../runtime/policies.ts";
import { integrationOf, isIntegrationSkillType } from "../../runtime/tools/integration.ts";
import type { CompiledConfig, CompiledGuardrail, CompiledPlaybook, CompiledSkill, CompiledVerification } from "../../runtime/compiled.ts";
import { validateGraph } from "../../runtime/playbooks/graph.ts";
import { languageMatrix, primarySubtag } from "../meta/languages.ts";
import { WEEKDAYS, type AgentConfig, type PrepublishReportDto } from "./model.ts";

const LANGUAGE_NAMES = new Map(languageMatrix().languages.map((l) => [l.code, l.name]));
const languageName = (tag: string) => LANGUAGE_NAMES.get(primarySubtag(tag)) ?? tag;
const list = (items: string[]) => (items.length <= 1 ? items.join("") : `${items.slice(0, -1).join(", ")} and ${items[items.length - 1]}`);
const quoted = (items: string[]) => list(items.map((i) => `"${i}"`));
const DAY_SHORT: Record<string, string> = { monday: "Mon", tuesday: "Tue", wednesday: "Wed", thursday: "Thu", friday: "Fri", saturday: "Sat", sunday: "Sun" };
const PLACEHOLDER = /\{([A-Za-z_]\w*)(?:\.\w+)*\}/g;

export interface ReportInput {
  isActive: boolean;
  compiled: CompiledConfig;
  everPublished: boolean;
  hasUnpublishedChanges: boolean;
  knowledge: PrepublishReportDto["knowledgeCoverage"] & { failed: number };
  /** The integration kinds the organization has connected now. */
  connectedIntegrations: ReadonlySet<string>;
}

/** The rules the guardrail engine applies (merged by the runtime's own function), and what the report adds to them. */
interface Rules extends MergedPolicies {
  verifications: CompiledVerification[];
}

const rulesOf = (compiled: CompiledConfig): Rules => ({ ...mergePolicies(compiled), verifications: compiled.callerVerification });

export function buildPrepublishReport(input: ReportInput): PrepublishReportDto {
  const { compiled, knowledge } = input;
  const { name, ...rest } = compiled.agent;
  const c = rest as AgentConfig;
  const rules = rulesOf(compiled);
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

  // Business hours and what happens outside them.
  willSay.push(describeHours(rules));
  const after = rules.afterHours;
  const afterMode = after.mode ?? "full";
  if (rules.scheduled) {
    if (afterMode !== "full") {
      willSay.push(after.message ? `Outside business hours, adds to its greeting: "${after.message}"` : "Outside business hours, tells callers it is closed and when it opens again");
    }
    if (after.emergencyNumber) willSay.push(`Outside business hours, transfers emergencies to ${after.emergencyNumber}`);
    if (after.allowHumanTransfer && after.number) willSay.push(`Outside business hours, transfers callers who need a person to ${after.number}`);
    else wontSay.push(`Will not transfer to a person outside business hours${after.emergencyNumber ? ", except emergencies" : ""}`);
    if (afterMode !== "full") wontSay.push(`Will not run skills that change data${after.allowHumanTransfer ? "" : " or transfer the call"} outside business hours (after-hours mode ${afterMode})`);
  }

  const h = c.handoffConfig;
  for (const rule of h.transferRules ?? []) willSay.push(`Transfers to ${rule.label} (${rule.destination}) when ${rule.when}`);
  if (h.transferDestination) {
    willSay.push(`Transfers to ${h.transferDestination} when a person is needed and no rule matches${h.warm ? ", after summarising the caller and reason to them" : ""}`);
  }
  if (rules.escalationThreshold) willSay.push(`Offers a person after ${rules.escalationThreshold} negative turns from the caller`);
  const maxMinutes = Math.round((c.callControl.maxCallSeconds ?? 600) / 60);
  if (c.enabledChannels.includes("voice")) willSay.push(`Ends phone calls after ${maxMinutes} minute${maxMinutes === 1 ? "" : "s"}${c.callControl.maxDurationMessage ? ` saying "${c.callControl.maxDurationMessage}"` : ""}`);

  // Skills, each with the gates it passes before it runs, and playbooks.
  const playbookNames = new Map(compiled.playbooks.map((p) => [p.id, p.name]));
  for (const skill of compiled.skills) {
    const gates = gatesOf(skill, rules, c, playbookNames);
    willSay.push(`Uses the skill "${skill.name}" (${skill.description.replace(/\.$/, "")})${gates.length ? `: ${gates.join(", ")}` : " with no further checks"}`);
  }
  const skillNames = new Map(compiled.skills.map((s) => [s.id, s.name]));
  for (const playbook of compiled.playbooks) willSay.push(describePlaybook(playbook, skillNames));

  // Disclosure: who hears what.
  if (rules.anyone.length) willSay.push(`Tells any caller their ${list(rules.anyone)}`);
  if (rules.verifiedOnly.length) willSay.push(`Tells only verified callers their ${list(rules.verifiedOnly)}`);
  for (const policy of rules.allowLists) {
    willSay.push(`Passes on from ${policy.appliesToSkillType ? `${policy.appliesToSkillType} skills` : "any skill"} only ${list(fieldsOf(policy))}`);
  }

  // Declines.
  for (const rule of c.neverDo) wontSay.push(`Will not ${rule.replace(/^never\s+/i, "")}`);
  for (const topic of rules.bannedTopics) wontSay.push(`Will not discuss ${topic}`);
  if (c.lexicon.banned?.length) wontSay.push(`Never says: ${list(c.lexicon.banned)}`);
  if (rules.verifiedOnly.length) wontSay.push(`Will not tell unverified callers their ${list(rules.verifiedOnly)}`);
  for (const policy of rules.allowLists) {
    wontSay.push(`Will not pass on any other field of ${policy.appliesToSkillType ? `a ${policy.appliesToSkillType} skill's` : "a skill's"} result`);
  }
  for (const skill of compiled.skills) {
    if (rules.writeGate?.alwaysEscalate.includes(skill.name)) wontSay.push(`Will not run "${skill.name}" itself: hands the caller to a person instead`);
  }
  if (rules.rate.perMinute) wontSay.push(`Will not run more than ${rules.rate.perMinute} action${rules.rate.perMinute === 1 ? "" : "s"} a minute`);
  if (rules.rate.perCall) wontSay.push(`Will not run more than ${rules.rate.perCall} action${rules.rate.perCall === 1 ? "" : "s"} in one conversation`);
  wontSay.push("Will not answer from knowledge it has not been given: it says it does not know instead");
  if (knowledge.indexed) willSay.push(`Answers questions from ${knowledge.indexed} indexed knowledge source${knowledge.indexed === 1 ? "" : "s"}`);

  if (!c.persona.trim()) warnings.push("No persona: the agent will introduce itself only by name");
  if (!c.goals.length) warnings.push("No goals: the agent has nothing to steer conversations toward");
  if (c.neverDo.length) {
    warnings.push("neverDo rules are instructions to a language-model brain only: no guardrail checks replies against them (content_policy bannedTopics and lexicon.banned are enforced)");
  }
  if (!h.transferDestination && !(h.transferRules ?? []).length) warnings.push("No handoff destination: callers who ask for a person cannot be transferred");
  if (!c.enabledChannels.length) warnings.push("No channel is enabled: nobody can reach this agent");
  if (!input.isActive) warnings.push("The agent is paused (isActive is false): live channels will not answer");
  if (c.enabledChannels.includes("voice") && !c.defaultVoiceId && !Object.keys(c.voiceMap).length) warnings.push("No voice chosen: calls use the installation's default voice");
  if (!knowledge.sources) warnings.push("No knowledge sources: the agent answers only through its skills and says it does not know otherwise");
  if (knowledge.pending) warnings.push(`${knowledge.pending} knowledge source${knowledge.pending === 1 ? " is" : "s are"} still being indexed: not answered from yet`);
  if (knowledge.failed) warnings.push(`${knowledge.failed} knowledge source${knowledge.failed === 1 ? "" : "s"} failed to index: not answered from`);
  warnings.push(...gateWarnings(compiled, rules, playbookNames));
  for (const skill of compiled.skills) {
    if (!isIntegrationSkillType(skill.skillType)) continue;
    const kind = integrationOf(skill);
    if (!input.connectedIntegrations.has(kind)) warnings.push(`Skill "${skill.name}" needs the ${kind} integration, which is not connected: it will answer integration_not_connected`);
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
    describeHours(rules) + ".";

  return {
    summary,
    willSay,
    wontSay,
    dataEgress: compiled.skills
      .map((skill) => ({ skillId: skill.id, skillName: skill.name, fields: egressFields(skill), destination: destinationOf(skill, c) }))
      .filter((e): e is PrepublishReportDto["dataEgress"][number] => e.destination !== null),
    guardrails: [
      ...compiled.guardrails.map((g) => ({ policyType: g.policyType, summary: describePolicy(g) })),
      ...compiled.callerVerification.map((v) => ({ policyType: "caller_verification", summary: `Verifies callers by ${describeVerification(v)}` })),
    ],
    knowledgeCoverage: { sources: knowledge.sources, indexed: knowledge.indexed, pending: knowledge.pending, coverageScore: knowledge.coverageScore },
    warnings,
    hasUnpublishedChanges: input.hasUnpublishedChanges,
  };
}

function describeHours(rules: Rules): string {
  const bh = rules.hours;
  if (!rules.scheduled) return "Is always open (no business hours set)";
  const days = WEEKDAYS.map((d) => {
    const ranges = bh.weekly?.[d] ?? [];
    return `${DAY_SHORT[d]} ${ranges.length ? ranges.map((r) => `${r.start}–${r.end}`).join(", ") : "closed"}`;
  });
  const holidays = (bh.holidays ?? []).map((hd) => {
    const when = `${hd.name ? `${hd.name}, ` : ""}${hd.date}${hd.endDate && hd.endDate !== hd.date ? ` to ${hd.endDate}` : ""}`;
    return hd.closed === false ? `${when} ${(hd.ranges ?? []).map((r) => `${r.start}–${r.end}`).join(", ") || "closed"}` : `${when} closed`;
  });
  const mode = rules.afterHours.mode ?? "full";
  const after =
    mode === "take_message" ? "takes a message after hours" : mode === "closed_message" ? "tells callers it is closed after hours" : "keeps helping after hours";
  return `Is open ${days.join("; ")} (${bh.timezone})${holidays.length ? `; holidays: ${holidays.join("; ")}` : ""} and ${after}`;
}

const lowerFirst = (s: string) => s.charAt(0).toLowerCase() + s.slice(1);
const unique = (items: string[]) => [...new Set(items)];
const fieldsOf = allowListFields;

/** The fields of a skill's result the caller may hear: every allow list that applies must include a field. */
function allowedFieldsOf(skill: CompiledSkill, rules: Rules): string[] | null {
  const lists = allowListsFor(skill, rules);
  if (!lists.length) return null;
  return lists[0]!.filter((f) => lists.every((l) => l.includes(f)));
}

/** The checks a skill passes before it runs, in the order the guardrail engine makes them. */
function gatesOf(skill: CompiledSkill, rules: Rules, c: AgentConfig, playbookNames: Map<string, string>): string[] {
  const gates: string[] = [];
  if (skill.skillType === "playbook") {
    const target = playbookNames.get(String(skill.executionConfig.playbookId));
    if (target) gates.push(`starts the "${target}" playbook`);
  }
  if (skill.skillType === "transfer") gates.push(transferGate(skill, c));
  if (isIntegrationSkillType(skill.skillType)) gates.push(integrationAccess(skill));
  if (skill.channels.length && c.enabledChannels.some((ch) => !skill.channels.includes(ch))) gates.push(`on ${list(skill.channels)} only`);
  const window = rules.skillWindows[skill.name] ?? "always";
  if (rules.scheduled && window === "business_hours_only") gates.push("during business hours only");
  if (rules.scheduled && window === "after_hours_only") gates.push("outside business hours only");
  if (rules.scheduled && window !== "business_hours_only" && closedAfterHours(skill, rules)) gates.push("not outside business hours");
  if (rules.writeGate?.alwaysEscalate.includes(skill.name)) {
    gates.push("never runs itself: the caller is handed to a person");
    return gates;
  }
  if (skill.requiresVerifiedIdentity || (skill.isWrite && rules.writeGate?.requireVerified === true)) gates.push("verified callers only");
  if (stepsUp(skill, rules.verifications)) gates.push("verifies the caller again first");
  if (needsConfirmation(skill, rules)) gates.push("asks the caller to confirm first");
  else if (skill.isWrite) gates.push("changes data without asking the caller to confirm");
  const allowed = allowedFieldsOf(skill, rules);
  if (allowed) gates.push(allowed.length ? `passes on only ${list(allowed)} from its result` : "passes on nothing from its result");
  return gates;
}

/** What an integration skill reaches: the operation its binding compiled to and the fields it returns, or the operator's query. */
function integrationAccess(skill: CompiledSkill): string {
  const cfg = skill.executionConfig;
  const kind = integrationOf(skill);
  const verb = skill.isWrite ? "writes to" : "reads from";
  if (typeof cfg.sql_template === "string") return `${verb} ${kind} with the operator's own query`;
  const operation = typeof cfg.operation === "string" ? ` (${cfg.operation})` : "";
  const fields = skill.allowedFields.length ? `, returning ${list(skill.allowedFields)}` : "";
  return `${verb} ${kind}${operation}${fields}`;
}

function transferGate(skill: CompiledSkill, c: AgentConfig): string {
  const cfg = skill.executionConfig;
  const warm = typeof cfg.warm === "boolean" ? cfg.warm : (c.handoffConfig.warm ?? false);
  const inherited = typeof cfg.warm === "boolean" ? "" : " as the handoff settings say";
  return `${cfg.destination ? `to ${cfg.destination}` : "by the handoff rules"}, ${warm ? "warm: summarises the caller and reason to the person first" : "cold: connects at once"}${inherited}`;
}

function describePlaybook(playbook: CompiledPlaybook, skillNames: Map<string, string>): string {
  const nodes = playbook.graph.nodes;
  const asks = unique(nodes.filter((n) => n.type === "collect").map((n) => String(n.data.variable).replace(/_/g, " ")));
  const calls = unique(nodes.filter((n) => n.type === "skill").map((n) => skillNames.get(String(n.data.skillId)) ?? String(n.data.skillId)));
  const steps = [
    asks.length ? `asks for ${list(asks)}` : "",
    nodes.some((n) => n.type === "confirm") ? "asks the caller to confirm" : "",
    calls.length ? `runs ${quoted(calls)}` : "",
    nodes.some((n) => n.type === "transfer") ? "may transfer to a person" : "",
  ].filter(Boolean);
  return `Follows the "${playbook.name}" procedure: ${lowerFirst(playbook.description.replace(/\.$/, ""))}${steps.length ? ` (${steps.join(", ")})` : ""}`;
}

function describeVerification(v: CompiledVerification): string {
  return `${v.method.replace(/_/g, " ")} (asks for ${list(v.requiredFields.map((f) => f.replace(/_/g, " ")))}), at most ${v.maxAttempts} attempts, valid ${Math.round(v.tokenTtlSeconds / 60)} minutes${v.stepUpFor.length ? `; verifies again before ${quoted(v.stepUpFor)}` : ""}`;
}

/** Configurations the runtime reads differently from how they may look: gates that cannot pass, names that match nothing. */
function gateWarnings(compiled: CompiledConfig, rules: Rules, playbookNames: Map<string, string>): string[] {
  const warnings: string[] = [];
  const names = new Set(compiled.skills.map((s) => s.name));
  if (!rules.verifications.length) {
    for (const skill of compiled.skills.filter((s) => needsVerifiedCaller(s, rules, rules.verifications))) {
      warnings.push(`Skill "${skill.name}" needs a verified caller but caller verification is not configured: it can never run`);
    }
    if (rules.verifiedOnly.length) warnings.push(`Caller verification is not configured: ${list(rules.verifiedOnly)} can never be disclosed`);
  }
  for (const skill of compiled.skills) {
    if (skill.isWrite && !needsConfirmation(skill, rules) && !rules.writeGate?.alwaysEscalate.includes(skill.name)) {
      const fix = rules.writeGate ? "turn on the write_gate's confirmBeforeWrite" : "add a write_gate policy";
      warnings.push(`Skill "${skill.name}" changes data and runs without asking the caller to confirm: ${fix} or set requiresConfirmation`);
    }
    const declared = Object.keys(skill.dataEgressMap);
    const undeclared = declared.length ? templateVariables(skill).filter((v) => !declared.includes(v)) : [];
    if (undeclared.length) {
      warnings.push(`Skill "${skill.name}" fills ${list(undeclared.map((v) => `{${v}}`))} into its request, but its dataEgressMap does not declare ${undeclared.length === 1 ? "it" : "them"}: every call is refused before anything is sent`);
    }
    if (skill.skillType === "playbook" && !playbookNames.has(String(skill.executionConfig.playbookId))) {
      warnings.push(`Skill "${skill.name}" starts playbook ${String(skill.executionConfig.playbookId)}, which is deleted or disabled: it answers playbook_unavailable`);
    }
  }
  for (const action of rules.writeGate?.alwaysEscalate ?? []) {
    if (!names.has(action)) warnings.push(`write_gate alwaysEscalate names "${action}", which is not an enabled skill of this agent: it has no effect`);
  }
  for (const [skill, window] of Object.entries(rules.skillWindows)) {
    if (window === "always") continue;
    if (!names.has(skill)) warnings.push(`business_hours limits "${skill}", which is not an enabled skill of this agent: it has no effect`);
    else if (!rules.scheduled) warnings.push(`business_hours limits "${skill}" to ${window.replace(/_/g, " ")}, but no schedule is set: it always runs`);
  }
  for (const v of rules.verifications.filter((v) => !verificationMethodAvailable(v.method))) {
    warnings.push(`Caller verification by ${v.method.replace(/_/g, " ")} cannot run on this installation: it needs an SMS sender, which no connected integration provides`);
  }
  for (const name of unique(rules.verifications.flatMap((v) => v.stepUpFor))) {
    if (!names.has(name)) warnings.push(`Caller verification steps up for "${name}", which is not an enabled skill of this agent: it has no effect`);
  }
  return warnings;
}

/**
 * What leaves the system: with a dataEgressMap, only the fields it declares (the runtime drops other arguments and
 * refuses templates that name anything else); without one, every parameter and every variable its templates read.
 */
function egressFields(skill: CompiledSkill): string[] {
  const declared = Object.keys(skill.dataEgressMap);
  if (declared.length) return declared;
  return unique([...Object.keys(skill.parametersSchema.properties ?? {}), ...templateVariables(skill)]);
}

/** Variables filled into the URL, body, recipients or subject (header values are sealed and not read here). */
function templateVariables(skill: CompiledSkill): string[] {
  const cfg = skill.executionConfig;
  const templated = skill.skillType === "http_webhook" ? [cfg.url, cfg.body] : skill.skillType === "email" ? [cfg.to, cfg.subject, cfg.reply_to] : [];
  return unique([...JSON.stringify(templated).matchAll(PLACEHOLDER)].map((m) => m[1]!));
}

/** Where a skill sends data, in words; null for skills that send nothing out. */
function destinationOf(skill: CompiledSkill, c: AgentConfig): string | null {
  const cfg = skill.executionConfig;
  switch (skill.skillType) {
    case "http_webhook": {
      const url = String(cfg.url ?? "");
      const host = /^[a-z]+:\/\/([^/{]+)/i.exec(url)?.[1] ?? url;
      return `${String(cfg.method ?? "POST").toUpperCase()} to ${host}`;
    }
    case "email":
      return `email to ${cfg.to ?? "a configured address"}`;
    case "transfer": {
      const warm = typeof cfg.warm === "boolean" ? cfg.warm : (c.handoffConfig.warm ?? false);
      return `${cfg.destination ? `phone transfer to ${cfg.destination}` : "phone transfer by the handoff rules"}${warm ? ", with a summary of the conversation" : ""}`;
    }
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
      return `${g.appliesToSkillType ? `${g.appliesToSkillType} skills` : "Skills"} may surface only ${list(fieldsOf(g))}`;
    case "write_gate":
      return [
        cfg.confirmBeforeWrite !== false ? "Confirms before any write" : "Writes without a confirmation step (unless a skill asks for one or its stakes are high)",
        cfg.requireVerified ? "writes need a verified caller" : "",
        ((cfg.alwaysEscalate as string[] | undefined) ?? []).length ? `always hands ${quoted(cfg.alwaysEscalate as string[])} to a person` : "",
      ].filter(Boolean).join("; ");
    case "rate_limit":
      return [cfg.toolCallsPerMinute ? `At most ${cfg.toolCallsPerMinute} actions a minute` : "", cfg.toolCallsPerCall ? `${cfg.toolCallsPerCall} per conversation` : ""].filter(Boolean).join("; ");
    case "business_hours": {
      const windows = Object.entries((cfg.skills as Record<string, string> | undefined) ?? {}).filter(([, w]) => w !== "always");
      return [
        `Applies business hours in ${cfg.timezone ?? "the agent's time zone"} when the agent sets none of its own`,
        ...windows.map(([skill, w]) => `"${skill}" runs ${w === "business_hours_only" ? "during business hours only" : "outside business hours only"}`),
      ].join("; ");
    }
    case "content_policy":
      return [
        ((cfg.bannedTopics as string[] | undefined) ?? []).length ? `Refuses to discuss ${list(cfg.bannedTopics as string[])}` : "",
        cfg.redactPii ? "redacts personal data in stored transcripts" : "",
        cfg.escalationThreshold ? `offers a person after ${cfg.escalationThreshold} negative turns` : "",
      ].filter(Boolean).join("; ");
  }
}
