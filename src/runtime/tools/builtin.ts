// builtin: call-control actions the runtime performs itself.
import { Type, type Static } from "@sinclair/typebox";
import { oneOf, requiredWhen } from "./schema.ts";
import type { RunSkill, SkillOutcome } from "./types.ts";

const BUILTIN_ACTIONS = ["end_call", "take_message", "repeat", "collect_digits"] as const;

export const BuiltinConfig = Type.Object(
  {
    action: oneOf(BUILTIN_ACTIONS),
    message: Type.Optional(Type.String({ maxLength: 1000, description: "end_call: what to say before hanging up" })),
    variable: Type.Optional(Type.String({ pattern: "^[A-Za-z_][A-Za-z0-9_]{0,63}$", description: "collect_digits: the conversation variable that receives the digits" })),
    max_digits: Type.Optional(Type.Integer({ minimum: 1, maximum: 32, description: "collect_digits: stop after this many digits" })),
    submit_key: Type.Optional(oneOf(["#", "*"], { description: "collect_digits: the key that ends the entry" })),
    prompt: Type.Optional(Type.String({ maxLength: 1000, description: "collect_digits: what to ask the caller to key in" })),
  },
  { allOf: [requiredWhen("action", "collect_digits", ["variable"])] },
);
export type BuiltinConfig = Static<typeof BuiltinConfig>;

export const builtinExecutor: RunSkill = async (skill) => {
  const config = skill.executionConfig as BuiltinConfig;
  switch (config.action) {
    case "end_call":
      return config.message ? { kind: "end_call", message: config.message } : { kind: "end_call" };
    case "take_message":
      return { kind: "take_message" };
    case "repeat":
      return { kind: "repeat" };
    case "collect_digits": {
      const outcome: SkillOutcome = { kind: "collect_digits", variable: config.variable! };
      if (config.max_digits !== undefined) outcome.maxDigits = config.max_digits;
      if (config.submit_key !== undefined) outcome.submitKey = config.submit_key;
      if (config.prompt !== undefined) outcome.prompt = config.prompt;
      return outcome;
    }
  }
};
