// What a conversation carries from one turn to the next. Stored as JSON on the conversation row.

export interface PlaybookPosition {
  playbookId: string;
  nodeId: string;
  /** What the current node waits for. */
  awaiting: "collect" | "confirm" | null;
  retries: number;
  /** A confirm node was answered yes on the way here: the next write needs no second confirmation. */
  confirmed: boolean;
}

/** An action held back until the caller answers: a confirmation, missing parameters, or verification. */
export type PendingAction =
  | { kind: "confirm_skill"; skillId: string; args: Record<string, unknown>; fromPlaybook: boolean }
  | { kind: "collect_params"; skillId: string; args: Record<string, unknown>; missing: string[]; attempts: number; fromPlaybook: boolean }
  | { kind: "verify"; configId: string; field: number; resume: { skillId: string; args: Record<string, unknown>; fromPlaybook: boolean } | null }
  | { kind: "take_message"; step: "message" | "callback"; message?: string }
  | { kind: "collect_digits"; variable: string; attempts: number }
  | { kind: "offer_transfer"; reason: string };

export interface VerificationState {
  verified: boolean;
  /** Epoch ms after which the verification no longer counts (tokenTtlSeconds). */
  expiresAt: number | null;
  attempts: number;
  locked: boolean;
  collected: Record<string, string>;
  /** Skills re-verified for (stepUpFor), at the time of the verification that allowed them. */
  steppedUp: string[];
}

export interface ConversationState {
  variables: Record<string, unknown>;
  playbook: PlaybookPosition | null;
  pending: PendingAction | null;
  verification: VerificationState;
  /** Epoch ms of recent tool calls (rate limits) and the total this conversation. */
  toolCallTimes: number[];
  toolCallCount: number;
  sentimentScores: number[];
  negativeTurns: number;
  language: string;
  lastAgentText: string;
  /** Recent turns for a model's context window, in the order they were said. */
  history: { role: "user" | "assistant"; content: string }[];
  /**
   * The history holds each caller message before the answers to it. Absent from states stored before that was so;
   * their history is rebuilt from the transcript when they resume.
   */
  historyInOrder?: boolean;
  /**
   * Values of verified-only fields seen in tool results, whether the caller was verified then or not: never to be
   * spoken to a caller who is not (or no longer) verified.
   */
  guardedValues: string[];
  /**
   * Variables kept while the caller was verified that hold verified-only data, each with the JSON of the value it held
   * then: kept from a brain while the caller is not verified, until something else is stored under the name. Absent
   * from states stored before it existed.
   */
  verifiedOnlyVariables?: Record<string, string>;
  /**
   * Variables a playbook question was answered into (not `persist` steps): forgotten when a playbook asking them
   * starts again. Absent from states stored before it existed (their playbooks keep earlier answers).
   */
  playbookAnswers?: string[];
  goalCompleted: boolean;
  transferredTo: string | null;
  idleReminders: number;
}

export function initialState(language: string, variables: Record<string, unknown>): ConversationState {
  return {
    variables,
    playbook: null,
    pending: null,
    verification: { verified: false, expiresAt: null, attempts: 0, locked: false, collected: {}, steppedUp: [] },
    toolCallTimes: [],
    toolCallCount: 0,
    sentimentScores: [],
    negativeTurns: 0,
    language,
    lastAgentText: "",
    history: [],
    historyInOrder: true,
    guardedValues: [],
    verifiedOnlyVariables: {},
    playbookAnswers: [],
    goalCompleted: false,
    transferredTo: null,
    idleReminders: 0,
  };
}

export const HISTORY_TURNS = 20;
