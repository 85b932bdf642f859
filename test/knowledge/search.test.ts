import { describe, expect, it } from "bun:test";
import { createInProcessSearchEngine, createMeilisearchEngine, MeilisearchError, type ChunkDocument } from "../../src/knowledge/search/index.ts";
import { startHungServer } from "../support/hung-server.ts";
import { startMeilisearchStandIn } from "../support/meilisearch-stand-in.ts";
import { until } from "../support/until.ts";
import { searchContract } from "./search-contract.ts";

searchContract("in-process", async () => ({ engine: createInProcessSearchEngine(), stop: async () => {} }));

searchContract("Meilisearch (Meilisearch stand-in following its HTTP API)", async () => {
  const meili = startMeilisearchStandIn();
  return { engine: createMeilisearchEngine({ url: meili.url, apiKey: meili.masterKey }), stop: async () => meili.stop() };
});

if (process.env.MEILI_URL) {
  searchContract(`Meilisearch at ${process.env.MEILI_URL}`, async () => {
    const url = process.env.MEILI_URL!;
    const apiKey = process.env.MEILI_MASTER_KEY ?? null;
    const index = `flowyte_contract_${Date.now()}`;
    return {
      engine: createMeilisearchEngine({ url, apiKey, index }),
      stop: async () => {
        await fetch(`${url}/indexes/${index}`, { method: "DELETE", headers: apiKey ? { authorization: `Bearer ${apiKey}` } : {} });
      },
    };
  });
}

describe("in-process engine", () => {
  const doc = (id: string, text: string, embedding: number[], sourceId = "src_1"): ChunkDocument => ({
    id,
    organizationId: "org_1",
    agentId: "agt_1",
    sourceId,
    text,
    question: null,
    answer: null,
    sourceUrl: null,
    language: null,
    embedding,
  });
  const unit = (...v: number[]) => {
    const n = Math.hypot(...v);
    return v.map((x) => x / n);
  };

  it("fuses the signals: a keyword match lifts a chunk above a closer embedding without one", async () => {
    const engine = createInProcessSearchEngine();
    await engine.upsert([doc("closer", "Money back if you change your mind.", unit(0.8, 0.6, 0)), doc("fused", "Refund policy: we pay you back.", unit(0.7, 0, 0.71))]);
    const hits = await engine.search({ organizationId: "org_1", agentId: "agt_1", text: "refund policy", embedding: [1, 0, 0], limit: 5 });
    expect(hits.map((h) => h.id)).toEqual(["fused", "closer"]);
    expect(hits[1]!.score).toBeCloseTo(0.8, 2);
  });

  it("returns nothing when neither words nor meaning match", async () => {
    const engine = createInProcessSearchEngine();
    await engine.upsert([doc("a", "Parking behind the clinic.", [0, 1])]);
    expect(await engine.search({ organizationId: "org_1", agentId: "agt_1", text: "invoice", embedding: [1, 0], limit: 5 })).toEqual([]);
  });

  it("keeps chunks without an embedding findable by keyword", async () => {
    const engine = createInProcessSearchEngine();
    await engine.upsert([doc("plain", "Invoices are sent monthly.", []), doc("vec", "Parking behind the clinic.", [0, 1])]);
    const hits = await engine.search({ organizationId: "org_1", agentId: "agt_1", text: "invoice", embedding: [1, 0], limit: 5 });
    expect(hits.map((h) => h.id)).toEqual(["plain"]);
  });

  it("refuses a query embedding of another size than the stored ones", async () => {
    const engine = createInProcessSearchEngine();
    await engine.upsert([doc("a", "Parking.", [0, 1])]);
    await expect(engine.search({ organizationId: "org_1", agentId: "agt_1", text: "x", embedding: [1, 0, 0], limit: 5 })).rejects.toThrow(/3 dimensions/);
  });

  it("stays correct across compaction after many removals", async () => {
    const engine = createInProcessSearchEngine();
    const rotated = (i: number) => unit(Math.cos(i), Math.sin(i), 0.1);
    for (let round = 0; round < 3; round++) {
      await engine.upsert(Array.from({ length: 1500 }, (_, i) => doc(`r${round}_${i}`, `Round ${round} passage ${i} about tariff${i % 7}.`, rotated(i), `src_${round}`)));
      if (round < 2) await engine.removeSource("agt_1", `src_${round}`);
    }
    const hits = await engine.search({ organizationId: "org_1", agentId: "agt_1", text: "tariff3", embedding: rotated(10), limit: 3 });
    expect(hits[0]!.id).toBe("r2_10");
    expect(hits.every((h) => h.id.startsWith("r2_"))).toBe(true);
    const kw = await engine.search({ organizationId: "org_1", agentId: "agt_1", text: "tariff3", embedding: [0, 0, 1], limit: 500 });
    expect(kw.filter((h) => h.text.includes("tariff3")).length).toBe(Math.ceil((1500 - 3) / 7));
  });
});

