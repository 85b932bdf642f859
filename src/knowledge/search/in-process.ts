// The embedded search engine: one partition per agent, each with a BM25 keyword index and an int8 vector store
// scanned in full by a WebAssembly SIMD kernel (exact ranking, no approximate index to tune or rebuild).
// The two signals fuse as fusion.ts says, for every chunk of the partition (both signals are exact, not top-k).
// Removed chunks leave dead slots that a compaction reclaims once they are a quarter of the partition.
import { fuse } from "./fusion.ts";
import { KeywordIndex } from "./keyword-index.ts";
import { terms } from "../../platform/tokens.ts";
import type { ChunkDocument, SearchEngine, SearchHit, SearchQuery } from "./types.ts";
import { VectorStore } from "./vector-store.ts";

type StoredChunk = Omit<ChunkDocument, "embedding" | "agentId">;

const COMPACT_MIN_DEAD = 1024;

export function createInProcessSearchEngine(): SearchEngine {
  const partitions = new Map<string, AgentPartition>();
  return {
    name: "in-process",
    persistent: false,
    async stats() {
      let documents = 0;
      let dimensions: number | null = null;
      for (const partition of partitions.values()) {
        documents += partition.size;
        dimensions ??= partition.dimensions;
      }
      return { documents, dimensions };
    },
    async clear() {
      partitions.clear();
    },
    async upsert(chunks) {
      for (const chunk of chunks) {
        let partition = partitions.get(chunk.agentId);
        if (!partition) partitions.set(chunk.agentId, (partition = new AgentPartition()));
        partition.upsert(chunk);
      }
      for (const partition of partitions.values()) partition.compactIfWorthIt();
    },
    async removeSource(agentId, sourceId) {
      const partition = partitions.get(agentId);
      if (!partition) return;
      partition.removeSource(sourceId);
      if (partition.isEmpty) partitions.delete(agentId);
      else partition.compactIfWorthIt();
    },
    async search(query) {
      if (query.limit <= 0) return [];
      return partitions.get(query.agentId)?.search(query) ?? [];
    },
  };
}

class AgentPartition {
  /** By slot; null once removed. */
  private chunks: (StoredChunk | null)[] = [];
  private readonly slotById = new Map<string, number>();
  private keywords = new KeywordIndex();
  private vectors: VectorStore | null = null;
  private dead = 0;

  get isEmpty(): boolean {
    return this.slotById.size === 0;
  }

  get size(): number {
    return this.slotById.size;
  }

  get dimensions(): number | null {
    return this.vectors?.dimensions ?? null;
  }

  upsert(doc: ChunkDocument): void {
    const previous = this.slotById.get(doc.id);
    if (previous !== undefined) this.removeSlot(previous);
    if (!this.vectors && doc.embedding.length) this.vectors = new VectorStore(doc.embedding.length);
    const slot = this.chunks.length;
    if (this.vectors) {
      // Slots stay aligned across the stores: every chunk takes a vector row, an empty one when it has no embedding
      // (including the chunks added before the first embedding created the store).
      while (this.vectors.size < slot) this.vectors.append([]);
      this.vectors.append(doc.embedding);
    }
    const { id, organizationId, sourceId, text, question, answer, sourceUrl, language } = doc;
    this.chunks.push({ id, organizationId, sourceId, text, question, answer, sourceUrl, language });
    this.slotById.set(doc.id, slot);
    this.keywords.add(slot, terms(searchableText(doc)));
  }

  removeSource(sourceId: string): void {
    this.chunks.forEach((chunk, slot) => {
      if (chunk?.sourceId === sourceId) this.removeSlot(slot);
    });
  }

  search(query: SearchQuery): SearchHit[] {
    const count = this.chunks.length;
    const semantic = new Float32Array(count);
    const keyword = new Float32Array(count);
    if (this.vectors) this.vectors.similarities(query.embedding, semantic);
    this.keywords.score(terms(query.text), keyword);
    const sources = query.sourceIds ? new Set(query.sourceIds) : null;
    const top = new TopScores(query.limit);
    for (let slot = 0; slot < count; slot++) {
      const score = fuse(semantic[slot]!, keyword[slot]!);
      if (score <= 0 || score <= top.floor) continue;
      const chunk = this.chunks[slot];
      if (!chunk || chunk.organizationId !== query.organizationId || (sources && !sources.has(chunk.sourceId))) continue;
      top.offer(slot, score);
    }
    return top.sorted().map(({ slot, score }) => {
      const { id, sourceId, text, question, answer, sourceUrl, language } = this.chunks[slot]!;
      return { id, sourceId, text, question, answer, sourceUrl, language, score };
    });
  }

  compactIfWorthIt(): void {
    if (this.dead < COMPACT_MIN_DEAD || this.dead * 4 < this.chunks.length) return;
    const newSlot = new Int32Array(this.chunks.length).fill(-1);
    const kept: StoredChunk[] = [];
    this.chunks.forEach((chunk, slot) => {
      if (!chunk) return;
      newSlot[slot] = kept.length;
      this.slotById.set(chunk.id, kept.length);
      kept.push(chunk);
    });
    this.vectors?.compact(newSlot, kept.length);
    this.keywords.compact(newSlot, kept.length);
    this.chunks = kept;
    this.dead = 0;
  }

  private removeSlot(slot: number): void {
    const chunk = this.chunks[slot];
    if (!chunk) return;
    this.chunks[slot] = null;
    this.slotById.delete(chunk.id);
    this.keywords.remove(slot);
    this.dead++;
  }
}

/** What keyword search reads: the text, plus an FAQ chunk's question when the text does not already hold it. */
export function searchableText(chunk: { text: string; question: string | null }): string {
  return chunk.question && !chunk.text.includes(chunk.question) ? `${chunk.question}\n${chunk.text}` : chunk.text;
}

/** The best `limit` (slot, score) pairs seen, as a min-heap on score; on equal scores the earlier slot stays. */
class TopScores {
  private readonly slots: number[] = [];
  private readonly scores: number[] = [];

  constructor(private readonly limit: number) {}

  /** Scores at or below this cannot enter. */
  get floor(): number {
    return this.slots.length < this.limit ? 0 : this.scores[0]!;
  }

  offer(slot: number, score: number): void {
    if (this.slots.length < this.limit) {
      this.slots.push(slot);
      this.scores.push(score);
      this.siftUp(this.slots.length - 1);
    } else {
      this.slots[0] = slot;
      this.scores[0] = score;
      this.siftDown(0);
    }
  }

  sorted(): { slot: number; score: number }[] {
    return this.slots.map((slot, i) => ({ slot, score: this.scores[i]! })).sort((a, b) => b.score - a.score || a.slot - b.slot);
  }

  private siftUp(i: number): void {
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (this.scores[parent]! <= this.scores[i]!) return;
      this.swap(i, parent);
      i = parent;
    }
  }

  private siftDown(i: number): void {
    for (;;) {
      const left = 2 * i + 1;
      const right = left + 1;
      let least = i;
      if (left < this.slots.length && this.scores[left]! < this.scores[least]!) least = left;
      if (right < this.slots.length && this.scores[right]! < this.scores[least]!) least = right;
      if (least === i) return;
      this.swap(i, least);
      i = least;
    }
  }

  private swap(a: number, b: number): void {
    [this.slots[a], this.slots[b]] = [this.slots[b]!, this.slots[a]!];
    [this.scores[a], this.scores[b]] = [this.scores[b]!, this.scores[a]!];
  }
}
