// The guardrail engine: every action and every disclosure passes through it, whatever the brain wants.
// It never asks a model; each decision is a rule applied to the compiled configuration and the conversation state.
import { hoursStatus, type HoursStatus } from "./business-hours.ts";
import type { AgentSettings, CompiledConfig, CompiledSkill, CompiledVerification } from "./compiled.ts";
import { type AfterHours, allowListsFor, closedAfterHours, confirmationReason, type MergedPolicies, mergePolicies, needsVerifiedCaller, stepsUp } from "./policies.ts";
import { escapeRegExp } from "./extractors.ts";
import { phrase, Phrases, type Phrase } from "./phrases/index.ts";
import type { ConversationState } from "./state.ts";

export type GuardrailEvent = {
  policyType: string;
  decision: "allowed" | "blocked" | "redacted" | "confirm_required" | "verification_required" | "escalated";
  reason: string;
  skill?: string;
  fields?: string[];
  /** The caller-verification method a verification_required decision chose. */
  method?: string;
};

/** What a skill result lost to the guardrails: dotted paths (array positions left out) and why. */
export interface Withheld {
  /** Paths removed because no allow list names them (allowedFields, allowed_fields). */
  notAllowed: string[];
  /** Paths removed because they are verified-only and the caller is not verified. */
  verifiedOnly: string[];
  /**
   * Verified-only paths left in because the caller is verified. Their values are guarded all the same, and variables
   * that hold them are withheld again once the verification lapses.
   */
  verifiedOnlyShown: string[];
}

/** What a brain may see of the conversation, and what was kept from it. */
export interface BrainView {
  variables: Record<string, unknown>;
  history: ConversationState["history"];
  /** Variables left out (verified-only data, caller not verified). */
  withheldVariables: string[];
  /** Earlier messages in which guarded values were masked. */
  maskedMessages: number;
}

export type Authorization =
  | { kind: "allow"; events: GuardrailEvent[] }
  | { kind: "block"; say: Phrase; events: GuardrailEvent[] }
  | { kind: "escalate"; say: Phrase; events: GuardrailEvent[] }
  | { kind: "confirm"; events: GuardrailEvent[] }
  | { kind: "verify"; config: CompiledVerification; events: GuardrailEvent[] };

export class Guardrails {
  /** The policies merged as the pre-publish report describes them (policies.ts). */
  private readonly rules: MergedPolicies;
  private readonly agent: AgentSettings;
  private readonly bannedWords: RegExp | null;

  constructor(
    private compiled: CompiledConfig,
    private clock: () => number,
  ) {
    this.rules = mergePolicies(compiled);
    this.agent = compiled.agent;
    const banned = this.agent.lexicon.banned ?? [];
    this.bannedWords = banned.length ? new RegExp(`\\b(${banned.map(escapeRegExp).join("|")})\\b`, "gi") : null;
  }

  get redactsPii() {
    return this.rules.redactPii;
  }

  get escalationThreshold() {
    return this.rules.escalationThreshold;
  }

  /** Business hours: the agent's own schedule, or a business_hours policy's when the agent has none. */
  hours(): HoursStatus {
    return hoursStatus(this.rules.hours, this.clock());
  }

  afterHours(): AfterHours {
    return this.rules.afterHours;
  }

  /** A caller's words that touch a banned topic are declined before any brain sees them. */
  screenInput(text: string): { topic: string } | null {
    const topic = this.rules.bannedTopics.find((t) => mentions(text, t));
    return topic ? { topic } : null;
  }

  isVerified(state: ConversationState): boolean {
    const v = state.verification;
    return v.verified && (v.expiresAt === null || v.expiresAt > this.clock());
  }

