// The runtime's fixed sentences (what the agent says itself, not what an operator configured or a model wrote), kept
// by id and language so an agent speaks its conversation's language, and the receipt records which sentence was said:
// summaries and reports read the id, never the words, so a sentence can be reworded or translated freely.
import { de } from "./de.ts";
import { en, type PhraseId } from "./en.ts";
import { es } from "./es.ts";
import { fr } from "./fr.ts";

export type { PhraseId } from "./en.ts";

/** A fixed sentence to say, with its `{name}` parameters: text, numbers, or other phrases rendered in the same language. */
export interface Phrase {
  id: PhraseId;
  params?: Record<string, PhraseParam>;
}
/** A list is joined as the language joins a list ("a and b", "a und b"). */
export type PhraseParam = string | number | Phrase | PhraseParam[];

/** What is said: free text (operator- or model-written), a fixed sentence, or both in a row. */
export type Speech = string | Phrase | readonly (string | Phrase)[];

/** Phrase tables by language tag (`de`, `pt-BR`); a language or sentence missing from one falls back to English. */
export type PhraseTable = Record<string, Partial<Record<PhraseId, string>>>;

export const PHRASES: PhraseTable = { en, de, es, fr };

export const phrase = (id: PhraseId, params?: Phrase["params"]): Phrase => (params ? { id, params } : { id });

export function isPhrase(value: unknown): value is Phrase {
  return typeof value === "object" && value !== null && !Array.isArray(value) && typeof (value as Phrase).id === "string";
}

export class Phrases {
  constructor(private readonly table: PhraseTable = PHRASES) {}

  /** One sentence in `language` (an exact tag, then its primary subtag, then English). */
  render(p: Phrase, language: string): string {
    const template = this.table[language]?.[p.id] ?? this.table[language.split("-")[0]!.toLowerCase()]?.[p.id] ?? this.table.en?.[p.id] ?? en[p.id];
    return template.replace(/\{(\w+)\}/g, (_, name: string) => {
      const value = p.params?.[name];
      return value === undefined ? "" : this.param(value, language);
    });
  }

  /** What is said as text, and the fixed sentences in it (for the receipt), in order. */
  speak(speech: Speech, language: string): { text: string; phrases: Phrase[] } {
    const parts = typeof speech === "string" || isPhrase(speech) ? [speech] : speech;
    const phrases = parts.filter(isPhrase);
    const text = parts
      .map((part) => (typeof part === "string" ? part : this.render(part, language)))
      .filter(Boolean)
      .join(" ");
    return { text, phrases };
  }

  private param(value: PhraseParam, language: string): string {
    if (typeof value === "string") return value;
    if (typeof value === "number") return String(value);
    if (Array.isArray(value)) return listFormat(language).format(value.map((v) => this.param(v, language)));
    return this.render(value, language);
  }
}

const listFormats = new Map<string, Intl.ListFormat>();
function listFormat(language: string): Intl.ListFormat {
  let format = listFormats.get(language);
  if (!format) {
    format = new Intl.ListFormat(Intl.ListFormat.supportedLocalesOf([language]).length ? language : "en", { type: "conjunction" });
    listFormats.set(language, format);
  }
  return format;
}
