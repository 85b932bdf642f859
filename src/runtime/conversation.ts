// The conversation runtime: one engine behind every channel (chat, widget, OpenAI-compatible, voice, simulate,
// probe). It runs a compiled agent (a published version, or the draft in test mode) turn by turn:
// input (text, keyed digits, silence) → what the agent says, plus transfers and endings, with every step
// recorded in the receipt. Brains propose; guardrails decide; skills act only through `executeSkill`.
import type { Logger } from "../platform/log.ts";
import { type Metrics, observeTurn, traced } from "../platform/telemetry/index.ts";
import { trimEndWhere } from "../platform/caller-text.ts";
import { idTime, newId } from "../platform/ids.ts";
import { WANTS_END, WANTS_REPEAT, builtinBrain, endCallPhrasesEnabled, extractParameter, wantsPerson } from "./brain/builtin.ts";
import { createOpenAiCompatibleBrain, type LlmSettings } from "./brain/openai-compatible.ts";
import type { Brain, BrainAction, ToolResult } from "./brain/types.ts";
import type { CompiledConfig, CompiledSkill, CompiledVerification } from "./compiled.ts";
import { extract, localNow } from "./extractors.ts";
import { fingerprint, Guardrails, verificationMethodAvailable, type GuardrailEvent } from "./guardrails.ts";
import { PlaybookRunner, type SkillCallResult } from "./playbooks/interpreter.ts";
import { Receipt, type AuditEvent } from "./receipt.ts";
import { redactedState } from "./redaction.ts";
import { HISTORY_TURNS, initialState, type ConversationState } from "./state.ts";
import type { ConversationRow, ConversationStore, NewMessage } from "./store.ts";
import { summarizeConversation } from "./summary.ts";
import { overlapScore, redactPii, redactPiiDeep, sentimentLabel, sentimentScore, tokens } from "./text.ts";
import { ANSWER_THRESHOLD, type Passage, type Retriever, type RunSkill, type SkillCallContext } from "./tools/types.ts";

export type Channel = "voice" | "chat";

export type RuntimeInput =
  | { type: "text"; text: string; language?: string; asrConfidence?: number }
  | { type: "dtmf"; digits: string }
  | { type: "silence" }
  /** The voice channel could not complete the transfer the last turn asked for. */
  | { type: "transfer_failed"; reason: string }
  /** The call reached its maximum length while the caller was silent. */
  | { type: "call_timeout" };

export interface TurnSink {
  event?(event: AuditEvent): void;
  /** Reply text as it becomes sayable (already screened by the guardrails). */
  delta?(text: string): void;
}

export interface Transfer {
  destination: string;
  warm: boolean;
  summary: string;
  reason: string;
}

export interface StoredMessage {
  id: string;
  text: string;
  tsMs: number;
  /** The conversation's language when it was said (a voice channel speaks and hears in it). */
  language?: string;
}

export interface TurnResult {
  conversationId: string;
  /** The caller's input as stored (null for silence). */
  userMessage: StoredMessage | null;
  /** What the agent said this turn, after guardrails, in order. */
  replies: StoredMessage[];
  transfer: Transfer | null;
  ended: boolean;
  endReason: string | null;
  /** Keypad settings when the agent now waits for a keyed answer (voice channel). */
  awaitingDtmf: { expectedDigits?: number; submitKey?: string } | null;
  /** The agent redacts PII (content policy): whatever a channel stores of this result must be redactPiiDeep'd first. */
  redactsPii?: boolean;
}

export interface StartOptions {
  organizationId: string;
  agentId: string;
  agentVersionId: string | null;
  draftMode: boolean;
  compiled: CompiledConfig;
  channel: Channel;
  source: string;
  callerNumber?: string | null;
  callerName?: string | null;
  metadata?: Record<string, unknown>;
  /** Say the greeting (default). Channels that answer a message at once (OpenAI-compatible) open silently. */
  greet?: boolean;
  /** Earlier turns the client already had with the agent (OpenAI-compatible `messages`), as context. */
  history?: { role: "user" | "assistant"; content: string }[];
  /** Widget conversations: the publishable key and anonymous visitor they belong to. */
  publishableKeyId?: string | null;
  visitorId?: string | null;
}

export interface RuntimeDeps {
  store: ConversationStore;
  runSkill: RunSkill;
  llm: LlmSettings | null;
  retriever: Retriever | null;
  /** The compiled configuration a stored conversation runs (its version, or the current draft). */
  loadCompiled(row: ConversationRow): Promise<CompiledConfig>;
  clock?: () => number;
  log: Logger;
  /** Turn latency by channel. (Spans need nothing: each follows the trace its caller is in, if any.) */
  metrics?: Metrics;
  fetch?: typeof fetch;
  /** A question the agent could not answer (knowledge gaps). */
  onUnanswered?(input: { organizationId: string; agentId: string; conversationId: string; question: string }): void;
}

interface Live {
  row: ConversationRow;
  compiled: CompiledConfig;
  guardrails: Guardrails;
  receipt: Receipt;
  state: ConversationState;
  skills: CompiledSkill[];
  runners: Map<string, PlaybookRunner>;
  lock: Promise<unknown>;
  lastUsed: number;
  /**
   * The earliest millisecond the next message id may carry: after the last one stored, so a conversation resumed on a
   * replica whose clock is behind still lists its new messages last (transcripts are read in id order).
   */
  messageFloorMs: number;
}

/** Everything one turn produces, gathered as it happens. */
class Turn {
  messages: NewMessage[] = [];
  result: TurnResult;
  toolResults: ToolResult[] = [];
  toolMs = 0;
  stop = false;
  /** A knowledge gap was recorded for this turn's question already. */
  gapRecorded = false;
  /** The brain was shown the conversation without its verified-only data (recorded once a turn). */
  brainWithheldNoted = false;
  /** The caller's input is in state.history (text is; keyed digits are not). */
  heard = false;
  constructor(
    readonly live: Live,
    readonly sink: TurnSink,
    readonly signal: AbortSignal,
  ) {
    this.result = { conversationId: live.row.id, userMessage: null, replies: [], transfer: null, ended: false, endReason: null, awaitingDtmf: null, redactsPii: live.guardrails.redactsPii };
  }
}

const MAX_BRAIN_ROUNDS = 5;
const LIVE_MAX = 5000;
const LIVE_IDLE_MS = 30 * 60_000;
const EMERGENCY = /\b(emergency|urgent|flood(ing)?|fire|gas leak|burst pipe|no heat|smell gas)\b/i;
const QUESTION = /\?|^\s*(what|when|where|who|why|how|which|do|does|did|is|are|can|could|will|would|should)\b/i;
const FIELD_LABELS: Record<string, string> = { dob: "date of birth", date_of_birth: "date of birth", postcode: "postcode", zip: "ZIP code", pin: "PIN", account_number: "account number", phone: "phone number", last_name: "last name" };

export class ConversationRuntime {
  private live = new Map<string, Live>();
  private readonly clock: () => number;
  private readonly brain: Brain;

  constructor(private deps: RuntimeDeps) {
    this.clock = deps.clock ?? Date.now;
    this.brain = deps.llm ? createOpenAiCompatibleBrain(deps.llm, deps.fetch) : builtinBrain;
  }

  get brainName() {
    return this.brain.name;
  }

