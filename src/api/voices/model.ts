// TypeBox shapes of the Voices tag: the Voice object, the catalog filters, facet counts and search.
import { Type } from "@sinclair/typebox";
import { t } from "elysia";

const Nullable = <T extends ReturnType<typeof t.String>>(schema: T) => t.Union([schema, t.Null()]);
const Gender = t.Union([t.Literal("female"), t.Literal("male"), t.Literal("neutral")]);
const Age = t.Union([t.Literal("young"), t.Literal("middle_aged"), t.Literal("old")]);
const Category = t.Union([t.Literal("neural"), t.Literal("synthetic"), t.Literal("server")]);
const Tier = t.Union([t.Literal("budget"), t.Literal("standard"), t.Literal("premium")]);

export const Voice = t.Object({
  id: t.String({ description: "piper:<voice>, espeak:<language>[+variant] or server:<name>; what PUT /agents/{id}/voice takes" }),
  name: t.String(),
  engine: t.Union([t.Literal("piper"), t.Literal("espeak"), t.Literal("server")], { description: "piper = local neural (sherpa-onnx), espeak = espeak-ng, server = the OpenAI-compatible speech server" }),
  language: t.String({ description: "BCP-47" }),
  supportedLanguages: t.Array(t.String()),
  gender: t.Union([Gender, t.Null()]),
  age: t.Union([Age, t.Null()]),
  accent: Nullable(t.String()),
  region: Nullable(t.String({ description: "ISO 3166 region or UN M.49 area" })),
  category: Category,
  descriptorTags: t.Array(t.String(), { description: "Mood and quality words; the tone filter and facet" }),
  useCases: t.Array(t.String()),
  tier: Tier,
  description: t.String(),
  capabilities: t.Object({
    stability: t.Boolean(),
    similarityBoost: t.Boolean(),
    style: t.Boolean(),
    speakerBoost: t.Boolean(),
    speed: t.Boolean(),
    speedMin: t.Number(),
    speedMax: t.Number(),
    ssml: t.Boolean(),
  }),
  previewUrl: Nullable(t.String()),
  popularityScore: t.Number(),
  featured: t.Boolean({ description: "The language's default voice when an agent names none" }),
  verifiedLanguages: t.Array(t.Object({ language: t.String(), modelId: t.String(), accent: Nullable(t.String()), locale: t.String(), previewUrl: Nullable(t.String()) })),
  defaultSettings: t.Object({ stability: t.Number(), similarityBoost: t.Number(), style: t.Number(), useSpeakerBoost: t.Boolean(), speed: t.Number() }),
}, { $id: "Voice" });

const Text = (maxLength: number, description: string) => t.Optional(t.String({ minLength: 1, maxLength, description }));

export const VoiceFilterQuery = t.Object({
  language: Text(35, "BCP-47: `en` matches every English voice, `en-GB` only British ones"),
  accent: Text(100, "Exact accent, any case"),
  region: Text(10, "Region of the accent (US, GB …)"),
  gender: t.Optional(Gender),
  age: t.Optional(Age),
  category: t.Optional(Category),
  tone: t.Optional(t.Array(t.String({ minLength: 1, maxLength: 50 }), { maxItems: 10, description: "Repeat or comma-separate; every tone must match" })),
  useCase: Text(50, "One use case (support, sales, ivr …)"),
  q: Text(200, "Free text: every word must appear in the name, description or tags"),
  tier: t.Optional(Tier),
});

const Counts = t.Record(t.String(), Type.Integer());
export const VoiceFacets = t.Object({
  gender: Counts,
  age: Counts,
  accent: Counts,
  region: Counts,
  category: Counts,
  tone: Counts,
  useCase: Counts,
  language: Counts,
  total: Type.Integer(),
}, { $id: "VoiceFacets" });

export const VoiceSearchBody = t.Object({
  query: t.String({ minLength: 1, maxLength: 500, description: 'A description, e.g. "calm older british woman for support"' }),
  language: Text(35, "BCP-47: only voices speaking it"),
  limit: t.Optional(Type.Integer({ minimum: 1, default: 5, description: "Shortlist length; capped at 25" })),
});

export const VoiceSearchResult = t.Object({
  filters: t.Record(t.String(), t.String(), { description: "What the query's words were understood as: facet → value" }),
  voices: t.Array(Voice),
}, { $id: "VoiceSearchResult" });
