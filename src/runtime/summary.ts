// The one-line summary and primary topic of a conversation, read from its transcript and receipt alone.
// Deterministic (no model): the same conversation always reads the same in Observe, and topic counts stay stable.
import { trimEndWhere, trimStartWhere } from "../platform/caller-text.ts";
import type { PhraseId } from "./phrases/index.ts";

export interface SummaryInput {
  messages: { role: "user" | "assistant"; content: string }[];
  events: { eventType: string; payload: Record<string, unknown> }[];
  goalCompleted: boolean;
  outcome: string;
}

export interface ConversationSummary {
  summary: string;
  topic: string | null;
}

const MAX_REQUEST_CHARS = 90;
const MAX_TOPIC_WORDS = 3;

const STOPWORDS = new Set(
  (
    "a about after an and are as at be been before but by can could do does did for from have has had how i i'd i'm i've is it it's its me my mine " +
    "of on or our please so that the their them there this to us was we what when where which who why will with would you your " +
    "yes yeah no nope ok okay hi hello hey thanks thank um uh sure just also really very some any here today now then if not " +
    "in into out up down off over per via than too regarding that's what's there's all nothing else bye goodbye great good fine cool right alright perfect " +
    "need needs want wants like help know tell ask asking wondering looking trying hoping calling call get got make see " +
    "talk speak book schedule check find set"
  ).split(" "),
);

