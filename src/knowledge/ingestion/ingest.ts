// One ingestion run of a knowledge source: read its content (crawl, file, text or FAQ), hash it, and when it
// is new or changed cut it into passages and hand them to the index; then record the outcome on the source.
// A source already indexed is being refreshed: unchanged content only moves lastCheckedAt, and a failure
// leaves its passages in place. Runs are jobs, so a run cut off by a restart simply runs again.
import { eq, sql, type SQL } from "drizzle-orm";
import { createHash } from "node:crypto";
import type { Db } from "../../platform/db/index.ts";
import { knowledgeSources } from "../../platform/db/schema/index.ts";
import type { Logger } from "../../platform/log.ts";
import type { ChunkInput, KnowledgeIndex } from "../types.ts";
import { chunkText } from "./chunker.ts";
import { crawlSite, DEFAULT_MAX_DEPTH, DEFAULT_MAX_PAGES } from "./crawl.ts";
import { IngestionError, readableReason, TransientIngestionError } from "./errors.ts";
import { detectFormat, extractDocument, SUPPORTED_FORMATS } from "./extract.ts";
import type { PageFetcher } from "./fetcher.ts";

export type SourceRow = typeof knowledgeSources.$inferSelect;

/** Uploaded files, by the id the uploads API gave them. */
export interface FileStore {
  read(organizationId: string, fileId: string): Promise<{ filename: string; contentType: string; bytes: Uint8Array } | null>;
}

export interface IngestDeps {
  db: Db;
  index: KnowledgeIndex;
  files: FileStore;
  fetchPage: PageFetcher;
  log: Logger;
  /** After a source's new content is indexed (knowledge gaps it now answers become covered). */
  onIndexed?(source: SourceRow): Promise<void>;
  clock?: () => number;
}

interface Content {
  text: string;
  chunks: ChunkInput[];
  hash: string;
}

/** Progress is written at most this often: it is for people watching, not worth a write per passage. */
const PROGRESS_INTERVAL_MS = 500;

export class SourceIngestion {
  private clock: () => number;
  constructor(private deps: IngestDeps) {
    this.clock = deps.clock ?? Date.now;
  }

  /** `lastAttempt`: no retry follows, so a failure that might pass is recorded as the outcome now. */
  async run(sourceId: string, signal: AbortSignal, lastAttempt: boolean): Promise<void> {
    const [source] = await this.deps.db.select().from(knowledgeSources).where(eq(knowledgeSources.id, sourceId));
    if (!source) return;
    const refreshing = source.status === "indexed" && source.contentHash !== null;
    if (!refreshing) await this.update(sourceId, { status: "indexing", errorMessage: null, progress: { current: 0, total: 0 } });
    const progress = this.progressWriter(sourceId);
    try {
      // A refresh keeps showing the progress of the indexing that produced the passages in use.
      const content = await this.read(source, signal, refreshing ? () => {} : progress.report);
      if (refreshing && content.hash === source.contentHash) {
        await this.update(sourceId, this.checked(null));
        return;
      }
      if (!content.chunks.length) throw new IngestionError("no text could be extracted from this source");
      signal.throwIfAborted();
      const { chunkCount } = await this.deps.index.replaceSource(
        { organizationId: source.organizationId, agentId: source.agentId, sourceId, chunks: content.chunks },
        progress.report,
      );
      await progress.settle();
      const checked = this.checked(null);
      const updated = await this.update(sourceId, {
        ...checked,
        status: "indexed",
        textContent: content.text,
        contentHash: content.hash,
        chunkCount,
        embeddingModel: this.deps.index.embedder.model,
        progress: { current: chunkCount, total: chunkCount },
        indexedAt: checked.lastCheckedAt,
        lastChangedAt: checked.lastCheckedAt,
      });
      if (!updated) {
        // Deleted while it was being read: take back what was just indexed.
        await this.deps.index.removeSource(source.organizationId, source.agentId, sourceId);
        return;
      }
      // The source is indexed whatever follows: a failure here must not turn it into an error.
      await this.deps.onIndexed?.(updated).catch((error) => this.deps.log.warn("after-indexing step failed", { sourceId, error }));
    } catch (error) {
      if (signal.aborted) throw error;
      if (!(error instanceof IngestionError) && !lastAttempt) throw error;
      if (!(error instanceof IngestionError) && !(error instanceof TransientIngestionError)) this.deps.log.error("knowledge ingestion failed", { sourceId, error });
      await progress.settle();
      const reason = readableReason(error);
      await this.update(sourceId, refreshing ? this.checked(`refresh failed: ${reason}`) : { status: "error", errorMessage: reason });
    } finally {
      await progress.settle();
    }
  }

