// One ingestion run of a knowledge source: read its content (crawl, file, text or FAQ), hash it, and when it
// is new or changed cut it into passages and hand them to the index; then record the outcome on the source.
// A source already indexed is being refreshed: unchanged content only moves lastCheckedAt, and a failure
// leaves its passages in place. Runs are jobs, so a run cut off by a restart runs again, carrying on from the
// passages it had stored.
import { eq, sql, type SQL } from "drizzle-orm";
import { createHash } from "node:crypto";
import type { Db } from "../../platform/db/index.ts";
import { appendEvents, type NewEvent } from "../../platform/events/index.ts";
import { knowledgeSources } from "../../platform/db/schema/index.ts";
import type { Logger } from "../../platform/log.ts";
import type { Metrics } from "../../platform/telemetry/index.ts";
import type { ChunkInput, KnowledgeIndex } from "../types.ts";
import { dropOtherSourceTexts, readSourceText, writeSourceText } from "../source-text.ts";
import { chunkTextInTurns } from "./chunker.ts";
import { crawlSite, DEFAULT_MAX_DEPTH, DEFAULT_MAX_PAGES } from "./crawl.ts";
import { IngestionError, readableReason, TransientIngestionError } from "./errors.ts";
import { detectFormat, extractDocument, SUPPORTED_FORMATS } from "./extract.ts";
import type { PageFetcher } from "./fetcher.ts";

export type SourceRow = typeof knowledgeSources.$inferSelect;
/** What the step after indexing learns of the source (not its content, which can be megabytes). */
export type IndexedSource = Pick<SourceRow, "id" | "organizationId" | "agentId">;

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
  metrics?: Metrics;
  /** After a source's new content is indexed (knowledge gaps it now answers become covered). */
  onIndexed?(source: IndexedSource): Promise<void>;
  clock?: () => number;
}

interface Content {
  text: string;
  chunks: ChunkInput[];
  hash: string;
}

