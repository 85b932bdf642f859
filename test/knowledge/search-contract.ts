// The one contract every search engine meets, run by search.test.ts against each engine available.
// Embeddings are written by hand in 8 dimensions, so "semantic" and "keyword" matches can be set apart exactly.
// Engines differ in whether chunks matching nothing come back (Meilisearch returns every chunk with a vector,
// scored by similarity alone), so the assertions speak of order and presence, not of exact result sets.
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import type { ChunkDocument, SearchEngine, SearchHit } from "../../src/knowledge/search/index.ts";

export interface EngineUnderTest {
  engine: SearchEngine;
  stop(): Promise<void>;
}

const DIMENSIONS = 8;

/** A unit vector: `weights` on the first axes, the rest made up on axis `spare` so the length is 1. */
function vector(weights: Record<number, number>, spare?: number): number[] {
  const v = new Array<number>(DIMENSIONS).fill(0);
  let sum = 0;
  for (const [axis, w] of Object.entries(weights)) {
    v[Number(axis)] = w;
    sum += w * w;
  }
  if (spare !== undefined && sum < 1) v[spare] = Math.sqrt(1 - sum);
  return v;
}

let counter = 0;
function chunk(fields: Partial<ChunkDocument> & { agentId: string; sourceId: string; text: string; embedding: number[] }): ChunkDocument {
  return {
    id: `chk_contract_${++counter}_${Math.random().toString(36).slice(2, 8)}`,
    organizationId: "org_contract",
    question: null,
    answer: null,
    sourceUrl: null,
    language: "en",
    ...fields,
  };
}