  /** May this skill run now, with these arguments? */
  authorize(skill: CompiledSkill, state: ConversationState, opts: { channel: "voice" | "chat"; confirmed: boolean }): Authorization {
    const events: GuardrailEvent[] = [];
    const refuse = (policyType: string, reason: string, say: Phrase): Authorization => ({ kind: "block", say, events: [...events, { policyType, decision: "blocked", reason, skill: skill.name }] });

    if (skill.channels.length && !skill.channels.includes(opts.channel)) {
      return refuse("skill_channels", `${skill.name} is not available on ${opts.channel}`, phrase("guardrail.channel"));
    }

    const hours = this.hours();
    const window = this.rules.skillWindows[skill.name] ?? "always";
    if (hours.configured) {
      if (!hours.open && window === "business_hours_only") {
        const opening = hours.nextOpeningPhrase;
        return refuse("business_hours", "skill is available during business hours only", opening ? phrase("guardrail.business_hours_only_until", { opening }) : phrase("guardrail.business_hours_only"));
      }
      if (hours.open && window === "after_hours_only") return refuse("business_hours", "skill is available after hours only", phrase("guardrail.after_hours_only"));
      if (!hours.open && closedAfterHours(skill, this.rules)) {
        return refuse("business_hours", `closed (${hours.localTime}); after-hours mode ${this.rules.afterHours.mode} allows no ${skill.isWrite ? "writes" : "transfers"}`, hours.nextOpeningPhrase ? phrase("guardrail.closed_until", { opening: hours.nextOpeningPhrase }) : phrase("guardrail.closed"));
      }
    }

    if (this.rules.writeGate?.alwaysEscalate.includes(skill.name)) {
      return { kind: "escalate", say: phrase("guardrail.escalate"), events: [...events, { policyType: "write_gate", decision: "escalated", reason: "always-escalate action", skill: skill.name }] };
    }

    const now = this.clock();
    const recent = state.toolCallTimes.filter((t) => t > now - 60_000);
    if (this.rules.rate.perMinute !== null && recent.length >= this.rules.rate.perMinute) {
      return refuse("rate_limit", `${this.rules.rate.perMinute} tool calls a minute reached`, phrase("guardrail.rate_minute"));
    }
    if (this.rules.rate.perCall !== null && state.toolCallCount >= this.rules.rate.perCall) {
      return refuse("rate_limit", `${this.rules.rate.perCall} tool calls in this conversation reached`, phrase("guardrail.rate_call"));
    }

    const verified = this.isVerified(state);
    const stepUp = stepsUp(skill, this.compiled.callerVerification) && !(verified && state.verification.steppedUp.includes(skill.name));
    if (needsVerifiedCaller(skill, this.rules, this.compiled.callerVerification) && (!verified || stepUp)) {
      const verification = this.verificationFor(skill);
      if (!verification) return refuse("verify_before_disclose", "caller verification is required but not configured", phrase("guardrail.verification_missing"));
      if (state.verification.locked) return refuse("verify_before_disclose", "verification locked after too many attempts", phrase("guardrail.verification_locked"));
      return {
        kind: "verify",
        config: verification,
        events: [...events, { policyType: "verify_before_disclose", decision: "verification_required", reason: stepUp && verified ? "step-up verification for this action" : "skill requires a verified caller", skill: skill.name, method: verification.method }],
      };
    }

    // A high-stakes action is never taken on the brain's word alone: the caller says yes first (a playbook's
    // confirm step answered yes counts), whether or not a write_gate policy exists.
    const reason = confirmationReason(skill, this.rules);
    if (reason && !opts.confirmed) {
      return { kind: "confirm", events: [...events, { policyType: "write_gate", decision: "confirm_required", reason, skill: skill.name }] };
    }

    events.push({ policyType: "tool_call", decision: "allowed", reason: "no policy objects", skill: skill.name });
    return { kind: "allow", events };
  }

  /**
   * Which caller-verification configuration an action goes through, when several exist. A configuration whose
   * `stepUpFor` names the skill is the one that skill demands; otherwise any will do. Among the candidates, in the
   * order configured, the first whose method can run on this installation wins: `otp_sms` needs an SMS sender,
   * which no connected integration provides yet, so it is chosen only when nothing else is configured (and then
   * answers "unavailable" with that reason in the receipt).
   */
  verificationFor(skill: CompiledSkill): CompiledVerification | null {
    const all = this.compiled.callerVerification;
    const stepUp = all.filter((c) => c.stepUpFor.includes(skill.name));
    const candidates = stepUp.length ? stepUp : all;
    return candidates.find((c) => verificationMethodAvailable(c.method)) ?? candidates[0] ?? null;
  }

