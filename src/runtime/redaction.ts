// What a conversation writes when its agent redacts PII (content_policy redactPii): every string a caller could have
// put there passed through redactPii. The raw values stay only in memory, in the live conversation.
import { fingerprint } from "./guardrails.ts";
import type { ConversationState } from "./state.ts";
import { redactPiiDeep } from "./text.ts";

/**
 * The state as stored. A verified-only variable's mark is taken again from its redacted value (a mark is the JSON of
 * the value it was set for, numbers included), so a variable held back from the brain is still held back when the
 * conversation resumes from storage.
 */
export function redactedState(state: ConversationState): ConversationState {
  const stored = redactPiiDeep(state);
  for (const [name, mark] of Object.entries(state.verifiedOnlyVariables ?? {})) {
    if (mark === fingerprint(state.variables[name])) stored.verifiedOnlyVariables![name] = fingerprint(stored.variables[name]);
  }
  return stored;
}