export function searchContract(name: string, start: () => Promise<EngineUnderTest>) {
  describe(`search engine contract: ${name}`, () => {
    let under: EngineUnderTest;
    let engine: SearchEngine;
    const run = Math.random().toString(36).slice(2, 8);
    const agent = (n: string) => `agt_${run}_${n}`;
    const ids = (hits: SearchHit[]) => hits.map((h) => h.id);
    const search = (agentId: string, text: string, embedding: number[], extra: { limit?: number; sourceIds?: string[] } = {}) =>
      engine.search({ organizationId: "org_contract", agentId, text, embedding, limit: extra.limit ?? 10, sourceIds: extra.sourceIds });

    beforeAll(async () => {
      under = await start();
      engine = under.engine;
    });
    afterAll(() => under.stop());

    it("finds an added chunk, and an upsert with the same id replaces it", async () => {
      const a = agent("replace");
      const doc = chunk({ agentId: a, sourceId: "src_1", text: "Parking is free behind the clinic.", embedding: vector({ 0: 1 }) });
      await engine.upsert([doc]);
      const first = await search(a, "parking", vector({ 0: 1 }));
      expect(first[0]).toMatchObject({ id: doc.id, sourceId: "src_1", text: doc.text, language: "en" });

      await engine.upsert([{ ...doc, text: "Parking costs two euros an hour.", embedding: vector({ 1: 1 }) }]);
      const after = await search(a, "euros", vector({ 1: 1 }));
      expect(after[0]).toMatchObject({ id: doc.id, text: "Parking costs two euros an hour." });
      expect(after.filter((h) => h.id === doc.id)).toHaveLength(1);
    });

    it("keeps FAQ fields and the source URL on hits", async () => {
      const a = agent("faq");
      const doc = chunk({
        agentId: a,
        sourceId: "src_faq",
        text: "Q: Do you take walk-ins?\nA: Yes, until 4 pm.",
        question: "Do you take walk-ins?",
        answer: "Yes, until 4 pm.",
        sourceUrl: "https://example.com/faq",
        embedding: vector({ 2: 1 }),
      });
      await engine.upsert([doc]);
      const [hit] = await search(a, "walk-ins", vector({ 2: 1 }));
      expect(hit).toMatchObject({ id: doc.id, question: doc.question, answer: doc.answer, sourceUrl: doc.sourceUrl });
    });

    it("removes every chunk of a source and only that source", async () => {
      const a = agent("remove");
      const gone = [1, 2, 3].map((n) => chunk({ agentId: a, sourceId: "src_old", text: `Old opening hours, version ${n}.`, embedding: vector({ 0: 1 }) }));
      const kept = chunk({ agentId: a, sourceId: "src_new", text: "New opening hours: 8 to 6.", embedding: vector({ 0: 1 }) });
      await engine.upsert([...gone, kept]);
      await engine.removeSource(a, "src_old");
      const hits = await search(a, "opening hours", vector({ 0: 1 }));
      expect(ids(hits)).toEqual([kept.id]);
      await engine.removeSource(a, "src_missing");
    });

    it("never returns another agent's chunks", async () => {
      const [a, b] = [agent("iso_a"), agent("iso_b")];
      const mine = chunk({ agentId: a, sourceId: "src_a", text: "We repair bicycles.", embedding: vector({ 3: 1 }) });
      const theirs = chunk({ agentId: b, sourceId: "src_b", text: "We repair bicycles.", embedding: vector({ 3: 1 }) });
      await engine.upsert([mine, theirs]);
      expect(ids(await search(a, "repair bicycles", vector({ 3: 1 })))).toEqual([mine.id]);
      expect(ids(await search(b, "repair bicycles", vector({ 3: 1 })))).toEqual([theirs.id]);
      expect(await search(agent("nobody"), "repair bicycles", vector({ 3: 1 }))).toEqual([]);
    });

    it("searches only the given sources when sourceIds is set", async () => {
      const a = agent("filter");
      const one = chunk({ agentId: a, sourceId: "src_one", text: "Delivery takes three days.", embedding: vector({ 4: 1 }) });
      const two = chunk({ agentId: a, sourceId: "src_two", text: "Delivery is free over 50 euros.", embedding: vector({ 4: 1 }) });
      const three = chunk({ agentId: a, sourceId: "src_three", text: "Delivery to islands costs extra.", embedding: vector({ 4: 1 }) });
      await engine.upsert([one, two, three]);
      expect(ids(await search(a, "delivery", vector({ 4: 1 }), { sourceIds: ["src_two"] }))).toEqual([two.id]);
      expect(ids(await search(a, "delivery", vector({ 4: 1 }), { sourceIds: ["src_one", "src_three"] })).sort()).toEqual([one.id, three.id].sort());
    });

    describe("hybrid ranking", () => {
      const a = agent("hybrid");
      const query = vector({ 0: 1 });
      // The keyword-only chunk matches one of the two query words, the both-matching chunk both.
      const keywordOnly = chunk({ agentId: a, sourceId: "src_h", text: "We process every refund within 30 days.", embedding: vector({ 5: 1 }) });
      const semanticOnly = chunk({ agentId: a, sourceId: "src_h", text: "Money back if you change your mind.", embedding: vector({ 0: 0.8 }, 6) });
      const both = chunk({ agentId: a, sourceId: "src_h", text: "Refund policy: we pay you back in full.", embedding: vector({ 0: 0.9 }, 7) });
      const neither = chunk({ agentId: a, sourceId: "src_h", text: "The car park opens at seven.", embedding: vector({ 1: 1 }) });

      beforeAll(() => engine.upsert([keywordOnly, semanticOnly, both, neither]));

      it("finds a chunk by its words alone", async () => {
        const hits = await search(a, "refund", vector({ 2: 1 }));
        expect(ids(hits)).toContain(keywordOnly.id);
        const rank = (id: string) => (ids(hits).includes(id) ? ids(hits).indexOf(id) : Infinity);
        expect(rank(keywordOnly.id)).toBeLessThan(rank(neither.id));
        expect(rank(keywordOnly.id)).toBeLessThan(rank(semanticOnly.id));
      });

      it("finds a chunk by its embedding alone", async () => {
        const hits = await search(a, "zqxj", semanticOnly.embedding);
        expect(hits[0]!.id).toBe(semanticOnly.id);
      });

      it("ranks the chunk matching both words and meaning first", async () => {
        const hits = await search(a, "refund policy", query);
        expect(hits[0]!.id).toBe(both.id);
        expect(ids(hits)).toContain(keywordOnly.id);
        expect(ids(hits)).toContain(semanticOnly.id);
      });

      it("scores in [0, 1], best first", async () => {
        const hits = await search(a, "refund policy", query);
        expect(hits.length).toBeGreaterThan(1);
        for (const h of hits) {
          expect(h.score).toBeGreaterThanOrEqual(0);
          expect(h.score).toBeLessThanOrEqual(1);
        }
        const scores = hits.map((h) => h.score);
        expect(scores).toEqual([...scores].sort((x, y) => y - x));
      });

      it("returns at most `limit` hits", async () => {
        expect(await search(a, "refund policy", query, { limit: 2 })).toHaveLength(2);
        expect(await search(a, "refund policy", query, { limit: 1 })).toHaveLength(1);
      });
    });

    // Last: it empties the engine.
    it("counts its documents and vector size, and after clear() holds nothing and takes vectors of another size", async () => {
      const before = await engine.stats();
      const counted = agent("count");
      await engine.upsert([1, 2].map((n) => chunk({ agentId: counted, sourceId: "src_n", text: `Counted chunk ${n}.`, embedding: vector({ 6: 1 }) })));
      expect(await engine.stats()).toEqual({ documents: before.documents + 2, dimensions: DIMENSIONS });
      await engine.removeSource(counted, "src_n");
      expect((await engine.stats()).documents).toBe(before.documents);

      await engine.clear();
      expect(await engine.stats()).toEqual({ documents: 0, dimensions: null });
      const a = agent("cleared");
      expect(await search(agent("hybrid"), "refund", vector({ 0: 1 }))).toEqual([]);

      // Keyword-only chunks go in before any vector does, and a query with a vector is still answered by words.
      const plain = chunk({ agentId: a, sourceId: "src_c", text: "Invoices are sent monthly.", embedding: [] });
      await engine.upsert([plain]);
      expect(await engine.stats()).toEqual({ documents: 1, dimensions: null });
      expect(ids(await search(a, "invoices", [1, 0, 0, 0]))).toEqual([plain.id]);

      const narrow = chunk({ agentId: a, sourceId: "src_c", text: "Parking behind the clinic.", embedding: [0, 0, 0, 1] });
      await engine.upsert([narrow]);
      expect(await engine.stats()).toEqual({ documents: 2, dimensions: 4 });
      expect((await search(a, "zqxj", [0, 0, 0, 1]))[0]!.id).toBe(narrow.id);
      expect(ids(await search(a, "invoices", [0, 0, 0, 1]))).toContain(plain.id);
    });
  });
}