/** Crawl progress is written at most this often: it is for people watching, not worth a write per page. */
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
    // A source already `indexing` is a run cut off by a restart: its passages and count stand, and are carried on.
    if (!refreshing && source.status !== "indexing") await this.update(sourceId, { status: "indexing", errorMessage: null, progress: { current: 0, total: 0 } });
    const progress = this.progressWriter(sourceId);
    try {
      // A refresh keeps showing the progress of the indexing that produced the passages in use.
      const content = await this.read(source, signal, refreshing ? () => {} : progress.report);
      if (refreshing && content.hash === source.contentHash) {
        await this.update(sourceId, this.checked(null));
        this.deps.metrics?.ingestions.inc({ outcome: "unchanged" });
        return;
      }
      if (!content.chunks.length) throw new IngestionError("no text could be extracted from this source");
      signal.throwIfAborted();
      await progress.settle();
      const stored = refreshing ? await this.swapIn(source, content, signal) : await this.indexProgressively(source, content, signal);
      // Gone: deleted while it was being read (its passages went with it).
      if (!stored) return;
      this.deps.metrics?.ingestions.inc({ outcome: "indexed" });
      // The source is indexed whatever follows: a failure here must not turn it into an error.
      await this.deps.onIndexed?.(source).catch((error) => this.deps.log.warn("after-indexing step failed", { sourceId, error }));
    } catch (error) {
      if (signal.aborted) throw error;
      if (!(error instanceof IngestionError) && !lastAttempt) throw error;
      this.deps.metrics?.ingestions.inc({ outcome: "failed" });
      if (!(error instanceof IngestionError) && !(error instanceof TransientIngestionError)) this.deps.log.error("knowledge ingestion failed", { sourceId, error });
      await progress.settle();
      const reason = readableReason(error);
      const failed = failedEvent(source, reason, refreshing);
      if (refreshing) await this.deps.db.transaction((tx) => this.recordOutcome(sourceId, this.checked(`refresh failed: ${reason}`), tx as unknown as Db, failed));
      else {
        // A first indexing that failed takes back the passages it had stored, with its count, in one transaction.
        await this.deps.index.removeSource(source.organizationId, source.agentId, sourceId, (tx) =>
          this.recordOutcome(sourceId, { status: "error", errorMessage: reason, chunkCount: 0, progress: { current: 0, total: 0 } }, tx, failed),
        );
      }
    } finally {
      await progress.settle();
    }
  }

  /**
   * A first indexing: every batch of passages commits with the source's chunkCount and progress, so the count is
   * always what is stored and searchable, and the last batch flips the source to `indexed`. A run cut off by a
   * restart resumes after the passages it stored, when the content is the same (the chunking is deterministic).
   */
  private async indexProgressively(source: SourceRow, content: Content, signal: AbortSignal): Promise<boolean> {
    const sourceId = source.id;
    const resumeFrom = source.status === "indexing" && source.contentHash === content.hash ? source.chunkCount : 0;
    // The text under its own version, pointed at once whole: a resumed run of the same content finds it there.
    if (source.textVersion !== content.hash) {
      if (!(await this.writeText(sourceId, content))) return false;
      if (!(await this.update(sourceId, { textVersion: content.hash }))) return false;
      await dropOtherSourceTexts(this.deps.db, sourceId, content.hash);
    }
    const result = await this.deps.index.replaceSource({
      organizationId: source.organizationId,
      agentId: source.agentId,
      sourceId,
      chunks: content.chunks,
      mode: "progressive",
      resumeFrom,
      signal,
      record: (tx, { written, total, last }) => {
        // The hash commits with the passages it describes: a later run resumes only over passages of the same content.
        const counted = { chunkCount: written, progress: { current: written, total }, contentHash: content.hash };
        if (!last) return this.update(sourceId, counted, tx);
        return this.recordOutcome(sourceId, { ...this.indexed(written), ...counted }, tx, indexedEvent(source, written, false));
      },
    });
    return result !== null;
  }

  /** A refresh whose content changed: the passages in use stay searchable until the new ones are all stored. */
  private async swapIn(source: SourceRow, content: Content, signal: AbortSignal): Promise<boolean> {
    // The new text is staged under its own version and pointed at with the swap; the text in use stays until then.
    if (source.textVersion !== content.hash && !(await this.writeText(source.id, content))) return false;
    let result: unknown;
    try {
      result = await this.deps.index.replaceSource({
        organizationId: source.organizationId,
        agentId: source.agentId,
        sourceId: source.id,
        chunks: content.chunks,
        mode: "swap",
        signal,
        record: (tx, { total, last }) =>
          last
            ? this.recordOutcome(source.id, { ...this.indexed(total), textVersion: content.hash, contentHash: content.hash, progress: { current: total, total } }, tx, indexedEvent(source, total, true))
            : this.update(source.id, {}, tx),
      });
    } catch (error) {
      // The swap did not happen: the staged text goes, the text in use stays.
      await dropOtherSourceTexts(this.deps.db, source.id, source.textVersion).catch(() => {});
      throw error;
    }
    if (result === null) return false;
    await dropOtherSourceTexts(this.deps.db, source.id, content.hash);
    return true;
  }

  /** False when the source is gone: deleted while its text was being written, its parts refused by their key. */
  private async writeText(sourceId: string, content: Content): Promise<boolean> {
    try {
      await writeSourceText(this.deps.db, sourceId, content.hash, content.text);
      return true;
    } catch (error) {
      const [row] = await this.deps.db.select({ id: knowledgeSources.id }).from(knowledgeSources).where(eq(knowledgeSources.id, sourceId));
      if (!row) return false;
      throw error;
    }
  }

  /** The outcome of a run that stored `chunkCount` new passages. */
  private indexed(chunkCount: number) {
    const checked = this.checked(null);
    return {
      ...checked,
      status: "indexed",
      chunkCount,
      embeddingModel: this.deps.index.embedder.model,
      indexedAt: checked.lastCheckedAt,
      lastChangedAt: checked.lastCheckedAt,
    };
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
        const chunks: ChunkInput[] = [];
        for (const page of pages) for (const text of await chunkTextInTurns(page.text)) chunks.push({ text, sourceUrl: page.url });
        return {
          text: pages.map((p) => p.text).join("\n\n"),
          chunks,
          hash: sha256(JSON.stringify(pages.map((p) => [p.url, p.text]))),
        };
      }
      case "file": {
        const file = await this.deps.files.read(source.organizationId, source.fileId!);
        if (!file) throw new IngestionError(`the uploaded file ${source.fileId} no longer exists; upload it again`);
        const format = detectFormat(file.bytes, file.contentType, file.filename);
        if (!format) throw new IngestionError(`${file.filename} (${file.contentType}) is not a file type that can be read; upload ${SUPPORTED_FORMATS}`);
        const extracted = await extractDocument(file.bytes, format);
        const passages = extracted.passages ?? (await chunkTextInTurns(extracted.text));
        return { text: extracted.text, chunks: passages.map((text) => ({ text })), hash: sha256(extracted.text) };
      }
      case "text": {
        const text = (await readSourceText(this.deps.db, source.id, source.textVersion)) ?? "";
        return { text, chunks: (await chunkTextInTurns(text)).map((t) => ({ text: t })), hash: sha256(text) };
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

  /** The outcome of a run and its event, in the caller's transaction `tx`; false (and no event) when the source is gone. */
  private async recordOutcome(sourceId: string, values: Parameters<SourceIngestion["update"]>[1], tx: Db, event: NewEvent): Promise<boolean> {
    if (!(await this.update(sourceId, values, tx))) return false;
    await appendEvents(tx, [event]);
    return true;
  }

  /** False when the source is gone. Only the id comes back: the row may hold megabytes of extracted text. */
  private async update(sourceId: string, values: { [K in keyof SourceRow]?: SourceRow[K] | SQL }, db: Db = this.deps.db): Promise<boolean> {
    const rows = await db
      .update(knowledgeSources)
      .set({ ...values, updatedAt: new Date(this.clock()) })
      .where(eq(knowledgeSources.id, sourceId))
      .returning({ id: knowledgeSources.id });
    return rows.length > 0;
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

function indexedEvent(source: SourceRow, chunkCount: number, refresh: boolean): NewEvent {
  const payload = { sourceId: source.id, agentId: source.agentId, kind: source.kind, chunkCount, refresh };
  return { type: "knowledge_source.indexed", organizationId: source.organizationId, aggregateId: source.id, payload };
}

function failedEvent(source: SourceRow, reason: string, refresh: boolean): NewEvent {
  const payload = { sourceId: source.id, agentId: source.agentId, kind: source.kind, reason, refresh };
  return { type: "knowledge_source.failed", organizationId: source.organizationId, aggregateId: source.id, payload };
}

function faqText(item: { question: string; answer: string }): string {
  return `Q: ${item.question}\nA: ${item.answer}`;
}

/** The content hash of a source's text, which is also the version its text is stored under. */
export function sha256(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}
