// Knowledge search on the embedded defaults: the in-process engine, the hashing embedder and PGlite, for one agent.
// Measures ingestion (embed + store in knowledge_chunks + index, through KnowledgeIndex.replaceSource), then search
// latency at 10,000 and 100,000 chunks through KnowledgeIndex.search (embed the question + search), and, in the same
// run and interleaved with it, the ceiling it is held against: the engine's own search with the embedding already
// made. Last, the time a fresh index takes to load the 100,000 chunks back from storage (a restart).
// The corpus is generated from a fixed seed: ~650-character passages drawn from a Zipf-distributed vocabulary of
// common support words and generated rare ones; half the questions reuse words of a passage, half are random.
// Usage: bun bench/search.ts   (BENCH_QUERIES, default 400 per size; BENCH_SIZES, default 10000,100000; about three minutes)
import { sql } from "drizzle-orm";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadConfig } from "../src/config.ts";
import { createHashingEmbedder } from "../src/knowledge/embedders/index.ts";
import { createKnowledgeIndex, type KnowledgeIndex } from "../src/knowledge/index.ts";
import { createInProcessSearchEngine, type SearchEngine } from "../src/knowledge/search/index.ts";
import { createOrganization } from "../src/platform/auth/organizations.ts";
import { openDatabase, type Database } from "../src/platform/db/index.ts";
import { agents, knowledgeSources } from "../src/platform/db/schema/index.ts";
import { newId } from "../src/platform/ids.ts";
import { createLogger } from "../src/platform/log.ts";

const QUERIES = Number(process.env.BENCH_QUERIES ?? 400);
const SOURCE_SIZE = 1000;
const SIZES = (process.env.BENCH_SIZES ?? "10000,100000").split(",").map(Number);
const BUDGET_P95_MS = 20;
const log = createLogger("error");
const dir = mkdtempSync(join(tmpdir(), "flowyte-bench-search-"));

let seed = 20261122;
const random = () => {
  seed = (Math.imul(seed ^ (seed >>> 15), 2246822507) + 0x9e3779b9) | 0;
  return (seed >>> 0) / 4294967296;
};
const COMMON = (
  "account address appointment bill billing booking cancel card change charge clinic contact cost customer date delivery " +
  "device email fee form help hour hours insurance invoice issue login member monday office online open order password " +
  "payment phone plan policy price refund repair reset return schedule service shipping support team time visit warranty " +
  "week weekend account access available before after call check choose confirm create daily detail enable free friday " +
  "guide install limit manage month need new number offer page process receive request required saturday send setting " +
  "start status step store sunday tuesday update upgrade user wait within"
).split(" ");
const SYLLABLES = "ka lo mi ne ru ta ve zo pa si do fe gu hi jo be ar en is or ul".split(" ");
const RARE = Array.from({ length: 20_000 }, () => Array.from({ length: 2 + Math.floor(random() * 3) }, () => SYLLABLES[Math.floor(random() * SYLLABLES.length)]).join(""));
const VOCABULARY = [...COMMON, ...RARE];
const word = () => VOCABULARY[Math.floor(Math.pow(random(), 2.5) * VOCABULARY.length)]!;
function passage(): string {
  let text = "";
  while (text.length < 650) text += `${Array.from({ length: 6 + Math.floor(random() * 10) }, word).join(" ")}. `;
  return text.trim();
}

const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
const fmt = (n: number) => n.toLocaleString("en-US");

async function newSource(database: Database, organizationId: string, agentId: string): Promise<string> {
  const id = newId("ks");
  await database.db.insert(knowledgeSources).values({ id, organizationId, agentId, kind: "text", label: "bench", crawl: {}, progress: { current: 0, total: 0 } });
  return id;
}

