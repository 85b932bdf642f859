// Answers to what the agent holds pending between turns: a confirmation, a missing skill parameter, caller
// verification, a message being taken, keyed digits, an offered transfer.
import { extractParameter, WANTS_END, endCallPhrasesEnabled } from "./brain/builtin.ts";
import type { CompiledSkill } from "./compiled.ts";
import { extract } from "./extractors.ts";
import { handOff } from "./handoff.ts";
import { phrase, type Phrase } from "./phrases/index.ts";
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
      if (!answer.ok || !skill) return steps.say(turn, phrase("confirm.unclear"));
      state.pending = null;
      if (!answer.value) {
        steps.guardrailEvents(live, [{ policyType: "write_gate", decision: "blocked", reason: "caller declined the confirmation", skill: skill.name }]);
        steps.say(turn, phrase("confirm.declined"));
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
      const value = extractParameter(name, schema, text, steps.phoneRegion(live)) ?? (schema.type === "string" || !schema.type ? text : undefined);
      if (value === undefined) {
        pending.attempts++;
        if (pending.attempts > 2) {
          state.pending = null;
          return steps.say(turn, phrase("skill.missing_give_up"));
        }
        return steps.say(turn, [phrase("retry.didnt_catch"), askFor(skill, name, state.language)]);
      }
      const args = { ...pending.args, [name]: value };
      const missing = requiredMissing(skill, args);
      if (missing.length) {
        state.pending = { ...pending, args, missing, attempts: 0 };
        return steps.say(turn, askFor(skill, missing[0]!, state.language));
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
        if (!ends) return steps.say(turn, phrase("message.cancelled"));
        steps.say(turn, goodbye(live.row.channel));
        return steps.finish(turn, "caller_done");
      }
      if (pending.step === "message") {
        state.pending = { kind: "take_message", step: "callback", message: text };
        return steps.say(turn, phrase("message.ask_callback"));
      }
      const phone = extract("phone", text, { phoneRegion: steps.phoneRegion(live) });
      state.pending = null;
      state.variables.message = pending.message;
      state.variables.callback_number = phone.ok ? phone.value : text;
      state.goalCompleted = true;
      return steps.say(turn, phrase("message.taken"));
    }
    case "collect_digits": {
      const digits = keyed ? text.replace(/[#*]$/, "") : (extract("digits", text) as { ok: boolean; value?: string }).value;
      if (!digits) {
        pending.attempts++;
        if (pending.attempts > 2) {
          state.pending = null;
          return steps.say(turn, phrase("digits.give_up"));
        }
        return steps.say(turn, phrase("digits.retry"));
      }
      state.pending = null;
      state.variables[pending.variable] = digits;
      return steps.say(turn, phrase("digits.thanks"));
    }
    case "offer_transfer": {
      // Keys answer as on a confirm step: 1 yes, 2 no.
      if (keyed && text !== "1" && text !== "2") return steps.say(turn, phrase("keypad.options", { keys: ["1", "2"] }));
      const answer = extract("yes_no", keyed ? (text === "1" ? "yes" : "no") : text);
      state.pending = null;
      if (answer.ok && answer.value) return handOff(steps, turn, pending.reason);
      if (answer.ok) return steps.say(turn, phrase("anything_else.declined"));
      return steps.think(turn, text);
    }
  }
}

export function requiredMissing(skill: CompiledSkill, args: Record<string, unknown>): string[] {
  const required = skill.requiredParams.length ? skill.requiredParams : (skill.parametersSchema.required ?? []);
  return required.filter((p) => args[p] === undefined || args[p] === null || args[p] === "");
}

export function askFor(skill: CompiledSkill, param: string, language: string): Phrase {
  const description = skill.parametersSchema.properties?.[param]?.description?.replace(/\.$/, "").replace(/^(the|your)\s+/i, "");
  return phrase("ask.field", { field: description ? lowerCased(description, language, true) : label(param) });
}

/** The skill's description and arguments are the operator's and the caller's words, said as they are, mid-sentence. */
export function confirmationQuestion(skill: CompiledSkill, args: Record<string, unknown>, language: string): Phrase[] {
  const details = Object.entries(args)
    .filter(([, v]) => v !== undefined && v !== null && v !== "")
    .map(([k, v]) => `${k.replace(/_/g, " ")} ${v}`);
  const action = lowerCased(skill.description.replace(/\.$/, ""), language, false);
  return [
    details.length ? phrase("confirm.ask_details", { action, details: details.join(", ") }) : phrase("confirm.ask", { action }),
    ...(skill.stakes === "high" ? [phrase("confirm.irreversible")] : []),
    phrase("confirm.go_ahead"),
  ];
}

/**
 * Operator text set mid-sentence: lower-cased (its first letter, or all of it), except in German, which capitalizes
 * nouns ("Termin buchen", not "termin buchen").
 */
function lowerCased(text: string, language: string, all: boolean): string {
  if (language.split("-")[0]!.toLowerCase() === "de") return text;
  return all ? text.toLowerCase() : `${text.charAt(0).toLowerCase()}${text.slice(1)}`;
}
