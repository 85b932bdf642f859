// The conversation runtime: one engine behind every channel (chat, widget, OpenAI-compatible, voice, simulate,
// probe). It runs a compiled agent (a published version, or the draft in test mode) turn by turn:
// input (text, keyed digits, silence) → what the agent says, plus transfers and endings, with every step
// recorded in the receipt. Brains propose; guardrails decide; skills act only through `executeSkill`.
// Alongside: live-conversations.ts (the checked copy of each conversation, its version, the turn lock across
// replicas), turn.ts (a turn's types), pending.ts (answers to what is held pending), verification.ts, handoff.ts.
import type { Logger } from "../platform/log.ts";
import { phoneRegionOf, phoneRegionOfNumber, type PhoneRegion } from "../platform/e164.ts";
import { newId } from "../platform/ids.ts";
import { WANTS_REPEAT, builtinBrain, endCallPhrasesEnabled, wantsPerson } from "./brain/builtin.ts";
import { type Metrics, observeTurn, traced } from "../platform/telemetry/index.ts";
import { createOpenAiCompatibleBrain, type LlmSettings } from "./brain/openai-compatible.ts";
import type { Brain, BrainAction } from "./brain/types.ts";
import type { CompiledConfig, CompiledSkill } from "./compiled.ts";
import { localNow } from "./extractors.ts";
import { fingerprint, type GuardrailEvent } from "./guardrails.ts";
import { handOff } from "./handoff.ts";
import { ConversationEndedError, ConversationUnavailableError, LiveConversations, type Live } from "./live-conversations.ts";
import { answerPending, askFor, confirmationQuestion, requiredMissing } from "./pending.ts";
import { phrase, Phrases, type Phrase, type PhraseTable, type Speech } from "./phrases/index.ts";
import type { PlaybookRunner, SkillCallResult } from "./playbooks/interpreter.ts";
import type { AuditEvent } from "./receipt.ts";
import { redactedState } from "./redaction.ts";
import { declaredKeys, offeredKeys } from "./keys.ts";
import { HISTORY_TURNS, initialState, type ConversationState } from "./state.ts";
import type { ConversationRow, ConversationStore, NewMessage } from "./store.ts";
import { summarizeConversation } from "./summary.ts";
import { terms } from "../platform/tokens.ts";
import { searchQuery } from "./brain/answers.ts";
import { redactPii, redactPiiDeep, sentimentLabel, sentimentScore } from "./text.ts";
import { integrationOf, isIntegrationSkillType } from "./tools/integration.ts";
import { ANSWER_THRESHOLD, RetrievalTimeoutError, type Passage, type Retriever, type RunSkill, type SkillCallContext } from "./tools/types.ts";
import { goodbye, Turn, type Channel, type RuntimeInput, type TurnResult, type TurnSink, type TurnSteps } from "./turn.ts";
import { beginVerification } from "./verification.ts";

export type { Channel, RuntimeInput, StoredMessage, Transfer, TurnResult, TurnSink } from "./turn.ts";

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
  /** How long a turn waits for another replica's turn of the same conversation before conversation_busy (default 30 s). */
  turnWaitMs?: number;
  /** The fixed sentences the agent says, by id and language (default: phrases/, English and its translations). */
  phrases?: PhraseTable;
  /** How a phone number a caller says without its country code is read when nothing closer says (DEFAULT_PHONE_REGION; default US). */
  defaultPhoneRegion?: PhoneRegion;
}

const MAX_BRAIN_ROUNDS = 5;
/** Passages retrieved for a turn: small knowledge bases fit whole, larger ones give the brain a few to choose from. */
const PASSAGES = 5;
const QUESTION = /\?|^\s*(what|when|where|who|why|how|which|do|does|did|is|are|can|could|will|would|should)\b/i;

export class ConversationRuntime {
  private readonly live: LiveConversations;
  private readonly clock: () => number;
  private readonly brain: Brain;
  private readonly phrases: Phrases;
  /** What the steps split out of this class (pending answers, verification, handoff) may do with a turn. */
  private readonly steps: TurnSteps;

