import type { SkillOutcome } from "./types.ts";

export const failure = (code: string, message: string): SkillOutcome => ({ kind: "error", code, message });

/** A template named something the skill's dataEgressMap does not declare: nothing was sent. */
export const egressRefused = (names: string[]): SkillOutcome => ({
  kind: "error",
  code: "data_egress_refused",
  message: `the skill's templates use ${names.map((n) => `{${n}}`).join(", ")}, which its dataEgressMap does not declare`,
  fields: names,
});
