// transfer: hand the caller to a person, at a fixed number or wherever the agent's handoff rules say.
import { Type, type Static } from "@sinclair/typebox";
import type { RunSkill } from "./types.ts";

export const TransferConfig = Type.Object({
  destination: Type.Optional(Type.String({ minLength: 3, maxLength: 32, description: "Phone number, stored in E.164; omit to use the agent's handoff rules" })),
  warm: Type.Optional(
    Type.Boolean({ description: "Summarise the caller and the reason to the person before connecting (true) or connect at once (false); omit to follow the agent's handoffConfig.warm" }),
  ),
});
export type TransferConfig = Static<typeof TransferConfig>;

export const transferExecutor: RunSkill = async (skill, args) => {
  const config = skill.executionConfig as TransferConfig;
  return {
    kind: "transfer",
    destination: config.destination ?? null,
    ...(config.warm !== undefined ? { warm: config.warm } : {}),
    ...(typeof args.reason === "string" ? { reason: args.reason } : {}),
  };
};