  /**
   * What a skill's result may carry back into the conversation: the skill's allowedFields and allowed_fields
   * policies narrow it; verify_before_disclose hides verified-only fields from an unverified caller. The values of
   * verified-only fields are kept aside whoever the caller is, so a reply that mentions them to a caller who is not
   * (or no longer) verified is caught. Fields are matched at any depth: a plain name (`balance`) matches a key of that
   * name anywhere, a dotted path (`account.balance`) that path; either covers everything beneath it. Array positions
   * are not part of a path (`accounts.balance`).
   */
  filterResult(skill: CompiledSkill, data: Record<string, unknown>, state: ConversationState): { data: Record<string, unknown>; events: GuardrailEvent[]; withheld: Withheld } {
    const events: GuardrailEvent[] = [];
    const withheld: Withheld = { notAllowed: [], verifiedOnly: [], verifiedOnlyShown: [] };
    const allowLists = allowListsFor(skill, this.rules);
    let out: Record<string, unknown> = { ...data };
    if (allowLists.length) {
      out = prune(out, [], "allow", (path) => allowLists.every((list) => list.some((f) => covers(f, path))), withheld.notAllowed, null) as Record<string, unknown>;
      if (withheld.notAllowed.length) events.push({ policyType: "allowed_fields", decision: "redacted", reason: "fields outside the skill's allowed fields", skill: skill.name, fields: withheld.notAllowed });
    }
    if (this.isVerified(state)) {
      this.guardVerifiedOnly(out, state, withheld.verifiedOnlyShown);
    } else {
      out = this.pruneVerifiedOnly(out, state, withheld.verifiedOnly);
      if (withheld.verifiedOnly.length) events.push({ policyType: "verify_before_disclose", decision: "redacted", reason: "verified callers only", skill: skill.name, fields: withheld.verifiedOnly });
    }
    return { data: out, events, withheld };
  }

  /**
   * Keep aside the values of the verified-only fields in data a verified caller may see (a result, a verifier's
   * `caller_info`), for when the verification lapses; answers their paths.
   */
  guardVerifiedOnly(data: Record<string, unknown>, state: ConversationState, paths: string[] = []): string[] {
    this.pruneVerifiedOnly(data, state, paths);
    return paths;
  }

  private pruneVerifiedOnly(data: Record<string, unknown>, state: ConversationState, removed: string[]): Record<string, unknown> {
    const verifiedOnly = this.verifiedOnlyFields();
    if (!verifiedOnly.length) return data;
    return prune(data, [], "deny", (path) => verifiedOnly.some((f) => covers(f, path)), removed, state.guardedValues) as Record<string, unknown>;
  }

  /**
   * Which policy holds back a value a skill mapped into a conversation variable (null: none, keep it). A variable is
   * held when its name or the field it came from (`sourcePath`, a dotted path into the result) is one the result
   * lost, or when it carries a guarded value under another name: variables reach a model's prompt and templates.
   */
  variableHeldBy(name: string, value: unknown, sourcePath: string | null, withheld: Withheld, state: ConversationState): "allowed_fields" | "verify_before_disclose" | null {
    const touches = touching(name, sourcePath);
    if (withheld.verifiedOnly.some(touches)) return "verify_before_disclose";
    if (withheld.notAllowed.some(touches)) return "allowed_fields";
    if (!this.isVerified(state) && this.carriesVerifiedOnly(name, value, sourcePath, state)) return "verify_before_disclose";
    return null;
  }

  /**
   * Whether a variable kept for a verified caller holds what `variableHeldBy` would hold back from one who is not:
   * such a variable is kept from a brain (`brainView`) once the verification lapses, and its values are guarded.
   */
  variableIsVerifiedOnly(name: string, value: unknown, sourcePath: string | null, withheld: Withheld, state: ConversationState): boolean {
    const touches = touching(name, sourcePath);
    return withheld.verifiedOnly.some(touches) || withheld.verifiedOnlyShown.some(touches) || this.carriesVerifiedOnly(name, value, sourcePath, state);
  }