  /** Open a conversation and greet. */
  async start(opts: StartOptions, sink: TurnSink = {}): Promise<TurnResult> {
    const language = opts.compiled.agent.primaryLanguage;
    const variables: Record<string, unknown> = { caller_number: opts.callerNumber ?? null, caller_name: opts.callerName ?? null, verified: false };
    // The row is stored with the first turn's writes (one statement), not on its own.
    const row: ConversationRow = {
      id: newId("conv"),
      organizationId: opts.organizationId,
      agentId: opts.agentId,
      agentVersionId: opts.agentVersionId,
      draftMode: opts.draftMode,
      channel: opts.channel,
      source: opts.source,
      status: "active",
      outcome: null,
      summary: null,
      topic: null,
      sentiment: null,
      language,
      callerNumber: opts.callerNumber ?? null,
      userTurnCount: 0,
      goalCompleted: false,
      state: initialState(language, variables) as unknown as Record<string, unknown>,
      metadata: opts.metadata ?? {},
      publishableKeyId: opts.publishableKeyId ?? null,
      visitorId: opts.visitorId ?? null,
      startedAt: new Date(this.clock()),
      endedAt: null,
    };
    const live = this.attach(row, opts.compiled, 0);
    return traced("conversation.start", { "conversation.id": row.id, "conversation.channel": row.channel }, () => this.withLock(live, async () => {
      const turn = new Turn(live, sink, new AbortController().signal);
      live.receipt.listen(sink.event);
      live.receipt.add("call_started", { agentId: row.agentId, agentVersionId: row.agentVersionId, draftMode: row.draftMode, source: row.source, channel: row.channel, brain: this.brain.name });
      for (const h of opts.history ?? []) this.remember(live.state, h.role, h.content);
      if (opts.greet === false) {
        // Opened to answer a message at once (OpenAI-compatible): the turn that follows stores both together.
        return turn.result;
      }
      this.say(turn, this.greeting(live));
      await this.persist(turn);
      return turn.result;
    }));
  }

  /** One caller input, answered. */
  async turn(organizationId: string, conversationId: string, input: RuntimeInput, sink: TurnSink = {}, signal: AbortSignal = new AbortController().signal): Promise<TurnResult> {
    const live = await this.resume(organizationId, conversationId);
    return observeTurn(this.deps.metrics, live.row.channel, conversationId, () => this.withLock(live, async () => {
      if (live.row.status === "ended") throw new ConversationEndedError(conversationId);
      const turn = new Turn(live, sink, signal);
      live.receipt.listen(sink.event);
      const started = this.clock();
      try {
        await this.handle(turn, input);
      } catch (error) {
        if (signal.aborted) {
          // The caller left mid-turn (a closed stream): nobody is there to apologize to.
          live.receipt.add("error", { code: "client_disconnected", message: "the client went away during the turn" });
        } else {
          // A brain or skill failure never leaves the caller in silence.
          this.deps.log.warn("turn failed", { conversationId, error });
          live.receipt.add("error", { code: "turn_failed", message: error instanceof Error ? error.message : String(error) });
          this.say(turn, "I'm sorry, something went wrong on my side. Could you say that again?");
        }
      }
      this.maybeEndForLength(turn);
      live.receipt.add("latency", { turnMs: this.clock() - started, toolMs: turn.toolMs, brain: this.brain.name });
      await this.persist(turn);
      return turn.result;
    }));
  }

  /** Close a conversation (caller hung up, chat ended). Ending twice is harmless. */
  async end(organizationId: string, conversationId: string, reason: string, sink: TurnSink = {}): Promise<void> {
    const live = await this.resume(organizationId, conversationId);
    await traced("conversation.end", { "conversation.id": conversationId, "conversation.end_reason": reason }, () => this.withLock(live, async () => {
      if (live.row.status === "ended") return;
      const turn = new Turn(live, sink, new AbortController().signal);
      live.receipt.listen(sink.event);
      this.finish(turn, reason);
      await this.persist(turn);
    }));
  }

  /**
   * Record what a channel saw between turns (a barge-in, a filler it played, its own latency figures). The event
   * joins the receipt at once and is stored with the next turn's writes, so noting costs no storage round trip.
   */
  note(conversationId: string, eventType: "barge_in" | "filler" | "latency" | "error", payload: Record<string, unknown>): void {
    this.live.get(conversationId)?.receipt.add(eventType, payload);
  }

  /** A conversation's row as the runtime holds it (fresh for live ones, stored otherwise), or null. */
  async describe(organizationId: string, conversationId: string): Promise<ConversationRow | null> {
    const live = this.live.get(conversationId);
    if (live) return live.row.organizationId === organizationId ? live.row : null;
    return this.deps.store.load(organizationId, conversationId);
  }

  /** Where the playbook waits for keyed digits, for the voice channel. */
  awaitingDtmf(conversationId: string) {
    const live = this.live.get(conversationId);
    const pos = live?.state.playbook;
    const dtmf = pos ? live!.runners.get(pos.playbookId)?.awaitingDtmf(live!.state) : null;
    return dtmf ? { expectedDigits: dtmf.expectedDigits, submitKey: dtmf.submitKey ?? "#" } : null;
  }

  // ---------------------------------------------------------------- turn handling

  private async handle(turn: Turn, input: RuntimeInput) {
    const { live } = turn;
    const state = live.state;
    if (input.type === "silence") return this.onSilence(turn);
    if (input.type === "call_timeout") {
      this.say(turn, live.compiled.agent.callControl.maxDurationMessage ?? "We've reached the time limit for this call. Thank you for calling, goodbye!");
      return this.finish(turn, "max_duration");
    }
    if (input.type === "transfer_failed") {
      live.receipt.add("handoff", { status: "failed", destination: state.transferredTo, reason: input.reason });
      state.transferredTo = null;
      state.pending = { kind: "take_message", step: "message" };
      return this.say(turn, "I'm sorry, I couldn't reach anyone just now. I can take a message for the team instead. What would you like me to pass on?");
    }

    const text = input.type === "text" ? input.text.trim() : input.digits;
    live.receipt.add(
      "user_utterance",
      input.type === "text" ? { text, isFinal: true, language: input.language ?? state.language, asrConfidence: input.asrConfidence ?? null } : { text, isFinal: true, dtmf: true, language: state.language, asrConfidence: null },
    );
    const userMessage = { id: this.messageId(live), role: "user" as const, content: text, language: state.language, tsMs: this.elapsed(live) };
    turn.messages.push(userMessage);
    turn.result.userMessage = { id: userMessage.id, text, tsMs: userMessage.tsMs };
    // Into the model's context before anything is said this turn, so it reads each answer after its question.
    // Keyed digits stay out of later turns' context (they are shown to the brain only in the turn they are keyed).
    if (input.type === "text") this.remember(state, "user", text);
    turn.heard = input.type === "text";
    state.idleReminders = 0;
    live.row.userTurnCount++;
    // A verification lasts tokenTtlSeconds: once it lapses, the reserved variable (and so a model's prompt) says so.
    if (state.variables.verified === true && !live.guardrails.isVerified(state)) state.variables.verified = false;
    if (input.type === "text" && input.language && input.language !== state.language && live.compiled.agent.languages.includes(input.language) && live.compiled.agent.languageMode === "code_switch") {
      live.receipt.add("language_switch", { from: state.language, to: input.language });
      state.language = input.language;
    }
    // One- and two-word answers ("no", "no thanks") say nothing about the caller's mood.
    const score = input.type === "text" && text.split(/\s+/).length > 2 ? sentimentScore(text) : 0;
    state.sentimentScores.push(score);
    if (score < 0) state.negativeTurns++;

    const banned = live.guardrails.screenInput(text);
    if (banned) {
      this.guardrailEvents(live, [{ policyType: "content_policy", decision: "blocked", reason: `banned topic: ${banned.topic}` }]);
      return this.say(turn, "I'm sorry, that's not something I can help with. Is there anything else?");
    }
    const threshold = live.guardrails.escalationThreshold;
    if (threshold !== null && state.negativeTurns >= threshold && score < 0) {
      this.guardrailEvents(live, [{ policyType: "content_policy", decision: "escalated", reason: `${state.negativeTurns} negative turns` }]);
      state.negativeTurns = 0;
      state.pending = { kind: "offer_transfer", reason: "caller frustrated" };
      return this.say(turn, "I'm sorry this has been frustrating. Would you like me to connect you with a person?");
    }
    if (state.pending) return await this.onPending(turn, text, input.type === "dtmf");
    if (input.type === "text" && wantsPerson(text)) return await this.transfer(turn, text);
    if (input.type === "text" && WANTS_REPEAT.test(text) && state.lastAgentText) return this.say(turn, state.lastAgentText);

    if (state.playbook) {
      const runner = live.runners.get(state.playbook.playbookId);
      if (runner) return await runner.input(state, this.host(turn, runner), input.type === "dtmf" ? { digits: text } : { text });
      state.playbook = null;
    }
    await this.think(turn, text);
  }

