// The knowledge index kept in step across restarts over the same storage: a new embedder makes every chunk again in
// the background (resuming after a restart without redoing finished batches), and a Meilisearch index that lost its
// documents, or holds another embedder's vectors, is refilled from knowledge_chunks. The embedder after the change is
// an OpenAI-compatible server (test/support/embeddings-stand-in.ts) that knows a voucher is a gift card, which the
// hashing embedder before it does not.
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { sql } from "drizzle-orm";
import type { Config } from "../../../src/config.ts";
import { REEMBED_BATCH } from "../../../src/knowledge/index.ts";
import { createLogger } from "../../../src/platform/log.ts";
import { startServer, type RunningServer } from "../../../src/server.ts";
import { startTestApp, type TestApp } from "../../support/app.ts";
import { CONCEPT_DIMENSIONS, startEmbeddingsStandIn, type EmbeddingsStandIn } from "../../support/embeddings-stand-in.ts";
import { startMeilisearchStandIn, type MeilisearchStandIn } from "../../support/meilisearch-stand-in.ts";

const GIFT_CARDS = { question: "Do you sell gift cards?", answer: "Yes, gift cards from 10 to 200 dollars are sold at every till." };
const VOUCHER = "Can I buy a voucher?";
const ANSWER_THRESHOLD = 0.35;

let embeddings: EmbeddingsStandIn;
beforeAll(() => {
  embeddings = startEmbeddingsStandIn();
});
afterAll(() => embeddings.stop());

/** One start of the server over the app's storage, with its own log. */
async function start(config: Config): Promise<{ server: RunningServer; log: string[] }> {
  const log: string[] = [];
  const server = await startServer({ ...config, port: 0 }, createLogger("info", (line) => log.push(line)));
  return { server, log };
}

const withConceptEmbedder = (config: Config): Config => ({ ...config, embeddings: { baseUrl: embeddings.baseUrl, apiKey: null, model: "concept-test", timeoutMs: 30_000 } });

async function rows<T>(server: RunningServer, text: string): Promise<T[]> {
  const result = (await server.database.db.execute(sql.raw(text))) as unknown as { rows?: T[] } | T[];
  return Array.isArray(result) ? result : (result.rows ?? []);
}

async function api(server: RunningServer, key: string, method: string, path: string, body?: unknown) {
  const res = await fetch(`${server.url}/api/v1${path}`, {
    method,
    headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const json = (await res.json()) as any;
  if (res.status >= 400) throw new Error(`${method} ${path} → ${res.status} ${JSON.stringify(json)}`);
  return json.data;
}

async function until<T>(what: string, probe: () => Promise<T>, done: (value: T) => boolean, timeoutMs = 40_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`${what}: still ${JSON.stringify(value)}`);
    await Bun.sleep(100);
  }
}

async function addFaq(server: RunningServer, key: string, agentId: string, items: { question: string; answer: string }[]) {
  const source = await api(server, key, "POST", `/agents/${agentId}/knowledge/sources`, { kind: "faq", label: "FAQ", items });
  return until("indexing", () => api(server, key, "GET", `/agents/${agentId}/knowledge/sources/${source.id}`), (s) => s.status === "indexed" || s.status === "error");
}

const modelCounts = (server: RunningServer) =>
  rows<{ model: string; n: number; dims: number }>(server, "select embedding_model as model, count(*)::int as n, max(array_length(embedding, 1))::int as dims from knowledge_chunks group by 1 order by 1");

const preview = (server: RunningServer, key: string, agentId: string, query: string) => api(server, key, "POST", `/agents/${agentId}/knowledge/preview`, { query });

