// Answers to what the agent holds pending between turns: a confirmation, a missing skill parameter, caller
// verification, a message being taken, keyed digits, an offered transfer.
import { extractParameter, WANTS_END, endCallPhrasesEnabled } from "./brain/builtin.ts";
import type { CompiledSkill } from "./compiled.ts";
import { extract } from "./extractors.ts";
import { handOff } from "./handoff.ts";
import { goodbye, type Turn, type TurnSteps } from "./turn.ts";
import { continueVerification, label } from "./verification.ts";

/** The caller's answer to what the agent holds pending: a confirmation, a parameter, verification, a message, digits. */
export async function answerPending(steps: TurnSteps, turn: Turn, text: string, keyed: boolean) {
  const { live } = turn;
  const state = live.state;
  const pending = state.pending!;
  switch (pending.kind) {
    case "confirm_skill": {
      const answer = extract("yes_no", keyed ? (text === "1" ? "yes" : text === "2" ? "no" : "") : text);
      const skill = live.skills.find((s) => s.id === pending.skillId);
      if (!answer.ok || !skill) return steps.say(turn, "Sorry, was that a yes or a no?");
      state.pending = null;
      if (!answer.value) {
        steps.guardrailEvents(live, [{ policyType: "write_gate", decision: "blocked", reason: "caller declined the confirmation", skill: skill.name }]);
        steps.say(turn, "Okay, I won't do that.");
        return steps.afterHeld(turn, pending.fromPlaybook, { status: "error", told: true });
      }
      const outcome = await steps.executeSkill(turn, skill, pending.args, { confirmed: true, fromPlaybook: pending.fromPlaybook });
      return steps.afterHeld(turn, pending.fromPlaybook, outcome, skill, pending.args);
    }
    case "collect_params": {
      const skill = live.skills.find((s) => s.id === pending.skillId);
      if (!skill) {
        state.pending = null;
        return steps.think(turn, text);
      }
      const name = pending.missing[0]!;
      const schema = skill.parametersSchema.properties?.[name] ?? {};
      const value = extractParameter(name, schema, text) ?? (schema.type === "string" || !schema.type ? text : undefined);
      if (value === undefined) {
        pending.attempts++;
        if (pending.attempts > 2) {
          state.pending = null;
          return steps.say(turn, "I'm sorry, I couldn't get that. Let's try something else; how else can I help?");
        }
        return steps.say(turn, `Sorry, I didn't catch that. ${askFor(skill, name)}`);
      }
      const args = { ...pending.args, [name]: value };
      const missing = requiredMissing(skill, args);
      if (missing.length) {
        state.pending = { ...pending, args, missing, attempts: 0 };
        return steps.say(turn, askFor(skill, missing[0]!));
      }
      state.pending = null;
      const outcome = await steps.executeSkill(turn, skill, args, { confirmed: false, fromPlaybook: pending.fromPlaybook });
      return steps.afterHeld(turn, pending.fromPlaybook, outcome, skill, args);
    }
    case "verify":
      return continueVerification(steps, turn, text);
    case "take_message": {
      const ends = WANTS_END.test(text) && endCallPhrasesEnabled(live.compiled.agent);
      if (ends || /^\W*(no|nope|never ?mind|cancel|forget it)\b/i.test(text)) {
        state.pending = null;
        if (!ends) return steps.say(turn, "Okay, no message then. Anything else?");
        steps.say(turn, goodbye(live.row.channel));
        return steps.finish(turn, "caller_done");
      }
      if (pending.step === "message") {
        state.pending = { kind: "take_message", step: "callback", message: text };
        return steps.say(turn, "Thanks. What's the best number to reach you on?");
      }
      const phone = extract("phone", text);
      state.pending = null;
      state.variables.message = pending.message;
      state.variables.callback_number = phone.ok ? phone.value : text;
      state.goalCompleted = true;
      return steps.say(turn, "Got it. I'll pass your message on and someone will get back to you. Anything else?");
    }
    case "collect_digits": {
      const digits = keyed ? text.replace(/[#*]$/, "") : (extract("digits", text) as { ok: boolean; value?: string }).value;
      if (!digits) {
        pending.attempts++;
        if (pending.attempts > 2) {
          state.pending = null;
          return steps.say(turn, "I'm sorry, I didn't get that.");
        }
        return steps.say(turn, "Sorry, please enter the number again, then press pound.");
      }
      state.pending = null;
      state.variables[pending.variable] = digits;
      return steps.say(turn, "Thank you.");
    }
    case "offer_transfer": {
      const answer = extract("yes_no", text);
      state.pending = null;
      if (answer.ok && answer.value) return handOff(steps, turn, pending.reason);
      if (answer.ok) return steps.say(turn, "Okay. What else can I help you with?");
      return steps.think(turn, text);
    }
  }
}

export function requiredMissing(skill: CompiledSkill, args: Record<string, unknown>): string[] {
  const required = skill.requiredParams.length ? skill.requiredParams : (skill.parametersSchema.required ?? []);
  return required.filter((p) => args[p] === undefined || args[p] === null || args[p] === "");
}

export function askFor(skill: CompiledSkill, param: string): string {
  const description = skill.parametersSchema.properties?.[param]?.description;
  return `What is your ${description ? description.replace(/\.$/, "").replace(/^(the|your)\s+/i, "").toLowerCase() : label(param)}?`;
}

export function confirmationQuestion(skill: CompiledSkill, args: Record<string, unknown>): string {
  const details = Object.entries(args)
    .filter(([, v]) => v !== undefined && v !== null && v !== "")
    .map(([k, v]) => `${k.replace(/_/g, " ")} ${v}`);
  const what = skill.description.replace(/\.$/, "");
  return `Just to confirm: ${what.charAt(0).toLowerCase()}${what.slice(1)}${details.length ? `, with ${details.join(", ")}` : ""}.${skill.stakes === "high" ? " This can't be undone." : ""} Shall I go ahead?`;
}
