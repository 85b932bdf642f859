// Knowledge gaps: questions an agent could not answer, grouped with their rephrasings. A question joins a gap
// with the same content words, or one whose embedding is close (cosine ≥ 0.85); each gap counts how often and
// in how many conversations it was asked. The system marks a gap covered once a newly indexed source answers
// it; operators move gaps between open, in progress and dismissed.
import { and, desc, eq, inArray, sql } from "drizzle-orm";
import type { Db } from "../../platform/db/index.ts";
import { knowledgeGaps, knowledgeSources } from "../../platform/db/schema/index.ts";
import { notFound, validationProblem } from "../../platform/http/problem.ts";
import { newId } from "../../platform/ids.ts";
import type { Logger } from "../../platform/log.ts";
import type { KnowledgeIndex } from "../../knowledge/types.ts";
import type { IndexedSource } from "../../knowledge/ingestion/index.ts";
import { terms } from "../../platform/tokens.ts";
import { redactPii } from "../../runtime/text.ts";
import { ANSWER_THRESHOLD } from "../../runtime/tools/types.ts";
import type { AgentsService } from "../agents/service.ts";
import type { GapListDto, KnowledgeGapDto } from "./model.ts";

type GapRow = typeof knowledgeGaps.$inferSelect;

/** A passage this relevant answers the question (the runtime's own threshold). */
export const COVERAGE_THRESHOLD = ANSWER_THRESHOLD;
/** Below this the knowledge holds nothing related at all (a true gap), above it a passage was near but not enough. */
const RELATED_THRESHOLD = 0.25;
const SIMILAR_QUESTION = 0.85;
/** Fewer gaps than this and the list is still `collecting`: too few to rank. */
const RANKING_FLOOR = 3;
const MAX_SAMPLES = 5;
/** Conversation ids kept per gap (distinctCalls stops counting there). */
const MAX_CONVERSATIONS = 1000;
const RECENCY_HALF_LIFE_DAYS = 7;
/** How many of an agent's recent gaps a new question is compared with. */
const CANDIDATES = 500;
const ACTIVE = ["open", "in_progress"];

export interface UnansweredQuestion {
  organizationId: string;
  agentId: string;
  conversationId: string;
  question: string;
}

/** A question reduced to its content words (the shared tokenizer's terms), sorted: rephrasings with the same words share it. */
export function normalizedKey(question: string): string {
  return [...new Set(terms(question))].sort().join(" ");
}

export function rankScore(count: number, lastSeen: Date, now: number): number {
  const ageDays = Math.max(0, now - lastSeen.getTime()) / 86_400_000;
  return Math.round(count * 0.5 ** (ageDays / RECENCY_HALF_LIFE_DAYS) * 1000) / 1000;
}

export class GapRecorder {
  constructor(
    private db: Db,
    private index: KnowledgeIndex,
    private agents: AgentsService,
    private log: Logger,
    private clock: () => number = Date.now,
  ) {}

  /** For the runtime's onUnanswered: never throws (a gap is not worth failing a turn for). */
  async record(input: UnansweredQuestion): Promise<void> {
    try {
      await this.add(input);
    } catch (error) {
      this.log.warn("knowledge gap not recorded", { agentId: input.agentId, error });
    }
  }