  /**
   * The fields a finished read of a source moves: lastCheckedAt always, and the next automatic refresh, from the
   * settings as they are now (they may have been changed while the source was being read).
   */
  private checked(errorMessage: string | null) {
    const now = new Date(this.clock());
    const nextRefreshAt = sql`case when ${knowledgeSources.refreshEnabled} then ${now.toISOString()}::timestamptz + make_interval(secs => ${knowledgeSources.refreshIntervalS}) end`;
    return { lastCheckedAt: now, nextRefreshAt, errorMessage };
  }

  private async read(source: SourceRow, signal: AbortSignal, progress: (done: number, total: number) => void): Promise<Content> {
    switch (source.kind) {
      case "url": {
        const crawl = source.crawl as { maxDepth?: number; maxPages?: number };
        const pages = await crawlSite(
          new URL(source.sourceUrl!),
          { maxDepth: crawl.maxDepth ?? DEFAULT_MAX_DEPTH, maxPages: crawl.maxPages ?? DEFAULT_MAX_PAGES },
          { fetchPage: this.deps.fetchPage, signal, onProgress: progress },
        );
        return {
          text: pages.map((p) => p.text).join("\n\n"),
          chunks: pages.flatMap((p) => chunkText(p.text).map((text) => ({ text, sourceUrl: p.url }))),
          hash: sha256(JSON.stringify(pages.map((p) => [p.url, p.text]))),
        };
      }
      case "file": {
        const file = await this.deps.files.read(source.organizationId, source.fileId!);
        if (!file) throw new IngestionError(`the uploaded file ${source.fileId} no longer exists; upload it again`);
        const format = detectFormat(file.bytes, file.contentType, file.filename);
        if (!format) throw new IngestionError(`${file.filename} (${file.contentType}) is not a file type that can be read; upload ${SUPPORTED_FORMATS}`);
        const extracted = await extractDocument(file.bytes, format);
        const passages = extracted.passages ?? chunkText(extracted.text);
        return { text: extracted.text, chunks: passages.map((text) => ({ text })), hash: sha256(extracted.text) };
      }
      case "text": {
        const text = source.textContent ?? "";
        return { text, chunks: chunkText(text).map((t) => ({ text: t })), hash: sha256(text) };
      }
      case "faq": {
        const items = source.faqItems ?? [];
        return {
          text: items.map(faqText).join("\n\n"),
          // One passage per pair; the brains answer with `answer` and quote `text`.
          chunks: items.map((item) => ({ text: faqText(item), question: item.question, answer: item.answer })),
          hash: sha256(JSON.stringify(items)),
        };
      }
      default:
        throw new IngestionError(`unknown source kind ${source.kind}`);
    }
  }

  private async update(sourceId: string, values: { [K in keyof SourceRow]?: SourceRow[K] | SQL }): Promise<SourceRow | undefined> {
    const [row] = await this.deps.db
      .update(knowledgeSources)
      .set({ ...values, updatedAt: new Date(this.clock()) })
      .where(eq(knowledgeSources.id, sourceId))
      .returning();
    return row;
  }

  private progressWriter(sourceId: string) {
    let last = 0;
    let stopped = false;
    let writing: Promise<unknown> = Promise.resolve();
    return {
      report: (current: number, total: number) => {
        if (stopped || this.clock() - last < PROGRESS_INTERVAL_MS) return;
        last = this.clock();
        writing = writing
          .then(() => this.update(sourceId, { progress: { current, total } }))
          .catch((error) => this.deps.log.debug("progress not recorded", { sourceId, error }));
      },
      /** Stop reporting and wait for the writes under way, so none lands after the outcome. */
      settle: () => {
        stopped = true;
        return writing;
      },
    };
  }
}

function faqText(item: { question: string; answer: string }): string {
  return `Q: ${item.question}\nA: ${item.answer}`;
}

function sha256(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}
