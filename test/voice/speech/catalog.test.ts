import { describe, expect, it } from "bun:test";
import { FACETS, VoiceCatalog, type VoiceInfo } from "../../../voice/speech/index.ts";
import { EspeakTextToSpeech, listEspeakVoices } from "../../../voice/speech/tts.ts";

function voice(id: string, fields: Partial<VoiceInfo>): VoiceInfo {
  return {
    id,
    name: id,
    engine: "server",
    language: "en-US",
    supportedLanguages: [fields.language ?? "en-US"],
    gender: null,
    age: null,
    accent: null,
    region: null,
    category: "server",
    descriptorTags: [],
    useCases: [],
    tier: "premium",
    description: "",
    capabilities: { stability: false, similarityBoost: false, style: false, speakerBoost: false, speed: true, speedMin: 0.5, speedMax: 2, ssml: false },
    previewUrl: null,
    popularityScore: 0.5,
    featured: false,
    verifiedLanguages: [],
    defaultSettings: { stability: 0, similarityBoost: 0, style: 0, useSpeakerBoost: false, speed: 1 },
    ...fields,
  };
}

const voices = [
  voice("server:sage", { gender: "female", age: "old", region: "GB", accent: "British", language: "en-GB", descriptorTags: ["calm", "wise"], useCases: ["support"], description: "A calm, reassuring older British woman." }),
  voice("server:nova", { gender: "female", age: "young", region: "US", descriptorTags: ["bright", "energetic"], useCases: ["sales"], description: "An upbeat young American woman." }),
  voice("server:onyx", { gender: "male", region: "US", descriptorTags: ["deep", "calm"], useCases: ["support", "ivr"], description: "A deep, calm American man." }),
  voice("piper:fr_FR-siwis-medium", { engine: "piper", tier: "standard", category: "neural", gender: "female", language: "fr-FR", region: "FR", descriptorTags: ["natural"], useCases: ["support"], description: "Natural French woman." }),
];
const catalog = new VoiceCatalog(() => voices);
const ids = (list: VoiceInfo[]) => list.map((v) => v.id);

describe("the voice catalog", () => {
  it("filters by every facet, AND-combined, with languages matched by primary subtag or exact locale", () => {
    expect(ids(catalog.list({ language: "en" }))).toEqual(["server:sage", "server:nova", "server:onyx"]);
    expect(ids(catalog.list({ language: "en-GB" }))).toEqual(["server:sage"]);
    expect(ids(catalog.list({ gender: "female", useCase: "support" }))).toEqual(["server:sage", "piper:fr_FR-siwis-medium"]);
    expect(ids(catalog.list({ tone: ["calm"] }))).toEqual(["server:sage", "server:onyx"]);
    expect(ids(catalog.list({ tone: ["calm", "deep"] }))).toEqual(["server:onyx"]);
    expect(ids(catalog.list({ tier: "standard", region: "fr" }))).toEqual(["piper:fr_FR-siwis-medium"]);
    expect(ids(catalog.list({ age: "old", accent: "british", category: "server" }))).toEqual(["server:sage"]);
    expect(ids(catalog.list({ q: "calm american" }))).toEqual(["server:onyx"]);
    expect(catalog.list({ gender: "neutral" })).toEqual([]);
  });

  it("counts facets over the same selection as the list", () => {
    const facets = catalog.facets({ language: "en" });
    expect(facets.total).toBe(3);
    expect(facets.gender).toEqual({ female: 2, male: 1 });
    expect(facets.age).toEqual({ old: 1, young: 1 });
    expect(facets.tone).toEqual({ calm: 2, wise: 1, bright: 1, energetic: 1, deep: 1 });
    expect(facets.useCase).toEqual({ support: 2, sales: 1, ivr: 1 });
    expect(facets.language).toEqual({ en: 3 });
    expect(catalog.facets().total).toBe(4);
    expect(Object.keys(facets).sort()).toEqual([...FACETS, "total"].sort());
  });

  it("ranks a description search by the facets and words it names", () => {
    const result = catalog.search("calm older british woman for support");
    // "british" is a voice's own accent value here, which beats the built-in synonym (region GB).
    expect(result.filters).toEqual({ tone: "calm", age: "old", accent: "British", gender: "female", useCase: "support" });
    expect(ids(result.voices)[0]).toBe("server:sage");
    const deep = catalog.search("deep voice for the phone menu, a man", undefined, 2);
    expect(deep.filters).toEqual({ tone: "deep", gender: "male" });
    expect(ids(deep.voices)[0]).toBe("server:onyx");
    expect(deep.voices.length).toBe(2);
    expect(ids(catalog.search("upbeat energetic sales").voices)[0]).toBe("server:nova");
  });

  it("scopes a search to a language and caps its length", () => {
    expect(ids(catalog.search("calm woman", "fr").voices)).toEqual(["piper:fr_FR-siwis-medium"]);
    expect(catalog.search("anything", undefined, 2).voices.length).toBe(2);
    expect(catalog.search("anything", "ja").voices).toEqual([]);
  });

  it("answers whether a voice is installed and speaks a language", () => {
    expect(catalog.has("server:sage")).toBe(true);
    expect(catalog.has("server:ghost")).toBe(false);
    expect(catalog.supports("server:sage", "en")).toBe(true);
    expect(catalog.supports("server:sage", "fr")).toBe(false);
  });

  const espeak = listEspeakVoices();
  it.skipIf(espeak.length === 0)("counts the real espeak-ng voices consistently", () => {
    const real = new VoiceCatalog(() => new EspeakTextToSpeech(espeak, ["en", "es", "de"]).voices());
    const all = real.facets();
    expect(all.total).toBe(real.list().length);
    expect(Object.values(all.gender).reduce((a, b) => a + b, 0)).toBe(all.total);
    for (const [gender, count] of Object.entries(all.gender)) expect(real.list({ gender }).length).toBe(count);
    for (const [language, count] of Object.entries(all.language)) expect(real.list({ language }).length).toBe(count);
    expect(ids(real.search("british english woman").voices)[0]).toMatch(/^espeak:en-gb.*\+f3$/);
  });
});
