// Answer quality on the embedded default: the question set of test/fixtures/answers/ (paraphrased caller questions
// over small knowledge bases, some with no answer in the knowledge) against the real server over HTTP, with the
// built-in brain (no LLM) and whichever embedder the server finds: the hashing fallback unless MODELS_DIR holds an
// embedding model (or EMBEDDINGS_BASE_URL is set). Prints the hit rate overall and per knowledge base.
// Usage: bun bench/answers.ts [--verbose] [--holdout | --blind | --blind2]   (MODELS_DIR=… to run with a local embedding model)
// --holdout runs the held-out set (test/fixtures/answers-holdout/), written after the answerer was first tuned;
// --blind the blind set (test/fixtures/answers-blind/), written by someone who never saw the answerer; --blind2 a second
// one (test/fixtures/answers-blind2/), written after the first had been read while tuning.
import { existsSync } from "node:fs";
import { startTestApp } from "../test/support/app.ts";
import { BLIND, BLIND2, FIXTURES, HOLDOUT, knowledgeBases, runKnowledgeBase, type QuestionResult } from "../test/support/answer-set.ts";

const verbose = process.argv.includes("--verbose");
const env: Record<string, string> = {};
if (process.env.MODELS_DIR) env.MODELS_DIR = process.env.MODELS_DIR;
if (process.env.EMBEDDINGS_BASE_URL) Object.assign(env, { EMBEDDINGS_BASE_URL: process.env.EMBEDDINGS_BASE_URL, EMBEDDINGS_MODEL: process.env.EMBEDDINGS_MODEL ?? "" });

const app = await startTestApp(env);
try {
  const { key } = await app.newOrg("answer bench");
  const all: QuestionResult[] = [];
  const started = performance.now();
  const set = process.argv.includes("--blind2") ? BLIND2 : process.argv.includes("--blind") ? BLIND : process.argv.includes("--holdout") ? HOLDOUT : FIXTURES;
  if (!existsSync(set)) throw new Error(`no question set at ${set}`);
  for (const kb of knowledgeBases(set)) {
    const results = await runKnowledgeBase(app, key, kb);
    all.push(...results);
    const hits = results.filter((r) => r.correct).length;
    if (all.length === results.length) console.log(`embedder: ${(await app.query<{ m: string }>("select distinct embedding_model as m from knowledge_chunks"))[0]?.m}`);
    console.log(`${kb.name.padEnd(24)} ${String(hits).padStart(3)}/${results.length}  ${pct(hits, results.length)}`);
    if (verbose) for (const r of results.filter((r) => !r.correct)) console.log(`   ✗ ${r.q}  → ${r.cited ? "" : "(no citation) "}${r.reply}`);
  }
  const answerable = all.filter((r) => r.expect);
  const unanswerable = all.filter((r) => !r.expect);
  const hits = all.filter((r) => r.correct).length;
  console.log(`\nall: ${hits}/${all.length} correct (${pct(hits, all.length)})`);
  console.log(`answerable: ${answerable.filter((r) => r.correct).length}/${answerable.length}; unanswerable said "I don't know": ${unanswerable.filter((r) => r.correct).length}/${unanswerable.length}`);
  console.log(`${((performance.now() - started) / 1000).toFixed(1)} s`);
} finally {
  await app.stop();
}

function pct(n: number, of: number): string {
  return `${((100 * n) / of).toFixed(1)}%`;
}