  constructor(private deps: RuntimeDeps) {
    this.clock = deps.clock ?? Date.now;
    this.brain = deps.llm ? createOpenAiCompatibleBrain(deps.llm, deps.fetch) : builtinBrain;
    this.phrases = new Phrases(deps.phrases);
    this.live = new LiveConversations({ store: deps.store, loadCompiled: deps.loadCompiled, clock: this.clock, log: deps.log, turnWaitMs: deps.turnWaitMs });
    this.steps = {
      say: (turn, text, opts) => this.say(turn, text, opts),
      think: (turn, text) => this.think(turn, text),
      executeSkill: (turn, skill, args, opts) => this.executeSkill(turn, skill, args, opts),
      afterHeld: (turn, fromPlaybook, outcome, skill, args) => this.afterHeld(turn, fromPlaybook, outcome, skill, args),
      finish: (turn, reason) => this.finish(turn, reason),
      guardrailEvents: (live, events) => this.guardrailEvents(live, events),
      egressArgs: (live, skill, args) => this.egressArgs(live, skill, args),
      skillContext: (live, skill, signal) => this.skillContext(live, skill, signal),
      keepVariable: (live, name, value, verifiedOnly) => this.keepVariable(live, name, value, verifiedOnly),
      phoneRegion: (live) => this.phoneRegion(live),
      runSkill: deps.runSkill,
      clock: this.clock,
    };
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
      turnSeq: 0,
      turnLease: null,
      turnLeaseExpiresAt: null,
    };
    const live = this.live.open(row, opts.compiled);
    return traced("conversation.start", { "conversation.id": row.id, "conversation.channel": row.channel }, () => this.live.first(live, async () => {
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
    return this.live.run(organizationId, conversationId, (live) => observeTurn(this.deps.metrics, live.row.channel, conversationId, async () => {
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
          this.say(turn, phrase("turn.failed"));
        }
      }
      this.maybeEndForLength(turn);
      live.receipt.add("latency", { turnMs: this.clock() - started, toolMs: turn.toolMs, brain: this.brain.name });
      await this.persist(turn);
      return turn.result;
    }), signal);
  }