const OPENERS = /^(?:(?:hi|hello|hey|good (?:morning|afternoon|evening)|yes|yeah|ok(?:ay)?|so|well|um+|uh+)(?: there)?\b[\s,.!-]*)+/i;
const QUESTION = /\?\s*$|^(?:what|when|where|who|why|how|which|do|does|did|is|are|can|could|will|would|should)\b/i;
const WANTS_TO = /^(?:i(?:'d| would) like to|i want to|i wanna|i need to|i(?:'m| am) (?:trying|looking|hoping|calling) to|can i|could i|please|help me(?: to)?)\s+/i;
const WANTS = /^i (?:need|want|(?:'d| would) like)\s+/i;
const ABOUT = /^(?:i(?:'m| am) )?(?:calling|writing|here|reaching out) (?:about|regarding|for)\s+/i;
const REDACTED = /\[[a-z ]+\]/g;

// The fixed sentences (phrases/) the runtime says when a caller leaves a message and when it cannot answer, read by
// id from the receipt's agent_message events: in any language, however they are worded.
const MESSAGE_TAKEN: PhraseId[] = ["message.taken"];
const DONT_KNOW: PhraseId[] = ["answer.unknown", "answer.unknown_from_knowledge"];

const PAST_TENSE: Record<string, string> = {
  add: "added",
  book: "booked",
  cancel: "cancelled",
  check: "checked",
  confirm: "confirmed",
  create: "created",
  email: "emailed",
  file: "filed",
  find: "found",
  get: "got",
  log: "logged",
  lookup: "looked up",
  look: "looked",
  make: "made",
  notify: "notified",
  open: "opened",
  pay: "paid",
  place: "placed",
  record: "recorded",
  register: "registered",
  request: "requested",
  reschedule: "rescheduled",
  reserve: "reserved",
  schedule: "scheduled",
  search: "searched",
  send: "sent",
  submit: "submitted",
  track: "tracked",
  update: "updated",
  verify: "verified",
};

const REFERENCE_KEY = /^(ticket|confirmation|reference|ref|booking|order|appointment|case|reservation|request|tracking)(?:id|number|no|code|ref)?$/;

export function summarizeConversation(input: SummaryInput): ConversationSummary {
  const request = firstRequest(input.messages);
  const happened = whatHappened(input);
  const line = request ? `${describeRequest(request)}; ${happened}` : capitalize(happened);
  return { summary: `${line}.`, topic: (request && topicOf(request)) || skillTopic(input.events) };
}

/** The caller's first utterance that says something beyond a greeting or a yes/no. */
function firstRequest(messages: SummaryInput["messages"]): string | null {
  for (const m of messages) {
    if (m.role !== "user") continue;
    const text = m.content.replace(/\s+/g, " ").trim().replace(OPENERS, "");
    if (keywords(text).length) return text;
  }
  return null;
}

function describeRequest(text: string): string {
  if (QUESTION.test(text)) return `Caller asked "${clip(capitalize(text))}"`;
  const plain = trimEndWhere(text, /[.!]/);
  for (const [lead, verb] of [
    [WANTS_TO, "wanted to"],
    [WANTS, "wanted"],
    [ABOUT, "asked about"],
  ] as const) {
    if (lead.test(plain)) return `Caller ${verb} ${clip(thirdPerson(plain.replace(lead, "")))}`;
  }
  return `Caller said "${clip(capitalize(plain))}"`;
}

function whatHappened({ events, goalCompleted, outcome }: SummaryInput): string {
  const handoff = events.findLast((e) => e.eventType === "handoff");
  if (handoff) {
    const { destination, ruleLabel } = handoff.payload;
    const to = ruleLabel ? `${ruleLabel} (${destination})` : String(destination);
    return outcome === "transferred" ? `transferred to ${to}` : `referred to ${to}`;
  }
  const said = (ids: PhraseId[]) =>
    events.some((e) => e.eventType === "agent_message" && Array.isArray(e.payload.phrases) && e.payload.phrases.some((p) => ids.includes((p as { id?: PhraseId }).id!)));
  if (said(MESSAGE_TAKEN)) return "left a message";

  const calls = events.filter((e) => e.eventType === "tool_call" && e.payload.purpose !== "verification");
  const done = calls.filter((e) => e.payload.status === "ok" && !isActionMarker(e.payload.result));
  const action = done.findLast((e) => reference(e.payload.result)) ?? done.at(-1);
  if (action) {
    const ref = reference(action.payload.result);
    return `${pastTense(skillWords(action.payload.skillName))}${ref ? ` (${ref})` : ""}`;
  }
  const refused = calls.findLast((e) => e.payload.status === "blocked");
  if (refused) return `${skillWords(refused.payload.skillName).join(" ")} was refused by a guardrail`;
  const failed = calls.findLast((e) => e.payload.status === "error");
  if (failed) return `${skillWords(failed.payload.skillName).join(" ")} failed`;

  const verification = events.findLast((e) => e.eventType === "verification");
  if (verification && ["failed", "locked"].includes(String(verification.payload.status))) return "caller verification failed";
  if (outcome === "error" || events.some((e) => e.eventType === "error")) return "the agent hit an error";
  if (goalCompleted) return "request completed";
  if (said(DONT_KNOW)) return "the agent could not answer";
  if (outcome === "abandoned") return "ended before the caller spoke";
  if (events.some((e) => e.eventType === "kb_retrieval" && Array.isArray(e.payload.passages) && e.payload.passages.length)) return "answered from knowledge";
  return "conversation ended";
}

/** `{action: "transfer"}` and the like: a skill that asked the runtime to act, reported by its own event. */
function isActionMarker(result: unknown): boolean {
  return isRecord(result) && typeof result.action === "string" && Object.keys(result).length === 1;
}

/** A ticket, booking or order number in a skill's result: `ticket T-1001`. */
function reference(result: unknown): string | null {
  if (!isRecord(result)) return null;
  for (const [key, value] of Object.entries(result)) {
    const match = REFERENCE_KEY.exec(key.toLowerCase().replace(/[_-]/g, ""));
    if (!match || (typeof value !== "string" && typeof value !== "number")) continue;
    const text = String(value).trim();
    if (text && text.length <= 40) return `${match[1] === "ref" ? "reference" : match[1]} ${text}`;
  }
  return null;
}

function topicOf(request: string): string | null {
  const words = [...new Set(keywords(request))].slice(0, MAX_TOPIC_WORDS);
  return words.length ? words.join(" ") : null;
}

/** The first skill used, without its leading verb: `create_service_request` → `service request`. */
function skillTopic(events: SummaryInput["events"]): string | null {
  const call = events.find((e) => e.eventType === "tool_call" && e.payload.purpose !== "verification");
  if (!call) return null;
  const words = skillWords(call.payload.skillName);
  const noun = PAST_TENSE[words[0] ?? ""] && words.length > 1 ? words.slice(1) : words;
  return noun.join(" ") || null;
}

function keywords(text: string): string[] {
  return text
    .toLowerCase()
    .replace(REDACTED, " ")
    .split(/[^a-z0-9']+/)
    .map((w) => trimEndWhere(trimStartWhere(w, /'/), /'/))
    .filter((w) => w.length > 1 && !STOPWORDS.has(w) && !/\d/.test(w));
}

function skillWords(name: unknown): string[] {
  return String(name ?? "skill")
    .replace(/([a-z])([A-Z])/g, "$1 $2")
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter(Boolean);
}

function pastTense(words: string[]): string {
  const [verb, ...rest] = words;
  const past = PAST_TENSE[verb ?? ""];
  return past ? [past, ...rest].join(" ") : `used ${words.join(" ")}`;
}

function thirdPerson(text: string): string {
  const swap: Record<string, string> = { my: "their", me: "them", mine: "theirs", myself: "themselves" };
  return text.replace(/\b(my|me|mine|myself)\b/gi, (w) => swap[w.toLowerCase()]!);
}

function clip(text: string): string {
  if (text.length <= MAX_REQUEST_CHARS) return text;
  const cut = text.slice(0, MAX_REQUEST_CHARS);
  return `${trimEndWhere(cut.slice(0, Math.max(cut.lastIndexOf(" "), MAX_REQUEST_CHARS / 2)), /[\s,;:.-]/)}…`;
}

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