  /** Named like a verified-only field, taken from one, or carrying a guarded value under another name. */
  private carriesVerifiedOnly(name: string, value: unknown, sourcePath: string | null, state: ConversationState): boolean {
    const source = sourcePath ? segmentsOf(sourcePath) : null;
    if (this.verifiedOnlyFields().some((f) => covers(f, [name]) || (source !== null && covers(f, source)))) return true;
    return carriesGuarded(value, state.guardedValues);
  }

  /**
   * What a brain sees of the conversation. A verified caller's brain sees everything. Otherwise (never verified, or
   * the verification lapsed) variables that hold verified-only data (marked when they were kept, or carrying a guarded
   * value) are left out, and guarded values in earlier messages are masked: what a caller was told while verified
   * reaches neither a model's prompt nor, through it, a caller who is no longer verified.
   */
  brainView(state: ConversationState): BrainView {
    const none: BrainView = { variables: state.variables, history: state.history, withheldVariables: [], maskedMessages: 0 };
    const marks = state.verifiedOnlyVariables ?? {};
    if (this.isVerified(state) || (!state.guardedValues.length && !Object.keys(marks).length)) return none;
    const variables: Record<string, unknown> = {};
    const withheldVariables: string[] = [];
    for (const [name, value] of Object.entries(state.variables)) {
      // `verified` is the runtime's own flag, never data from a result.
      const held = name !== "verified" && ((marks[name] !== undefined && marks[name] === fingerprint(value)) || carriesGuarded(value, state.guardedValues));
      if (held) withheldVariables.push(name);
      else variables[name] = value;
    }
    const spoken = state.guardedValues.filter((v) => v.length >= 2);
    let maskedMessages = 0;
    const history = state.history.map((m) => {
      const content = spoken.reduce((text, v) => maskValue(text, v), m.content);
      if (content === m.content) return m;
      maskedMessages++;
      return { ...m, content };
    });
    if (!withheldVariables.length && !maskedMessages) return none;
    return { variables, history, withheldVariables, maskedMessages };
  }

  verifiedOnlyFields(): string[] {
    return this.rules.verifiedOnly;
  }

  /**
   * The last word on what is said: banned words never spoken, guarded values never leaked, banned topics declined.
   * A reply declined whole is replaced by a fixed sentence (`replacedBy`), rendered by `render` in the
   * conversation's language.
   */
  screenReply(text: string, state: ConversationState, render: (p: Phrase) => string = renderEnglish): { text: string; events: GuardrailEvent[]; replacedBy?: Phrase } {
    const events: GuardrailEvent[] = [];
    let out = text;
    let replacedBy: Phrase | undefined;
    if (!this.isVerified(state)) {
      const leaked = state.guardedValues.filter((v) => v.length >= 2 && mentionsValue(out, v));
      if (leaked.length) {
        replacedBy = phrase("guardrail.verified_only");
        out = render(replacedBy);
        events.push({ policyType: "verify_before_disclose", decision: "blocked", reason: "reply disclosed a verified-only value to an unverified caller" });
      }
    }
    const topic = this.rules.bannedTopics.find((t) => mentions(out, t));
    if (topic) {
      replacedBy = phrase("guardrail.banned_topic_reply");
      out = render(replacedBy);
      events.push({ policyType: "content_policy", decision: "blocked", reason: `banned topic: ${topic}` });
    }
    if (this.bannedWords) {
      const replaced = out.replace(this.bannedWords, "").replace(/\s{2,}/g, " ").replace(/\s+/g, (space, at: number, all: string) => (".,!?".includes(all[at + space.length] ?? "x") ? "" : space)).trim();
      if (replaced !== out) {
        events.push({ policyType: "lexicon", decision: "redacted", reason: "banned word removed" });
        out = replaced;
      }
    }
    return replacedBy ? { text: out, events, replacedBy } : { text: out, events };
  }
}

function mentions(text: string, topic: string): boolean {
  return new RegExp(`\\b${escapeRegExp(topic.toLowerCase())}`, "i").test(text);
}

function mentionsValue(text: string, value: string): boolean {
  const compact = (s: string) => s.toLowerCase().replace(/[\s,$£€]/g, "");
  return compact(text).includes(compact(value));
}

function sameValue(a: string, b: string): boolean {
  const compact = (s: string) => s.toLowerCase().replace(/[\s,$£€]/g, "");
  return compact(a) === compact(b);
}

