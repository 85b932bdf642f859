// Knowledge sources of an agent: created `pending` and read by a background job (see knowledge/ingestion),
// listed without their content, read with it, refreshed, and deleted together with every passage cut from them.
import { and, desc, eq, getTableColumns, lt, type SQL } from "drizzle-orm";
import type { Ingestion, SourceRow } from "../../knowledge/ingestion/index.ts";
import { DEFAULT_MAX_DEPTH, DEFAULT_MAX_PAGES } from "../../knowledge/ingestion/index.ts";
import type { KnowledgeIndex } from "../../knowledge/types.ts";
import type { Db } from "../../platform/db/index.ts";
import { knowledgeSources } from "../../platform/db/schema/index.ts";
import { EgressRefused, type EgressGuard } from "../../platform/egress.ts";
import type { FieldError } from "../../platform/http/problem.ts";
import { decodeCursor, page } from "../../platform/http/pagination.ts";
import { notFound, Problem, validationProblem } from "../../platform/http/problem.ts";
import { newId } from "../../platform/ids.ts";
import { readSourceText, writeSourceText } from "../../knowledge/source-text.ts";
import { sha256 } from "../../knowledge/ingestion/index.ts";
import type { AgentsService } from "../agents/service.ts";
import type { UploadsService } from "../uploads/service.ts";
import type { GapRecorder } from "./gaps.ts";
import {
  DEFAULT_REFRESH_INTERVAL_S,
  type KnowledgeSourceDto,
  type KnowledgeSourceSummaryDto,
  type PreviewResultDto,
  type SourceCreateInput,
  type SourcePatchInput,
} from "./model.ts";

/** The body fields that carry each kind's content; a field of another kind is a mismatch. */
const PAYLOAD_FIELD = { url: "url", file: "file_id", text: "text", faq: "items" } as const;
const URL_ONLY = ["crawl", "refreshEnabled", "refreshIntervalS"] as const;

/** A source's columns but its FAQ items: what lists read (the extracted text is in its own table). */
const { faqItems: _items, ...summaryColumns } = getTableColumns(knowledgeSources);

export function toSourceSummary(row: Omit<SourceRow, "faqItems">): KnowledgeSourceSummaryDto {
  const crawl = row.crawl as { maxDepth?: number; maxPages?: number };
  return {
    id: row.id,
    agentId: row.agentId,
    organizationId: row.organizationId,
    kind: row.kind as KnowledgeSourceSummaryDto["kind"],
    label: row.label,
    status: row.status as KnowledgeSourceSummaryDto["status"],
    sourceUrl: row.sourceUrl,
    fileId: row.fileId,
    crawl: row.kind === "url" ? { maxDepth: crawl.maxDepth ?? DEFAULT_MAX_DEPTH, maxPages: crawl.maxPages ?? DEFAULT_MAX_PAGES } : null,
    chunkCount: row.chunkCount,
    coverageScore: row.coverageScore,
    embeddingModel: row.embeddingModel,
    progress: row.progress,
    indexedAt: iso(row.indexedAt),
    errorMessage: row.errorMessage,
    refreshEnabled: row.refreshEnabled,
    refreshIntervalS: row.refreshIntervalS,
    lastCheckedAt: iso(row.lastCheckedAt),
    lastChangedAt: iso(row.lastChangedAt),
    nextRefreshAt: iso(row.nextRefreshAt),
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
  };
}

/** `textContent`: the source's extracted text, which is stored apart (see knowledge/source-text.ts). */
export function toSource(row: SourceRow, textContent: string | null): KnowledgeSourceDto {
  return { ...toSourceSummary(row), textContent, items: row.faqItems ?? null };
}

const iso = (d: Date | null) => d?.toISOString() ?? null;

export interface KnowledgeSourcesDeps {
  db: Db;
  agents: AgentsService;
  index: KnowledgeIndex;
  ingestion: Ingestion;
  uploads: UploadsService;
  gaps: GapRecorder;
  egress: EgressGuard;
  clock?: () => number;
}

