// Answers on the embedded default (built-in brain, hashing embedder, no LLM): the question set of
// test/fixtures/answers/ run over HTTP against the real app, one agent per knowledge base with its text and FAQ
// sources indexed, one simulate run per knowledge base. bench/answers.ts prints the same figures.
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { startTestApp, type TestApp } from "../support/app.ts";
import { knowledgeBases, runKnowledgeBase, type QuestionResult } from "../support/answer-set.ts";
import { agentBuilder } from "../support/agent-builder.ts";

/** Below the measured figure (see bench/README.md), so the test catches a regression, not noise. */
const FLOOR = 0.75;

let app: TestApp;
let key: string;

beforeAll(async () => {
  app = await startTestApp();
  key = (await app.newOrg()).key;
});
afterAll(async () => {
  await app?.stop();
});

describe("answers from knowledge on the embedded default", () => {
  it("answers the docs' example from a text source listing the hours", async () => {
    const b = agentBuilder(app, key);
    const agent = await b.agent({ name: "Docs example" });
    const source = await b.call("POST", `/api/v1/agents/${agent.id}/knowledge/sources`, {
      kind: "text",
      label: "About us",
      text: "Welcome to Corner Bakery. We bake everything fresh each morning.\n\nWe are open Monday to Friday from 7am to 6pm and Saturday from 8am to 2pm.\n\nWe take orders for birthday cakes two days in advance.",
    });
    for (let i = 0; (await b.call("GET", `/api/v1/agents/${agent.id}/knowledge/sources/${source.id}`)).status !== "indexed"; i++) {
      if (i > 200) throw new Error("source not indexed");
      await Bun.sleep(50);
    }
    const run = await b.simulate(agent.id, { transcript: ["What are your hours?", "What is the capital of France?"] });
    const [, hours, unrelated] = run.events.filter((e) => e.eventType === "agent_message");
    // The sentence with the opening times, not the whole passage.
    expect(hours!.payload.text).toBe("We are open Monday to Friday from 7am to 6pm and Saturday from 8am to 2pm.");
    expect(hours!.payload.citations[0].sourceId).toBe(source.id);
    expect(unrelated!.payload.citations).toBeUndefined();
    expect(unrelated!.payload.text).toContain("don't know");
  });

  it(`answers at least ${FLOOR * 100}% of the paraphrased questions correctly, and says it does not know when the knowledge does not say`, async () => {
    const all: QuestionResult[] = [];
    const perBase: Record<string, string> = {};
    for (const kb of knowledgeBases()) {
      const results = await runKnowledgeBase(app, key, kb);
      all.push(...results);
      perBase[kb.name] = `${results.filter((r) => r.correct).length}/${results.length}`;
    }
    expect(all.length).toBeGreaterThanOrEqual(100);
    expect(Object.keys(perBase).length).toBeGreaterThanOrEqual(10);
    const rate = all.filter((r) => r.correct).length / all.length;
    if (rate < FLOOR) console.log(perBase, all.filter((r) => !r.correct));
    expect(rate).toBeGreaterThanOrEqual(FLOOR);
    // Unrelated questions are refused, not answered with whatever passage came closest.
    const unanswerable = all.filter((r) => r.expect === null);
    expect(unanswerable.filter((r) => r.correct).length / unanswerable.length).toBeGreaterThanOrEqual(FLOOR);
  });
});
