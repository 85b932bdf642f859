// The voice catalog: every voice actually installed (Piper voices in MODELS_DIR, espeak-ng's voices, the
// speech server's), with the API's filters, facet counts and a description search.
import type { VoiceInfo } from "./types.ts";

export interface VoiceFilter {
  language?: string;
  accent?: string;
  region?: string;
  gender?: string;
  age?: string;
  category?: string;
  /** Every listed tone must be among the voice's descriptorTags. */
  tone?: string[];
  useCase?: string;
  /** Free text: every word must appear somewhere in the voice's name, description or tags. */
  q?: string;
  tier?: string;
}

export const FACETS = ["gender", "age", "accent", "region", "category", "tone", "useCase", "language"] as const;
export type FacetName = (typeof FACETS)[number];
export type VoiceFacets = Record<FacetName, Record<string, number>> & { total: number };

export interface VoiceSearchResult {
  /** What the query's words were understood as (facet → value). */
  filters: Partial<Record<FacetName | "tier", string>>;
  voices: VoiceInfo[];
}

export const SEARCH_LIMIT_MAX = 25;

const primary = (tag: string) => tag.toLowerCase().split("-")[0]!;
const lower = (s: string | null | undefined) => (s ?? "").toLowerCase();

/** `en` matches every English voice; `en-GB` only British ones (and their variants, en-GB-x-rp …). */
function speaks(voice: VoiceInfo, language: string): boolean {
  const want = language.toLowerCase();
  return voice.supportedLanguages.some((l) => {
    const have = l.toLowerCase();
    return want.includes("-") ? have === want || have.startsWith(`${want}-`) : primary(have) === want;
  });
}

function facetValues(voice: VoiceInfo, facet: FacetName): string[] {
  switch (facet) {
    case "tone":
      return voice.descriptorTags;
    case "useCase":
      return voice.useCases;
    case "language":
      return [primary(voice.language)];
    default: {
      const value = voice[facet];
      return value ? [value] : [];
    }
  }
}

const words = (text: string) => text.toLowerCase().match(/[\p{L}\p{N}_]+/gu) ?? [];

function searchableText(voice: VoiceInfo): string {
  return [voice.id, voice.name, voice.description, voice.gender, voice.accent, voice.region, voice.category, voice.tier, ...voice.descriptorTags, ...voice.useCases, voice.language]
    .filter(Boolean)
    .join(" ")
    .toLowerCase();
}

const STOPWORDS = new Set("a an and or the for with of to in on who that which is are be voice voices sounds sounding like please i we want need my our some".split(" "));

/** Everyday words for facet values that the voices' own fields do not spell out. */
const SYNONYMS: Record<string, [FacetName | "tier", string]> = {
  woman: ["gender", "female"], women: ["gender", "female"], lady: ["gender", "female"], girl: ["gender", "female"], feminine: ["gender", "female"],
  man: ["gender", "male"], men: ["gender", "male"], guy: ["gender", "male"], gentleman: ["gender", "male"], masculine: ["gender", "male"],
  old: ["age", "old"], older: ["age", "old"], elderly: ["age", "old"], senior: ["age", "old"], mature: ["age", "old"],
  young: ["age", "young"], younger: ["age", "young"], youthful: ["age", "young"],
  british: ["region", "GB"], uk: ["region", "GB"], american: ["region", "US"], usa: ["region", "US"], australian: ["region", "AU"],
  canadian: ["region", "CA"], indian: ["region", "IN"], irish: ["region", "IE"], caribbean: ["region", "029"], brazilian: ["region", "BR"],
  cheap: ["tier", "budget"], fast: ["tier", "budget"], realistic: ["category", "neural"], natural: ["category", "neural"], robotic: ["category", "synthetic"],
};

const LANGUAGE_NAMES = new Intl.DisplayNames(["en"], { type: "language" });

export class VoiceCatalog {
  /** `source` is read on every call, so voices a speech server reports later appear without a rebuild. */
  constructor(private readonly source: () => VoiceInfo[]) {}

