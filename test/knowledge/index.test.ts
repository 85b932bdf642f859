// The knowledge index on the app's real storage (PGlite, or Postgres with DATABASE_URL): chunks are stored with
// their embeddings, found by search, found again by a fresh index after a restart, and removed with their source.
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { createHashingEmbedder, createOpenAiCompatibleEmbedder } from "../../src/knowledge/embedders/index.ts";
import { createKnowledgeIndex, STAGED_ORDINAL, type KnowledgeIndex } from "../../src/knowledge/index.ts";
import { createInProcessSearchEngine } from "../../src/knowledge/search/index.ts";
import { createLogger } from "../../src/platform/log.ts";
import { RetrievalTimeoutError } from "../../src/runtime/tools/types.ts";
import { startTestApp, type TestApp } from "../support/app.ts";
import { startHungServer } from "../support/hung-server.ts";

let app: TestApp;
let organizationId: string;
let agentId: string;
const logLines: string[] = [];
const log = createLogger("info", (line) => logLines.push(line));

const freshIndex = (): KnowledgeIndex =>
  createKnowledgeIndex({ database: app.server.database, config: app.config, log, embedder: createHashingEmbedder(), engine: createInProcessSearchEngine() });

async function addSource(kind: "text" | "faq", label: string): Promise<string> {
  const id = `ks_test_${Math.random().toString(36).slice(2, 10)}`;
  await app.query(
    `insert into knowledge_sources (id, organization_id, agent_id, kind, label, crawl, progress)
     values ('${id}', '${organizationId}', '${agentId}', '${kind}', '${label}', '{}', '{"current":0,"total":0}')`,
  );
  return id;
}

async function chunkCount(sourceId: string): Promise<number> {
  const [row] = await app.query<{ n: number }>(`select count(*)::int as n from knowledge_chunks where source_id = '${sourceId}'`);
  return row!.n;
}

beforeAll(async () => {
  app = await startTestApp();
  const org = await app.newOrg();
  organizationId = org.organizationId;
  const agent = await app.api("POST", "/api/v1/agents", { key: org.key, body: { name: "Clinic desk" } });
  agentId = agent.body.data.id;
});
afterAll(() => app.stop());