  /** Let the brain decide, run what it asks for (through guardrails), until it replies. */
  private async think(turn: Turn, text: string) {
    const { live } = turn;
    const passages = await this.retrieve(turn, text);
    const repliesBefore = turn.result.replies.length;
    for (let round = 0; round < MAX_BRAIN_ROUNDS && !turn.stop && !turn.signal.aborted; round++) {
      const streamed = this.screenedStream(turn);
      const state = this.brainState(turn);
      const actions = await traced("brain", { "brain.name": this.brain.name, "brain.round": round }, () => this.brain.next({
        agent: live.compiled.agent,
        skills: live.skills,
        playbooks: live.compiled.playbooks,
        state,
        history: turn.heard ? state.history : [...state.history, { role: "user", content: text }],
        userText: text,
        language: live.state.language,
        passages,
        hours: live.guardrails.hours(),
        verified: live.guardrails.isVerified(live.state),
        channel: live.row.channel as Channel,
        toolResults: turn.toolResults,
        signal: turn.signal,
        onDelta: streamed.push,
      }));
      let calledTools = false;
      for (const action of actions) {
        if (turn.stop) break;
        if (action.type === "reply") {
          const said = streamed.finish(action.text);
          if (said.text) this.say(turn, said.text, { screened: said.screened, citations: action.citations });
          else if (!actions.some((a) => a.type !== "reply")) this.say(turn, this.dontKnow(turn, text, passages));
          continue;
        }
        calledTools ||= action.type === "call_skill";
        await this.act(turn, action);
      }
      if (!calledTools) break;
    }
    // A model answers in its own words, so nothing tells the runtime it did not know: a question that found no
    // relevant passage and took no action is recorded as a knowledge gap all the same.
    const answeredFromKnowledge = (passages[0]?.score ?? 0) >= ANSWER_THRESHOLD;
    if (this.brain.name === "openai-compatible" && QUESTION.test(text) && !answeredFromKnowledge && !turn.toolResults.length && !turn.stop && !turn.gapRecorded && turn.result.replies.length > repliesBefore) {
      this.deps.onUnanswered?.({ organizationId: live.row.organizationId, agentId: live.row.agentId, conversationId: live.row.id, question: text });
    }
  }

  /** The state a brain is shown: verified-only data left out while the caller is not verified (noted once a turn). */
  private brainState(turn: Turn): ConversationState {
    const { live } = turn;
    const view = live.guardrails.brainView(live.state);
    if (!view.withheldVariables.length && !view.maskedMessages) return live.state;
    if (!turn.brainWithheldNoted) {
      turn.brainWithheldNoted = true;
      const masked = view.maskedMessages ? `; ${view.maskedMessages} earlier message${view.maskedMessages === 1 ? "" : "s"} masked` : "";
      const reason = `verified callers only: kept from the brain while the caller is not verified${masked}`;
      this.guardrailEvents(live, [{ policyType: "verify_before_disclose", decision: "redacted", reason, fields: view.withheldVariables }]);
    }
    // Nor the guarded values themselves.
    return { ...live.state, variables: view.variables, history: view.history, guardedValues: [], verifiedOnlyVariables: {} };
  }

  private async act(turn: Turn, action: BrainAction) {
    const { live } = turn;
    switch (action.type) {
      case "call_skill": {
        const outcome = await this.executeSkill(turn, action.skill, action.args, { confirmed: false, fromPlaybook: false, callId: action.callId });
        // A refusal the runtime already explained to the caller is the turn's answer: no second word from the brain.
        if (outcome.status === "error" && outcome.told) {
          turn.stop = true;
          return;
        }
        if (outcome.status === "ok" || outcome.status === "error") {
          turn.toolResults.push({ callId: action.callId, skill: action.skill, args: action.args, result: outcome.status === "ok" ? outcome.data : { error: "the action failed or was not allowed" }, ok: outcome.status === "ok" });
        } else turn.stop = true;
        return;
      }
      case "start_playbook":
        turn.stop = true;
        return this.startPlaybook(turn, action.playbook.id, turn.messages.findLast((m) => m.role === "user")?.content ?? null);
      case "transfer":
        turn.stop = true;
        return this.transfer(turn, action.reason);
      case "end":
        turn.stop = true;
        if (!endCallPhrasesEnabled(live.compiled.agent)) {
          // The operator turned end-call phrases off: a brain that wants to hang up on a goodbye keeps the line open.
          this.guardrailEvents(live, [{ policyType: "call_control", decision: "blocked", reason: "end-call phrases are disabled (callControl.endCallPhrasesEnabled)" }]);
          return this.say(turn, ANYTHING_ELSE);
        }
        this.say(turn, action.text || goodbye(live.row.channel));
        return this.finish(turn, "caller_done");
      case "reply":
        return;
    }
  }

  private async startPlaybook(turn: Turn, playbookId: string, utterance: string | null) {
    const runner = turn.live.runners.get(playbookId);
    if (!runner?.startable) return;
    await runner.start(turn.live.state, this.host(turn, runner), utterance);
  }

  // ---------------------------------------------------------------- skills

