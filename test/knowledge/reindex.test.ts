// What the background re-indexing decides from how storage, the embedder and the engine stand (its effects are
// tested end to end, across restarts, in test/api/knowledge/reindex.test.ts).
import { describe, expect, it } from "bun:test";
import { planReindex } from "../../src/knowledge/reindex.ts";

const stale = (chunks: number) => (chunks ? [{ model: "hashing-384-v2", chunks }] : []);

describe("planReindex", () => {
  it("only re-embeds for an engine filled from storage at start", () => {
    expect(planReindex({ chunks: 10, stale: stale(4), engine: null }, 384)).toEqual({ clear: null, refill: null, reason: null, reembed: 4 });
    expect(planReindex({ chunks: 10, stale: [], engine: null }, 384)).toEqual({ clear: null, refill: null, reason: null, reembed: 0 });
  });

  it("leaves an engine holding every chunk alone", () => {
    expect(planReindex({ chunks: 10, stale: [], engine: { documents: 10, dimensions: 384 } }, 384)).toEqual({ clear: null, refill: null, reason: null, reembed: 0 });
  });

  it("refills an engine missing documents, and empties first one holding more than storage", () => {
    expect(planReindex({ chunks: 10, stale: [], engine: { documents: 0, dimensions: null } }, 384)).toMatchObject({ clear: null, refill: "all", reason: "it holds 0 of 10 chunks" });
    expect(planReindex({ chunks: 10, stale: [], engine: { documents: 12, dimensions: 384 } }, 384)).toMatchObject({ clear: "it holds 12 documents for 10 chunks", refill: "all" });
  });

  it("empties and refills an engine set up for vectors of another size, unless the embedder's size is not known yet", () => {
    expect(planReindex({ chunks: 10, stale: stale(10), engine: { documents: 10, dimensions: 384 } }, 768)).toEqual({
      clear: "it is set up for 384-dimension vectors and the embedder makes 768",
      refill: "all",
      reason: "it is set up for 384-dimension vectors and the embedder makes 768",
      reembed: 10,
    });
    expect(planReindex({ chunks: 10, stale: stale(10), engine: { documents: 10, dimensions: 384 } }, 0)).toMatchObject({ clear: null, refill: "stale" });
  });

  it("takes another model's vectors of the same size out of the engine once, not again on every resumed run", () => {
    expect(planReindex({ chunks: 10, stale: stale(3), engine: { documents: 10, dimensions: 384 } }, 384)).toMatchObject({ clear: null, refill: "stale", reembed: 3 });
    expect(planReindex({ chunks: 10, stale: stale(3), engine: { documents: 10, dimensions: 384 } }, 384, true)).toMatchObject({ clear: null, refill: null, reembed: 3 });
  });
});