  /** Close a conversation (caller hung up, chat ended). Ending twice is harmless. */
  async end(organizationId: string, conversationId: string, reason: string, sink: TurnSink = {}): Promise<void> {
    await traced("conversation.end", { "conversation.id": conversationId, "conversation.end_reason": reason }, () => this.live.run(organizationId, conversationId, async (live) => {
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
    this.live.cached(conversationId)?.receipt.add(eventType, payload);
  }

  /**
   * What a channel says outside a turn, recorded like the agent's own words. `phrase`: a fixed line to the caller (the
   * voice channel's "use your keypad", "I didn't catch that", its apology when a turn failed), rendered in the
   * conversation's language, screened by its guardrails and stored as an agent message: the result's replies are
   * what to speak. `briefing`: what a warm transfer's destination heard before the caller joined, on the receipt as
   * a `handoff` event (`status: "briefed"`), never in the transcript. Should storage be down (the very failure an
   * apology is for), the line is still returned to be spoken, and the log says it was not stored.
   */
  async announce(organizationId: string, conversationId: string, said: { phrase: Phrase["id"] } | { briefing: string; destination: string; completed: boolean }, sink: TurnSink = {}): Promise<TurnResult> {
    let result = null as TurnResult | null;
    try {
      return await this.live.run(organizationId, conversationId, async (live) => {
        const turn = new Turn(live, sink, new AbortController().signal);
        result = turn.result;
        if (live.row.status === "ended") return turn.result;
        live.receipt.listen(sink.event);
        if ("phrase" in said) this.say(turn, phrase(said.phrase));
        else live.receipt.add("handoff", { status: "briefed", destination: said.destination, briefing: said.briefing, completed: said.completed });
        await this.persist(turn);
        return turn.result;
      });
    } catch (error) {
      this.deps.log.warn("a line the channel said could not be stored", { conversationId, error });
      const live = this.live.cached(conversationId);
      if (result || !("phrase" in said) || !live) return result ?? { conversationId, userMessage: null, replies: [], transfer: null, ended: false, endReason: null, awaitingDtmf: null };
      const language = live.state.language;
      return { conversationId, userMessage: null, replies: [{ id: "", text: this.phrases.render(phrase(said.phrase), language), tsMs: this.elapsed(live), language }], transfer: null, ended: false, endReason: null, awaitingDtmf: null };
    }
  }

  /** A conversation's row as the runtime holds it (its copy here while that is current, stored otherwise), or null. */
  describe(organizationId: string, conversationId: string): Promise<ConversationRow | null> {
    return this.live.describe(organizationId, conversationId);
  }

  /**
   * How the voice channel gathers keys now: a playbook step's keypad settings; one key at a time (no # and no wait)
   * when a single key answers (a yes/no step, a menu just offered, keys the operator declared); null to gather an
   * entry up to # or a pause (a number asked for, and any keys a model may be given).
   */
  awaitingDtmf(conversationId: string): { expectedDigits?: number; submitKey: string } | null {
    const live = this.live.cached(conversationId);
    if (!live) return null;
    const step = this.collectingDigits(live);
    if (step) return step;
    const state = live.state;
    const oneKey = { expectedDigits: 1, submitKey: "#" };
    if (state.pending) return state.pending.kind === "confirm_skill" || state.pending.kind === "offer_transfer" ? oneKey : null;
    if (state.playbook?.awaiting === "confirm") return oneKey;
    const single = (keys: Iterable<string>) => [...keys].every((k) => k.length === 1);
    const offered = offeredKeys(state.lastAgentText);
    if (offered.size) return single(offered.keys()) ? oneKey : null;
    if (state.playbook || this.brain.name !== "builtin") return null;
    // The built-in brain takes no keyed entry of its own, so with keys declared nothing is gained by waiting for more.
    // With none, keys are gathered as ever: a caller keying a number the agent is about to ask for (their spoken
    // request still being recognized) keeps it whole.
    const declared = declaredKeys(live.compiled, live.skills);
    return declared.size && single(declared.keys()) ? oneKey : null;
  }

  /** Where a playbook step waits for keyed digits (its own keypad settings). */
  private collectingDigits(live: Live) {
    const pos = live.state.playbook;
    const dtmf = pos ? live.runners.get(pos.playbookId)?.awaitingDtmf(live.state) : null;
    return dtmf ? { expectedDigits: dtmf.expectedDigits, submitKey: dtmf.submitKey ?? "#" } : null;
  }

  // ---------------------------------------------------------------- turn handling

  private async handle(turn: Turn, input: RuntimeInput) {
    const { live } = turn;
    const state = live.state;
    if (input.type === "silence") return this.onSilence(turn);
    if (input.type === "call_timeout") {
      this.say(turn, live.compiled.agent.callControl.maxDurationMessage ?? phrase("call.time_limit"));
      return this.finish(turn, "max_duration");
    }
    if (input.type === "transfer_failed") {
      live.receipt.add("handoff", { status: "failed", destination: state.transferredTo, reason: input.reason });
      state.transferredTo = null;
      state.pending = { kind: "take_message", step: "message" };
      return this.say(turn, phrase("handoff.failed"));
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
      return this.say(turn, phrase("guardrail.banned_topic"));
    }
    const threshold = live.guardrails.escalationThreshold;
    if (threshold !== null && state.negativeTurns >= threshold && score < 0) {
      this.guardrailEvents(live, [{ policyType: "content_policy", decision: "escalated", reason: `${state.negativeTurns} negative turns` }]);
      state.negativeTurns = 0;
      state.pending = { kind: "offer_transfer", reason: "caller frustrated" };
      return this.say(turn, phrase("handoff.frustrated"));
    }
    if (state.pending) return await answerPending(this.steps, turn, text, input.type === "dtmf");
    if (input.type === "text" && wantsPerson(text)) return await handOff(this.steps, turn, text);
    if (input.type === "text" && WANTS_REPEAT.test(text) && state.lastAgentText) return this.say(turn, state.lastAgentText);

    if (state.playbook) {
      const runner = live.runners.get(state.playbook.playbookId);
      if (runner) {
        // A key the step's own prompt offered ("press 1 for billing") answers a step that takes no digits as its words.
        const offered = input.type === "dtmf" && !runner.awaitingDtmf(state) ? offeredKeys(state.lastAgentText).get(text) : undefined;
        return await runner.input(state, this.host(turn, runner), offered ? { text: offered } : input.type === "dtmf" ? { digits: text } : { text });
      }
      state.playbook = null;
    }
    if (input.type === "dtmf") return this.keyed(turn, text);
    await this.think(turn, text);
  }

  /**
   * Keys pressed with no step waiting for digits. A key the agent's last reply offered selects what it offered (a
   * model is shown the key press and decides; the built-in brain takes the offer's words as the caller's); else a key
   * the operator declared selects its playbook, skill or transfer rule; else the agent says which keys it understands.
   * A model also gets longer keyed entries (an order number it asked for), marked as keys, never as words.
   */
  private async keyed(turn: Turn, digits: string) {
    const { live } = turn;
    const state = live.state;
    const offered = offeredKeys(state.lastAgentText);
    const declared = declaredKeys(live.compiled, live.skills);
    const model = this.brain.name !== "builtin";
    const pressed = digits.length === 1 ? `[pressed key ${digits}]` : `[pressed keys ${digits}]`;
    const words = offered.get(digits);
    if (words !== undefined && model) return this.think(turn, pressed);
    if (words) {
      if (wantsPerson(words)) return handOff(this.steps, turn, words);
      if (WANTS_REPEAT.test(words)) return this.say(turn, state.lastAgentText);
      return this.think(turn, words);
    }
    const target = declared.get(digits);
    if (target?.kind === "playbook") return this.startPlaybook(turn, target.playbook.id, null);
    if (target?.kind === "transfer_rule") return handOff(this.steps, turn, `caller pressed ${digits}: ${target.label}`, { ruleLabel: target.label });
    if (target?.kind === "skill") {
      const outcome = await this.executeSkill(turn, target.skill, {}, { confirmed: false, fromPlaybook: false });
      if (outcome.status === "error" && outcome.told) return;
      return this.afterHeld(turn, false, outcome, target.skill, {}, pressed);
    }
    if (model && digits.length > 1) return this.think(turn, pressed);
    const keys = [...new Set([...offered.keys(), ...declared.keys()])].sort();
    const menu = state.lastAgentText;
    this.say(turn, keys.length ? phrase("keypad.options", { keys }) : phrase("keypad.no_options"));
    // The menu stays what a key answers and what "repeat that" repeats, not the apology.
    state.lastAgentText = menu;
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
        phoneRegion: this.phoneRegion(live),
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
          if (typeof action.text !== "string") {
            // A fixed sentence of the built-in brain: said in the conversation's language, its id on the receipt.
            this.say(turn, action.text, { citations: action.citations });
            continue;
          }
          const said = streamed.finish(action.text);
          if (said.text) this.say(turn, said.text, { screened: said.screened, replacedBy: said.replacedBy, citations: action.citations });
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
        return handOff(this.steps, turn, action.reason);
      case "end":
        turn.stop = true;
        if (!endCallPhrasesEnabled(live.compiled.agent)) {
          // The operator turned end-call phrases off: a brain that wants to hang up on a goodbye keeps the line open.
          this.guardrailEvents(live, [{ policyType: "call_control", decision: "blocked", reason: "end-call phrases are disabled (callControl.endCallPhrasesEnabled)" }]);
          return this.say(turn, phrase("anything_else"));
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
      this.say(turn, askFor(skill, missing[0]!, state.language));
      return { status: "held" };
    }

    const auth = live.guardrails.authorize(skill, state, { channel: live.row.channel as Channel, confirmed: opts.confirmed });
    this.guardrailEvents(live, auth.events);
    const base = { callId: opts.callId ?? null, skillId: skill.id, skillName: skill.name, skillType: skill.skillType, ...integrationCall(skill), arguments: args };
    switch (auth.kind) {
      case "block":
        live.receipt.add("tool_call", { ...base, status: "blocked", durationMs: 0 });
        this.say(turn, auth.say);
        return { status: "error", told: true };
      case "escalate":
        live.receipt.add("tool_call", { ...base, status: "escalated", durationMs: 0 });
        // Its line is the transfer's one hold line, said once a destination is found.
        await handOff(this.steps, turn, `escalation: ${skill.name}`, {}, auth.say);
        return { status: "left" };
      case "confirm":
        state.pending = { kind: "confirm_skill", skillId: skill.id, args, fromPlaybook: opts.fromPlaybook };
        this.say(turn, confirmationQuestion(skill, args, state.language));
        return { status: "held" };
      case "verify":
        return beginVerification(this.steps, turn, auth.config, { skillId: skill.id, args, fromPlaybook: opts.fromPlaybook });
      case "allow":
        break;
    }

    const now = this.clock();
    state.toolCallTimes = [...state.toolCallTimes.filter((t) => t > now - 60_000), now];
    state.toolCallCount++;
    if (skill.expectedLatencyMs && skill.expectedLatencyMs >= 1500) {
      const filler = phrase("skill.checking");
      live.receipt.add("filler", { text: this.phrases.render(filler, live.state.language), skillId: skill.id, phrases: [filler] });
      this.say(turn, filler);
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
          await handOff(this.steps, turn, `${skill.name} failed`, {}, skill.errorHandling.message ?? phrase("skill.failed_transfer"));
          return { status: "left" };
        }
        return { status: "error" };
      default:
        live.receipt.add("tool_call", { ...base, status: "ok", result: { action: outcome.kind }, durationMs });
    }

    switch (outcome.kind) {
      case "transfer":
        await handOff(this.steps, turn, outcome.reason ?? skill.description, { destination: outcome.destination, warm: outcome.warm });
        return { status: "left" };
      case "end_call":
        this.say(turn, outcome.message ?? goodbye(live.row.channel));
        this.finish(turn, "agent_ended");
        return { status: "left" };
      case "take_message":
        state.pending = { kind: "take_message", step: "message" };
        this.say(turn, phrase("message.ask"));
        return { status: "held" };
      case "repeat":
        if (state.lastAgentText) this.say(turn, state.lastAgentText);
        return { status: "ok", data: {} };
      case "collect_digits":
        state.pending = { kind: "collect_digits", variable: outcome.variable, attempts: 0 };
        turn.result.awaitingDtmf = { expectedDigits: outcome.maxDigits, submitKey: outcome.submitKey ?? "#" };
        this.say(turn, outcome.prompt ?? phrase("digits.ask"));
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
    // Now a skill's value, not a playbook question's answer: a playbook started again keeps it.
    if (state.playbookAnswers?.includes(name)) state.playbookAnswers = state.playbookAnswers.filter((n) => n !== name);
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
      businessHours: live.compiled.agent.businessHours,
    };
  }

  /** A held skill call finished: hand the outcome back to the playbook, or let the brain speak about it. */
  private async afterHeld(turn: Turn, fromPlaybook: boolean, outcome: SkillCallResult, skill?: CompiledSkill, args?: Record<string, unknown>, asked?: string) {
    const { live } = turn;
    if (fromPlaybook && live.state.playbook) {
      const runner = live.runners.get(live.state.playbook.playbookId);
      if (runner && outcome.status !== "held" && outcome.status !== "left") return runner.resume(live.state, this.host(turn, runner), outcome);
      return;
    }
    if (skill && args && (outcome.status === "ok" || outcome.status === "error")) {
      turn.toolResults.push({ callId: `call_${live.state.toolCallCount}`, skill, args, result: outcome.status === "ok" ? outcome.data : { error: "the action failed or was not allowed" }, ok: outcome.status === "ok" });
      if (outcome.status === "ok" || !turn.result.replies.length) await this.think(turn, asked ?? turn.messages.findLast((m) => m.role === "user")?.content ?? "");
    }
  }

  // ---------------------------------------------------------------- silence, ending

  private onSilence(turn: Turn) {
    const { live } = turn;
    const cc = live.compiled.agent.callControl;
    const maxReminders = cc.maxIdleReminders ?? 2;
    if (live.state.idleReminders < maxReminders) {
      live.state.idleReminders++;
      return this.say(turn, phrase("call.still_there"));
    }
    const action = cc.onNoResponseAction ?? "end";
    if (action === "continue") return;
    if (action === "transfer") return handOff(this.steps, turn, "no response from the caller");
    this.say(turn, phrase("call.no_response_end"));
    this.finish(turn, "no_response");
  }

  private maybeEndForLength(turn: Turn) {
    const { live } = turn;
    if (live.row.channel !== "voice" || turn.result.ended) return;
    const max = live.compiled.agent.callControl.maxCallSeconds ?? 600;
    if (this.elapsed(live) >= max * 1000) {
      this.say(turn, live.compiled.agent.callControl.maxDurationMessage ?? phrase("call.time_limit"));
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

  /**
   * Say something: free text, or fixed sentences rendered in the conversation's language. The agent_message event
   * lists the fixed sentences said (`phrases`: id and parameters), so summaries read ids, never words.
   * `replacedBy`: a guardrail's sentence that replaced part of an already screened (streamed) reply.
   */
  private say(turn: Turn, speech: Speech, opts: { screened?: boolean; replacedBy?: Phrase[]; citations?: Passage[] } = {}) {
    // Nobody is listening once the caller has gone (closed stream, hung up): nothing more is said.
    if (turn.signal.aborted) return;
    const { live } = turn;
    const spoken = this.phrases.speak(speech, live.state.language);
    if (!spoken.text) return;
    let out = spoken.text;
    let phrases = opts.replacedBy?.length ? opts.replacedBy : spoken.phrases;
    if (!opts.screened) {
      const screened = live.guardrails.screenReply(out, live.state, this.render(live));
      this.guardrailEvents(live, screened.events);
      out = screened.text;
      if (screened.replacedBy) phrases = [screened.replacedBy];
      turn.sink.delta?.(out + " ");
    }
    const citations = opts.citations?.map((p) => ({ passageId: p.id, sourceId: p.sourceId, sourceUrl: p.sourceUrl ?? null, score: p.score }));
    live.receipt.add("agent_message", { text: out, language: live.state.language, ...(phrases.length ? { phrases } : {}), ...(citations?.length ? { citations } : {}) });
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
    let replacedBy: Phrase[] = [];
    const flush = (all: boolean) => {
      // Cut after the last sentence end (and the space after it), so each piece is screened whole.
      const end = Math.max(...[". ", "? ", "! "].map((p) => buffer.lastIndexOf(p) + (buffer.lastIndexOf(p) >= 0 ? 2 : 0)), buffer.lastIndexOf("\n") + 1);
      const cut = all ? buffer.length : end;
      if (cut <= 0) return;
      const piece = buffer.slice(0, cut);
      buffer = buffer.slice(cut);
      const screened = live.guardrails.screenReply(piece.trim(), live.state, this.render(live));
      this.guardrailEvents(live, screened.events);
      if (screened.replacedBy) replacedBy.push(screened.replacedBy);
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
      finish: (text: string): { text: string; screened: boolean; replacedBy?: Phrase[] } => {
        if (!used) return { text, screened: false };
        flush(true);
        used = false;
        const out = sent.trim();
        const replaced = replacedBy;
        sent = "";
        replacedBy = [];
        return { text: out, screened: true, replacedBy: replaced };
      },
    };
  }

  private async retrieve(turn: Turn, text: string): Promise<Passage[]> {
    const { live } = turn;
    if (!this.deps.retriever || (!QUESTION.test(text) && terms(text, live.state.language).length < 2)) return [];
    const started = this.clock();
    let passages: Passage[];
    try {
      passages = await this.searchKnowledge(this.deps.retriever, turn, text);
    } catch (error) {
      if (turn.signal.aborted) throw error;
      // Knowledge that did not come in time (or at all) is not worth a failed turn: the brain answers without it, and
      // no knowledge gap is recorded for a question the knowledge was never asked.
      this.deps.log.warn("knowledge search failed; answering without it", { conversationId: live.row.id, error });
      live.receipt.add("error", { code: error instanceof RetrievalTimeoutError ? error.code : "knowledge_search_failed", message: error instanceof Error ? error.message : String(error) });
      turn.gapRecorded = true;
      return [];
    }
    live.receipt.add("kb_retrieval", { query: text, passages: passages.map((p) => ({ id: p.id, sourceId: p.sourceId, sourceUrl: p.sourceUrl ?? null, score: p.score })), topScore: passages[0]?.score ?? 0, durationMs: this.clock() - started });
    return passages;
  }

  /**
   * The question as asked, and for the built-in brain as searchQuery widens it (the words passages answering its form
   * use, its words' synonyms): each passage at its better score, so widening only adds passages and never lowers one.
   * A model reads passages by the question's own scores, which its citations and knowledge gaps are judged by.
   */
  private async searchKnowledge(retriever: Retriever, turn: Turn, text: string): Promise<Passage[]> {
    const { live } = turn;
    const search = (query: string) => retriever.search({ organizationId: live.row.organizationId, agentId: live.row.agentId, query, limit: PASSAGES }, { signal: turn.signal });
    const widened = this.brain.name === "builtin" ? searchQuery(text, live.state.language) : text;
    const found = await Promise.all(widened === text ? [search(text)] : [search(text), search(widened)]);
    const best = new Map<string, Passage>();
    for (const p of found.flat()) if ((best.get(p.id)?.score ?? -1) < p.score) best.set(p.id, p);
    return [...best.values()].sort((a, b) => b.score - a.score).slice(0, PASSAGES);
  }

  private dontKnow(turn: Turn, question: string, passages: Passage[]): Speech {
    const { live } = turn;
    if (QUESTION.test(question) && !turn.gapRecorded) {
      turn.gapRecorded = true;
      this.deps.onUnanswered?.({ organizationId: live.row.organizationId, agentId: live.row.agentId, conversationId: live.row.id, question });
    }
    const canTransfer = Boolean(live.compiled.agent.handoffConfig.transferDestination || live.compiled.agent.handoffConfig.transferRules?.length);
    if (canTransfer) live.state.pending = { kind: "offer_transfer", reason: question };
    const unknown = phrase(passages.length ? "answer.unknown_from_knowledge" : "answer.unknown");
    return canTransfer ? [unknown, phrase("handoff.offer")] : unknown;
  }

  private greeting(live: Live): Speech {
    const agent = live.compiled.agent;
    const text = agent.channelOverrides[live.row.channel]?.greeting ?? agent.greeting;
    const hours = live.guardrails.hours();
    const after = live.guardrails.afterHours();
    if (!hours.configured || hours.open || (after.mode ?? "full") === "full") return text;
    const closed = after.message ?? (hours.nextOpeningPhrase ? phrase("greeting.closed_until", { opening: hours.nextOpeningPhrase }) : phrase("greeting.closed"));
    if (after.mode !== "take_message") return [text, closed];
    live.state.pending = { kind: "take_message", step: "message" };
    return [text, closed, phrase("message.offer")];
  }

  /**
   * How a number the caller says without its country code is read: in the country of the number they call from,
   * else the agent's region (a primary language such as en-GB), else DEFAULT_PHONE_REGION.
   */
  private phoneRegion(live: Live): PhoneRegion {
    const caller = live.state.variables.caller_number;
    const fallback = phoneRegionOf(live.compiled.agent.primaryLanguage, this.deps.defaultPhoneRegion ?? "US");
    return (typeof caller === "string" && caller.startsWith("+") && phoneRegionOfNumber(caller)) || fallback;
  }

  /** Fixed sentences in this conversation's language, for the guardrails' replacements. */
  private render(live: Live) {
    return (p: Phrase) => this.phrases.render(p, live.state.language);
  }

  // ---------------------------------------------------------------- plumbing

  private host(turn: Turn, runner: PlaybookRunner) {
    const { live } = turn;
    return {
      say: (speech: Speech) => this.say(turn, speech),
      callSkill: async (skillId: string, args: Record<string, unknown>, preConfirmed: boolean): Promise<SkillCallResult> => {
        const skill = live.skills.find((s) => s.id === skillId);
        if (!skill) {
          live.receipt.add("error", { code: "skill_not_found", message: `playbook ${runner.id} calls unknown skill ${skillId}` });
          return { status: "error" };
        }
        return this.executeSkill(turn, skill, args, { confirmed: preConfirmed, fromPlaybook: true });
      },
      transfer: async (route: { destination: string | null; warm?: boolean; ruleLabel?: string }, message: string | undefined) => {
        await handOff(this.steps, turn, `playbook ${runner.id}`, route, message || undefined);
      },
      localNow: () => localNow(live.guardrails.hours().timezone ?? undefined, this.clock()),
      phoneRegion: () => this.phoneRegion(live),
      giveUp: async (variable: string) => {
        live.receipt.add("error", { code: "slot_not_filled", message: `could not fill ${variable}` });
        const canTransfer = Boolean(live.compiled.agent.handoffConfig.transferDestination || live.compiled.agent.handoffConfig.transferRules?.length);
        if (canTransfer) {
          live.state.pending = { kind: "offer_transfer", reason: `could not collect ${variable}` };
          this.say(turn, phrase("slot.give_up_offer"));
        } else this.say(turn, phrase("slot.give_up"));
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
    // conversation is live here, for the skills and replies of its later turns (live-conversations.ts: a copy
    // reloaded from storage goes on from the redacted state).
    const redact = live.guardrails.redactsPii;
    const kept = <T>(value: T): T => (redact ? redactPiiDeep(value) : value);
    // Let go of only once stored: a failed write loses none of the receipt.
    const unsaved = live.receipt.unsaved();
    const events = unsaved.map((e) => ({ ...e, payload: kept(e.payload) }));
    const messages = redact ? turn.messages.map((m) => ({ ...m, content: redactPii(m.content) })) : turn.messages;
    const state = live.state;
    let saved: boolean;
    try {
      saved = await this.deps.store.saveTurn(
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
    } catch (error) {
      this.deps.log.warn("a turn could not be stored", { conversationId: live.row.id, error });
      throw new ConversationUnavailableError("turn_not_saved", `the turn could not be stored, and nothing of it was; send it again`);
    }
    // Only with no lease held (a copy that lost its lease): another replica's turn was stored after this copy was read.
    if (!saved) throw new ConversationUnavailableError("turn_not_saved", `another turn of conversation ${live.row.id} was stored first, and nothing of this one was; send it again`);
    live.receipt.saved(unsaved.length);
    live.row.turnSeq++;
    live.stored = true;
    turn.result.awaitingDtmf ??= this.collectingDigits(live);
    if (ended) this.live.forget(live.row.id);
  }

  private messageId(live: Live): string {
    return newId("msg", Math.max(Date.now(), live.messageFloorMs));
  }
}

/** An integration skill's receipt names the integration and the operation it ran (`query`: the operator's SQL template). */
function integrationCall(skill: CompiledSkill): { integration?: string; operation?: string } {
  if (!isIntegrationSkillType(skill.skillType)) return {};
  const config = skill.executionConfig;
  return { integration: integrationOf(skill), operation: typeof config.sql_template === "string" ? "query" : typeof config.operation === "string" ? config.operation : "unknown" };
}

export { ConversationEndedError, ConversationNotFoundError, ConversationUnavailableError } from "./live-conversations.ts";

