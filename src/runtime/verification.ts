// Caller verification: the questions a verification method asks, the answers read from what the caller says, the
// verifier skill's verdict, and the held skill call it lets through.
import { trimEndWhere } from "../platform/caller-text.ts";
import type { CompiledVerification } from "./compiled.ts";
import { extract } from "./extractors.ts";
import { verificationMethodAvailable } from "./guardrails.ts";
import { phrase, type Phrase, type PhraseId } from "./phrases/index.ts";
import type { SkillCallResult } from "./playbooks/interpreter.ts";
import type { ConversationState } from "./state.ts";
import type { Turn, TurnSteps } from "./turn.ts";

export function beginVerification(steps: TurnSteps, turn: Turn, config: CompiledVerification, resume: { skillId: string; args: Record<string, unknown>; fromPlaybook: boolean }): SkillCallResult {
  const { live } = turn;
  if (!verificationMethodAvailable(config.method)) {
    // otp_sms is chosen only when no other method is configured (Guardrails.verificationFor).
    live.receipt.add("verification", {
      method: config.method,
      configId: config.id,
      status: "unavailable",
      code: "integration_not_connected",
      reason: "otp_sms sends a one-time code by text message, and no sms integration is connected to send it; configure another verification method or connect an sms integration",
    });
    const skill = live.skills.find((s) => s.id === resume.skillId);
    steps.guardrailEvents(live, [{ policyType: "verify_before_disclose", decision: "blocked", reason: "caller verification unavailable (otp_sms needs an sms integration)", ...(skill ? { skill: skill.name } : {}) }]);
    steps.say(turn, phrase("verification.unavailable"));
    return { status: "error", told: true };
  }
  const fields = verificationFields(config);
  live.state.verification.collected = {};
  live.state.pending = { kind: "verify", configId: config.id, field: 0, resume };
  live.receipt.add("verification", { method: config.method, configId: config.id, status: "started", fields });
  steps.say(turn, [phrase("verification.start"), verificationQuestion(config, 0)]);
  return { status: "held" };
}

export async function continueVerification(steps: TurnSteps, turn: Turn, text: string) {
  const { live } = turn;
  const state = live.state;
  const pending = state.pending as Extract<ConversationState["pending"], { kind: "verify" }>;
  const config = live.compiled.callerVerification.find((c) => c.id === pending.configId);
  if (!config) {
    state.pending = null;
    steps.say(turn, phrase("verification.not_configured"));
    return pending.resume ? steps.afterHeld(turn, pending.resume.fromPlaybook, { status: "error", told: true }) : undefined;
  }
  const fields = verificationFields(config);
  const field = fields[pending.field]!;
  const value = verificationValue(field, text, config.method);
  if (!value) return steps.say(turn, [phrase("retry.didnt_catch"), verificationQuestion(config, pending.field)]);
  state.verification.collected[field] = value;
  if (pending.field + 1 < fields.length) {
    pending.field++;
    return steps.say(turn, [phrase("thanks"), verificationQuestion(config, pending.field, true)]);
  }

  const verifier = live.compiled.skills.find((s) => s.id === config.verifierSkillId);
  // The claimed identity (on voice, the calling number) goes with the secrets, so a verifier can find the record
  // by it; a field the caller was asked for under the same name is what they said.
  const callerNumber = typeof state.variables.caller_number === "string" && state.variables.caller_number ? { caller_number: state.variables.caller_number } : {};
  const sent = verifier ? steps.egressArgs(live, verifier, { ...callerNumber, ...state.verification.collected, method: config.method }) : {};
  const started = steps.clock();
  const outcome = verifier
    ? await steps.runSkill(verifier, sent, steps.skillContext(live, verifier, turn.signal))
    : ({ kind: "error", code: "verifier_missing", message: "verifier skill not found" } as const);
  // The collected secrets go to the verifier only: the receipt names what was sent, never the values.
  live.receipt.add("tool_call", {
    skillId: config.verifierSkillId,
    skillName: verifier?.name ?? null,
    skillType: verifier?.skillType ?? null,
    arguments: Object.fromEntries(Object.keys(sent).filter((k) => k !== "method").map((k) => [k, "[redacted]"])),
    status: outcome.kind === "error" ? "error" : "ok",
    ...(outcome.kind === "error" ? { errorCode: outcome.code, error: outcome.message } : {}),
    durationMs: steps.clock() - started,
    purpose: "verification",
  });
  state.verification.collected = {};
  const resume = pending.resume;
  if (outcome.kind === "error") {
    // The verifier could not answer: that is no mismatch, so it costs the caller no attempt.
    state.pending = null;
    live.receipt.add("verification", { method: config.method, configId: config.id, status: "error", code: outcome.code, attempts: state.verification.attempts });
    steps.say(turn, phrase("verification.error"));
    return resume ? steps.afterHeld(turn, resume.fromPlaybook, { status: "error", told: true }) : undefined;
  }
  const matched = outcome.kind === "result" && [outcome.data.match, outcome.data.verified, outcome.data.valid, outcome.data.matched].some((v) => v === true || v === "true");
  if (matched) {
    state.verification = { ...state.verification, verified: true, expiresAt: steps.clock() + config.tokenTtlSeconds * 1000, attempts: 0, steppedUp: [] };
    state.variables.verified = true;
    if (outcome.kind === "result" && outcome.data.caller_info && typeof outcome.data.caller_info === "object") {
      // Verified-only fields of the record are held to the same rule as a skill's: gone from the brain once the pass lapses.
      const shown = live.guardrails.guardVerifiedOnly(outcome.data, state);
      const withheld = { notAllowed: [], verifiedOnly: [], verifiedOnlyShown: shown };
      steps.keepVariable(live, "caller_info", outcome.data.caller_info, live.guardrails.variableIsVerifiedOnly("caller_info", outcome.data.caller_info, "caller_info", withheld, state));
    }
    state.pending = null;
    live.receipt.add("verification", { method: config.method, configId: config.id, status: "passed", attempts: state.verification.attempts + 1, expiresInSeconds: config.tokenTtlSeconds });
    const skill = resume ? live.skills.find((s) => s.id === resume.skillId) : undefined;
    if (!resume || !skill) return steps.say(turn, phrase("verification.passed"));
    if (config.stepUpFor.includes(skill.name)) state.verification.steppedUp.push(skill.name);
    steps.say(turn, phrase("verification.passed"));
    const result = await steps.executeSkill(turn, skill, resume.args, { confirmed: false, fromPlaybook: resume.fromPlaybook });
    return steps.afterHeld(turn, resume.fromPlaybook, result, skill, resume.args);
  }
  state.verification.attempts++;
  if (state.verification.attempts >= config.maxAttempts) {
    state.verification.locked = true;
    state.pending = null;
    live.receipt.add("verification", { method: config.method, configId: config.id, status: "locked", attempts: state.verification.attempts });
    steps.say(turn, phrase("verification.locked"));
    return resume ? steps.afterHeld(turn, resume.fromPlaybook, { status: "error", told: true }) : undefined;
  }
  live.receipt.add("verification", { method: config.method, configId: config.id, status: "failed", attempts: state.verification.attempts });
  pending.field = 0;
  return steps.say(turn, [phrase("verification.mismatch"), verificationQuestion(config, 0)]);
}

