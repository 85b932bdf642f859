// BM25 over one partition's chunks, scaled into [0, 1): each query term contributes its BM25 term weight divided
// by its ceiling (k1 + 1), and the sum is divided by the query's total IDF. The result reads as "how much of the
// query's information this chunk covers": 0 when no term matches, about 0.45 when every term occurs once in a chunk
// of average length, approaching 1 only when every term is frequent in a short chunk. Unlike raw BM25 it does not
// grow with the length of the query, so it can be fused with a cosine and compared across queries.
// Removal leaves postings in place (their slot is marked dead) until the partition compacts.

const K1 = 1.2;
const B = 0.75;
const DEAD = -1;

interface Postings {
  slots: Int32Array;
  counts: Uint16Array;
  length: number;
}

export class KeywordIndex {
  private readonly postings = new Map<string, Postings>();
  /** Terms per slot; DEAD once removed. */
  private lengths = new Int32Array(1024);
  private liveDocs = 0;
  private liveTerms = 0;

  add(slot: number, terms: string[]): void {
    if (slot >= this.lengths.length) this.lengths = resize(this.lengths, Math.max(slot + 1, this.lengths.length * 2));
    this.lengths[slot] = terms.length;
    this.liveDocs++;
    this.liveTerms += terms.length;
    const counts = new Map<string, number>();
    for (const t of terms) counts.set(t, (counts.get(t) ?? 0) + 1);
    for (const [term, count] of counts) {
      let p = this.postings.get(term);
      if (!p) this.postings.set(term, (p = { slots: new Int32Array(4), counts: new Uint16Array(4), length: 0 }));
      if (p.length === p.slots.length) {
        p.slots = resize(p.slots, p.length * 2);
        p.counts = resize(p.counts, p.length * 2);
      }
      p.slots[p.length] = slot;
      p.counts[p.length] = Math.min(count, 0xffff);
      p.length++;
    }
  }

  remove(slot: number): void {
    const length = this.lengths[slot]!;
    if (length === DEAD) return;
    this.lengths[slot] = DEAD;
    this.liveDocs--;
    this.liveTerms -= length;
  }

  /** Adds each live slot's score for the query terms into `out` (indexed by slot). */
  score(queryTerms: string[], out: Float32Array): void {
    const unique = [...new Set(queryTerms)];
    if (unique.length === 0 || this.liveDocs === 0) return;
    const avgLength = this.liveTerms / this.liveDocs || 1;
    // Document frequencies count dead postings until compaction; the error is bounded by the compaction threshold.
    const df = (t: string) => Math.min(this.postings.get(t)?.length ?? 0, this.liveDocs);
    const idf = unique.map((t) => Math.log(1 + (this.liveDocs - df(t) + 0.5) / (df(t) + 0.5)));
    const totalIdf = idf.reduce((a, b) => a + b, 0);
    unique.forEach((term, q) => {
      const p = this.postings.get(term);
      if (!p) return;
      const weight = idf[q]! / totalIdf / (K1 + 1);
      const lengths = this.lengths;
      for (let i = 0; i < p.length; i++) {
        const slot = p.slots[i]!;
        const length = lengths[slot]!;
        if (length === DEAD) continue;
        const tf = p.counts[i]!;
        out[slot]! += (weight * tf * (K1 + 1)) / (tf + K1 * (1 - B + (B * length) / avgLength));
      }
    });
  }

  /** Renumbers slots after the partition compacted: `newSlot[slot]` is the new number, -1 for dropped ones. */
  compact(newSlot: Int32Array, kept: number): void {
    for (const [term, p] of this.postings) {
      let w = 0;
      for (let i = 0; i < p.length; i++) {
        const to = newSlot[p.slots[i]!]!;
        if (to < 0) continue;
        p.slots[w] = to;
        p.counts[w] = p.counts[i]!;
        w++;
      }
      if (w === 0) this.postings.delete(term);
      else p.length = w;
    }
    const lengths = new Int32Array(Math.max(1024, kept));
    for (let slot = 0; slot < newSlot.length; slot++) if (newSlot[slot]! >= 0) lengths[newSlot[slot]!] = this.lengths[slot]!;
    this.lengths = lengths;
  }
}

function resize<T extends Int32Array | Uint16Array>(a: T, length: number): T {
  const bigger = new (a.constructor as new (n: number) => T)(length);
  bigger.set(a);
  return bigger;
}
