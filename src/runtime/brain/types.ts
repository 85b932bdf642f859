// A brain decides what the agent does next in a turn. Two implementations share this interface: the built-in
// deterministic brain and the OpenAI-compatible one. Neither executes anything: the runtime runs skills, and
// guardrails judge every action and every reply.
import type { PhoneRegion } from "../../platform/e164.ts";
import type { HoursStatus } from "../business-hours.ts";
import type { AgentSettings, CompiledPlaybook, CompiledSkill } from "../compiled.ts";
import type { ConversationState } from "../state.ts";
import type { Speech } from "../phrases/index.ts";
import type { Passage } from "../tools/types.ts";

export interface ToolResult {
  callId: string;
  skill: CompiledSkill;
  args: Record<string, unknown>;
  /** What the caller may know of the outcome, after guardrails filtered it. */
  result: Record<string, unknown>;
  ok: boolean;
}

export interface BrainContext {
  agent: AgentSettings;
  /** Skills this channel may call. */
  skills: CompiledSkill[];
  playbooks: CompiledPlaybook[];
  state: Readonly<ConversationState>;
  /** The conversation in the order it was said, ending with this turn: the caller's input, then anything said since. */
  history: ConversationState["history"];
  userText: string;
  language: string;
  passages: Passage[];
  hours: HoursStatus;
  /** How a phone number the caller says without its country code is read. */
  phoneRegion: PhoneRegion;
  verified: boolean;
  channel: "voice" | "chat";
  /** Tool calls already made in this turn, with their (filtered) results. */
  toolResults: ToolResult[];
  signal: AbortSignal;
  /** Streams reply text as it is produced (chat streaming); the runtime screens it before it leaves. */
  onDelta?: (text: string) => void;
}

export type BrainAction =
  /**
   * `text`: a model's words, or the built-in brain's fixed sentences (phrases), said in the conversation's language.
   * `citations`: the knowledge passages the reply was drawn from, cited on its agent_message event.
   */
  | { type: "reply"; text: Speech; citations?: Passage[] }
  | { type: "call_skill"; callId: string; skill: CompiledSkill; args: Record<string, unknown> }
  | { type: "start_playbook"; playbook: CompiledPlaybook }
  | { type: "transfer"; reason: string }
  | { type: "end"; text: string | null };

export interface Brain {
  readonly name: "builtin" | "openai-compatible";
  next(ctx: BrainContext): Promise<BrainAction[]>;
}
