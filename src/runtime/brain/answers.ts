// Answers from knowledge without a model: which sentence of the retrieved passages answers a caller's question.
//
// Retrieval finds passages that share words with the question; a caller's question and the sentence that answers
// it often share few ("when do you open?" / "Monday to Thursday 8am to 6pm"). Four things bridge that gap:
// - question forms: "when do you open", "what time", "what are your hours" ask for times; "how much", "what does X
//   cost" for prices; "where", "do you cover X" for a place or an area; "how long", "how early" for a duration. Each
//   form names cues a sentence answering it carries (a time of day or a weekday; an amount of money or "free"; a street
//   or "we serve"; "two weeks"), and words added to the search so such passages are found;
// - WordNet (wordnet.ts): a word's dictionary forms ("paid" → pay), and, for less, its synonyms, derived and more
//   general words ("checkup" ~ medical exam, "hourly" ~ hour, Texas → state);
// - synonym groups of everyday customer-service words WordNet lacks ("money back" ~ refund, "pause" ~ freeze);
// - an FAQ passage is matched on its question and its answer together, and its question's form counts.
// Each sentence (an FAQ answer as a whole) is scored by the share of the question's words it holds (weighted by length
// and by rarity among the retrieved sentences, a relative counting for its credit), a question-form word counting as
// held when the sentence carries that form's cues. The best sentence, with the next one when it also answers, is the
// answer; below MIN_COVERAGE nothing is, and the runtime says it does not know.
import { fold, stem, words } from "../../platform/tokens.ts";
import type { Passage } from "../tools/types.ts";
import { lemmas, type Relation, relatives } from "./wordnet.ts";

/** Share of the question's (weighted) words a sentence must hold to answer it. */
export const MIN_COVERAGE = 0.5;
/**
 * What a sentence must hold when it alone among the retrieved sentences holds one of the question's content words
 * ("can I shower after my workout?" / "both changing rooms have showers"): a caller adds words the knowledge never
 * uses ("workout"), and a word only one sentence holds points at it as surely as a fuller match.
 */
export const MIN_COVERAGE_SOLE = 0.35;
/** An answer is at most this long (two sentences of a passage, or an FAQ answer). */
const MAX_ANSWER = 400;
/** A question-form word held by the form's cues rather than by the word itself counts this much. */
const CUE_CREDIT = 0.8;

interface QuestionForm {
  /** The question asks this (matched on the folded question). */
  asks: RegExp;
  /** The question's words that only say what is asked (stemmed as terms are); a sentence with `cues` holds them. */
  words: string[];
  /** A sentence answering such a question carries one of these (matched on the sentence as written). */
  cues: RegExp[];
  /** Added to the search for passages. */
  search: string;
}