  private async add({ organizationId, agentId, conversationId, question }: UnansweredQuestion) {
    // Gaps are for improving the knowledge, read by whoever curates it: what identifies a caller stays out.
    const text = redactPii(question).replace(/\s+/g, " ").trim().slice(0, 500);
    const key = normalizedKey(text) || text.toLowerCase();
    if (!key) return;
    const [hits, [embedding]] = await Promise.all([this.index.search({ organizationId, agentId, text, limit: 1 }), this.index.embedder.embed([text])]);
    const classification = (hits[0]?.score ?? 0) >= RELATED_THRESHOLD ? "RETRIEVAL_MISS" : "TRUE_GAP";
    const now = new Date(this.clock());

    const [same] = await this.db.select({ id: knowledgeGaps.id }).from(knowledgeGaps).where(and(eq(knowledgeGaps.agentId, agentId), eq(knowledgeGaps.normalizedKey, key)));
    const target = same?.id ?? (await this.similarGap(organizationId, agentId, embedding!));
    const merge = {
      count: sql`${knowledgeGaps.count} + 1`,
      conversationIds: appendOnce(knowledgeGaps.conversationIds, conversationId, MAX_CONVERSATIONS),
      samples: appendOnce(knowledgeGaps.samples, text, MAX_SAMPLES),
      lastSeen: now,
      classification,
      // Asked again and still not answered: whatever covered it no longer does.
      status: sql`case when ${knowledgeGaps.status} = 'covered' then 'open' else ${knowledgeGaps.status} end`,
      coveredBySourceId: sql`case when ${knowledgeGaps.status} = 'covered' then null else ${knowledgeGaps.coveredBySourceId} end`,
    };
    if (target) {
      await this.db.update(knowledgeGaps).set(merge).where(eq(knowledgeGaps.id, target));
      return;
    }
    await this.db
      .insert(knowledgeGaps)
      .values({
        id: newId("gap"),
        organizationId,
        agentId,
        representativeQuery: text,
        normalizedKey: key,
        embedding,
        embeddingModel: this.index.embedder.model,
        conversationIds: [conversationId],
        samples: [text],
        classification,
        firstSeen: now,
        lastSeen: now,
      })
      // The same question recorded at the same moment by another conversation: count it there.
      .onConflictDoUpdate({ target: [knowledgeGaps.agentId, knowledgeGaps.normalizedKey], set: merge });
  }

  private async similarGap(organizationId: string, agentId: string, embedding: number[]): Promise<string | null> {
    const candidates = await this.db
      .select({ id: knowledgeGaps.id, embedding: knowledgeGaps.embedding })
      .from(knowledgeGaps)
      .where(
        and(
          eq(knowledgeGaps.organizationId, organizationId),
          eq(knowledgeGaps.agentId, agentId),
          inArray(knowledgeGaps.status, ACTIVE),
          // Vectors of another embedder say nothing about this one's (they are made again in the background).
          eq(knowledgeGaps.embeddingModel, this.index.embedder.model),
        ),
      )
      .orderBy(desc(knowledgeGaps.lastSeen))
      .limit(CANDIDATES);
    let best: { id: string; similarity: number } | null = null;
    for (const c of candidates) {
      if (!c.embedding || c.embedding.length !== embedding.length) continue;
      const similarity = dot(c.embedding, embedding);
      if (similarity >= SIMILAR_QUESTION && (!best || similarity > best.similarity)) best = { id: c.id, similarity };
    }
    return best?.id ?? null;
  }

  /**
   * After `source` is indexed: every open or in-progress gap of its agent whose question now finds a passage at
   * the coverage threshold becomes covered. The source's coverageScore is the share of those gaps it answered.
   */
  async coverBy(source: IndexedSource): Promise<void> {
    const gaps = await this.db
      .select({ id: knowledgeGaps.id, query: knowledgeGaps.representativeQuery })
      .from(knowledgeGaps)
      .where(and(eq(knowledgeGaps.organizationId, source.organizationId), eq(knowledgeGaps.agentId, source.agentId), inArray(knowledgeGaps.status, ACTIVE)))
      .orderBy(desc(knowledgeGaps.lastSeen))
      .limit(CANDIDATES);
    let coveredHere = 0;
    for (const gap of gaps) {
      const [top] = await this.index.search({ organizationId: source.organizationId, agentId: source.agentId, text: gap.query, limit: 1 });
      if (!top || top.score < COVERAGE_THRESHOLD) continue;
      if (top.sourceId === source.id) coveredHere++;
      await this.db
        .update(knowledgeGaps)
        .set({ status: "covered", coveredBySourceId: top.sourceId })
        .where(and(eq(knowledgeGaps.id, gap.id), inArray(knowledgeGaps.status, ACTIVE)));
    }
    await this.db
      .update(knowledgeSources)
      .set({ coverageScore: gaps.length ? Math.round((coveredHere / gaps.length) * 1000) / 1000 : null })
      .where(eq(knowledgeSources.id, source.id));
  }

