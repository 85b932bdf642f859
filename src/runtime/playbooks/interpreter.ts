// Walks a playbook's node graph across turns: collect typed slots (spoken or keyed) with validation and
// re-prompts, confirm, branch on conditions, call skills (through the runtime, so guardrails apply), say,
// transfer, end. The position lives in the conversation state, so a playbook survives between requests.
import type { CompiledPlaybook, PlaybookNode } from "../compiled.ts";
import type { PhoneRegion } from "../../platform/e164.ts";
import type { Logger } from "../../platform/log.ts";
import { extract, type SlotType } from "../extractors.ts";
import { compileLinear } from "../patterns/index.ts";
import { phrase, type Speech } from "../phrases/index.ts";
import { fillTemplate } from "../text.ts";
import type { ConversationState } from "../state.ts";
import { nextNodeId } from "./graph.ts";

export type SkillCallResult =
  | { status: "ok"; data: Record<string, unknown> }
  /** The skill did not run or failed; `told` when the runtime already said why to the caller. */
  | { status: "error"; told?: boolean }
  /** Waiting on the caller (confirmation or verification); the runtime resumes the playbook afterwards. */
  | { status: "held" }
  /** The conversation left the playbook (a transfer or an end). */
  | { status: "left" };

export interface PlaybookHost {
  say(speech: Speech): void;
  callSkill(skillId: string, args: Record<string, unknown>, preConfirmed: boolean): Promise<SkillCallResult>;
  /** `destination` wins over `ruleLabel` (a handoffConfig transfer rule); neither = the agent's handoff routing. */
  transfer(route: { destination: string | null; warm?: boolean; ruleLabel?: string }, message: string | undefined): Promise<void>;
  localNow(): Date;
  /** How a phone number the caller says without its country code is read. */
  phoneRegion(): PhoneRegion;
  /** A collect step that failed its last retry: the runtime offers a person. */
  giveUp(variable: string): Promise<void>;
}

interface CollectData {
  variable: string;
  prompt: string;
  slotType?: SlotType;
  options?: string[];
  validation?: { pattern?: string; min?: number; max?: number; minLength?: number; maxLength?: number };
  retryPrompt?: string;
  maxRetries?: number;
  dtmf?: { enabled?: boolean; expectedDigits?: number; submitKey?: string };
  required?: boolean;
  persist?: boolean;
}

interface Condition {
  handle: string;
  variable: string;
  operator: "eq" | "neq" | "gt" | "gte" | "lt" | "lte" | "contains" | "exists" | "not_exists" | "in";
  value?: unknown;
}

const MAX_STEPS_PER_TURN = 64;

export type PlaybookInput = { text: string } | { digits: string };

export class PlaybookRunner {
  private nodes: Map<string, PlaybookNode>;
  private warned = new Set<string>();

  constructor(
    private playbook: CompiledPlaybook,
    private log?: Pick<Logger, "warn">,
  ) {
    this.nodes = new Map(playbook.graph.nodes.map((n) => [n.id, n]));
  }

  private readonly skipped = (pattern: string, reason: string) => {
    if (this.warned.has(pattern)) return;
    this.warned.add(pattern);
    this.log?.warn("playbook validation pattern skipped: it cannot run in the linear-time matcher", { playbookId: this.playbook.id, pattern, reason });
  };

  get id() {
    return this.playbook.id;
  }

  /** A playbook with no start step cannot run (validation refuses one; older data may hold one). */
  get startable() {
    return this.playbook.graph.nodes.some((n) => n.type === "start");
  }

  /** Enter the playbook; typed slots the triggering utterance already answers are taken from it. */
  async start(state: ConversationState, host: PlaybookHost, utterance: string | null): Promise<void> {
    const start = this.playbook.graph.nodes.find((n) => n.type === "start");
    if (!start) return;
    this.forgetAnswers(state);
    if (utterance) this.prefill(state, utterance, host.localNow());
    state.playbook = { playbookId: this.playbook.id, nodeId: start.id, awaiting: null, retries: 0, confirmed: false };
    await this.run(state, host, this.next(start.id));
  }