async function measureSearch(index: KnowledgeIndex, engine: SearchEngine, organizationId: string, agentId: string, corpus: string[]) {
  const questions = Array.from({ length: QUERIES + 50 }, (_, i) => {
    if (i % 2) return Array.from({ length: 3 + Math.floor(random() * 4) }, word).join(" ");
    const words = corpus[Math.floor(random() * corpus.length)]!.split(/\W+/).filter(Boolean);
    const start = Math.floor(random() * Math.max(1, words.length - 6));
    return words.slice(start, start + 3 + Math.floor(random() * 4)).join(" ");
  });
  const embeddings = await index.embedder.embed(questions);
  const full: number[] = [];
  const bare: number[] = [];
  let hits = 0;
  for (let i = 0; i < questions.length; i++) {
    const query = { organizationId, agentId, text: questions[i]!, limit: 10 };
    let t0 = performance.now();
    const found = await index.search(query);
    const a = performance.now() - t0;
    t0 = performance.now();
    await engine.search({ ...query, embedding: embeddings[i]! });
    const b = performance.now() - t0;
    if (i < 50) continue; // warm-up: the JIT and the WebAssembly tiers
    full.push(a);
    bare.push(b);
    hits += found.length;
  }
  full.sort((a, b) => a - b);
  bare.sort((a, b) => a - b);
  return { full, bare, meanHits: hits / QUERIES };
}

try {
  const database = await openDatabase({ databaseUrl: null, dataDir: dir, log });
  const { organization } = await createOrganization(database.db, "Bench");
  const agentId = newId("agt");
  await database.db.insert(agents).values({ id: agentId, organizationId: organization.id, name: "Bench desk", config: {} });
  const config = loadConfig({ DATA_DIR: dir });
  const embedder = createHashingEmbedder();
  const engine = createInProcessSearchEngine();
  const index = createKnowledgeIndex({ database, config, log, embedder, engine });
  await index.ready();

  console.log(`knowledge search: in-process engine, ${embedder.model} embedder, embedded store (PGlite), one agent, ${QUERIES} questions per size, limit 10`);
  const corpus: string[] = [];
  let ingestMs = 0;
  const results: { size: number; p95: number }[] = [];
  for (const size of SIZES) {
    while (corpus.length < size) {
      const chunks = Array.from({ length: SOURCE_SIZE }, () => ({ text: passage(), language: "en" }));
      corpus.push(...chunks.map((c) => c.text));
      const sourceId = await newSource(database, organization.id, agentId);
      const t0 = performance.now();
      await index.replaceSource({ organizationId: organization.id, agentId, sourceId, chunks });
      ingestMs += performance.now() - t0;
    }
    const rate = corpus.length / (ingestMs / 1000);
    console.log(`  ingestion to ${fmt(size)} chunks (embed + store + index, ${SOURCE_SIZE}-chunk sources): ${(ingestMs / 1000).toFixed(1)} s → ${fmt(Math.round(rate))} chunks/s`);
    const { full, bare, meanHits } = await measureSearch(index, engine, organization.id, agentId, corpus);
    console.log(
      `  ${fmt(size).padStart(7)} chunks: search p50 ${pct(full, 50).toFixed(2)} ms  p95 ${pct(full, 95).toFixed(2)} ms  p99 ${pct(full, 99).toFixed(2)} ms` +
        `  | ceiling, engine alone: p50 ${pct(bare, 50).toFixed(2)} ms  p95 ${pct(bare, 95).toFixed(2)} ms  | ratio p50 ${(pct(full, 50) / pct(bare, 50)).toFixed(2)}x  p95 ${(pct(full, 95) / pct(bare, 95)).toFixed(2)}x  (${meanHits.toFixed(1)} hits/question)`,
    );
    results.push({ size, p95: pct(full, 95) });
  }

  const t0 = performance.now();
  const restarted = createKnowledgeIndex({ database, config, log, embedder, engine: createInProcessSearchEngine() });
  await restarted.ready();
  const [stored] = ((await database.db.execute(sql`select count(*)::int as n from knowledge_chunks`)) as unknown as { rows: { n: number }[] }).rows;
  console.log(`  restart: a fresh index loaded ${fmt(stored!.n)} chunks from storage in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  Bun.gc(true);
  const memory = process.memoryUsage();
  console.log(
    `  memory: ${Math.round(memory.rss / 1e6)} MB RSS, ${Math.round(memory.heapUsed / 1e6)} MB JS heap in use (two indexes of ${fmt(stored!.n)} chunks, the corpus, and the embedded database)`,
  );
  const atMost = results.at(-1)!;
  console.log(`  target p95 < ${BUDGET_P95_MS} ms at ${fmt(atMost.size)} chunks: ${atMost.p95 < BUDGET_P95_MS ? "PASS" : "MISS"} (${atMost.p95.toFixed(2)} ms)`);
  await database.close();
} finally {
  rmSync(dir, { recursive: true, force: true });
}