  get(id: string): VoiceInfo | null {
    return this.source().find((v) => v.id === id) ?? null;
  }

  has(id: string): boolean {
    return this.get(id) !== null;
  }

  /** Whether the installed voice `id` can speak `language` (BCP-47; `en` accepts any English). */
  supports(id: string, language: string): boolean {
    const voice = this.get(id);
    return voice !== null && speaks(voice, language);
  }

  list(filter: VoiceFilter = {}): VoiceInfo[] {
    const q = words(filter.q ?? "");
    const tones = (filter.tone ?? []).map(lower);
    const eq = (want: string | undefined, have: string | null) => want === undefined || lower(want) === lower(have);
    return this.source().filter(
      (v) =>
        (filter.language === undefined || speaks(v, filter.language)) &&
        eq(filter.accent, v.accent) &&
        eq(filter.region, v.region) &&
        eq(filter.gender, v.gender) &&
        eq(filter.age, v.age) &&
        eq(filter.category, v.category) &&
        eq(filter.tier, v.tier) &&
        (filter.useCase === undefined || v.useCases.some((u) => lower(u) === lower(filter.useCase))) &&
        tones.every((t) => v.descriptorTags.some((d) => lower(d) === t)) &&
        (q.length === 0 || q.every((w) => searchableText(v).includes(w))),
    );
  }

  /** Value → count for each facet, over the voices `filter` selects. */
  facets(filter: VoiceFilter = {}): VoiceFacets {
    const voices = this.list(filter);
    const out: VoiceFacets = { gender: {}, age: {}, accent: {}, region: {}, category: {}, tone: {}, useCase: {}, language: {}, total: 0 };
    for (const v of voices) {
      for (const facet of FACETS) {
        for (const value of new Set(facetValues(v, facet))) out[facet][value] = (out[facet][value] ?? 0) + 1;
      }
    }
    out.total = voices.length;
    return out;
  }

  /**
   * A shortlist for a description ("calm older british woman for support"): words naming a facet value
   * count 3 for the voices that have it, other words 1 for each voice whose description or tags contain
   * them; ties go to the more popular voice. `language` scopes the list.
   */
  search(query: string, language?: string, limit = 5): VoiceSearchResult {
    const voices = this.source().filter((v) => language === undefined || speaks(v, language));
    const facetVocabulary = new Map<string, [FacetName | "tier", string]>(Object.entries(SYNONYMS));
    for (const v of this.source()) {
      for (const facet of FACETS) for (const value of facetValues(v, facet)) if (facet !== "language" && facet !== "region") facetVocabulary.set(lower(value), [facet, value]);
      const name = LANGUAGE_NAMES.of(primary(v.language));
      if (name) facetVocabulary.set(name.toLowerCase(), ["language", primary(v.language)]);
      if (v.tier) facetVocabulary.set(v.tier, ["tier", v.tier]);
    }

    const filters: VoiceSearchResult["filters"] = {};
    const plain: string[] = [];
    for (const word of words(query)) {
      if (STOPWORDS.has(word)) continue;
      const facet = facetVocabulary.get(word);
      if (facet) filters[facet[0]] = facet[1];
      else plain.push(word);
    }

    const scored = voices.map((v) => {
      let score = 0;
      for (const [facet, value] of Object.entries(filters) as [FacetName | "tier", string][]) {
        const have = facet === "tier" ? [v.tier] : facet === "region" ? [v.region ?? ""] : facetValues(v, facet);
        if (have.some((h) => lower(h) === lower(value))) score += 3;
      }
      const text = new Set(words(searchableText(v)));
      for (const w of plain) if (text.has(w)) score += 1;
      return { v, score };
    });
    scored.sort((a, b) => b.score - a.score || b.v.popularityScore - a.v.popularityScore || a.v.id.localeCompare(b.v.id));
    return { filters, voices: scored.slice(0, Math.max(1, Math.min(limit, SEARCH_LIMIT_MAX))).map((s) => s.v) };
  }
}
