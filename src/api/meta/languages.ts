// The language capability matrix: which languages an agent can speak, per voice-quality tier and agent type.
// Tiers map to the speech stack of this appliance: `budget` = espeak-ng voices, `standard` = Piper voices
// (sherpa-onnx), `premium` = an operator's OpenAI-compatible speech server. Speech recognition is Whisper,
// which is multilingual, so both agent types (single_language, code_switch) share a tier's languages.

const NAMES: Record<string, string> = {
  ar: "Arabic", bg: "Bulgarian", bn: "Bengali", ca: "Catalan", cs: "Czech", cy: "Welsh", da: "Danish", de: "German",
  el: "Greek", en: "English", es: "Spanish", et: "Estonian", fa: "Persian", fi: "Finnish", fil: "Filipino", fr: "French",
  he: "Hebrew", hi: "Hindi", hr: "Croatian", hu: "Hungarian", id: "Indonesian", is: "Icelandic", it: "Italian",
  ja: "Japanese", ka: "Georgian", kk: "Kazakh", ko: "Korean", lt: "Lithuanian", lv: "Latvian", ms: "Malay", nb: "Norwegian Bokmål",
  ne: "Nepali", nl: "Dutch", no: "Norwegian", pl: "Polish", pt: "Portuguese", ro: "Romanian", ru: "Russian", sk: "Slovak",
  sl: "Slovenian", sr: "Serbian", sv: "Swedish", sw: "Swahili", ta: "Tamil", te: "Telugu", th: "Thai", tr: "Turkish",
  uk: "Ukrainian", ur: "Urdu", vi: "Vietnamese", zh: "Chinese",
};

// Languages with at least one published Piper voice.
const PIPER = ["ar", "ca", "cs", "cy", "da", "de", "el", "en", "es", "fa", "fi", "fr", "hi", "hu", "is", "it", "ka", "kk", "lv", "ne", "nl", "no", "pl", "pt", "ro", "ru", "sk", "sl", "sr", "sv", "sw", "te", "tr", "uk", "vi", "zh"];
// espeak-ng speaks all of the catalog but Filipino.
const ESPEAK = Object.keys(NAMES).filter((l) => l !== "fil");

export const TIERS = ["budget", "standard", "premium"] as const;
export const AGENT_TYPES = ["single_language", "code_switch"] as const;

const TIER_LANGUAGES: Record<(typeof TIERS)[number], string[]> = {
  budget: ESPEAK,
  standard: PIPER,
  premium: Object.keys(NAMES),
};

/** The primary subtag decides support: `en-GB` and `pt-BR` are supported where `en` and `pt` are. */
export const primarySubtag = (tag: string) => tag.toLowerCase().split("-")[0]!;

export function isSupportedLanguage(tag: string): boolean {
  return primarySubtag(tag) in NAMES;
}

export function languageMatrix() {
  const matrix = Object.fromEntries(TIERS.map((tier) => [tier, Object.fromEntries(AGENT_TYPES.map((type) => [type, TIER_LANGUAGES[tier]]))]));
  return {
    tiers: [...TIERS],
    agentTypes: [...AGENT_TYPES],
    languages: Object.entries(NAMES).map(([code, name]) => ({ code, name })),
    matrix,
  };
}
