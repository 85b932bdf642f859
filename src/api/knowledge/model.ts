// TypeBox shapes of the Knowledge tag (sources, preview) and of the knowledge gaps, shared by routes and OpenAPI.
import { Type } from "@sinclair/typebox";
import { t, type Static } from "elysia";
import { DEFAULT_MAX_DEPTH, DEFAULT_MAX_PAGES, MAX_DEPTH_LIMIT, MAX_PAGES_LIMIT } from "../../knowledge/ingestion/index.ts";

export const MIN_REFRESH_INTERVAL_S = 86_400;
export const DEFAULT_REFRESH_INTERVAL_S = 604_800;
const MAX_REFRESH_INTERVAL_S = 366 * 86_400;

const Nullable = <T extends Parameters<typeof t.Union>[0][number]>(s: T) => t.Union([s, t.Null()]);
const DateTime = t.String({ format: "date-time" });

export const SourceKind = t.Union([t.Literal("url"), t.Literal("file"), t.Literal("text"), t.Literal("faq")]);
export const SourceStatus = t.Union([t.Literal("pending"), t.Literal("indexing"), t.Literal("indexed"), t.Literal("error")]);

const FaqItem = t.Object({
  question: t.String({ minLength: 1, maxLength: 1000, pattern: "\\S" }),
  answer: t.String({ minLength: 1, maxLength: 10_000, pattern: "\\S" }),
});

const Crawl = t.Object(
  {
    maxDepth: t.Optional(Type.Integer({ minimum: 0, maximum: MAX_DEPTH_LIMIT, description: `Link hops from the start page (default ${DEFAULT_MAX_DEPTH}); 0 reads the page alone` })),
    maxPages: t.Optional(Type.Integer({ minimum: 1, maximum: MAX_PAGES_LIMIT, description: `Pages read at most (default ${DEFAULT_MAX_PAGES})` })),
  },
  { description: "URL sources: how far to follow the sitemap and same-site links" },
);

const RefreshEnabled = t.Boolean({ description: "URL sources: re-read the site every refreshIntervalS and re-index when it changed" });
const RefreshIntervalS = Type.Integer({
  minimum: MIN_REFRESH_INTERVAL_S,
  maximum: MAX_REFRESH_INTERVAL_S,
  description: `Seconds between automatic refreshes, at least ${MIN_REFRESH_INTERVAL_S} (24 h); default ${DEFAULT_REFRESH_INTERVAL_S} (weekly)`,
});

export const SourceCreate = t.Object({
  kind: SourceKind,
  label: t.String({ minLength: 1, maxLength: 200, pattern: "\\S" }),
  url: t.Optional(t.String({ minLength: 1, maxLength: 2048, description: "kind url: the page to start from (http or https)" })),
  file_id: t.Optional(t.String({ minLength: 1, maxLength: 64, description: "kind file: the file_id POST /uploads answered" })),
  text: t.Optional(t.String({ minLength: 1, maxLength: 900_000, pattern: "\\S", description: "kind text: the text itself" })),
  items: t.Optional(t.Array(FaqItem, { minItems: 1, maxItems: 1000, description: "kind faq: question and answer pairs, one passage each" })),
  crawl: t.Optional(Crawl),
  refreshEnabled: t.Optional(RefreshEnabled),
  refreshIntervalS: t.Optional(RefreshIntervalS),
}, { $id: "KnowledgeSourceCreate" });
export type SourceCreateInput = Static<typeof SourceCreate>;

export const SourcePatch = t.Object(
  {
    label: t.Optional(t.String({ minLength: 1, maxLength: 200, pattern: "\\S" })),
    refreshEnabled: t.Optional(RefreshEnabled),
    refreshIntervalS: t.Optional(RefreshIntervalS),
  },
  { description: "Only the fields sent change; the refresh settings apply to url sources only" },
);
export type SourcePatchInput = Static<typeof SourcePatch>;

