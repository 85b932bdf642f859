// The answer-quality question set (test/fixtures/answers/): small knowledge bases, each with the questions callers
// ask about it, run against a real server over HTTP. One agent per knowledge base, its sources added through the
// API and indexed, then one simulate run with every question as a turn. A question with `expect` is answered when
// the reply to it cites a knowledge passage and holds every expected string; one with `expect: null` (the knowledge
// does not say) when the reply cites nothing (the runtime's "I don't know").
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { agentBuilder } from "./agent-builder.ts";
import type { TestApp } from "./app.ts";

export interface KnowledgeBase {
  file: string;
  name: string;
  text?: string;
  faq?: { question: string; answer: string }[];
  questions: { q: string; expect: string[] | null }[];
}

export interface QuestionResult {
  q: string;
  expect: string[] | null;
  reply: string;
  cited: boolean;
  correct: boolean;
}

export const FIXTURES = join(import.meta.dir, "..", "fixtures", "answers");
/** Questions written after the answerer was tuned on FIXTURES, run without tuning on them: the out-of-sample figure. */
export const HOLDOUT = join(import.meta.dir, "..", "fixtures", "answers-holdout");
/** Questions written by someone who never saw the answerer, run once it was done: the blind figure. */
export const BLIND = join(import.meta.dir, "..", "fixtures", "answers-blind");
/** A second blind set (10 businesses, 110 questions), written by someone who never saw the answerer, after the first had been read while tuning. */
export const BLIND2 = join(import.meta.dir, "..", "fixtures", "answers-blind2");

export function knowledgeBases(dir = FIXTURES): KnowledgeBase[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith(".json"))
    .sort()
    .map((file) => ({ file, ...(JSON.parse(readFileSync(join(dir, file), "utf8")) as Omit<KnowledgeBase, "file">) }));
}

export function judge(question: { expect: string[] | null }, reply: string, cited: boolean): boolean {
  if (question.expect === null) return !cited;
  const said = reply.toLowerCase();
  return cited && question.expect.every((e) => said.includes(e.toLowerCase()));
}

/** Runs one knowledge base's questions against `app` in `org` (an owner key). */
export async function runKnowledgeBase(app: TestApp, key: string, kb: KnowledgeBase): Promise<QuestionResult[]> {
  const b = agentBuilder(app, key);
  const agent = await b.agent({ name: kb.name });
  const sources: { id: string }[] = [];
  if (kb.text) sources.push(await b.call("POST", `/api/v1/agents/${agent.id}/knowledge/sources`, { kind: "text", label: `${kb.name} (text)`, text: kb.text }));
  if (kb.faq) sources.push(await b.call("POST", `/api/v1/agents/${agent.id}/knowledge/sources`, { kind: "faq", label: `${kb.name} (FAQ)`, items: kb.faq }));
  for (const source of sources) await indexed(b, agent.id, source.id);

  const run = await b.simulate(agent.id, { transcript: kb.questions.map((q) => q.q) });
  if (run.status !== 200) throw new Error(`simulate → ${run.status} ${run.raw.slice(0, 300)}`);
  // Each turn's replies are the agent messages after its user_utterance.
  const turns: { text: string[]; cited: boolean }[] = [];
  for (const e of run.events) {
    if (e.eventType === "user_utterance") turns.push({ text: [], cited: false });
    else if (e.eventType === "agent_message" && turns.length) {
      const turn = turns[turns.length - 1]!;
      turn.text.push(e.payload.text);
      turn.cited ||= Boolean(e.payload.citations?.length);
    }
  }
  return kb.questions.map((q, i) => {
    const turn = turns[i] ?? { text: [], cited: false };
    const reply = turn.text.join(" ");
    return { q: q.q, expect: q.expect, reply, cited: turn.cited, correct: judge(q, reply, turn.cited) };
  });
}

async function indexed(b: ReturnType<typeof agentBuilder>, agentId: string, sourceId: string) {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const source = await b.call("GET", `/api/v1/agents/${agentId}/knowledge/sources/${sourceId}`);
    if (source.status === "indexed") return;
    if (source.status === "error" || Date.now() > deadline) throw new Error(`source ${source.status}: ${source.errorMessage}`);
    await Bun.sleep(50);
  }
}