  /** A deleted source no longer answers anything: the gaps it covered open again. */
  async uncover(organizationId: string, sourceId: string): Promise<void> {
    await this.db
      .update(knowledgeGaps)
      .set({ status: "open", coveredBySourceId: null })
      .where(and(eq(knowledgeGaps.organizationId, organizationId), eq(knowledgeGaps.coveredBySourceId, sourceId), eq(knowledgeGaps.status, "covered")));
  }

  async list(organizationId: string, agentId: string, q: { limit: number; status?: string }): Promise<GapListDto> {
    await this.agents.get(organizationId, agentId);
    const mine = and(eq(knowledgeGaps.organizationId, organizationId), eq(knowledgeGaps.agentId, agentId));
    const [{ total }] = (await this.db.select({ total: sql<number>`count(*)::int` }).from(knowledgeGaps).where(mine)) as [{ total: number }];
    const ranked = total >= RANKING_FLOOR;
    const now = this.clock();
    if (!ranked) {
      const rows = await this.db.select().from(knowledgeGaps).where(mine).orderBy(desc(knowledgeGaps.lastSeen)).limit(q.limit);
      return { gaps: rows.map((r) => toGapDto(r, now)), ranked, dataState: "collecting" };
    }
    const rows = await this.db
      .select()
      .from(knowledgeGaps)
      .where(q.status ? and(mine, eq(knowledgeGaps.status, q.status)) : mine);
    const gaps = rows
      .map((r) => toGapDto(r, now))
      .sort((a, b) => b.rankScore - a.rankScore || b.lastSeen.localeCompare(a.lastSeen))
      .slice(0, q.limit);
    return { gaps, ranked, dataState: "ready" };
  }

  async setStatus(organizationId: string, agentId: string, gapId: string, status: string): Promise<KnowledgeGapDto> {
    await this.agents.get(organizationId, agentId);
    if (status === "covered") {
      throw validationProblem([{ field: "status", message: "covered is set by the system when a knowledge source answers the gap; use open, in_progress or dismissed" }]);
    }
    const [row] = await this.db
      .update(knowledgeGaps)
      .set({ status, coveredBySourceId: null })
      .where(and(eq(knowledgeGaps.organizationId, organizationId), eq(knowledgeGaps.agentId, agentId), eq(knowledgeGaps.id, gapId)))
      .returning();
    if (!row) throw notFound("knowledge gap", gapId);
    return toGapDto(row, this.clock());
  }
}

function toGapDto(row: GapRow, now: number): KnowledgeGapDto {
  const classification = row.classification === "RETRIEVAL_MISS" ? "RETRIEVAL_MISS" : "TRUE_GAP";
  const distinctCalls = row.conversationIds.length;
  const signals = [classification === "TRUE_GAP" ? "no_related_passage" : "passage_below_threshold"];
  if (distinctCalls > 1) signals.push("asked_in_several_conversations");
  return {
    gapId: row.id,
    queryText: row.representativeQuery,
    samples: row.samples,
    count: row.count,
    distinctCalls,
    firstSeen: row.firstSeen.toISOString(),
    lastSeen: row.lastSeen.toISOString(),
    signals,
    status: row.status as KnowledgeGapDto["status"],
    classification,
    rankScore: rankScore(row.count, row.lastSeen, now),
    coveredBySourceId: row.coveredBySourceId,
  };
}

/** A jsonb array with `value` appended, unless it holds it already or has `max` entries. */
function appendOnce(column: typeof knowledgeGaps.samples | typeof knowledgeGaps.conversationIds, value: string, max: number) {
  const item = JSON.stringify([value]);
  return sql`case when ${column} @> ${item}::jsonb or jsonb_array_length(${column}) >= ${max} then ${column} else ${column} || ${item}::jsonb end`;
}

function dot(a: number[], b: number[]): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += a[i]! * b[i]!;
  return sum;
}