const sourceFields = {
  id: t.String(),
  agentId: t.String(),
  organizationId: t.String(),
  kind: SourceKind,
  label: t.String(),
  status: SourceStatus,
  sourceUrl: Nullable(t.String()),
  fileId: Nullable(t.String()),
  crawl: Nullable(t.Object({ maxDepth: Type.Integer(), maxPages: Type.Integer() })),
  chunkCount: Type.Integer(),
  coverageScore: Nullable(t.Number({ description: "Share of the agent's open knowledge gaps this source answered when it was indexed" })),
  embeddingModel: Nullable(t.String()),
  progress: t.Object({ current: Type.Integer(), total: Type.Integer() }, { description: "Pages read while crawling, then passages indexed" }),
  indexedAt: Nullable(DateTime),
  errorMessage: Nullable(t.String({ description: "Why the source is in error, or why its last refresh failed" })),
  refreshEnabled: t.Boolean(),
  refreshIntervalS: Type.Integer(),
  lastCheckedAt: Nullable(DateTime),
  lastChangedAt: Nullable(DateTime),
  nextRefreshAt: Nullable(DateTime),
  createdAt: DateTime,
  updatedAt: DateTime,
};

export const KnowledgeSourceSummary = t.Object(sourceFields, { $id: "KnowledgeSourceSummary", description: "A knowledge source without its content" });
export const KnowledgeSource = t.Object({
  ...sourceFields,
  textContent: Nullable(t.String({ description: "The text the passages were cut from" })),
  items: Nullable(t.Array(FaqItem)),
}, { $id: "KnowledgeSource" });
export type KnowledgeSourceSummaryDto = Static<typeof KnowledgeSourceSummary>;
export type KnowledgeSourceDto = Static<typeof KnowledgeSource>;

export const PreviewBody = t.Object({
  query: t.String({ minLength: 1, maxLength: 2000, pattern: "\\S" }),
  sourceIds: t.Optional(t.Array(t.String({ maxLength: 64 }), { maxItems: 100, description: "Search only these sources" })),
  limit: t.Optional(Type.Integer({ minimum: 1, maximum: 20, default: 5 })),
});

export const PreviewResult = t.Object({
  chunks: t.Array(
    t.Object({
      id: t.String(),
      text: t.String(),
      question: Nullable(t.String()),
      answer: Nullable(t.String()),
      language: Nullable(t.String()),
      similarity: t.Number({ description: "Relevance in [0, 1]" }),
      sourceId: t.String(),
      sourceUrl: Nullable(t.String()),
    }),
  ),
  topScore: t.Number({ description: "The best similarity, 0 when nothing matched; low means the knowledge does not cover the query" }),
}, { $id: "KnowledgePreview" });
export type PreviewResultDto = Static<typeof PreviewResult>;

export const GapStatus = t.Union([t.Literal("open"), t.Literal("in_progress"), t.Literal("covered"), t.Literal("dismissed")]);
export const GapClassification = t.Union([t.Literal("TRUE_GAP"), t.Literal("RETRIEVAL_MISS")]);

export const GapQuery = t.Object({
  limit: t.Optional(Type.Integer({ minimum: 1, maximum: 200, default: 50, description: "Gaps to return, 1–200" })),
  status: t.Optional(t.Union([t.Literal("open"), t.Literal("in_progress"), t.Literal("covered"), t.Literal("dismissed")], { description: "Filters the ranked list only" })),
});

export const GapPatch = t.Object({
  status: t.Union([t.Literal("open"), t.Literal("in_progress"), t.Literal("dismissed"), t.Literal("covered")], {
    description: "open, in_progress or dismissed; covered is set only by the system (400)",
  }),
});

export const KnowledgeGap = t.Object({
  gapId: t.String(),
  queryText: t.String({ description: "The question as first asked: the group's representative" }),
  samples: t.Array(t.String(), { description: "A few phrasings grouped into this gap" }),
  count: Type.Integer({ description: "Times asked without an answer" }),
  distinctCalls: Type.Integer({ description: "Conversations it was asked in" }),
  firstSeen: DateTime,
  lastSeen: DateTime,
  signals: t.Array(t.String()),
  status: GapStatus,
  classification: GapClassification,
  rankScore: t.Number({ description: "Frequency weighed by recency (halves every 7 days without the question)" }),
  coveredBySourceId: Nullable(t.String()),
}, { $id: "KnowledgeGap" });
export type KnowledgeGapDto = Static<typeof KnowledgeGap>;

export const GapList = t.Object({
  gaps: t.Array(KnowledgeGap),
  ranked: t.Boolean({ description: "true once the agent has enough gaps: ordered by rankScore, status filter applied" }),
  dataState: t.Union([t.Literal("collecting"), t.Literal("ready")]),
}, { $id: "KnowledgeGapList" });
export type GapListDto = Static<typeof GapList>;