describe("changing the embedder between two starts", () => {
  let app: TestApp;
  let org: { organizationId: string; key: string };
  let agentId: string;
  let faq: any;
  const running: RunningServer[] = [];

  beforeAll(async () => {
    app = await startTestApp();
    org = await app.newOrg();
    agentId = (await app.api("POST", "/api/v1/agents", { key: org.key, body: { name: "Gift shop" } })).body.data.id;
  });
  afterAll(async () => {
    for (const server of running) await server.stop();
    await app.stop();
  });

  it("re-embeds every chunk in the background, resumes after a restart without redoing finished batches, and search then uses the new embedder", async () => {
    const items = [GIFT_CARDS, ...Array.from({ length: 300 }, (_, i) => ({ question: `What does spare part number ${i} fit?`, answer: `Part ${i} fits model ${i % 7}.` }))];
    faq = await addFaq(app.server, org.key, agentId, items);
    expect(faq).toMatchObject({ status: "indexed", chunkCount: 301, embeddingModel: "hashing-384-v2" });
    expect(await modelCounts(app.server)).toEqual([{ model: "hashing-384-v2", n: 301, dims: 384 }]);
    // Words, not meaning: the hashing embedder does not find gift cards for a voucher.
    const before = await preview(app.server, org.key, agentId, VOUCHER);
    expect(before.chunks.find((c: any) => c.question === GIFT_CARDS.question)?.similarity ?? 0).toBeLessThan(ANSWER_THRESHOLD);
    await app.server.stop();

    // The new embedder answers the first batch, then is down.
    const chunkTexts = () => embeddings.embedded.filter((t) => t.startsWith("Q: ")).length;
    embeddings.failWhen = (inputs) => inputs.some((t) => t.startsWith("Q: ")) && chunkTexts() >= REEMBED_BATCH;
    const second = await start(withConceptEmbedder(app.config));
    running.push(second.server);
    await until("first batch re-embedded", () => modelCounts(second.server), (counts) => counts.some((c) => c.model === "concept-test" && c.n === REEMBED_BATCH));
    await until("the next batch failing", async () => second.log.join("\n"), (log) => log.includes("job knowledge-reindex failed"));
    expect(second.log.find((l) => l.includes("re-embedding them in the background"))).toContain(
      "knowledge index: 301 chunks were embedded by another model than concept-test (301 by hashing-384-v2); re-embedding them in the background",
    );
    await second.server.stop();

    embeddings.failWhen = () => false;
    const third = await start(withConceptEmbedder(app.config));
    running.push(third.server);
    await until("every chunk re-embedded", () => modelCounts(third.server), (counts) => counts.length === 1 && counts[0]!.model === "concept-test");
    expect(await modelCounts(third.server)).toEqual([{ model: "concept-test", n: 301, dims: CONCEPT_DIMENSIONS }]);
    // Each chunk was embedded once by the new embedder: the batch done before the restart was not done again.
    expect(chunkTexts()).toBe(301);
    const resumedLog = await until("the run's report", async () => third.log.join("\n"), (log) => log.includes(`re-embedded ${301 - REEMBED_BATCH} chunks`));
    expect(resumedLog).toContain(`knowledge index: ${301 - REEMBED_BATCH} chunks were embedded by another model than concept-test (${301 - REEMBED_BATCH} by hashing-384-v2)`);
    expect(resumedLog).toContain(`knowledge index: re-embedded ${301 - REEMBED_BATCH} chunks with concept-test`);

    expect(await api(third.server, org.key, "GET", `/agents/${agentId}/knowledge/sources/${faq.id}`)).toMatchObject({ status: "indexed", embeddingModel: "concept-test" });
    const after = await preview(third.server, org.key, agentId, VOUCHER);
    expect(after.chunks[0]).toMatchObject({ sourceId: faq.id, question: GIFT_CARDS.question });
    expect(after.chunks[0].similarity).toBeGreaterThanOrEqual(ANSWER_THRESHOLD);
  });
});

