// The contract between the conversation runtime and skill executors ("skills as tools").
// The runtime decides whether a call may happen (guardrails); an executor only performs it.
import type { AgentSettings, CompiledSkill } from "../compiled.ts";

export interface SkillCallContext {
  organizationId: string;
  agentId: string;
  conversationId: string;
  channel: "voice" | "chat";
  /** Conversation variables: collected slots, skill outputs, caller_number, caller_name, verified… */
  variables: Readonly<Record<string, unknown>>;
  /**
   * The skill's declared dataEgressMap names, when it declares one: templates may fill only these (arguments or
   * variables); a template naming anything else is refused with `data_egress_refused` before anything is sent.
   */
  dataEgress?: readonly string[] | null;
  signal: AbortSignal;
  /** The agent's business hours (its compiled settings): integrations that book or check times use them. */
  businessHours?: AgentSettings["businessHours"];
}

export type SkillOutcome =
  /**
   * The action ran; `data` is what it returned, `variables` the values mapped into conversation variables and
   * `variableSources` the dotted path in `data` each came from (so guardrails can hold back a withheld field).
   */
  | { kind: "result"; data: Record<string, unknown>; variables?: Record<string, unknown>; variableSources?: Record<string, string> }
  /** Hand the caller to a person: a fixed number, or null to use the agent's handoff rules; no `warm` = the agent's. */
  | { kind: "transfer"; destination: string | null; warm?: boolean; reason?: string }
  | { kind: "end_call"; message?: string }
  | { kind: "take_message" }
  | { kind: "repeat" }
  | { kind: "collect_digits"; variable: string; maxDigits?: number; submitKey?: string; prompt?: string }
  | { kind: "start_playbook"; playbookId: string }
  /** The action could not run; `code` is stable (integration_not_connected, timeout, http_error, egress_refused, …). */
  | { kind: "error"; code: string; message: string; fields?: string[] };

export type RunSkill = (skill: CompiledSkill, args: Record<string, unknown>, ctx: SkillCallContext) => Promise<SkillOutcome>;

/** Retrieval from the agent's knowledge, shared by the knowledge_query skill and the brains. */
export interface Passage {
  id: string;
  text: string;
  score: number;
  sourceId: string;
  sourceUrl?: string | null;
  question?: string | null;
}

/**
 * A passage at least this relevant (fused score) answers a question: a model's reply cites it, and a knowledge gap
 * counts as covered once a source yields one. (The built-in brain judges the sentences it retrieved: brain/answers.ts.)
 */
export const ANSWER_THRESHOLD = 0.35;

export interface RetrievalOptions {
  /** Ends the search early (the turn's signal: the caller went away). */
  signal?: AbortSignal;
  /** The most the search may take (default: KNOWLEDGE_SEARCH_TIMEOUT_MS); past it, RetrievalTimeoutError. */
  deadlineMs?: number;
}

export interface Retriever {
  search(input: { organizationId: string; agentId: string; query: string; limit?: number; sourceIds?: string[] }, options?: RetrievalOptions): Promise<Passage[]>;
}

/** Knowledge did not come back within its deadline (a hung search engine or embeddings server): answer without it. */
export class RetrievalTimeoutError extends Error {
  override name = "RetrievalTimeoutError";
  readonly code = "knowledge_search_timeout";
  constructor(readonly deadlineMs: number) {
    super(`knowledge search did not answer within ${deadlineMs} ms`);
  }
}
