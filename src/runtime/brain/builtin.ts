// The built-in brain: works with no model at all. It recognizes requests for a person, goodbyes and repeats,
// routes an utterance to the playbook or skill whose description matches it best, fills the skill's parameters
// with typed extractors, answers from retrieved knowledge, and otherwise says plainly that it does not know.
import { trimEndWhere } from "../../platform/caller-text.ts";
import type { PhoneRegion } from "../../platform/e164.ts";
import type { AgentSettings, CompiledPlaybook, CompiledSkill } from "../compiled.ts";
import { extract, type SlotType } from "../extractors.ts";
import { terms } from "../../platform/tokens.ts";
import { phrase, type Phrase, type PhraseId, type Speech } from "../phrases/index.ts";
import { overlapScore } from "../text.ts";
import { answerFromPassages } from "./answers.ts";
import type { Brain, BrainAction, BrainContext } from "./types.ts";

const MATCH_THRESHOLD = 0.3;

const ASKS_FOR = /\b(speak|talk|connect|transfer|put me through|get me)\b/i;
const A_PERSON = /\b(human|person|someone|somebody|agent|representative|operator|manager|staff|team|people)\b/i;
const ONLY_A_PERSON = /^\W*(human|operator|representative|a person|real person)\W*$|\breal person\b/i;

/**
 * Whether the caller asks for a person: "can I speak to someone", "human", "a real person". Checked line by line,
 * first the request and then a person after it: one pattern `\b(speak|…)\b.*\b(human|…)\b` would scan to the end
 * of the line from every "speak" in it, quadratic in a long message.
 */