  /** The caller's answer to the step the playbook waits on. */
  async input(state: ConversationState, host: PlaybookHost, input: PlaybookInput): Promise<void> {
    const pos = state.playbook;
    if (!pos) return;
    const node = this.nodes.get(pos.nodeId);
    if (!node) {
      state.playbook = null;
      return;
    }
    if (pos.awaiting === "collect") {
      const data = node.data as unknown as CollectData;
      const value = this.readSlot(data, input, host.localNow(), host.phoneRegion());
      if (value === undefined) {
        pos.retries++;
        if (pos.retries > (data.maxRetries ?? 2)) {
          if (data.required === false) {
            pos.retries = 0;
            return this.run(state, host, this.next(node.id));
          }
          state.playbook = null;
          return host.giveUp(data.variable);
        }
        host.say(data.retryPrompt ? fillTemplate(data.retryPrompt, state.variables) : [phrase("retry.didnt_catch"), fillTemplate(data.prompt, state.variables)]);
        return;
      }
      answered(state, data, value);
      pos.retries = 0;
      return this.run(state, host, this.next(node.id));
    }
    if (pos.awaiting === "confirm") {
      const text = "text" in input ? input.text : input.digits === "1" ? "yes" : input.digits === "2" ? "no" : "";
      const answer = extract("yes_no", text);
      if (!answer.ok) {
        pos.retries++;
        if (pos.retries > 2) {
          state.playbook = null;
          return host.giveUp("confirmation");
        }
        host.say([phrase("confirm.say_yes_no"), fillTemplate(String(node.data.prompt ?? ""), state.variables)]);
        return;
      }
      pos.retries = 0;
      pos.confirmed = answer.value === true;
      return this.run(state, host, this.next(node.id, answer.value ? "yes" : "no"));
    }
  }

  /** Continue after a held skill call finished (confirmed, verified, or refused). */
  async resume(state: ConversationState, host: PlaybookHost, outcome: SkillCallResult): Promise<void> {
    const pos = state.playbook;
    if (!pos) return;
    const node = this.nodes.get(pos.nodeId);
    if (!node || node.type !== "skill") return;
    await this.run(state, host, this.afterSkill(node, state, outcome, host));
  }

  private async run(state: ConversationState, host: PlaybookHost, nodeId: string | null): Promise<void> {
    let current = nodeId;
    for (let step = 0; step < MAX_STEPS_PER_TURN; step++) {
      const pos = state.playbook;
      if (!pos) return;
      if (current === null) {
        // A path that simply stops ends the playbook (validation refuses such graphs; old data may still hold one).
        state.playbook = null;
        return;
      }
      const node = this.nodes.get(current);
      if (!node) {
        state.playbook = null;
        return;
      }
      pos.nodeId = node.id;
      pos.awaiting = null;
      const d = node.data;
      switch (node.type) {
        case "start":
          current = this.next(node.id);
          break;
        case "message":
          host.say(fillTemplate(String(d.text ?? ""), state.variables));
          current = this.next(node.id);
          break;
        case "collect": {
          const data = d as unknown as CollectData;
          const known = state.variables[data.variable];
          if (known !== undefined && known !== null && known !== "") {
            current = this.next(node.id);
            break;
          }
          pos.awaiting = "collect";
          pos.retries = 0;
          host.say(fillTemplate(data.prompt, state.variables));
          return;
        }
        case "confirm":
          pos.awaiting = "confirm";
          pos.retries = 0;
          host.say(fillTemplate(String(d.prompt ?? ""), state.variables));
          return;
        case "branch": {
          const conditions = (d.conditions as Condition[] | undefined) ?? [];
          const hit = conditions.find((c) => holds(c, state.variables));
          current = this.next(node.id, hit ? hit.handle : "else");
          break;
        }
        case "skill": {
          const inputs = (d.inputs as Record<string, string> | undefined) ?? {};
          const args = Object.fromEntries(Object.entries(inputs).map(([param, template]) => [param, resolveInput(template, state.variables)]));
          const outcome = await host.callSkill(String(d.skillId), args, pos.confirmed);
          if (outcome.status === "held" || outcome.status === "left" || !state.playbook) return;
          current = this.afterSkill(node, state, outcome, host);
          break;
        }
        case "transfer":
          state.playbook = null;
          await host.transfer(
            {
              destination: (d.destination as string | undefined) ?? null,
              ...(typeof d.warm === "boolean" ? { warm: d.warm } : {}),
              ...(typeof d.ruleLabel === "string" ? { ruleLabel: d.ruleLabel } : {}),
            },
            typeof d.message === "string" ? fillTemplate(d.message, state.variables) : undefined,
          );
          return;
        case "end":
          state.playbook = null;
          if (d.message) host.say(fillTemplate(String(d.message), state.variables));
          if (d.outcome !== "abandoned") state.goalCompleted = true;
          return;
        default:
          state.playbook = null;
          return;
      }
    }
    // A loop with no caller input in it: stop rather than spin.
    state.playbook = null;
  }

