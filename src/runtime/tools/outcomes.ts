import type { SkillOutcome } from "./types.ts";

export const failure = (code: string, message: string): SkillOutcome => ({ kind: "error", code, message });