/** Numbers as callers and businesses write them in words ("two weeks", "a few days"). */
const NUMBER_WORDS = "an?|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|fifteen|twenty|thirty|forty|fifty|sixty|ninety|a few|a couple of|several";
const WEEKDAYS = "monday|tuesday|wednesday|thursday|friday|saturday|sunday|mon|tue|tues|wed|thu|thurs|fri|sat|sun|weekdays?|weekends?";
const FORMS: QuestionForm[] = [
  {
    asks: /\b(hours?|open|opening|close|closed|closing|what time|when)\b/,
    // A weekday asked about ("are you open on sunday?") is answered by the days a sentence gives ("Monday to Saturday").
    words: ["hour", "open", "close", "time", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday", "weekend", "weekday"],
    cues: [new RegExp(`\\b\\d{1,2}(?::\\d{2})?\\s?(?:am|pm|a\\.m\\.|p\\.m\\.)|\\b(?:${WEEKDAYS}|noon|midnight|daily|24/7|24-hour|around the clock|open|closed|from \\d{1,2}(?::\\d{2})?|until \\d{1,2})\\b`, "gi")],
    search: "hours open opening closed monday friday saturday sunday weekdays weekends am pm",
  },
  {
    asks: /\b(how much|cost|costs|price|prices|pricing|fee|fees|charge|charges|rate|rates|expensive|cheap|afford)\b/,
    words: ["much", "cost", "price", "fee", "charge", "rate", "expensive", "cheap", "afford"],
    cues: [/[$€£¥]\s?\d|\b\d[\d,.]*\s?(?:dollars?|euros?|pounds?|usd|eur|gbp)\b|\b(?:free|costs?|price[sd]?|fees?|charged?|per (?:hour|night|month|person|user|visit|session))\b/gi],
    search: "price cost fee charge $",
  },
  {
    asks: /\b(where|address|located|location|directions|area|areas|serve|cover|come out|come to|near)\b/,
    words: ["address", "located", "location", "direction", "area", "serve", "cover", "near"],
    // A house number before a capitalized name ("42 Maple Street") is matched case-sensitively: "24 hours" is none.
    cues: [/\b(?:street|st|road|rd|avenue|ave|lane|drive|dr|way|boulevard|blvd|suite|floor|located|next to|opposite|behind|near|serve|cover|area|within \d+ (?:miles?|km|kilometers?))\b/gi, /\b\d+\s+[A-Z][a-z]+/g],
    search: "address located street road area serve cover",
  },
  {
    // How long something takes, and how far ahead to do it ("how early", "how far in advance", "how long before").
    asks: /\b(how long|how quickly|how soon|how fast|how early|how late|how far ahead|how far in advance|how much notice|how many days)\b/,
    words: ["long", "quick", "soon", "fast", "take", "early", "late", "ahead", "advance", "notice", "day"],
    cues: [new RegExp(`\\b(?:\\d+|${NUMBER_WORDS})(?:\\s?(?:to|-|–|or)\\s?(?:\\d+|${NUMBER_WORDS}))?\\s?(?:minutes?|mins?|hours?|hrs?|days?|weeks?|months?|years?)\\b|\\b(?:same day|next day|overnight|in advance|ahead|notice)\\b`, "gi")],
    search: "minutes hours days takes",
  },
];

/**
 * Groups of words a caller and a business use for one thing; a question's word is held by a sentence holding any
 * word of a group it belongs to. Multi-word phrases are read as their group's first word. Everyday words, not
 * anyone's knowledge: a product or place name belongs in the knowledge itself.
 */
const SYNONYMS: string[][] = [
  ["refund", "reimburse", "reimbursement", "money back"],
  ["cancel", "cancellation", "quit", "terminate", "stop", "opt out"],
  ["appointment", "booking", "book", "reservation", "reserve"],
  ["child", "children", "kid", "kids", "toddler", "year old"],
  ["dog", "puppy", "pup"],
  ["cat", "kitten"],
  ["pet", "animal"],
  ["pay", "payment", "paid"],
  ["warranty", "guarantee", "guaranteed"],
  ["trial", "try", "test drive"],
  ["freeze", "pause", "suspend", "put on hold"],
  ["discount", "reduction", "concession", "money off", "off"],
  ["vaccine", "vaccination", "vaccinated", "shot", "jab"],
  ["nervous", "anxious", "scared", "afraid", "fearful"],
  ["wifi", "wi fi", "internet", "wireless"],
  ["quote", "estimate", "quotation"],
  ["video", "zoom", "skype", "facetime", "virtual", "remote", "online"],
  ["weekend", "saturday"],
  ["weekend", "sunday"],
  ["quick", "fast", "soon"],
  ["reply", "respond", "response", "answer", "get back"],
  ["export", "download", "backup"],
  ["guest", "friend", "visitor", "plus one"],
  ["shuttle", "ride", "lift", "transport"],
  ["financing", "finance", "payment plan", "installment", "instalment", "pay monthly"],
  ["large", "big", "huge"],
  ["small", "little", "tiny"],
  ["wedding", "bridal", "bride", "marry", "married"],
  ["repair", "fix", "mend"],
  ["install", "replace"],
  ["trim", "clip"],
  ["area", "town", "city", "suburb", "neighborhood", "neighbourhood", "region"],
  ["serve", "cover"],
  ["lawyer", "attorney", "solicitor"],
  ["upfront", "deposit", "retainer", "in advance"],
  ["password", "log in", "login", "sign in"],
  ["secure", "security", "encrypted", "encryption", "safe"],
  ["join", "joining", "sign up", "signup", "register", "registration", "enrol", "enroll"],
  ["walkin", "walk in", "walk ins", "without an appointment", "drop in"],
  ["miss", "missed", "no show"],
  ["deliver", "delivery", "ship", "shipping"],
  ["takeaway", "takeout", "take out", "to go"],
  ["license", "licence", "licensed", "certified", "qualified"],
  ["insurance", "insured", "insurer"],
  ["include", "included", "come with", "comes with"],
  ["accessible", "wheelchair", "disabled"],
  ["email", "e mail", "mail"],
  ["phone", "telephone", "call"],
  ["staff", "employee", "team"],
  ["home", "house", "apartment", "flat"],
  ["night", "evening", "overnight", "after hours", "out of hours", "outside business hours"],
  ["plan", "version", "tier", "edition", "package"],
];

const PHRASES: { pattern: RegExp; word: string }[] = [];
/** Each term (stem) and the words (as written) of the groups it belongs to, for widening a search. */
const GROUP_WORDS = new Map<string, Set<string>>();
/** Each term (stem) and the terms a sentence may hold instead. */
const ACCEPTS = new Map<string, Set<string>>();
for (const group of SYNONYMS) {
  const [head] = group as [string];
  const keys = group.map((w) => (w.includes(" ") ? stem(head) : stem(fold(w))));
  for (const w of group) if (w.includes(" ")) PHRASES.push({ pattern: new RegExp(`\\b${w.replace(/ /g, "[\\s-]+")}\\b`, "g"), word: head });
  for (const key of keys) {
    const accepts = ACCEPTS.get(key) ?? new Set([key]);
    for (const k of keys) accepts.add(k);
    ACCEPTS.set(key, accepts);
    const words = GROUP_WORDS.get(key) ?? new Set();
    for (const w of group) words.add(w);
    GROUP_WORDS.set(key, words);
  }
}

/** Words of a text (folded, before stemming), with the synonym groups' phrases read as their group's word. */
function matchWords(text: string, language?: string | null): string[] {
  let folded = fold(text);
  for (const { pattern, word } of PHRASES) folded = folded.replace(pattern, ` ${word} `);
  return words(folded, language);
}

/** Terms of a text, with the synonym groups' phrases read as their group's word. */
function matchTerms(text: string, language?: string | null): string[] {
  return matchWords(text, language).map(stem);
}

/** WordNet is English's: a text in another language (when told) is matched on its own words only. */
const english = (language?: string | null) => !language || /^en\b/i.test(language);
const latinWord = (word: string) => /^[a-z]+$/.test(word);

/**
 * English derivational suffixes a word is also matched without ("refundable" ~ refund, "bookable" ~ book,
 * "reservation" ~ reserve), on both sides of a comparison alike; WordNet lists few such pairs ("refundable" is not in
 * it). The remainder keeps four letters, so "table" stays whole. Not "-al": "electrical work" is not what "electric
 * heaters" are, and WordNet links the nouns it derives from ("rental" ~ rent).
 */
const DERIVATIONAL = /(?<=^[a-z]{4,})(?:able|ible|ment|ation|ition)$/;

/**
 * A word's match keys: its stem, its dictionary forms' stems in English ("teeth" → tooth, "paid" → pay), and its stem
 * without a derivational suffix.
 */
function keysOf(word: string, language?: string | null): string[] {
  const own = stem(word);
  if (!english(language) || !latinWord(word)) return [own];
  const keys = new Set([own]);
  const forms = [word, ...lemmas(word).map(([lemma]) => lemma).filter(latinWord)];
  for (const form of forms) {
    keys.add(stem(form));
    if (DERIVATIONAL.test(form)) keys.add(stem(form.replace(DERIVATIONAL, "")));
  }
  return [...keys];
}

/** What a relative of an asked word counts for, against the word itself (1). */
const RELATIVE_CREDIT: Record<Relation, number> = { lemma: 1, synonym: 0.8, derived: 0.8, hypernym: 0.6 };

interface Asked {
  term: string;
  /** Match keys a sentence may hold for this word, with what each counts for (1: the word itself or its dictionary form). */
  credit: Map<string, number>;
  /** The keys of the word, its dictionary forms and its synonym group (SYNONYMS), not its WordNet relatives. */
  own: Set<string>;
  /** The keys of the word and its dictionary forms only. */
  forms: string[];
}

function askedOf(question: string, language?: string | null): Asked[] {
  const byTerm = new Map<string, Asked>();
  for (const word of matchWords(question, language)) {
    const term = stem(word);
    if (byTerm.has(term)) continue;
    const credit = new Map<string, number>();
    const own = new Set<string>([term]);
    const give = (key: string, c: number) => credit.set(key, Math.max(c, credit.get(key) ?? 0));
    if (english(language) && latinWord(word)) for (const [relative, how] of relatives(word)) if (latinWord(relative)) give(stem(relative), RELATIVE_CREDIT[how]);
    for (const key of keysOf(word, language))
      for (const k of ACCEPTS.get(key) ?? [key]) {
        give(k, k === key ? 1 : RELATIVE_CREDIT.synonym);
        own.add(k);
      }
    give(term, 1);
    byTerm.set(term, { term, credit, own, forms: keysOf(word, language) });
  }
  return [...byTerm.values()];
}

/**
 * Words that carry little of what a question asks: verbs of asking and having ("can I bring", "do you offer", "what
 * kind of") and numbers (a quantity asked about is rarely the one the answer states: "a group of 20" / "larger than 10").
 */
const LIGHT = new Set(["bring", "get", "have", "make", "come", "go", "take", "offer", "provide", "give", "help", "know", "tell", "find", "use", "see", "let", "put", "keep", "kind", "type", "sort", "way", "thing", "really", "actually", "something", "somewhere", "somehow", "anywhere", "someone", "somebody", "anything", "anyone", "anybody", "everything", "everyone", "everybody"].map(stem));
const weight = (term: string) => (LIGHT.has(term) ? 0.25 : /^\d+$/.test(term) ? 0.5 : Math.min(3, Math.max(1, term.length / 3)));
const cueHits = (form: QuestionForm, text: string) => form.cues.reduce((n, cue) => n + (text.match(cue)?.length ?? 0), 0);
const cued = (form: QuestionForm, text: string) => form.cues.some((cue) => text.search(cue) >= 0);

/** The forms a question takes ("when …", "how much …"). */
function formsOf(question: string): QuestionForm[] {
  const folded = fold(question);
  return FORMS.filter((f) => f.asks.test(folded));
}

/** What to search the knowledge for: the question, plus the words passages answering its form (and synonyms) use. */
export function searchQuery(question: string, language?: string | null): string {
  const extra = new Set<string>();
  for (const form of formsOf(question)) extra.add(form.search);
  for (const term of matchTerms(question, language)) for (const word of GROUP_WORDS.get(term) ?? []) extra.add(word);
  return extra.size ? `${question} ${[...extra].join(" ")}` : question;
}

export interface KnowledgeAnswer {
  text: string;
  passage: Passage;
  /** Share of the question's words the answer holds, in [0, 1]. */
  coverage: number;
}

interface Unit {
  text: string;
  /** Terms the unit is matched on, in order (an FAQ answer's include its question's). */
  terms: string[];
  /** Its words' match keys (keysOf). */
  keys: Set<string>;
  cueText: string;
  /** An FAQ answer's: the forms its question takes ("How much does a move cost?" asks for a price). */
  asks: QuestionForm[];
  passage: number;
  /** The unit after it in the same paragraph, if any. */
  next: number | null;
}

interface Scored {
  coverage: number;
  /** How densely the unit holds the question's words: breaks ties between units holding as much of it with as many cues. */
  density: number;
  cues: number;
}

/** The sentence(s) of `passages` that answer `question`, or null when none holds enough of it. */
export function answerFromPassages(question: string, passages: Passage[], language?: string | null): KnowledgeAnswer | null {
  const forms = formsOf(question);
  const asked = askedOf(question, language);
  if (!asked.length && !forms.length) return null;
  const units = unitsOf(passages, language);
  const rarity = rarityOf(asked, units);
  const scores = units.map((unit) => score(asked, forms, unit, rarity));
  const sole = soleHolders(asked, units);
  let at = -1;
  scores.forEach((s, i) => {
    if (s.coverage < (sole.has(i) ? MIN_COVERAGE_SOLE : MIN_COVERAGE)) return;
    const b = scores[at];
    if (!b || s.coverage > b.coverage + 1e-9 || (s.coverage > b.coverage - 1e-9 && (s.cues > b.cues || (s.cues === b.cues && s.density > b.density + 1e-9)))) at = i;
  });
  if (at < 0) return null;
  const unit = units[at]!;
  let text = unit.text;
  // The next sentence goes with it when it answers too ("Lunch is 12 to 3. Dinner is 6 to 10:30.").
  if (unit.next !== null && scores[unit.next]!.coverage >= MIN_COVERAGE && text.length + units[unit.next]!.text.length < MAX_ANSWER) text = `${text} ${units[unit.next]!.text}`;
  return { text: text.length > MAX_ANSWER ? `${text.slice(0, text.lastIndexOf(" ", MAX_ANSWER))}…` : text, passage: passages[unit.passage]!, coverage: Math.min(1, scores[at]!.coverage) };
}

/**
 * How much each asked word tells the retrieved sentences apart, in (0, 1]: 1 for a word few of them hold, less for one
 * most of them hold ("move" at a removals firm, "membership" at a gym), as inverse document frequency does in search.
 */
function rarityOf(asked: Asked[], units: Unit[]): Map<string, number> {
  const n = units.length;
  const max = Math.log(1 + n);
  return new Map(
    asked.map(({ term, credit }) => {
      const df = units.filter((u) => heldBy(credit, u) === 1).length;
      return [term, n < 3 || !df ? 1 : 0.25 + (0.75 * Math.log(1 + n / df)) / max];
    }),
  );
}

/**
 * The sentences that alone hold one of the question's content words, as the caller said it or its dictionary form: a
 * synonym group's or WordNet's relative may hold it through another sense ("apartment" ~ flat / "a flat fee").
 */
function soleHolders(asked: Asked[], units: Unit[]): Set<number> {
  const sole = new Set<number>();
  if (units.length < 3) return sole;
  for (const { term, forms } of asked) {
    if (LIGHT.has(term) || /^\d+$/.test(term)) continue;
    const holders = units.flatMap((u, i) => (forms.some((k) => u.keys.has(k)) ? [i] : []));
    if (holders.length === 1) sole.add(holders[0]!);
  }
  return sole;
}

/** The best credit among the keys `unit` holds (0 when it holds none). */
function heldBy(credit: Map<string, number>, unit: Unit): number {
  let best = 0;
  for (const key of unit.keys) best = Math.max(best, credit.get(key) ?? 0);
  return best;
}

function score(asked: Asked[], forms: QuestionForm[], unit: Unit, rarity: Map<string, number>): Scored {
  const answering = forms.filter((f) => cued(f, unit.cueText));
  const formWords = new Set(answering.flatMap((f) => f.words.map(stem)));
  // An FAQ whose question asks what the caller asks ("How much does a move cost?" / "What's your hourly rate?") holds
  // the words that only say so, as the caller's own words would be held.
  const askedAlike = new Set(answering.filter((f) => unit.asks.includes(f)).flatMap((f) => f.words.map(stem)));
  let held = 0;
  let total = 0;
  let occurrences = 0;
  let exact = false;
  for (const { term, credit, own } of asked) {
    const w = weight(term) * rarity.get(term)!;
    total += w;
    const got = heldBy(credit, unit);
    held += w * Math.max(got, askedAlike.has(term) ? 1 : formWords.has(term) ? CUE_CREDIT : 0);
    if (got === 1) occurrences += w * unit.terms.filter((t) => credit.get(t) === 1).length;
    exact ||= [...own].some((k) => unit.keys.has(k));
  }
  const cues = answering.reduce((n, f) => n + cueHits(f, unit.cueText), 0);
  const density = occurrences / Math.sqrt(unit.terms.length || 1);
  // A question that is its form alone ("what are your hours?", "where are you?") is answered by the form's cues.
  if (!total) return { coverage: answering.length ? CUE_CREDIT : 0, density, cues };
  // WordNet's relatives alone are no evidence: a word has some relative in many sentences through one of its senses
  // ("broken" ~ "low"). A sentence holds one of the question's own words (or its synonym group's), or answers its form.
  if (!exact && !answering.length) return { coverage: 0, density, cues };
  // A question of some form answered by a sentence without that form's cues holds less of it.
  const coverage = forms.length && !answering.length ? (held / total) * 0.75 : held / total;
  return { coverage, density, cues };
}

const SENTENCE_END = /(?<=[.!?])\s+(?=[^a-z\s])|(?<=[。！？])/u;

function unit(text: string, matchOn: string, passage: number, next: number | null, language?: string | null, faqQuestion?: string): Unit {
  const words = matchWords(matchOn, language);
  return { text, terms: words.map(stem), keys: new Set(words.flatMap((w) => keysOf(w, language))), cueText: text, asks: faqQuestion ? formsOf(faqQuestion) : [], passage, next };
}

function unitsOf(passages: Passage[], language?: string | null): Unit[] {
  const units: Unit[] = [];
  passages.forEach((passage, p) => {
    const faqAnswer = passage.question ? /(?:^|\n)A:\s*([\s\S]+)/.exec(passage.text)?.[1] : undefined;
    if (passage.question && faqAnswer !== undefined) {
      const text = faqAnswer.replace(/\s+/g, " ").trim();
      units.push(unit(text, `${passage.question} ${text}`, p, null, language, passage.question));
      return;
    }
    for (const paragraph of passage.text.split(/\n\s*\n/)) {
      const sentences = paragraph.replace(/\s+/g, " ").trim().split(SENTENCE_END).map((s) => s.trim()).filter(Boolean);
      sentences.forEach((s, i) => {
        units.push(unit(s, s, p, i < sentences.length - 1 ? units.length + 1 : null, language));
      });
    }
  });
  return units;
}
