import { describe, expect, it } from "bun:test";
import { CHUNK_MAX, chunkText } from "../../../src/knowledge/ingestion/chunker.ts";

const sentences = (n: number, topic: string) => Array.from({ length: n }, (_, i) => `Sentence ${i + 1} is about ${topic} and nothing else.`).join(" ");

describe("chunking", () => {
  it("keeps a short text whole and drops blank input", () => {
    expect(chunkText("Hello there.")).toEqual(["Hello there."]);
    expect(chunkText("  \n\n ")).toEqual([]);
  });

  it("joins short paragraphs into one passage and folds line breaks inside a paragraph", () => {
    expect(chunkText("First paragraph.\n\nSecond\nparagraph.")).toEqual(["First paragraph. Second paragraph."]);
  });

  it("cuts long text into passages of at most 800 characters that end on a sentence", () => {
    const text = [sentences(12, "returns"), sentences(30, "shipping"), sentences(8, "warranty")].join("\n\n");
    const chunks = chunkText(text);
    expect(chunks.length).toBeGreaterThan(3);
    for (const c of chunks) {
      expect(c.length).toBeLessThanOrEqual(CHUNK_MAX);
      expect(c).toMatch(/\.$/);
      expect(c).toMatch(/^Sentence \d+ is about/);
    }
    for (const c of chunks.slice(0, -1)) expect(c.length).toBeGreaterThanOrEqual(500);
    // Everything is somewhere.
    for (const topic of ["returns", "shipping", "warranty"]) expect(chunks.some((c) => c.includes(`Sentence 8 is about ${topic}`))).toBe(true);
  });

  it("starts each passage with the last sentence of the one before, so an answer at a cut is found whole", () => {
    const chunks = chunkText(sentences(40, "billing"));
    for (let i = 1; i < chunks.length; i++) {
      const previousLast = chunks[i - 1]!.match(/Sentence \d+ is about billing and nothing else\.$/)![0];
      expect(chunks[i]!.startsWith(previousLast)).toBe(true);
    }
  });

  it("cuts a sentence longer than a passage between words", () => {
    const chunks = chunkText(Array.from({ length: 400 }, (_, i) => `word${i}`).join(" "));
    expect(chunks.length).toBeGreaterThan(1);
    for (const c of chunks) {
      expect(c.length).toBeLessThanOrEqual(CHUNK_MAX);
      expect(c).toMatch(/^word\d+/);
      expect(c).toMatch(/word\d+$/);
    }
  });
});
