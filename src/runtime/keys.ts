// Keypad keys outside a step that waits for digits: which keys the agent's last reply offered ("press 1 for
// billing, press 2 to speak to someone"), and which keys the operator declared by writing "press N" into a
// playbook's name or description, a skill's description, or a handoff transfer rule's label or `when`. Pure text
// reading, in the agent's languages (en, de, es, fr); the runtime decides what a selected key does.
import type { CompiledConfig, CompiledPlaybook, CompiledSkill } from "./compiled.ts";

/** What a declared key selects. */
export type KeyTarget =
  | { kind: "playbook"; playbook: CompiledPlaybook }
  | { kind: "skill"; skill: CompiledSkill }
  | { kind: "transfer_rule"; label: string };

// Offering or declaring forms only: a past "you pressed 1" (a playbook saying back a choice) offers nothing.
const VERB = String.raw`press(?:es|ing)?|dial(?:s|ling|ing)?|push(?:es|ing)?|tap|drücken|drück|wählen|pulse|pulsa|marque|marca|oprima|presione|presiona|appuyez|appuie|tapez|tape|composez`;
// Words between the verb and the key: "press the key 1", "drücken Sie die Taste 1", "appuyez sur la touche 1".
const FILLER = String.raw`(?:\s+(?:sie|sur|the|key|number|die|taste|nummer|la|le|el|tecla|touche|número|numero|numéro)){0,3}`;
const WORD_KEYS: Record<string, string> = {
  zero: "0", one: "1", two: "2", three: "3", four: "4", five: "5", six: "6", seven: "7", eight: "8", nine: "9",
  null: "0", eins: "1", zwei: "2", drei: "3", vier: "4", fünf: "5", sechs: "6", sieben: "7", acht: "8", neun: "9",
  cero: "0", uno: "1", dos: "2", tres: "3", cuatro: "4", cinco: "5", seis: "6", siete: "7", ocho: "8", nueve: "9",
  zéro: "0", un: "1", deux: "2", trois: "3", quatre: "4", cinq: "5", sept: "7", huit: "8", neuf: "9",
  star: "*", stern: "*", asterisco: "*", étoile: "*", asterisk: "*",
  pound: "#", hash: "#", raute: "#", almohadilla: "#", dièse: "#",
};
const KEY = String.raw`[0-9*#]|${Object.keys(WORD_KEYS).join("|")}`;
// A key stands alone: not "press 12", not "enter 5 digits".
const ALONE = String.raw`(?![\p{L}\p{N}])(?!\s*-?\s*(?:digit|stellig|dígito|digito|chiffre))`;
const KEY_AFTER_VERB = new RegExp(String.raw`(?<![\p{L}\p{N}])(?:${VERB})${FILLER}\s+(${KEY})${ALONE}`, "iu");
const KEYS_AFTER_VERB = new RegExp(KEY_AFTER_VERB.source, "giu");
// "…, 2 for support", "…, für den Vertrieb die 2": a bare key continuing a list a verb began in the same sentence.
const BARE_KEY = new RegExp(String.raw`(?<![\p{L}\p{N}])(?:(?:the|die|taste|sur|la|le|touche|el|tecla)\s+){0,2}([0-9*#])${ALONE}`, "iu");
// What joins a choice to its key: "press 1 *for* billing", "*for* billing, press 1".
const CONNECTOR = /^(?:\s*(?:for|to|if|about|para|pour|für|um|zu|si|wenn|and|und|y|et|you can|please|bitte)\b)+/iu;

function keyOf(token: string): string {
  const lower = token.toLowerCase();
  return WORD_KEYS[lower] ?? lower;
}

function choiceWords(text: string): string {
  return text.replace(CONNECTOR, "").replace(/[\s,;:–-]+$/u, "").trim();
}

/**
 * The keys a reply offers, each with the words of what it selects ("billing", "speak to someone"; empty when the
 * reply names none). Read clause by clause: "press 1 for billing, 2 for support or 3 to speak to someone" and "for
 * billing, press 1" both work; a bare "2 for support" counts only after a "press" in the same sentence.
 */
export function offeredKeys(text: string): Map<string, string> {
  const offers = new Map<string, string>();
  for (const sentence of text.split(/[.!?;\n]+/u)) {
    let before = "";
    let listing = false;
    for (const clause of sentence.split(/,|\s+(?:or|oder|o|ou)\s+/iu)) {
      const verb = KEY_AFTER_VERB.exec(clause);
      const bare = verb ? null : listing ? BARE_KEY.exec(clause) : null;
      const found = verb ?? bare;
      if (!found) {
        before = `${before} ${clause}`;
        listing = false;
        continue;
      }
      const after = choiceWords(clause.slice(found.index + found[0].length));
      const words = after || choiceWords(clause.slice(0, found.index)) || choiceWords(before.trim());
      const key = keyOf(found[1]!);
      if (!offers.has(key)) offers.set(key, words);
      before = "";
      listing = true;
    }
  }
  return offers;
}

/** The keys "press N" names in an operator's text (a description, a rule's `when`). */
export function namedKeys(text: string): string[] {
  return [...text.matchAll(KEYS_AFTER_VERB)].map((m) => keyOf(m[1]!));
}

const declaredCache = new WeakMap<object, Map<string, KeyTarget>>();

/**
 * Keys the operator declared, by key: playbooks first, then skills (those this channel may call), then handoff
 * transfer rules; the first to name a key keeps it.
 */
export function declaredKeys(compiled: CompiledConfig, skills: CompiledSkill[]): Map<string, KeyTarget> {
  const cached = declaredCache.get(skills);
  if (cached) return cached;
  const keys = new Map<string, KeyTarget>();
  const declare = (text: string, target: KeyTarget) => {
    for (const key of namedKeys(text)) if (!keys.has(key)) keys.set(key, target);
  };
  for (const playbook of compiled.playbooks) declare(`${playbook.name}. ${playbook.description}`, { kind: "playbook", playbook });
  for (const skill of skills) declare(skill.description, { kind: "skill", skill });
  for (const rule of compiled.agent.handoffConfig.transferRules ?? []) declare(`${rule.label}. ${rule.when}`, { kind: "transfer_rule", label: rule.label });
  declaredCache.set(skills, keys);
  return keys;
}