export class KnowledgeSourcesService {
  private db: Db;
  private clock: () => number;
  constructor(private deps: KnowledgeSourcesDeps) {
    this.db = deps.db;
    this.clock = deps.clock ?? Date.now;
  }

  async list(organizationId: string, agentId: string, q: { cursor?: string; limit: number }) {
    await this.deps.agents.get(organizationId, agentId);
    const after = decodeCursor(q.cursor);
    const where: SQL[] = [eq(knowledgeSources.organizationId, organizationId), eq(knowledgeSources.agentId, agentId)];
    if (after) where.push(lt(knowledgeSources.id, after));
    const rows = await this.db
      .select(summaryColumns)
      .from(knowledgeSources)
      .where(and(...where))
      .orderBy(desc(knowledgeSources.id))
      .limit(q.limit + 1);
    return page(rows, q.limit, (r) => r.id, toSourceSummary);
  }

  async create(organizationId: string, agentId: string, input: SourceCreateInput): Promise<KnowledgeSourceDto> {
    await this.deps.agents.get(organizationId, agentId);
    const url = await this.checkPayload(organizationId, input);
    const text = input.kind === "text" ? input.text! : null;
    const [row] = await this.db
      .insert(knowledgeSources)
      .values({
        id: newId("ks"),
        organizationId,
        agentId,
        kind: input.kind,
        label: input.label.trim(),
        sourceUrl: url?.href ?? null,
        fileId: input.kind === "file" ? input.file_id! : null,
        // The text is version `sha256(text)`, the version ingestion would give it, so the first run has nothing to write.
        textVersion: text === null ? null : sha256(text),
        faqItems: input.kind === "faq" ? input.items!.map((i) => ({ question: i.question.trim(), answer: i.answer.trim() })) : null,
        crawl: input.kind === "url" ? { maxDepth: input.crawl?.maxDepth ?? DEFAULT_MAX_DEPTH, maxPages: input.crawl?.maxPages ?? DEFAULT_MAX_PAGES } : {},
        status: "pending",
        progress: { current: 0, total: 0 },
        refreshEnabled: input.refreshEnabled ?? false,
        refreshIntervalS: input.refreshIntervalS ?? DEFAULT_REFRESH_INTERVAL_S,
      })
      .returning();
    // Written before the job is queued, so it reads the whole text; no one knows the id before this answers.
    if (text !== null) await writeSourceText(this.db, row!.id, row!.textVersion!, text);
    await this.deps.ingestion.enqueue(row!.id);
    return toSource(row!, text);
  }

  async get(organizationId: string, agentId: string, sourceId: string): Promise<KnowledgeSourceDto> {
    return this.withText(await this.find(organizationId, agentId, sourceId));
  }

  async update(organizationId: string, agentId: string, sourceId: string, input: SourcePatchInput): Promise<KnowledgeSourceDto> {
    const source = await this.find(organizationId, agentId, sourceId);
    if (source.kind !== "url") {
      const errors = (["refreshEnabled", "refreshIntervalS"] as const).filter((f) => input[f] !== undefined).map((field) => ({ field, message: "applies to url sources only" }));
      if (errors.length) throw validationProblem(errors, `automatic refresh applies to url sources only; this source is kind ${source.kind}`);
    }
    const refreshEnabled = input.refreshEnabled ?? source.refreshEnabled;
    const refreshIntervalS = input.refreshIntervalS ?? source.refreshIntervalS;
    const now = this.clock();
    // Due one interval after the last read; a source never read yet (or long unread) is due at the next tick.
    const nextRefreshAt = refreshEnabled ? new Date(Math.max(now, (source.lastCheckedAt?.getTime() ?? now) + refreshIntervalS * 1000)) : null;
    const [row] = await this.db
      .update(knowledgeSources)
      .set({ label: input.label?.trim() ?? source.label, refreshEnabled, refreshIntervalS, nextRefreshAt, updatedAt: new Date(now) })
      .where(eq(knowledgeSources.id, sourceId))
      .returning();
    if (!row) throw notFound("knowledge source", sourceId);
    return this.withText(row);
  }