describe("Meilisearch client (Meilisearch stand-in following its HTTP API)", () => {
  const doc = (id: string, embedding: number[]): ChunkDocument => ({
    id,
    organizationId: "org_1",
    agentId: "agt_1",
    sourceId: "src_1",
    text: "Opening hours are 8 to 6.",
    question: null,
    answer: null,
    sourceUrl: null,
    language: null,
    embedding,
  });
  const query = { organizationId: "org_1", agentId: "agt_1", text: "opening hours", embedding: [1, 0, 0, 0], limit: 5 };

  it("switches on the vectorStore experimental feature before 1.13, and not after", async () => {
    for (const [version, expected] of [
      ["1.6.2", { vectorStore: true }],
      ["1.13.0", {}],
    ] as const) {
      const meili = startMeilisearchStandIn({ version });
      const engine = createMeilisearchEngine({ url: meili.url, apiKey: meili.masterKey });
      await engine.upsert([doc("a", [1, 0, 0, 0])]);
      expect(Object.fromEntries(Object.entries(meili.experimentalFeatures).filter(([, on]) => on))).toEqual(expected);
      expect((await engine.search(query)).map((h) => h.id)).toEqual(["a"]);
      meili.stop();
    }
  });

  it("scores as the in-process engine does: vector hits by their cosine, not Meilisearch's (1 + cosine) / 2, and both signals fused", async () => {
    const meili = startMeilisearchStandIn();
    const engine = createMeilisearchEngine({ url: meili.url, apiKey: meili.masterKey });
    await engine.upsert([
      { ...doc("near", [0.6, 0.8, 0, 0]), text: "Parking behind the clinic." },
      { ...doc("orthogonal", [0, 0, 1, 0]), text: "Invoices go out monthly." },
      { ...doc("both", [0.6, 0.8, 0, 0]), text: "Opening hours are 8 to 6." },
    ]);
    const hits = await engine.search({ ...query, text: "opening hours" });
    expect(hits.map((h) => h.id)).toEqual(["both", "near"]);
    expect(hits[1]!.score).toBeCloseTo(0.6, 6);
    // Every query word matched: the stand-in's keyword score is 1, so the fused score is 1 whatever the cosine.
    expect(hits[0]!.score).toBeCloseTo(1, 6);
    meili.stop();
  });

  it("finds nothing, and removes nothing, before the index exists", async () => {
    const meili = startMeilisearchStandIn();
    const engine = createMeilisearchEngine({ url: meili.url, apiKey: meili.masterKey });
    expect(await engine.search(query)).toEqual([]);
    await engine.removeSource("agt_1", "src_1");
    meili.stop();
  });

  it("reports a refused key and a failed task with Meilisearch's own message", async () => {
    const meili = startMeilisearchStandIn();
    await expect(createMeilisearchEngine({ url: meili.url, apiKey: "wrong" }).search(query)).rejects.toThrow(/403: The provided API key is invalid/);
    const engine = createMeilisearchEngine({ url: meili.url, apiKey: meili.masterKey });
    await engine.upsert([doc("a", [1, 0, 0, 0])]);
    await expect(engine.upsert([doc("b", [1, 0, 0, 0]), doc("c", [1, 0])])).rejects.toThrow(/task \d+ failed: Mismatch between the expected vector dimensions \(4\) and the one passed \(2\)/);
    meili.stop();
  });

  it("sends an empty query embedding as a keyword-only search", async () => {
    const meili = startMeilisearchStandIn();
    const engine = createMeilisearchEngine({ url: meili.url, apiKey: meili.masterKey });
    await engine.upsert([doc("a", [0, 1, 0, 0])]);
    const hits = await engine.search({ ...query, embedding: [0, 0, 0, 0] });
    expect(hits.map((h) => [h.id, h.score])).toEqual([["a", 1]]);
    meili.stop();
  });

  it("answers by keywords alone while the index is set up for vectors of another size than the query's", async () => {
    const meili = startMeilisearchStandIn();
    const engine = createMeilisearchEngine({ url: meili.url, apiKey: meili.masterKey });
    await engine.upsert([doc("a", [0, 1, 0, 0]), { ...doc("b", [1, 0, 0, 0]), text: "Invoices go out monthly." }]);
    const hits = await engine.search({ ...query, embedding: [1, 0, 0, 0, 0, 0] });
    expect(hits.map((h) => [h.id, h.score])).toEqual([["a", 1]]);
    meili.stop();
  });

  it("sees an index deleted behind its back as empty, and sets it up again on the next write", async () => {
    const meili = startMeilisearchStandIn();
    const engine = createMeilisearchEngine({ url: meili.url, apiKey: meili.masterKey });
    await engine.upsert([doc("a", [1, 0, 0, 0])]);
    expect(await engine.stats()).toEqual({ documents: 1, dimensions: 4 });
    const res = await fetch(`${meili.url}/indexes/flowyte_knowledge`, { method: "DELETE", headers: { authorization: `Bearer ${meili.masterKey}` } });
    expect(res.status).toBe(202);
    await Bun.sleep(50);
    expect(await engine.stats()).toEqual({ documents: 0, dimensions: null });
    await engine.upsert([doc("a", [1, 0, 0, 0])]);
    expect(await engine.stats()).toEqual({ documents: 1, dimensions: 4 });
    expect((await engine.search(query)).map((h) => h.id)).toEqual(["a"]);
    meili.stop();
  });

  it("gives up on a Meilisearch that accepts the connection and never answers, after its request deadline", async () => {
    const hung = await startHungServer();
    const engine = createMeilisearchEngine({ url: hung.url, apiKey: "key", timeoutMs: 100 });
    const failure = engine.search(query);
    await expect(failure).rejects.toBeInstanceOf(MeilisearchError);
    await expect(failure).rejects.toMatchObject({ code: "request_timeout", message: expect.stringContaining("no answer within 100 ms") });
    await expect(engine.stats()).rejects.toMatchObject({ code: "request_timeout" });
    await hung.stop();
  });

  it("ends a search when the caller's signal aborts, with the signal's reason", async () => {
    const hung = await startHungServer();
    const engine = createMeilisearchEngine({ url: hung.url, apiKey: "key" });
    const controller = new AbortController();
    const pending = engine.search(query, controller.signal);
    await until(() => hung.connections > 0);
    controller.abort(new Error("deadline passed"));
    await expect(pending).rejects.toThrow("deadline passed");
    await hung.stop();
  });
});