export function wantsPerson(text: string): boolean {
  if (ONLY_A_PERSON.test(text)) return true;
  return text.split(/[\n\r\u2028\u2029]/).some((line) => {
    const ask = ASKS_FOR.exec(line);
    return ask !== null && A_PERSON.test(line.slice(ask.index + ask[0].length));
  });
}
export const WANTS_END = /\b(bye|goodbye|good bye|that's all|that is all|that's it|nothing else|no thanks|no thank you|hang up|end the call|we're done)\b/i;
/**
 * Whether a caller's goodbye ("bye", "that's all") ends the conversation: callControl.endCallPhrasesEnabled,
 * on unless the operator turns it off (the spec names no default; a goodbye ending the call is what callers expect).
 */
export function endCallPhrasesEnabled(agent: Pick<AgentSettings, "callControl">): boolean {
  return agent.callControl.endCallPhrasesEnabled !== false;
}
export const WANTS_REPEAT = /\b(repeat that|say that again|pardon|come again|what did you say|repeat|hear (?:\w+ ){0,2}again)\b/i;
const ASKS_HOURS = /\b(hours|open|opening|close|closing|closed)\b/i;

interface Indexed<T> {
  item: T;
  words: Set<string>;
}

const indexCache = new WeakMap<object, { skills: Indexed<CompiledSkill>[]; playbooks: Indexed<CompiledPlaybook>[] }>();

function index(ctx: BrainContext) {
  let cached = indexCache.get(ctx.skills);
  if (!cached) {
    cached = {
      skills: ctx.skills.map((item) => ({
        item,
        words: new Set(terms([item.name.replace(/[_-]/g, " "), item.description, ...Object.entries(item.parametersSchema.properties ?? {}).map(([k, v]) => `${k.replace(/_/g, " ")} ${v.description ?? ""}`)].join(" "))),
      })),
      playbooks: ctx.playbooks.map((item) => ({ item, words: new Set(terms(`${item.name} ${item.description}`)) })),
    };
    indexCache.set(ctx.skills, cached);
  }
  return cached;
}

export const builtinBrain: Brain = {
  name: "builtin",
  async next(ctx) {
    if (ctx.toolResults.length) return [{ type: "reply", text: describeResult(ctx) }];
    const text = ctx.userText;
    if (wantsPerson(text)) return [{ type: "transfer", reason: text }];
    if (WANTS_END.test(text)) return endCallPhrasesEnabled(ctx.agent) ? [{ type: "end", text: null }] : [{ type: "reply", text: phrase("anything_else") }];

    const words = terms(text, ctx.language);
    const { skills, playbooks } = index(ctx);
    let best: { score: number; action: BrainAction } | null = null;
    for (const p of playbooks) {
      const score = overlapScore(words, p.words);
      if (score >= MATCH_THRESHOLD && (!best || score > best.score)) best = { score, action: { type: "start_playbook", playbook: p.item } };
    }
    for (const s of skills) {
      // Verifier-style and transfer skills are reached through their own flows; knowledge answers come below.
      if (s.item.skillType === "knowledge_query") continue;
      const score = overlapScore(words, s.words);
      if (score >= MATCH_THRESHOLD && (!best || score > best.score + 0.05)) {
        best = { score, action: { type: "call_skill", callId: `call_${ctx.state.toolCallCount + 1}`, skill: s.item, args: extractArguments(s.item, text, ctx) } };
      }
    }
    if (best) return [best.action];

    const answer = answerFromPassages(text, ctx.passages, ctx.language);
    if (answer) return [{ type: "reply", text: answer.text, citations: [answer.passage] }];
    if (ASKS_HOURS.test(text) && ctx.hours.configured) return [{ type: "reply", text: describeHours(ctx) }];

    // An empty reply tells the runtime the brain does not know: it answers so, records the gap, offers a person.
    return [{ type: "reply", text: "" }];
  },
};

function describeHours(ctx: BrainContext): Phrase[] {
  const weekly = ctx.agent.businessHours.weekly ?? {};
  const days = Object.entries(weekly)
    .filter(([, ranges]) => ranges && ranges.length)
    .map(([day, ranges]) => phrase("hours.day", { day: phrase(`weekday.${day}` as PhraseId), ranges: ranges!.map((r) => phrase("hours.range", { start: r.start, end: r.end })) }));
  const opening = ctx.hours.nextOpeningPhrase;
  const now = ctx.hours.open ? phrase("hours.open_now") : opening ? phrase("hours.closed_now_until", { opening }) : phrase("hours.closed_now");
  return [now, phrase("hours.list", { days, timezone: ctx.hours.timezone ?? "UTC" })];
}

function describeResult(ctx: BrainContext): Speech {
  const last = ctx.toolResults[ctx.toolResults.length - 1]!;
  if (!last.ok) return last.skill.errorHandling.message ?? phrase("skill.failed");
  const r = last.result;
  for (const key of ["message", "reply", "text", "summary"]) {
    if (typeof r[key] === "string" && r[key]) return r[key] as string;
  }
  // Several records (an integration read that matched more than one): each one's fields, the first few only.
  const records = Array.isArray(r.rows) ? (r.rows as unknown[]).filter((row): row is Record<string, unknown> => row !== null && typeof row === "object" && !Array.isArray(row)) : [];
  const details = (records.length ? records.slice(0, MAX_RECORDS_SAID) : [r]).map(fieldsSaid).filter(Boolean);
  return details.length ? phrase("answer.found", { details: details.join(". ") }) : phrase("answer.done");
}

const MAX_RECORDS_SAID = 3;

/** `start time: 2027-03-01; customer name: Grace` — a record's plain fields, as words. */
function fieldsSaid(record: Record<string, unknown>): string {
  return Object.entries(record)
    .filter(([, v]) => v !== null && v !== undefined && typeof v !== "object")
    .map(([k, v]) => `${k.replace(/_/g, " ").replace(/([a-z])([A-Z])/g, "$1 $2").toLowerCase()}: ${typeof v === "boolean" ? (v ? "yes" : "no") : v}`)
    .join("; ");
}

/** A parameter's type as a slot type, from its JSON Schema and its name. */
export function slotTypeFor(name: string, schema: { type?: string; enum?: unknown[]; format?: string }): SlotType | null {
  const n = name.toLowerCase();
  if (schema.enum?.length) return "choice";
  if (schema.type === "boolean") return "yes_no";
  if (schema.type === "integer") return "integer";
  if (schema.type === "number") return "number";
  if (schema.format === "email" || n.includes("email")) return "email";
  if (schema.format === "date" || /(^|_)date$|day$/.test(n)) return "date";
  if (schema.format === "time" || /(^|_)time$/.test(n)) return "time";
  if (schema.format === "date-time" || n.includes("datetime") || n.includes("when")) return "datetime";
  if (/phone|mobile|cell|callback/.test(n)) return "phone";
  if (/address/.test(n)) return "address";
  if (/(^|_)(first_|last_|full_)?name$/.test(n)) return "name";
  if (/zip|postcode|postal/.test(n)) return "text";
  if (/(^|_)(id|number|no|code|pin|ref|reference|serial)$|order|account|ticket|confirmation/.test(n)) return "digits";
  return null;
}

const POSTCODE = /\b\d{5}(?:-\d{4})?\b|\b[A-Z]{1,2}\d[A-Z\d]?\s?\d[A-Z]{2}\b/i;
const IDENTIFIER = /\b[A-Z0-9][A-Z0-9-]{2,}\b/i;

/**
 * The first identifier ("A-1234", "ORD42"): three or more letters, digits and dashes, starting no later than the run's
 * last digit. Runs are found first and those with a digit checked alone: a lookahead for the digit would rescan a
 * long run of letters and dashes from each of its word starts.
 */
function findIdentifier(text: string): string | undefined {
  for (const run of text.matchAll(/[A-Z0-9-]+/gi)) {
    const lastDigit = trimEndWhere(run[0], /\D/).length - 1;
    if (lastDigit < 0) continue;
    // One character either side, so that \b at the run's edges reads as it does in the whole text.
    const from = Math.max(0, run.index - 1);
    const m = IDENTIFIER.exec(text.slice(from, run.index + run[0].length + 1));
    if (m && from + m.index <= run.index + lastDigit) return m[0];
  }
  return undefined;
}
const FREE_TEXT = /^(query|question|text|message|description|problem|issue|details|request|reason|topic)$/i;

/** Fill what the utterance already says; the runtime asks for the rest. */
export function extractArguments(skill: CompiledSkill, text: string, ctx: Pick<BrainContext, "state" | "phoneRegion">): Record<string, unknown> {
  const args: Record<string, unknown> = {};
  const props = Object.entries(skill.parametersSchema.properties ?? {});
  for (const [name, schema] of props) {
    const known = ctx.state.variables[name];
    if (known !== undefined && known !== null && known !== "") {
      args[name] = known;
      continue;
    }
    if (FREE_TEXT.test(name) && props.length === 1) {
      args[name] = text;
      continue;
    }
    const value = extractParameter(name, schema, text, ctx.phoneRegion);
    if (value !== undefined) args[name] = value;
  }
  return args;
}

export function extractParameter(name: string, schema: { type?: string; enum?: unknown[]; format?: string }, text: string, phoneRegion: PhoneRegion): unknown {
  const n = name.toLowerCase();
  if (/zip|postcode|postal/.test(n)) return POSTCODE.exec(text)?.[0].toUpperCase();
  const type = slotTypeFor(name, schema);
  if (type === "digits") return findIdentifier(text);
  if (!type) return undefined;
  const got = extract(type, text, { options: schema.enum?.map(String), phoneRegion });
  return got.ok ? got.value : undefined;
}