describe("Meilisearch refilled from knowledge_chunks (Meilisearch stand-in following its HTTP API)", () => {
  let meili: MeilisearchStandIn;
  let app: TestApp;
  let org: { organizationId: string; key: string };
  let agentId: string;
  let faq: any;
  let server: RunningServer;
  const meiliCall = async (method: string, path: string) => {
    const res = await fetch(`${meili.url}${path}`, { method, headers: { authorization: `Bearer ${meili.masterKey}` } });
    return { status: res.status, body: (await res.json()) as any };
  };
  const meiliStats = async () => {
    const stats = await meiliCall("GET", "/indexes/flowyte_knowledge/stats");
    const settings = await meiliCall("GET", "/indexes/flowyte_knowledge/settings");
    return { documents: stats.body.numberOfDocuments ?? 0, dimensions: settings.body.embedders?.default?.dimensions ?? null };
  };
  /** A Meilisearch task finished (the stand-in works through tasks in a few milliseconds). */
  const settle = () => Bun.sleep(100);

  beforeAll(async () => {
    meili = startMeilisearchStandIn();
    app = await startTestApp({ MEILI_URL: meili.url, MEILI_MASTER_KEY: meili.masterKey });
    server = app.server;
    org = await app.newOrg();
    agentId = (await app.api("POST", "/api/v1/agents", { key: org.key, body: { name: "Gift shop" } })).body.data.id;
    faq = await addFaq(server, org.key, agentId, [
      GIFT_CARDS,
      { question: "Where can I park?", answer: "Behind the shop, free for customers." },
      { question: "When are you open?", answer: "Monday to Saturday, 9 to 6." },
    ]);
  });
  afterAll(async () => {
    await server?.stop();
    await app?.stop();
    meili?.stop();
  });

  it("refills a deleted index at the next start", async () => {
    expect(await meiliStats()).toEqual({ documents: 3, dimensions: 384 });
    await server.stop();
    expect((await meiliCall("DELETE", "/indexes/flowyte_knowledge")).status).toBe(202);
    await settle();
    expect((await meiliCall("GET", "/indexes/flowyte_knowledge")).status).toBe(404);

    const next = await start(app.config);
    server = next.server;
    await until("Meilisearch refilled", meiliStats, (s) => s.documents === 3);
    expect(await meiliStats()).toEqual({ documents: 3, dimensions: 384 });
    const log = await until("the refill's report", async () => next.log.join("\n"), (l) => l.includes("refilled with"));
    expect(log).toContain("knowledge index: Meilisearch does not match knowledge_chunks (it holds 0 of 3 chunks); refilling it from knowledge_chunks in the background");
    expect(log).toContain("knowledge index: Meilisearch refilled with 3 chunks");
    expect((await preview(server, org.key, agentId, "where can I park my car")).chunks[0]).toMatchObject({ sourceId: faq.id, answer: "Behind the shop, free for customers." });
  });

  it("refills an index emptied of its documents at the next start", async () => {
    await server.stop();
    expect((await meiliCall("DELETE", "/indexes/flowyte_knowledge/documents")).status).toBe(202);
    await settle();
    expect(await meiliStats()).toEqual({ documents: 0, dimensions: 384 });

    const next = await start(app.config);
    server = next.server;
    await until("Meilisearch refilled", meiliStats, (s) => s.documents === 3);
    expect((await preview(server, org.key, agentId, "when are you open")).chunks[0]).toMatchObject({ sourceId: faq.id, question: "When are you open?" });
  });

  it("empties and refills an index holding another embedder's vectors, then fills in the new vectors", async () => {
    await server.stop();
    const next = await start(withConceptEmbedder(app.config));
    server = next.server;
    await until("every chunk re-embedded", () => modelCounts(server), (counts) => counts.length === 1 && counts[0]!.model === "concept-test");
    await until("Meilisearch set up for the new vectors", meiliStats, (s) => s.documents === 3 && s.dimensions === CONCEPT_DIMENSIONS);
    const log = next.log.join("\n");
    expect(log).toContain(
      `knowledge index: Meilisearch does not match knowledge_chunks (it is set up for 384-dimension vectors and the embedder makes ${CONCEPT_DIMENSIONS}); emptying it and refilling it from knowledge_chunks in the background`,
    );
    // The chunks are stored re-embedded a moment before their new vectors reach Meilisearch: wait for the search.
    const found = await until("the new vectors searched", () => preview(server, org.key, agentId, VOUCHER), (f) => f.chunks[0]?.question === GIFT_CARDS.question);
    expect(found.chunks[0]).toMatchObject({ sourceId: faq.id, question: GIFT_CARDS.question });
    expect(found.chunks[0].similarity).toBeGreaterThanOrEqual(ANSWER_THRESHOLD);
  });
});