describe("knowledge index on the app's storage", () => {
  let index: KnowledgeIndex;
  let hours: string;
  let faq: string;

  beforeAll(async () => {
    index = freshIndex();
    await index.ready();
    hours = await addSource("text", "Opening hours");
    faq = await addSource("faq", "Parking FAQ");
  });

  it("stores every chunk with its embedding and reports progress", async () => {
    const progress: [number, number][] = [];
    const chunks = Array.from({ length: 70 }, (_, i) => ({ text: `Opening hours note ${i}: the clinic opens at ${7 + (i % 3)} am on weekdays.`, language: "en" }));
    chunks[0] = { text: "The clinic is open Monday to Friday from 8 am to 6 pm, closed on public holidays.", language: "en" };
    const result = await index.replaceSource({ organizationId, agentId, sourceId: hours, chunks }, (done, total) => progress.push([done, total]));
    expect(result).toEqual({ chunkCount: 70 });
    expect(progress.at(-1)).toEqual([70, 70]);
    expect(progress.length).toBeGreaterThan(1);

    const rows = await app.query<{ id: string; ordinal: number; embedding: number[]; language: string }>(
      `select id, ordinal, embedding, language from knowledge_chunks where source_id = '${hours}' order by ordinal`,
    );
    expect(rows).toHaveLength(70);
    expect(rows[0]!.id).toMatch(/^chk_[0-9A-Z]{26}$/);
    expect(rows[0]!.embedding).toHaveLength(index.embedder.dimensions);
    expect(Math.hypot(...rows[0]!.embedding)).toBeCloseTo(1, 4);
  });

  it("finds stored chunks by search, FAQ entries as Q/A passages", async () => {
    await index.replaceSource({
      organizationId,
      agentId,
      sourceId: faq,
      chunks: [
        { text: "Q: Where can I park?\nA: Behind the building, free for patients.", question: "Where can I park?", answer: "Behind the building, free for patients.", sourceUrl: "https://clinic.example/faq" },
        { text: "Q: Do you take walk-ins?\nA: Yes, until 4 pm.", question: "Do you take walk-ins?", answer: "Yes, until 4 pm." },
      ],
    });
    const hits = await index.search({ organizationId, agentId, text: "when is the clinic open on friday", limit: 3 });
    expect(hits[0]!.text).toContain("Monday to Friday");
    expect(hits[0]!.sourceId).toBe(hours);
    expect(hits[0]!.score).toBeGreaterThan(0);

    const passages = await index.retriever.search({ organizationId, agentId, query: "where do I park my car?" });
    expect(passages[0]).toMatchObject({
      text: "Q: Where can I park?\nA: Behind the building, free for patients.",
      sourceId: faq,
      sourceUrl: "https://clinic.example/faq",
      question: "Where can I park?",
    });
    const onlyHours = await index.search({ organizationId, agentId, text: "park", limit: 5, sourceIds: [hours] });
    expect(onlyHours.every((h) => h.sourceId === hours)).toBe(true);
  });

  it("the retriever gives up past its deadline with RetrievalTimeoutError, and a turn's signal ends it with the signal's reason", async () => {
    const hung = await startHungServer();
    try {
      const stuck = createKnowledgeIndex({
        database: app.server.database,
        config: app.config,
        log,
        embedder: createOpenAiCompatibleEmbedder({ baseUrl: hung.url, apiKey: null, model: "m" }),
        engine: createInProcessSearchEngine(),
      });
      const late = stuck.retriever.search({ organizationId, agentId, query: "where do I park?" }, { deadlineMs: 100 });
      await expect(late).rejects.toBeInstanceOf(RetrievalTimeoutError);
      await expect(late).rejects.toMatchObject({ code: "knowledge_search_timeout", deadlineMs: 100 });
      // Without a deadline of its own, the configured one (KNOWLEDGE_SEARCH_TIMEOUT_MS) applies.
      expect(app.config.knowledgeSearchTimeoutMs).toBe(2000);

      const controller = new AbortController();
      const left = stuck.retriever.search({ organizationId, agentId, query: "where do I park?" }, { signal: controller.signal, deadlineMs: 60_000 });
      controller.abort(new Error("the caller hung up"));
      await expect(left).rejects.toThrow("the caller hung up");

      // A caller gone before the search starts gets the reason at once, and the search's own end is not left as an
      // unhandled rejection (the test runner fails a test that leaves one).
      const unhandled: unknown[] = [];
      const note = (reason: unknown) => unhandled.push(reason);
      process.on("unhandledRejection", note);
      try {
        const gone = stuck.retriever.search({ organizationId, agentId, query: "where do I park?" }, { signal: AbortSignal.abort(new Error("already gone")), deadlineMs: 60_000 });
        await expect(gone).rejects.toThrow("already gone");
        await Bun.sleep(50);
        expect(unhandled).toEqual([]);
      } finally {
        process.off("unhandledRejection", note);
      }
    } finally {
      await hung.stop();
    }
  });

  it("replacing a source swaps its chunks in storage and in search", async () => {
    await index.replaceSource({ organizationId, agentId, sourceId: faq, chunks: [{ text: "Q: Is there parking?\nA: No, use the public garage.", question: "Is there parking?", answer: "No, use the public garage." }] });
    expect(await chunkCount(faq)).toBe(1);
    const hits = await index.search({ organizationId, agentId, text: "parking", limit: 5 });
    expect(hits.filter((h) => h.sourceId === faq).map((h) => h.answer)).toEqual(["No, use the public garage."]);
  });

  it("a fresh index on the same storage finds the chunks again after ready()", async () => {
    logLines.length = 0;
    const restarted = freshIndex();
    await restarted.ready();
    const hits = await restarted.search({ organizationId, agentId, text: "when is the clinic open on friday", limit: 3 });
    expect(hits[0]!.text).toContain("Monday to Friday");
    expect(logLines.some((l) => l.includes("knowledge index loaded") && l.includes('"chunks":71'))).toBe(true);
  });

  it("records the embedder's model on every chunk", async () => {
    const rows = await app.query<{ model: string; n: number }>(`select embedding_model as model, count(*)::int as n from knowledge_chunks group by 1`);
    expect(rows).toEqual([{ model: index.embedder.model, n: 71 }]);
  });

  it("a fresh index keeps chunks from another embedding model findable by keyword only", async () => {
    await app.query(`update knowledge_chunks set embedding_model = 'some-other-model' where source_id = '${faq}'`);
    logLines.length = 0;
    const restarted = freshIndex();
    await restarted.ready();
    expect(logLines.some((l) => l.includes("1 knowledge chunks were embedded by another model than hashing-384-v2; they match by keyword only until they are re-embedded"))).toBe(true);
    const hits = await restarted.search({ organizationId, agentId, text: "public garage", limit: 3 });
    expect(hits[0]!.sourceId).toBe(faq);
    expect(await restarted.inspect()).toEqual({ chunks: 71, stale: [{ model: "some-other-model", chunks: 1 }], engine: null });
  });

  it("re-embeds the chunks of another model, keeping them searchable and marking their source", async () => {
    await app.query(`update knowledge_sources set status = 'indexed', embedding_model = 'some-other-model' where id = '${faq}'`);
    const restarted = freshIndex();
    await restarted.ready();
    // Misspelled words match no keyword, only word parts (the hashing embedder's trigrams): a vector-only match.
    const misspelled = { organizationId, agentId, text: "publik garaje", limit: 3 };
    expect((await restarted.search(misspelled)).some((h) => h.sourceId === faq)).toBe(false);

    const result = await restarted.reembed({ signal: new AbortController().signal, until: Date.now() + 60_000 });
    expect(result).toEqual({ chunks: 1, finished: true });
    const [row] = await app.query<{ model: string; embedding: number[] }>(`select embedding_model as model, embedding from knowledge_chunks where source_id = '${faq}'`);
    expect(row!.model).toBe("hashing-384-v2");
    const [expected] = await restarted.embedder.embed(["Q: Is there parking?\nA: No, use the public garage."]);
    for (const [i, v] of row!.embedding.entries()) expect(v).toBeCloseTo(expected![i]!, 6);
    const [source] = await app.query<{ model: string }>(`select embedding_model as model from knowledge_sources where id = '${faq}'`);
    expect(source!.model).toBe("hashing-384-v2");
    expect((await restarted.inspect()).stale).toEqual([]);
    expect((await restarted.search(misspelled))[0]!.sourceId).toBe(faq);
  });

  it("removeSource deletes the rows and the search results", async () => {
    await index.removeSource(organizationId, agentId, hours);
    expect(await chunkCount(hours)).toBe(0);
    expect((await index.search({ organizationId, agentId, text: "clinic open friday", limit: 5 })).some((h) => h.sourceId === hours)).toBe(false);
    const restarted = freshIndex();
    await restarted.ready();
    expect((await restarted.search({ organizationId, agentId, text: "clinic open friday", limit: 5 })).some((h) => h.sourceId === hours)).toBe(false);
  });

  it("never shows one organization's chunks to another", async () => {
    expect(await index.search({ organizationId: "org_someone_else", agentId, text: "parking", limit: 5 })).toEqual([]);
  });

  it("leaves the staged passages of a cut-off refresh out of search, counts and reloads, and clears them at the next run", async () => {
    const lease = await addSource("text", "Lease");
    await index.replaceSource({ organizationId, agentId, sourceId: lease, chunks: [{ text: "The lease runs for twelve months from the first of the month." }] });
    // What a refresh killed mid-way leaves: new passages numbered from STAGED_ORDINAL, not swapped in.
    await app.query(
      `insert into knowledge_chunks (id, organization_id, agent_id, source_id, ordinal, text, embedding, embedding_model)
       values ('chk_staged_1', '${organizationId}', '${agentId}', '${lease}', ${STAGED_ORDINAL}, 'Half-written refresh about pets allowed in the flat.', '{}', '${index.embedder.model}')`,
    );
    const restarted = freshIndex();
    await restarted.ready();
    expect((await restarted.search({ organizationId, agentId, text: "pets allowed in the flat", limit: 5 })).some((h) => h.id === "chk_staged_1")).toBe(false);
    expect((await restarted.inspect()).chunks).toBe(await chunkCount(lease) - 1 + (await chunkCount(faq)) + (await chunkCount(hours)));

    await restarted.replaceSource({ organizationId, agentId, sourceId: lease, chunks: [{ text: "The lease runs for six months." }, { text: "Pets are allowed with a deposit." }] });
    const rows = await app.query<{ id: string; ordinal: number; text: string }>(`select id, ordinal, text from knowledge_chunks where source_id = '${lease}' order by ordinal`);
    expect(rows.map((r) => [r.ordinal, r.text])).toEqual([
      [0, "The lease runs for six months."],
      [1, "Pets are allowed with a deposit."],
    ]);
    const hits = await restarted.search({ organizationId, agentId, text: "lease months", limit: 5, sourceIds: [lease] });
    expect(hits.map((h) => h.text)).toContain("The lease runs for six months.");
    expect(hits.map((h) => h.text)).not.toContain("The lease runs for twelve months from the first of the month.");
  });
});
