// playbook: hand the conversation to one of the agent's playbooks, which gathers its inputs over several turns.
import { Type, type Static } from "@sinclair/typebox";
import type { RunSkill } from "./types.ts";

export const PlaybookConfig = Type.Object({
  playbookId: Type.String({ minLength: 1, maxLength: 64, description: "A playbook of the same agent" }),
});
export type PlaybookConfig = Static<typeof PlaybookConfig>;

export const playbookExecutor: RunSkill = async (skill) => ({ kind: "start_playbook", playbookId: (skill.executionConfig as PlaybookConfig).playbookId });