  async refresh(organizationId: string, agentId: string, sourceId: string): Promise<KnowledgeSourceDto> {
    const source = await this.find(organizationId, agentId, sourceId);
    if (source.kind !== "url") {
      throw new Problem(400, "refresh_not_supported", `only url sources can be refreshed; the content of a ${source.kind} source cannot change (add a new source instead)`);
    }
    await this.deps.ingestion.enqueue(sourceId);
    return this.withText(source);
  }

  async remove(organizationId: string, agentId: string, sourceId: string): Promise<void> {
    await this.find(organizationId, agentId, sourceId);
    // The row first, its passages with it (cascade): an ingestion under way stops at its next batch, finding its
    // source gone, instead of this waiting for it to finish.
    await this.db.delete(knowledgeSources).where(eq(knowledgeSources.id, sourceId));
    await this.deps.index.removeSource(organizationId, agentId, sourceId);
    await this.deps.gaps.uncover(organizationId, sourceId);
  }

  async preview(organizationId: string, agentId: string, q: { query: string; sourceIds?: string[]; limit?: number }): Promise<PreviewResultDto> {
    await this.deps.agents.get(organizationId, agentId);
    const hits = await this.deps.index.search({ organizationId, agentId, text: q.query, limit: q.limit ?? 5, sourceIds: q.sourceIds });
    return {
      chunks: hits.map((h) => ({ id: h.id, text: h.text, question: h.question, answer: h.answer, language: h.language, similarity: h.score, sourceId: h.sourceId, sourceUrl: h.sourceUrl })),
      topScore: hits[0]?.score ?? 0,
    };
  }

  private async withText(row: SourceRow): Promise<KnowledgeSourceDto> {
    return toSource(row, await readSourceText(this.db, row.id, row.textVersion));
  }

  private async find(organizationId: string, agentId: string, sourceId: string): Promise<SourceRow> {
    await this.deps.agents.get(organizationId, agentId);
    const [row] = await this.db
      .select()
      .from(knowledgeSources)
      .where(and(eq(knowledgeSources.organizationId, organizationId), eq(knowledgeSources.agentId, agentId), eq(knowledgeSources.id, sourceId)));
    if (!row) throw notFound("knowledge source", sourceId);
    return row;
  }

  /** Each kind carries its own payload and nothing of another kind's; a URL must be one the crawler may reach. */
  private async checkPayload(organizationId: string, input: SourceCreateInput): Promise<URL | null> {
    const errors: FieldError[] = [];
    const own = PAYLOAD_FIELD[input.kind];
    if (input[own] === undefined) errors.push({ field: own, message: `is required for kind ${input.kind}` });
    for (const [kind, field] of Object.entries(PAYLOAD_FIELD)) {
      if (kind !== input.kind && input[field] !== undefined) errors.push({ field, message: `is only for kind ${kind}, not ${input.kind}` });
    }
    if (input.kind !== "url") for (const field of URL_ONLY) if (input[field] !== undefined) errors.push({ field, message: "applies to url sources only" });
    if (errors.length) throw validationProblem(errors);

    if (input.kind === "file" && !(await this.deps.uploads.find(organizationId, input.file_id!))) {
      throw validationProblem([{ field: "file_id", message: "is not a file uploaded by this organization (POST /uploads first)" }]);
    }
    if (input.kind !== "url") return null;
    const url = parseUrl(input.url!);
    if (!url) throw validationProblem([{ field: "url", message: "must be an absolute http or https URL" }]);
    try {
      await this.deps.egress.check(url);
    } catch (error) {
      // Only a positive refusal is final here; a name that does not resolve today may tomorrow, and the
      // ingestion job reports it then.
      if (error instanceof EgressRefused) {
        throw new Problem(400, "egress_refused", `the crawler may not reach ${url.host}: ${error.message}`, { errors: [{ field: "url", message: error.message }] });
      }
    }
    return url;
  }
}

function parseUrl(text: string): URL | null {
  try {
    const url = new URL(text.trim());
    if ((url.protocol !== "http:" && url.protocol !== "https:") || !url.hostname) return null;
    url.hash = "";
    return url;
  } catch {
    return null;
  }
}