function carriesGuarded(value: unknown, guarded: string[]): boolean {
  if (!guarded.length) return false;
  const values: string[] = [];
  collectValues(value, values);
  return values.some((v) => guarded.some((g) => sameValue(v, g) || (g.length >= 4 && mentionsValue(v, g))));
}

/** A value as a variable mark records it (see ConversationState.verifiedOnlyVariables). */
export function fingerprint(value: unknown): string {
  return JSON.stringify(value) ?? "undefined";
}

const MASK = "[withheld]";

/** The text with each mention of a guarded value (matched as `mentionsValue` does) replaced by a mask. */
function maskValue(text: string, value: string): string {
  if (!mentionsValue(text, value)) return text;
  const chars = [...value.toLowerCase().replace(/[\s,$£€]/g, "")];
  const masked = text.replace(new RegExp(chars.map(escapeRegExp).join("[\\s,$£€]*"), "gi"), MASK);
  return mentionsValue(masked, value) ? MASK : masked;
}

function collectValues(value: unknown, into: string[]) {
  if (value === null || value === undefined) return;
  if (typeof value === "object") {
    for (const v of Object.values(value as Record<string, unknown>)) collectValues(v, into);
    return;
  }
  const s = String(value);
  if (!into.includes(s)) into.push(s);
}

/** Whether a removed path names a variable (by its name) or the field it came from, something inside it, or an object containing it. */
function touching(name: string, sourcePath: string | null): (path: string) => boolean {
  const source = sourcePath ? segmentsOf(sourcePath) : null;
  return (path) => {
    const p = segmentsOf(path);
    if (p.length === 1 && p[0] === name) return true;
    return source !== null && (startsWith(source, p) || startsWith(p, source));
  };
}

/** Whether a policy's field entry (a plain name or a dotted path) covers a path in a result. */
function covers(field: string, path: string[]): boolean {
  const f = segmentsOf(field);
  if (f.length === 1) return path.includes(f[0]!);
  return startsWith(path, f);
}

function startsWith(path: string[], prefix: string[]): boolean {
  return prefix.length <= path.length && prefix.every((k, i) => path[i] === k);
}

/** `accounts[0].balance`, `accounts.0.balance` and `accounts.balance` all name the same field. */
function segmentsOf(path: string): string[] {
  return path
    .replace(/\[\d+\]/g, "")
    .split(".")
    .filter((k) => k && !/^\d+$/.test(k));
}

const isRecord = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === "object" && !Array.isArray(v);

/**
 * A copy of `value` without what the listed fields say must go, walking objects and arrays. In "allow" mode a listed
 * field is kept whole and anything unlisted goes; in "deny" mode a listed field goes whole and the rest stays. An
 * object or array emptied this way goes too (the root stays). Each removed path is listed once; with `guard`, its
 * values are kept aside.
 */
function prune(value: unknown, path: string[], mode: "allow" | "deny", listed: (path: string[]) => boolean, removed: string[], guard: string[] | null): unknown {
  const drop = () => {
    const name = path.join(".");
    if (!removed.includes(name)) removed.push(name);
    if (guard) collectValues(value, guard);
    return undefined;
  };
  const container = isRecord(value) || Array.isArray(value);
  if (path.length) {
    const hit = listed(path);
    if (hit) return mode === "allow" ? value : drop();
    if (!container) return mode === "allow" ? drop() : value;
  }
  const entries: [string | null, unknown][] = Array.isArray(value) ? value.map((item) => [null, item]) : Object.entries(value as Record<string, unknown>);
  if (path.length && entries.length === 0) return mode === "allow" ? drop() : value;
  const kept = entries.map(([key, child]) => [key, prune(child, key === null ? path : [...path, key], mode, listed, removed, guard)] as const).filter(([, v]) => v !== undefined);
  if (path.length && kept.length === 0) return undefined;
  return Array.isArray(value) ? kept.map(([, v]) => v) : Object.fromEntries(kept);
}

/** Whether this installation can run a verification method (see `verificationFor`). */
export function verificationMethodAvailable(method: CompiledVerification["method"]): boolean {
  return method !== "otp_sms";
}

const english = new Phrases();
const renderEnglish = (p: Phrase) => english.render(p, "en");