/** A field's name as the caller hears it: a known field in the conversation's language, else its name in words. */
export function label(field: string): string | Phrase {
  const known = FIELD_LABELS[field];
  return known ? phrase(known) : field.replace(/_/g, " ");
}

const FIELD_LABELS: Record<string, PhraseId> = { dob: "field.dob", date_of_birth: "field.dob", postcode: "field.postcode", zip: "field.zip", pin: "field.pin", account_number: "field.account_number", phone: "field.phone", last_name: "field.last_name" };

/** What each method asks for when its configuration lists no requiredFields (the API's defaults). */
const METHOD_FIELDS: Record<CompiledVerification["method"], string[]> = {
  dob_postcode: ["dob", "postcode"],
  account_pin: ["account_number", "pin"],
  otp_sms: ["phone"],
  knowledge_based: ["security_answer"],
};

function verificationFields(config: CompiledVerification): string[] {
  return config.requiredFields.length ? config.requiredFields : METHOD_FIELDS[config.method];
}

/** The question for one field, by its name (`mothers_maiden_name` → "What is your mothers maiden name?"). */
function verificationQuestion(config: CompiledVerification, index: number, more = false): Phrase {
  return phrase(more ? "ask.field_more" : "ask.field", { field: label(verificationFields(config)[index]!) });
}

function verificationValue(field: string, text: string, method: CompiledVerification["method"]): string | null {
  const f = field.toLowerCase();
  // Answers to knowledge questions are free text, whatever their names look like.
  if (method === "knowledge_based") return trimEndWhere(text.trim(), /[.!?]/).trim() || null;
  if (/dob|birth/.test(f)) {
    const got = extract("date", text, { localNow: new Date(0) });
    return got.ok ? String(got.value) : null;
  }
  if (/postcode|zip|postal/.test(f)) return /\b\d{5}(?:-\d{4})?\b|\b[A-Z]{1,2}\d[A-Z\d]?\s?\d[A-Z]{2}\b/i.exec(text)?.[0].toUpperCase() ?? null;
  if (/pin|account|number/.test(f)) {
    const got = extract("digits", text);
    return got.ok ? String(got.value) : null;
  }
  return text.trim() || null;
}