  /** The only way a skill runs: missing parameters, guardrails, then the executor; everything recorded. */
  private async executeSkill(turn: Turn, skill: CompiledSkill, args: Record<string, unknown>, opts: { confirmed: boolean; fromPlaybook: boolean; callId?: string }): Promise<SkillCallResult> {
    const { live } = turn;
    const state = live.state;
    const missing = requiredMissing(skill, args);
    if (missing.length) {
      state.pending = { kind: "collect_params", skillId: skill.id, args, missing, attempts: 0, fromPlaybook: opts.fromPlaybook };
      this.say(turn, askFor(skill, missing[0]!));
      return { status: "held" };
    }

    const auth = live.guardrails.authorize(skill, state, { channel: live.row.channel as Channel, confirmed: opts.confirmed });
    this.guardrailEvents(live, auth.events);
    const base = { callId: opts.callId ?? null, skillId: skill.id, skillName: skill.name, skillType: skill.skillType, arguments: args };
    switch (auth.kind) {
      case "block":
        live.receipt.add("tool_call", { ...base, status: "blocked", durationMs: 0 });
        this.say(turn, auth.say);
        return { status: "error", told: true };
      case "escalate":
        live.receipt.add("tool_call", { ...base, status: "escalated", durationMs: 0 });
        this.say(turn, auth.say);
        await this.transfer(turn, `escalation: ${skill.name}`);
        return { status: "left" };
      case "confirm":
        state.pending = { kind: "confirm_skill", skillId: skill.id, args, fromPlaybook: opts.fromPlaybook };
        this.say(turn, confirmationQuestion(skill, args));
        return { status: "held" };
      case "verify":
        return this.beginVerification(turn, auth.config, { skillId: skill.id, args, fromPlaybook: opts.fromPlaybook });
      case "allow":
        break;
    }

    const now = this.clock();
    state.toolCallTimes = [...state.toolCallTimes.filter((t) => t > now - 60_000), now];
    state.toolCallCount++;
    if (skill.expectedLatencyMs && skill.expectedLatencyMs >= 1500) {
      live.receipt.add("filler", { text: "One moment while I check that.", skillId: skill.id });
      this.say(turn, "One moment while I check that.");
    }
    args = this.egressArgs(live, skill, args);
    const started = this.clock();
    let outcome = await this.deps.runSkill(skill, args, this.skillContext(live, skill, turn.signal));
    const durationMs = this.clock() - started;
    turn.toolMs += durationMs;
    if (outcome.kind === "start_playbook" && !live.runners.get(outcome.playbookId)?.startable) {
      // The playbook was deleted, disabled, or has no start step since the skill was saved: say so, never go silent.
      live.receipt.add("error", { code: "playbook_unavailable", message: `skill ${skill.name} starts playbook ${outcome.playbookId}, which is not an enabled playbook of this agent version`, skillId: skill.id });
      outcome = { kind: "error", code: "playbook_unavailable", message: `playbook ${outcome.playbookId} is missing or disabled` };
    }

    switch (outcome.kind) {
      case "result": {
        const filtered = live.guardrails.filterResult(skill, outcome.data, state);
        live.receipt.add("tool_call", { ...base, status: "ok", result: filtered.data, durationMs });
        this.guardrailEvents(live, filtered.events);
        const held: Record<string, string[]> = {};
        for (const [name, value] of Object.entries(outcome.variables ?? {})) {
          const source = outcome.variableSources?.[name] ?? null;
          const policy = live.guardrails.variableHeldBy(name, value, source, filtered.withheld, state);
          if (policy) (held[policy] ??= []).push(name);
          else this.keepVariable(live, name, value, live.guardrails.variableIsVerifiedOnly(name, value, source, filtered.withheld, state));
        }
        for (const [policyType, fields] of Object.entries(held)) {
          this.guardrailEvents(live, [{ policyType, decision: "redacted", reason: "mapped variables would hold withheld fields; not kept", skill: skill.name, fields }]);
        }
        return { status: "ok", data: filtered.data };
      }
      case "error":
        if (outcome.code === "data_egress_refused") {
          live.receipt.add("tool_call", { ...base, status: "blocked", errorCode: outcome.code, error: outcome.message, durationMs });
          this.guardrailEvents(live, [{ policyType: "data_egress", decision: "blocked", reason: "templates name values outside the skill's dataEgressMap; nothing was sent", skill: skill.name, fields: outcome.fields ?? [] }]);
          return { status: "error" };
        }
        live.receipt.add("tool_call", { ...base, status: "error", errorCode: outcome.code, error: outcome.message, durationMs });
        if (skill.errorHandling.onError === "transfer") {
          this.say(turn, skill.errorHandling.message ?? "I'm having trouble with that. Let me connect you with someone.");
          await this.transfer(turn, `${skill.name} failed`);
          return { status: "left" };
        }
        return { status: "error" };
      default:
        live.receipt.add("tool_call", { ...base, status: "ok", result: { action: outcome.kind }, durationMs });
    }

    switch (outcome.kind) {
      case "transfer":
        await this.transfer(turn, outcome.reason ?? skill.description, { destination: outcome.destination, warm: outcome.warm });
        return { status: "left" };
      case "end_call":
        this.say(turn, outcome.message ?? goodbye(live.row.channel));
        this.finish(turn, "agent_ended");
        return { status: "left" };
      case "take_message":
        state.pending = { kind: "take_message", step: "message" };
        this.say(turn, "Of course. What message would you like me to pass on?");
        return { status: "held" };
      case "repeat":
        if (state.lastAgentText) this.say(turn, state.lastAgentText);
        return { status: "ok", data: {} };
      case "collect_digits":
        state.pending = { kind: "collect_digits", variable: outcome.variable, attempts: 0 };
        turn.result.awaitingDtmf = { expectedDigits: outcome.maxDigits, submitKey: outcome.submitKey ?? "#" };
        this.say(turn, outcome.prompt ?? "Please enter the number on your keypad, then press pound.");
        return { status: "held" };
      case "start_playbook":
        await this.startPlaybook(turn, outcome.playbookId, null);
        return { status: "left" };
    }
  }

  /**
   * Store a variable from a skill's answer. One that holds verified-only data (kept because the caller is verified) is
   * marked, and its values guarded, so it is kept from the brain and from replies once the verification lapses.
   */
  private keepVariable(live: Live, name: string, value: unknown, verifiedOnly: boolean) {
    const state = live.state;
    state.variables[name] = value;
    const marks = (state.verifiedOnlyVariables ??= {});
    if (!verifiedOnly) {
      delete marks[name];
      return;
    }
    marks[name] = fingerprint(value);
    // A variable named like a verified-only field is that field, whatever it came from: its value is guarded too.
    live.guardrails.guardVerifiedOnly({ [name]: value }, state);
  }

  /** A skill that declares its data egress sends only the arguments it declares, whatever the brain filled in. */
  private egressArgs(live: Live, skill: CompiledSkill, args: Record<string, unknown>): Record<string, unknown> {
    const declared = Object.keys(skill.dataEgressMap);
    const undeclared = declared.length ? Object.keys(args).filter((k) => !declared.includes(k)) : [];
    if (!undeclared.length) return args;
    this.guardrailEvents(live, [{ policyType: "data_egress", decision: "redacted", reason: "arguments outside the skill's dataEgressMap were not sent", skill: skill.name, fields: undeclared }]);
    return Object.fromEntries(Object.entries(args).filter(([k]) => declared.includes(k)));
  }

  /** What an executor may see of the conversation; templates of a skill with a dataEgressMap fill only what it declares. */
  private skillContext(live: Live, skill: CompiledSkill, signal: AbortSignal): SkillCallContext {
    const declared = Object.keys(skill.dataEgressMap);
    return {
      organizationId: live.row.organizationId,
      agentId: live.row.agentId,
      conversationId: live.row.id,
      channel: live.row.channel as Channel,
      variables: live.state.variables,
      dataEgress: declared.length ? declared : null,
      signal,
    };
  }

  // ---------------------------------------------------------------- pending answers