  private afterSkill(node: PlaybookNode, state: ConversationState, outcome: SkillCallResult, host: PlaybookHost): string | null {
    if (state.playbook) state.playbook.confirmed = false;
    if (outcome.status === "ok") {
      const d = node.data;
      if (typeof d.outputVariable === "string") state.variables[d.outputVariable] = outcome.data;
      for (const [variable, path] of Object.entries((d.outputs as Record<string, string> | undefined) ?? {})) state.variables[variable] = pick(outcome.data, path);
      return this.next(node.id, "success");
    }
    const onError = this.next(node.id, "error");
    if (onError) return onError;
    // Without an error exit the steps after the skill would speak outputs it never produced: leave the playbook.
    if (!(outcome.status === "error" && outcome.told)) host.say(phrase("skill.failed"));
    return null;
  }

  /** The node after `nodeId` through an exit (null = the unnamed exit of single-exit nodes). */
  private next(nodeId: string, handle: string | null = null): string | null {
    const node = this.nodes.get(nodeId);
    return node ? nextNodeId(this.playbook.graph, node, handle) : null;
  }

  private readSlot(data: CollectData, input: PlaybookInput, now: Date, phoneRegion: PhoneRegion): string | number | boolean | undefined {
    const type = data.slotType ?? "text";
    let value: string | number | boolean | undefined;
    if ("digits" in input) {
      if (!data.dtmf?.enabled) return undefined;
      const digits = input.digits.replace(/[#*]$/, "");
      if (data.dtmf.expectedDigits && digits.length !== data.dtmf.expectedDigits) return undefined;
      if (type === "number" || type === "integer") value = Number(digits);
      else if (type === "phone") {
        const phone = extract("phone", digits, { phoneRegion });
        value = phone.ok ? phone.value : undefined;
      } else value = digits; // leading zeros matter in keyed values (ZIP codes, account numbers)
    } else {
      const got = extract(type, input.text, { localNow: now, options: data.options, phoneRegion });
      value = got.ok ? got.value : undefined;
    }
    if (value === undefined) return undefined;
    return valid(value, data.validation, this.skipped) ? value : undefined;
  }

  private prefill(state: ConversationState, utterance: string, now: Date) {
    for (const node of this.playbook.graph.nodes) {
      if (node.type !== "collect") continue;
      const data = node.data as unknown as CollectData;
      const type = data.slotType ?? "text";
      // Only slots a sentence can answer unambiguously; free text, names and yes/no need their own question.
      if (["text", "name", "yes_no", "digits", "number", "integer", "choice"].includes(type)) continue;
      if (state.variables[data.variable] !== undefined) continue;
      const got = extract(type, utterance, { localNow: now, options: data.options });
      if (got.ok && valid(got.value, data.validation, this.skipped)) answered(state, data, got.value);
    }
  }

  /**
   * A run starts fresh: answers earlier runs gave this playbook's questions are forgotten, so each is asked again
   * (a menu entered twice asks again, never repeating the last choice). Kept: answers to `persist` steps, and
   * values no playbook question gave (the caller's number, what verification or a skill established).
   */
  private forgetAnswers(state: ConversationState) {
    const answers = state.playbookAnswers;
    if (!answers?.length) return;
    for (const node of this.playbook.graph.nodes) {
      if (node.type !== "collect") continue;
      const variable = (node.data as unknown as CollectData).variable;
      const i = answers.indexOf(variable);
      if (i < 0) continue;
      answers.splice(i, 1);
      delete state.variables[variable];
    }
  }

  /** The runtime's view of where the playbook waits: keypad settings for the voice channel. */
  awaitingDtmf(state: ConversationState): CollectData["dtmf"] | null {
    const pos = state.playbook;
    if (!pos || pos.awaiting !== "collect") return null;
    const data = this.nodes.get(pos.nodeId)?.data as unknown as CollectData | undefined;
    return data?.dtmf?.enabled ? data.dtmf : null;
  }
}

/** Keep a question's answer, noting whether a later run asks it again (every answer but a `persist` step's). */
function answered(state: ConversationState, data: CollectData, value: string | number | boolean) {
  state.variables[data.variable] = value;
  const answers = (state.playbookAnswers ??= []);
  const i = answers.indexOf(data.variable);
  if (data.persist && i >= 0) answers.splice(i, 1);
  else if (!data.persist && i < 0) answers.push(data.variable);
}

function valid(value: string | number | boolean, v: CollectData["validation"], onSkipped: (pattern: string, reason: string) => void): boolean {
  if (!v) return true;
  if (typeof value === "number") return (v.min === undefined || value >= v.min) && (v.max === undefined || value <= v.max);
  const s = String(value);
  if (v.minLength !== undefined && s.length < v.minLength) return false;
  if (v.maxLength !== undefined && s.length > v.maxLength) return false;
  if (v.pattern) {
    const compiled = compileLinear(v.pattern);
    // Only a graph saved before patterns were checked can hold one the linear engine cannot run. Running it in a
    // backtracking engine could stall the server, and refusing every answer would trap every caller, so the
    // pattern is skipped (the other checks still apply) with a warning, and the pre-publish report names it.
    if (!compiled.ok) onSkipped(v.pattern, compiled.reason);
    else if (!compiled.pattern.test(s)) return false;
  }
  return true;
}

function holds(c: Condition, vars: Record<string, unknown>): boolean {
  const v = vars[c.variable];
  const num = (x: unknown) => (typeof x === "number" ? x : Number(x));
  switch (c.operator) {
    case "exists":
      return v !== undefined && v !== null && v !== "";
    case "not_exists":
      return v === undefined || v === null || v === "";
    case "eq":
      return String(v).toLowerCase() === String(c.value).toLowerCase();
    case "neq":
      return String(v).toLowerCase() !== String(c.value).toLowerCase();
    case "gt":
      return num(v) > num(c.value);
    case "gte":
      return num(v) >= num(c.value);
    case "lt":
      return num(v) < num(c.value);
    case "lte":
      return num(v) <= num(c.value);
    case "contains":
      return String(v ?? "").toLowerCase().includes(String(c.value).toLowerCase());
    case "in":
      return Array.isArray(c.value) && c.value.map((x) => String(x).toLowerCase()).includes(String(v).toLowerCase());
  }
}

/** "{address}" passes the variable's own value (keeping numbers and booleans); other templates fill text. */
function resolveInput(template: string, vars: Record<string, unknown>): unknown {
  const whole = /^\{([a-zA-Z_][a-zA-Z0-9_]*)\}$/.exec(template);
  return whole ? vars[whole[1]!] : fillTemplate(template, vars);
}

function pick(data: unknown, path: string): unknown {
  return path.split(".").reduce<unknown>((acc, key) => (acc && typeof acc === "object" ? (acc as Record<string, unknown>)[key] : undefined), data);
}