  private async onPending(turn: Turn, text: string, keyed: boolean) {
    const { live } = turn;
    const state = live.state;
    const pending = state.pending!;
    switch (pending.kind) {
      case "confirm_skill": {
        const answer = extract("yes_no", keyed ? (text === "1" ? "yes" : text === "2" ? "no" : "") : text);
        const skill = live.skills.find((s) => s.id === pending.skillId);
        if (!answer.ok || !skill) return this.say(turn, "Sorry, was that a yes or a no?");
        state.pending = null;
        if (!answer.value) {
          this.guardrailEvents(live, [{ policyType: "write_gate", decision: "blocked", reason: "caller declined the confirmation", skill: skill.name }]);
          this.say(turn, "Okay, I won't do that.");
          return this.afterHeld(turn, pending.fromPlaybook, { status: "error", told: true });
        }
        const outcome = await this.executeSkill(turn, skill, pending.args, { confirmed: true, fromPlaybook: pending.fromPlaybook });
        return this.afterHeld(turn, pending.fromPlaybook, outcome, skill, pending.args);
      }
      case "collect_params": {
        const skill = live.skills.find((s) => s.id === pending.skillId);
        if (!skill) {
          state.pending = null;
          return this.think(turn, text);
        }
        const name = pending.missing[0]!;
        const schema = skill.parametersSchema.properties?.[name] ?? {};
        const value = extractParameter(name, schema, text) ?? (schema.type === "string" || !schema.type ? text : undefined);
        if (value === undefined) {
          pending.attempts++;
          if (pending.attempts > 2) {
            state.pending = null;
            return this.say(turn, "I'm sorry, I couldn't get that. Let's try something else; how else can I help?");
          }
          return this.say(turn, `Sorry, I didn't catch that. ${askFor(skill, name)}`);
        }
        const args = { ...pending.args, [name]: value };
        const missing = requiredMissing(skill, args);
        if (missing.length) {
          state.pending = { ...pending, args, missing, attempts: 0 };
          return this.say(turn, askFor(skill, missing[0]!));
        }
        state.pending = null;
        const outcome = await this.executeSkill(turn, skill, args, { confirmed: false, fromPlaybook: pending.fromPlaybook });
        return this.afterHeld(turn, pending.fromPlaybook, outcome, skill, args);
      }
      case "verify":
        return this.continueVerification(turn, text);
      case "take_message": {
        const ends = WANTS_END.test(text) && endCallPhrasesEnabled(live.compiled.agent);
        if (ends || /^\W*(no|nope|never ?mind|cancel|forget it)\b/i.test(text)) {
          state.pending = null;
          if (!ends) return this.say(turn, "Okay, no message then. Anything else?");
          this.say(turn, goodbye(live.row.channel));
          return this.finish(turn, "caller_done");
        }
        if (pending.step === "message") {
          state.pending = { kind: "take_message", step: "callback", message: text };
          return this.say(turn, "Thanks. What's the best number to reach you on?");
        }
        const phone = extract("phone", text);
        state.pending = null;
        state.variables.message = pending.message;
        state.variables.callback_number = phone.ok ? phone.value : text;
        state.goalCompleted = true;
        return this.say(turn, "Got it. I'll pass your message on and someone will get back to you. Anything else?");
      }
      case "collect_digits": {
        const digits = keyed ? text.replace(/[#*]$/, "") : (extract("digits", text) as { ok: boolean; value?: string }).value;
        if (!digits) {
          pending.attempts++;
          if (pending.attempts > 2) {
            state.pending = null;
            return this.say(turn, "I'm sorry, I didn't get that.");
          }
          return this.say(turn, "Sorry, please enter the number again, then press pound.");
        }
        state.pending = null;
        state.variables[pending.variable] = digits;
        return this.say(turn, "Thank you.");
      }
      case "offer_transfer": {
        const answer = extract("yes_no", text);
        state.pending = null;
        if (answer.ok && answer.value) return this.transfer(turn, pending.reason);
        if (answer.ok) return this.say(turn, "Okay. What else can I help you with?");
        return this.think(turn, text);
      }
    }
  }

  /** A held skill call finished: hand the outcome back to the playbook, or let the brain speak about it. */
  private async afterHeld(turn: Turn, fromPlaybook: boolean, outcome: SkillCallResult, skill?: CompiledSkill, args?: Record<string, unknown>) {
    const { live } = turn;
    if (fromPlaybook && live.state.playbook) {
      const runner = live.runners.get(live.state.playbook.playbookId);
      if (runner && outcome.status !== "held" && outcome.status !== "left") return runner.resume(live.state, this.host(turn, runner), outcome);
      return;
    }
    if (skill && args && (outcome.status === "ok" || outcome.status === "error")) {
      turn.toolResults.push({ callId: `call_${live.state.toolCallCount}`, skill, args, result: outcome.status === "ok" ? outcome.data : { error: "the action failed or was not allowed" }, ok: outcome.status === "ok" });
      if (outcome.status === "ok" || !turn.result.replies.length) await this.think(turn, turn.messages.findLast((m) => m.role === "user")?.content ?? "");
    }
  }

  // ---------------------------------------------------------------- caller verification

  private beginVerification(turn: Turn, config: CompiledVerification, resume: { skillId: string; args: Record<string, unknown>; fromPlaybook: boolean }): SkillCallResult {
    const { live } = turn;
    if (!verificationMethodAvailable(config.method)) {
      // otp_sms is chosen only when no other method is configured (Guardrails.verificationFor).
      live.receipt.add("verification", {
        method: config.method,
        configId: config.id,
        status: "unavailable",
        code: "integration_not_connected",
        reason: "otp_sms sends a one-time code by text message, and no sms integration is connected to send it; configure another verification method or connect an sms integration",
      });
      const skill = live.skills.find((s) => s.id === resume.skillId);
      this.guardrailEvents(live, [{ policyType: "verify_before_disclose", decision: "blocked", reason: "caller verification unavailable (otp_sms needs an sms integration)", ...(skill ? { skill: skill.name } : {}) }]);
      this.say(turn, "I'm not able to send you a verification code right now, so I can't do that. A member of our team can help you with it.");
      return { status: "error", told: true };
    }
    const fields = verificationFields(config);
    live.state.verification.collected = {};
    live.state.pending = { kind: "verify", configId: config.id, field: 0, resume };
    live.receipt.add("verification", { method: config.method, configId: config.id, status: "started", fields });
    this.say(turn, `Before I can do that, I need to verify your identity. ${verificationQuestion(config, 0)}`);
    return { status: "held" };
  }

  private async continueVerification(turn: Turn, text: string) {
    const { live } = turn;
    const state = live.state;
    const pending = state.pending as Extract<ConversationState["pending"], { kind: "verify" }>;
    const config = live.compiled.callerVerification.find((c) => c.id === pending.configId);
    if (!config) {
      state.pending = null;
      this.say(turn, "I'm sorry, I can't verify callers right now.");
      return pending.resume ? this.afterHeld(turn, pending.resume.fromPlaybook, { status: "error", told: true }) : undefined;
    }
    const fields = verificationFields(config);
    const field = fields[pending.field]!;
    const value = verificationValue(field, text, config.method);
    if (!value) return this.say(turn, `Sorry, I didn't catch that. ${verificationQuestion(config, pending.field)}`);
    state.verification.collected[field] = value;
    if (pending.field + 1 < fields.length) {
      pending.field++;
      return this.say(turn, `Thanks. ${verificationQuestion(config, pending.field, true)}`);
    }

    const verifier = live.compiled.skills.find((s) => s.id === config.verifierSkillId);
    // The claimed identity (on voice, the calling number) goes with the secrets, so a verifier can find the record
    // by it; a field the caller was asked for under the same name is what they said.
    const callerNumber = typeof state.variables.caller_number === "string" && state.variables.caller_number ? { caller_number: state.variables.caller_number } : {};
    const sent = verifier ? this.egressArgs(live, verifier, { ...callerNumber, ...state.verification.collected, method: config.method }) : {};
    const started = this.clock();
    const outcome = verifier
      ? await this.deps.runSkill(verifier, sent, this.skillContext(live, verifier, turn.signal))
      : ({ kind: "error", code: "verifier_missing", message: "verifier skill not found" } as const);
    // The collected secrets go to the verifier only: the receipt names what was sent, never the values.
    live.receipt.add("tool_call", {
      skillId: config.verifierSkillId,
      skillName: verifier?.name ?? null,
      skillType: verifier?.skillType ?? null,
      arguments: Object.fromEntries(Object.keys(sent).filter((k) => k !== "method").map((k) => [k, "[redacted]"])),
      status: outcome.kind === "error" ? "error" : "ok",
      ...(outcome.kind === "error" ? { errorCode: outcome.code, error: outcome.message } : {}),
      durationMs: this.clock() - started,
      purpose: "verification",
    });
    state.verification.collected = {};
    const resume = pending.resume;
    if (outcome.kind === "error") {
      // The verifier could not answer: that is no mismatch, so it costs the caller no attempt.
      state.pending = null;
      live.receipt.add("verification", { method: config.method, configId: config.id, status: "error", code: outcome.code, attempts: state.verification.attempts });
      this.say(turn, "I'm sorry, I can't check your details right now, so I can't do that.");
      return resume ? this.afterHeld(turn, resume.fromPlaybook, { status: "error", told: true }) : undefined;
    }
    const matched = outcome.kind === "result" && [outcome.data.match, outcome.data.verified, outcome.data.valid, outcome.data.matched].some((v) => v === true || v === "true");
    if (matched) {
      state.verification = { ...state.verification, verified: true, expiresAt: this.clock() + config.tokenTtlSeconds * 1000, attempts: 0, steppedUp: [] };
      state.variables.verified = true;
      if (outcome.kind === "result" && outcome.data.caller_info && typeof outcome.data.caller_info === "object") {
        // Verified-only fields of the record are held to the same rule as a skill's: gone from the brain once the pass lapses.
        const shown = live.guardrails.guardVerifiedOnly(outcome.data, state);
        const withheld = { notAllowed: [], verifiedOnly: [], verifiedOnlyShown: shown };
        this.keepVariable(live, "caller_info", outcome.data.caller_info, live.guardrails.variableIsVerifiedOnly("caller_info", outcome.data.caller_info, "caller_info", withheld, state));
      }
      state.pending = null;
      live.receipt.add("verification", { method: config.method, configId: config.id, status: "passed", attempts: state.verification.attempts + 1, expiresInSeconds: config.tokenTtlSeconds });
      const skill = resume ? live.skills.find((s) => s.id === resume.skillId) : undefined;
      if (!resume || !skill) return this.say(turn, "Thank you, you're verified.");
      if (config.stepUpFor.includes(skill.name)) state.verification.steppedUp.push(skill.name);
      this.say(turn, "Thank you, you're verified.");
      const result = await this.executeSkill(turn, skill, resume.args, { confirmed: false, fromPlaybook: resume.fromPlaybook });
      return this.afterHeld(turn, resume.fromPlaybook, result, skill, resume.args);
    }
    state.verification.attempts++;
    if (state.verification.attempts >= config.maxAttempts) {
      state.verification.locked = true;
      state.pending = null;
      live.receipt.add("verification", { method: config.method, configId: config.id, status: "locked", attempts: state.verification.attempts });
      this.say(turn, "I'm sorry, I couldn't verify your identity, so I can't help with that here.");
      return resume ? this.afterHeld(turn, resume.fromPlaybook, { status: "error", told: true }) : undefined;
    }
    live.receipt.add("verification", { method: config.method, configId: config.id, status: "failed", attempts: state.verification.attempts });
    pending.field = 0;
    return this.say(turn, `That doesn't match our records. Let's try again. ${verificationQuestion(config, 0)}`);
  }

  // ---------------------------------------------------------------- handoff, silence, ending

  /**
   * Hand the caller to a person. The destination is the one given (a transfer skill's or a playbook step's), else the
   * handoff rule named by `ruleLabel`, else the rule whose label and `when` best match what was said, else the
   * agent's transferDestination. `warm` left out follows handoffConfig.warm.
   */
  private async transfer(turn: Turn, reason: string, route: { destination?: string | null; warm?: boolean; ruleLabel?: string } = {}) {
    const { live } = turn;
    const agent = live.compiled.agent;
    const hours = live.guardrails.hours();
    const afterHours = live.guardrails.afterHours();
    let target = route.destination ?? null;
    let ruleLabel: string | null = null;
    const recentUser = turn.messages.filter((m) => m.role === "user").map((m) => m.content).join(" ");

    if (hours.configured && !hours.open) {
      const emergency = EMERGENCY.test(`${reason} ${recentUser}`) && afterHours.emergencyNumber;
      if (emergency) {
        target = afterHours.emergencyNumber!;
        ruleLabel = "emergency";
      } else if (afterHours.allowHumanTransfer && afterHours.number) {
        target = afterHours.number;
        ruleLabel = "after hours";
      } else {
        this.guardrailEvents(live, [{ policyType: "business_hours", decision: "blocked", reason: `transfer outside business hours (${hours.localTime})` }]);
        live.state.pending = { kind: "take_message", step: "message" };
        return this.say(turn, `Our team isn't available right now${hours.nextOpening ? `; we're back ${hours.nextOpening}` : ""}. I can take a message for them. What would you like me to pass on?`);
      }
    }
    if (!target && route.ruleLabel) {
      const wanted = route.ruleLabel.trim().toLowerCase();
      const rule = (agent.handoffConfig.transferRules ?? []).find((r) => r.label.trim().toLowerCase() === wanted);
      if (rule) {
        target = rule.destination;
        ruleLabel = rule.label;
      } else {
        // The rule was renamed or removed after the playbook was saved: route as for any other request.
        live.receipt.add("error", { code: "transfer_rule_not_found", message: `no handoff transfer rule is labelled "${route.ruleLabel}"` });
      }
    }
    if (!target) {
      const words = tokens(`${reason} ${recentUser}`);
      let best = 0;
      for (const rule of agent.handoffConfig.transferRules ?? []) {
        const score = overlapScore(words, new Set(tokens(`${rule.label} ${rule.when}`)));
        if (score > best && score >= 0.2) {
          best = score;
          target = rule.destination;
          ruleLabel = rule.label;
        }
      }
      target ??= agent.handoffConfig.transferDestination ?? null;
    }
    if (!target) {
      live.state.pending = { kind: "take_message", step: "message" };
      return this.say(turn, "I'm not able to connect you with someone right now, but I can take a message for the team. What would you like me to pass on?");
    }
    const warm = route.warm ?? agent.handoffConfig.warm ?? false;
    const summary = this.handoffSummary(live, reason);
    live.receipt.add("handoff", { destination: target, warm, reason, ruleLabel, summary, channel: live.row.channel });
    if (live.row.channel === "voice") {
      // The voice channel carries the transfer out and reports back: end(…, "transferred") once the caller is
      // connected, or a transfer_failed turn, so a failed transfer never strands the caller.
      this.say(turn, "Let me connect you with someone who can help. Please hold.");
      live.state.transferredTo = target;
      turn.result.transfer = { destination: target, warm, summary, reason };
      turn.stop = true;
    } else {
      live.state.transferredTo = target;
      this.say(turn, `You can reach a member of our team at ${target}. Is there anything else I can help with?`);
    }
  }

  private handoffSummary(live: Live, reason: string): string {
    const v = live.state.variables;
    const who = [v.caller_name, v.caller_number].filter(Boolean).join(", ") || "the caller";
    const collected = Object.entries(v)
      .filter(([k, val]) => !["caller_name", "caller_number", "verified", "caller_info"].includes(k) && val !== null && typeof val !== "object")
      .map(([k, val]) => `${k.replace(/_/g, " ")}: ${val}`);
    return `Call from ${who} about: ${reason}.${collected.length ? ` Details: ${collected.join("; ")}.` : ""}`;
  }

  private onSilence(turn: Turn) {
    const { live } = turn;
    const cc = live.compiled.agent.callControl;
    const maxReminders = cc.maxIdleReminders ?? 2;
    if (live.state.idleReminders < maxReminders) {
      live.state.idleReminders++;
      return this.say(turn, "Are you still there?");
    }
    const action = cc.onNoResponseAction ?? "end";
    if (action === "continue") return;
    if (action === "transfer") return this.transfer(turn, "no response from the caller");
    this.say(turn, "I haven't heard from you, so I'll end the call now. Goodbye!");
    this.finish(turn, "no_response");
  }

  private maybeEndForLength(turn: Turn) {
    const { live } = turn;
    if (live.row.channel !== "voice" || turn.result.ended) return;
    const max = live.compiled.agent.callControl.maxCallSeconds ?? 600;
    if (this.elapsed(live) >= max * 1000) {
      this.say(turn, live.compiled.agent.callControl.maxDurationMessage ?? "We've reached the time limit for this call. Thank you for calling, goodbye!");
      this.finish(turn, "max_duration");
    }
  }

  private finish(turn: Turn, reason: string) {
    const { live } = turn;
    if (live.row.status === "ended") return;
    const outcome = reason === "transferred" ? "transferred" : reason === "error" ? "error" : live.row.userTurnCount === 0 ? "abandoned" : "completed";
    live.receipt.add("call_ended", { reason, outcome, durationMs: this.elapsed(live), goalCompleted: live.state.goalCompleted });
    live.row.status = "ended";
    live.row.outcome = outcome;
    live.row.endedAt = new Date(this.clock());
    turn.result.ended = true;
    turn.result.endReason = reason;
    turn.stop = true;
  }

  // ---------------------------------------------------------------- speech and knowledge

  private say(turn: Turn, text: string, opts: { screened?: boolean; citations?: Passage[] } = {}) {
    // Nobody is listening once the caller has gone (closed stream, hung up): nothing more is said.
    if (!text || turn.signal.aborted) return;
    const { live } = turn;
    let out = text;
    if (!opts.screened) {
      const screened = live.guardrails.screenReply(text, live.state);
      this.guardrailEvents(live, screened.events);
      out = screened.text;
      turn.sink.delta?.(out + " ");
    }
    const citations = opts.citations?.map((p) => ({ passageId: p.id, sourceId: p.sourceId, sourceUrl: p.sourceUrl ?? null, score: p.score }));
    live.receipt.add("agent_message", { text: out, language: live.state.language, ...(citations?.length ? { citations } : {}) });
    const message = { id: this.messageId(live), role: "assistant" as const, content: out, language: live.state.language, tsMs: this.elapsed(live) };
    turn.messages.push(message);
    turn.result.replies.push({ id: message.id, text: out, tsMs: message.tsMs, language: message.language });
    live.state.lastAgentText = out;
    this.remember(live.state, "assistant", out);
  }

  /**
   * Deltas from a streaming brain, screened sentence by sentence before they reach the channel, so a
   * guarded value or banned word never streams out. `finish` returns the screened whole reply.
   */
  private screenedStream(turn: Turn) {
    const { live } = turn;
    let buffer = "";
    let sent = "";
    let used = false;
    const flush = (all: boolean) => {
      // Cut after the last sentence end (and the space after it), so each piece is screened whole.
      const end = Math.max(...[". ", "? ", "! "].map((p) => buffer.lastIndexOf(p) + (buffer.lastIndexOf(p) >= 0 ? 2 : 0)), buffer.lastIndexOf("\n") + 1);
      const cut = all ? buffer.length : end;
      if (cut <= 0) return;
      const piece = buffer.slice(0, cut);
      buffer = buffer.slice(cut);
      const screened = live.guardrails.screenReply(piece.trim(), live.state);
      this.guardrailEvents(live, screened.events);
      if (screened.text) {
        const chunk = (sent ? " " : "") + screened.text;
        sent += chunk;
        turn.sink.delta?.(chunk);
      }
    };
    return {
      push: (delta: string) => {
        used = true;
        buffer += delta;
        flush(false);
      },
      /** The reply as a whole: already screened when it streamed, to be screened by `say` when it did not. */
      finish: (text: string): { text: string; screened: boolean } => {
        if (!used) return { text, screened: false };
        flush(true);
        used = false;
        const out = sent.trim();
        sent = "";
        return { text: out, screened: true };
      },
    };
  }

  private async retrieve(turn: Turn, text: string): Promise<Passage[]> {
    const { live } = turn;
    if (!this.deps.retriever || (!QUESTION.test(text) && tokens(text).length < 3)) return [];
    const started = this.clock();
    const passages = await this.deps.retriever.search({ organizationId: live.row.organizationId, agentId: live.row.agentId, query: text, limit: 3 });
    live.receipt.add("kb_retrieval", { query: text, passages: passages.map((p) => ({ id: p.id, sourceId: p.sourceId, sourceUrl: p.sourceUrl ?? null, score: p.score })), topScore: passages[0]?.score ?? 0, durationMs: this.clock() - started });
    return passages;
  }

  private dontKnow(turn: Turn, question: string, passages: Passage[]): string {
    const { live } = turn;
    if (QUESTION.test(question)) {
      turn.gapRecorded = true;
      this.deps.onUnanswered?.({ organizationId: live.row.organizationId, agentId: live.row.agentId, conversationId: live.row.id, question });
    }
    const canTransfer = Boolean(live.compiled.agent.handoffConfig.transferDestination || live.compiled.agent.handoffConfig.transferRules?.length);
    if (canTransfer) live.state.pending = { kind: "offer_transfer", reason: question };
    return `I'm sorry, I don't know the answer to that${passages.length ? " from what I have" : ""}.${canTransfer ? " Would you like me to connect you with someone who can help?" : ""}`;
  }

  private greeting(live: Live): string {
    const agent = live.compiled.agent;
    let text = agent.channelOverrides[live.row.channel]?.greeting ?? agent.greeting;
    const hours = live.guardrails.hours();
    const after = live.guardrails.afterHours();
    if (hours.configured && !hours.open && (after.mode ?? "full") !== "full") {
      text += ` ${after.message ?? `We're closed right now${hours.nextOpening ? ` and open again ${hours.nextOpening}` : ""}.`}`;
      if (after.mode === "take_message") {
        live.state.pending = { kind: "take_message", step: "message" };
        text += " I can take a message for the team. What would you like me to pass on?";
      }
    }
    return text;
  }

  // ---------------------------------------------------------------- plumbing

  private host(turn: Turn, runner: PlaybookRunner) {
    const { live } = turn;
    return {
      say: (text: string) => this.say(turn, text),
      callSkill: async (skillId: string, args: Record<string, unknown>, preConfirmed: boolean): Promise<SkillCallResult> => {
        const skill = live.skills.find((s) => s.id === skillId);
        if (!skill) {
          live.receipt.add("error", { code: "skill_not_found", message: `playbook ${runner.id} calls unknown skill ${skillId}` });
          return { status: "error" };
        }
        return this.executeSkill(turn, skill, args, { confirmed: preConfirmed, fromPlaybook: true });
      },
      transfer: async (route: { destination: string | null; warm?: boolean; ruleLabel?: string }, message: string | undefined) => {
        if (message) this.say(turn, message);
        await this.transfer(turn, `playbook ${runner.id}`, route);
      },
      localNow: () => localNow(live.guardrails.hours().timezone ?? undefined, this.clock()),
      giveUp: async (variable: string) => {
        live.receipt.add("error", { code: "slot_not_filled", message: `could not fill ${variable}` });
        const canTransfer = Boolean(live.compiled.agent.handoffConfig.transferDestination || live.compiled.agent.handoffConfig.transferRules?.length);
        if (canTransfer) {
          live.state.pending = { kind: "offer_transfer", reason: `could not collect ${variable}` };
          this.say(turn, "I'm having trouble getting that. Would you like me to connect you with someone?");
        } else this.say(turn, "I'm having trouble getting that. Let's start over: how can I help?");
      },
    };
  }

  private guardrailEvents(live: Live, events: GuardrailEvent[]) {
    for (const e of events) live.receipt.add("guardrail", { ...e });
  }

  private remember(state: ConversationState, role: "user" | "assistant", content: string) {
    state.history.push({ role, content });
    if (state.history.length > HISTORY_TURNS) state.history.splice(0, state.history.length - HISTORY_TURNS);
  }

  /** The whole conversation's summary and topic, from everything stored plus this last turn. */
  private async summarize(live: Live, events: AuditEvent[], messages: NewMessage[]) {
    const [earlierEvents, earlierMessages] = await Promise.all([this.deps.store.events(live.row.id), this.deps.store.messages(live.row.id)]);
    return summarizeConversation({
      messages: [...earlierMessages, ...messages].map((m) => ({ role: m.role, content: m.content })),
      events: [...earlierEvents, ...events],
      goalCompleted: live.state.goalCompleted,
      outcome: live.row.outcome ?? "completed",
    });
  }

  private elapsed(live: Live) {
    return Math.max(0, this.clock() - live.row.startedAt.getTime());
  }

  private async persist(turn: Turn) {
    const { live } = turn;
    const ended = live.row.status === "ended";
    // With redactPii, what is written is redacted: the raw values live on only in memory (live.state) while the
    // conversation is live here, for the skills and replies of its later turns.
    const redact = live.guardrails.redactsPii;
    const kept = <T>(value: T): T => (redact ? redactPiiDeep(value) : value);
    const events = live.receipt.drain().map((e) => ({ ...e, payload: kept(e.payload) }));
    const messages = redact ? turn.messages.map((m) => ({ ...m, content: redactPii(m.content) })) : turn.messages;
    const state = live.state;
    await this.deps.store.saveTurn(
      redact ? { ...live.row, metadata: kept(live.row.metadata) } : live.row,
      {
        state: redact ? redactedState(state) : state,
        status: live.row.status as "active" | "ended",
        userTurnCount: live.row.userTurnCount,
        language: state.language,
        goalCompleted: state.goalCompleted,
        ...(ended ? { outcome: live.row.outcome, endedAt: live.row.endedAt, sentiment: sentimentLabel(state.sentimentScores), ...kept(await this.summarize(live, events, messages)) } : {}),
      },
      events,
      messages,
    );
    turn.result.awaitingDtmf ??= this.awaitingDtmf(live.row.id) ?? null;
    if (ended) this.live.delete(live.row.id);
  }

  private attach(row: ConversationRow, compiled: CompiledConfig, nextSeq: number): Live {
    if (this.live.size >= LIVE_MAX) this.evict();
    const channel = row.channel as Channel;
    const live: Live = {
      row,
      compiled,
      guardrails: new Guardrails(compiled, this.clock),
      receipt: new Receipt(row.id, channel, row.startedAt.getTime(), nextSeq, this.clock),
      state: row.state as unknown as ConversationState,
      skills: compiled.skills.filter((s) => !s.channels.length || s.channels.includes(channel)),
      runners: new Map(compiled.playbooks.map((p) => [p.id, new PlaybookRunner(p, this.deps.log)])),
      lock: Promise.resolve(),
      lastUsed: this.clock(),
      messageFloorMs: 0,
    };
    this.live.set(row.id, live);
    return live;
  }

  private async resume(organizationId: string, conversationId: string): Promise<Live> {
    const cached = this.live.get(conversationId);
    if (cached && cached.row.organizationId === organizationId) {
      cached.lastUsed = this.clock();
      return cached;
    }
    const row = await this.deps.store.load(organizationId, conversationId);
    if (!row) throw new ConversationNotFoundError(conversationId);
    const [compiled, events, lastMessageId] = await Promise.all([this.deps.loadCompiled(row), this.deps.store.events(row.id), this.deps.store.lastMessageId(row.id)]);
    const seq = events.length;
    const state = row.state as unknown as ConversationState;
    if (!state.historyInOrder) {
      // Stored before each caller message was remembered ahead of its answer: the transcript has the true order.
      state.history = (await this.deps.store.messages(row.id)).slice(-HISTORY_TURNS).map((m) => ({ role: m.role, content: m.content }));
      state.historyInOrder = true;
    }
    const live = this.attach(row, compiled, seq);
    if (lastMessageId) live.messageFloorMs = idTime(lastMessageId) + 1;
    return live;
  }

  private messageId(live: Live): string {
    return newId("msg", Math.max(Date.now(), live.messageFloorMs));
  }

  private evict() {
    const cutoff = this.clock() - LIVE_IDLE_MS;
    for (const [id, l] of this.live) if (l.lastUsed < cutoff) this.live.delete(id);
    if (this.live.size >= LIVE_MAX) this.live.delete(this.live.keys().next().value!);
  }

  /** Turns of one conversation run one at a time, in arrival order. */
  private withLock<T>(live: Live, fn: () => Promise<T>): Promise<T> {
    const run = live.lock.then(fn, fn);
    live.lock = run.catch(() => {});
    return run;
  }
}

export class ConversationNotFoundError extends Error {}
export class ConversationEndedError extends Error {}

const ANYTHING_ELSE = "Okay. Is there anything else I can help with?";
const goodbye = (channel: string) => (channel === "voice" ? "Thank you for calling. Goodbye!" : "Thanks for chatting. Goodbye!");

function requiredMissing(skill: CompiledSkill, args: Record<string, unknown>): string[] {
  const required = skill.requiredParams.length ? skill.requiredParams : (skill.parametersSchema.required ?? []);
  return required.filter((p) => args[p] === undefined || args[p] === null || args[p] === "");
}

function askFor(skill: CompiledSkill, param: string): string {
  const description = skill.parametersSchema.properties?.[param]?.description;
  return `What is your ${description ? description.replace(/\.$/, "").replace(/^(the|your)\s+/i, "").toLowerCase() : label(param)}?`;
}

function label(field: string): string {
  return FIELD_LABELS[field] ?? field.replace(/_/g, " ");
}

function confirmationQuestion(skill: CompiledSkill, args: Record<string, unknown>): string {
  const details = Object.entries(args)
    .filter(([, v]) => v !== undefined && v !== null && v !== "")
    .map(([k, v]) => `${k.replace(/_/g, " ")} ${v}`);
  const what = skill.description.replace(/\.$/, "");
  return `Just to confirm: ${what.charAt(0).toLowerCase()}${what.slice(1)}${details.length ? `, with ${details.join(", ")}` : ""}.${skill.stakes === "high" ? " This can't be undone." : ""} Shall I go ahead?`;
}

/** What each method asks for when its configuration lists no requiredFields (the API's defaults). */
const METHOD_FIELDS: Record<CompiledVerification["method"], string[]> = {
  dob_postcode: ["dob", "postcode"],
  account_pin: ["account_number", "pin"],
  otp_sms: ["phone"],
  knowledge_based: ["security_answer"],
};

function verificationFields(config: CompiledVerification): string[] {
  return config.requiredFields.length ? config.requiredFields : METHOD_FIELDS[config.method];
}

/** The question for one field, by its name (`mothers_maiden_name` → "What is your mothers maiden name?"). */
function verificationQuestion(config: CompiledVerification, index: number, more = false): string {
  const field = label(verificationFields(config)[index]!);
  return more ? `And your ${field}?` : `What is your ${field}?`;
}

function verificationValue(field: string, text: string, method: CompiledVerification["method"]): string | null {
  const f = field.toLowerCase();
  // Answers to knowledge questions are free text, whatever their names look like.
  if (method === "knowledge_based") return trimEndWhere(text.trim(), /[.!?]/).trim() || null;
  if (/dob|birth/.test(f)) {
    const got = extract("date", text, { localNow: new Date(0) });
    return got.ok ? String(got.value) : null;
  }
  if (/postcode|zip|postal/.test(f)) return /\b\d{5}(?:-\d{4})?\b|\b[A-Z]{1,2}\d[A-Z\d]?\s?\d[A-Z]{2}\b/i.exec(text)?.[0].toUpperCase() ?? null;
  if (/pin|account|number/.test(f)) {
    const got = extract("digits", text);
    return got.ok ? String(got.value) : null;
  }
  return text.trim() || null;
}
