// Answers grounded in an agent's knowledge, and knowledge gaps: what the agent could not answer, grouped,
// ranked, curated, and covered once a source answers it.
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { normalizedKey } from "../../../src/api/knowledge/gaps.ts";
import { ANSWER_THRESHOLD } from "../../../src/runtime/tools/types.ts";
import { agentBuilder } from "../../support/agent-builder.ts";
import { startTestApp, type TestApp } from "../../support/app.ts";
import { conceptVector, startEmbeddingsStandIn, type EmbeddingsStandIn } from "../../support/embeddings-stand-in.ts";
import { startScriptedLlm, type ScriptedLlm } from "../../support/scripted-llm.ts";

let app: TestApp;
let org: { organizationId: string; key: string };
let b: ReturnType<typeof agentBuilder>;

beforeAll(async () => {
  app = await startTestApp();
  org = await app.newOrg();
  b = agentBuilder(app, org.key);
});
afterAll(async () => {
  await app?.stop();
});

async function addFaq(agentId: string, items: { question: string; answer: string }[], builder = b) {
  const source = await builder.call("POST", `/api/v1/agents/${agentId}/knowledge/sources`, { kind: "faq", label: "FAQ", items });
  const deadline = Date.now() + 20_000;
  for (;;) {
    const now = await builder.call("GET", `/api/v1/agents/${agentId}/knowledge/sources/${source.id}`);
    if (now.status === "indexed") return now;
    if (now.status === "error" || Date.now() > deadline) throw new Error(`source ${now.status}: ${now.errorMessage}`);
    await Bun.sleep(100);
  }
}

/** Polls the gap list until `done` holds (gaps are recorded just after the turn). */
async function gapsWhen(agentId: string, done: (list: any) => boolean, query = "", builder = b) {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const list = await builder.call("GET", `/api/v1/agents/${agentId}/knowledge-gaps${query}`);
    if (done(list)) return list;
    if (Date.now() > deadline) throw new Error(`gaps still ${JSON.stringify(list)}`);
    await Bun.sleep(100);
  }
}

const RETURNS = { question: "What is your return window?", answer: "You can return any item within 30 days of delivery." };

describe("grounded answers", () => {
  it("answers a question from the FAQ, and the receipt shows the retrieval", async () => {
    const agent = await b.agent({ name: "Store" });
    const faq = await addFaq(agent.id, [RETURNS, { question: "Do you deliver on weekends?", answer: "Deliveries run Monday to Saturday." }]);
    const run = await b.simulate(agent.id, { transcript: ["What is your return window?"] });
    expect(run.status).toBe(200);
    expect(run.said.at(-1)).toContain("within 30 days of delivery");
    const retrieval = run.events.find((e) => e.eventType === "kb_retrieval")!;
    expect(retrieval.payload.query).toBe("What is your return window?");
    expect(retrieval.payload.passages[0].sourceId).toBe(faq.id);
    expect(retrieval.payload.topScore).toBeGreaterThanOrEqual(0.35);
    // The answer cites the one passage it quotes.
    const answer = run.events.findLast((e) => e.eventType === "agent_message")!;
    expect(answer.payload.citations).toEqual([{ passageId: retrieval.payload.passages[0].id, sourceId: faq.id, sourceUrl: null, score: retrieval.payload.topScore }]);
    expect((await b.call("GET", `/api/v1/agents/${agent.id}/knowledge-gaps`)).gaps).toEqual([]);
  });
});

describe("grounded answers from a model (OpenAI-compatible brain against a scripted LLM server)", () => {
  let llmApp: TestApp;
  let llm: ScriptedLlm;
  let lb: ReturnType<typeof agentBuilder>;
  const systemPrompt = (i: number) => llm.requests[i]!.messages.find((m) => m.role === "system")?.content ?? "";

  beforeAll(async () => {
    // The model answers from the knowledge its prompt carries, and says it does not know otherwise.
    llm = startScriptedLlm((request) => {
      const system = request.messages.find((m) => m.role === "system")?.content ?? "";
      return { content: system.includes(RETURNS.answer) ? "You can return any item within 30 days of delivery, no questions asked." : "I'm sorry, I don't know that." };
    });
    llmApp = await startTestApp({ LLM_BASE_URL: llm.baseUrl, LLM_MODEL: "scripted" });
    lb = agentBuilder(llmApp, (await llmApp.newOrg()).key);
  });
  afterAll(async () => {
    await llmApp?.stop();
    llm?.stop();
  });

  it("puts the FAQ passage in the model's prompt, says the model's answer, and cites the passage in the receipt", async () => {
    const agent = await lb.agent({ name: "Store" });
    const faq = await addFaq(agent.id, [RETURNS, { question: "Do you deliver on weekends?", answer: "Deliveries run Monday to Saturday." }], lb);
    const [chunk] = await llmApp.query<{ id: string }>(`select id from knowledge_chunks where source_id = '${faq.id}' and question = '${RETURNS.question}'`);
    const requestsBefore = llm.requests.length;

    const run = await lb.simulate(agent.id, { transcript: ["How long do I have to return something?"] });
    expect(run.status).toBe(200);
    expect(llm.requests.length).toBeGreaterThan(requestsBefore);
    const prompt = systemPrompt(requestsBefore);
    expect(prompt).toContain("Answer questions only from this knowledge");
    expect(prompt).toContain(`- Q: ${RETURNS.question} A: ${RETURNS.answer}`);
    expect(run.said.at(-1)).toBe("You can return any item within 30 days of delivery, no questions asked.");

    const retrieval = run.events.find((e) => e.eventType === "kb_retrieval")!;
    expect(retrieval.payload.query).toBe("How long do I have to return something?");
    expect(retrieval.payload.passages[0]).toMatchObject({ id: chunk!.id, sourceId: faq.id, sourceUrl: null });
    expect(retrieval.payload.passages[0].score).toBeGreaterThanOrEqual(ANSWER_THRESHOLD);
    expect(retrieval.payload.topScore).toBe(retrieval.payload.passages[0].score);
    // Retrieval came before the model answered, and the answer cites the passages its prompt carried.
    const answer = run.events.findLast((e) => e.eventType === "agent_message")!;
    expect(retrieval.seq).toBeLessThan(answer.seq);
    const relevant = retrieval.payload.passages.filter((p: { score: number }) => p.score >= ANSWER_THRESHOLD);
    expect(answer.payload.citations.map((c: { passageId: string }) => c.passageId)).toEqual(relevant.map((p: { id: string }) => p.id));
    expect(answer.payload.citations[0]).toMatchObject({ passageId: chunk!.id, sourceId: faq.id });
    expect((await lb.call("GET", `/api/v1/agents/${agent.id}/knowledge-gaps`)).gaps).toEqual([]);
  });

  it("records a gap when the passages found for the model are below the answer threshold", async () => {
    const agent = await lb.agent({ name: "Garden centre" });
    await addFaq(agent.id, [{ question: "Do you deliver on weekends?", answer: "Deliveries run Monday to Saturday." }], lb);
    const run = await lb.simulate(agent.id, { transcript: ["Do you sell gift cards?"] });
    expect(run.said.at(-1)).toBe("I'm sorry, I don't know that.");
    const retrieval = run.events.find((e) => e.eventType === "kb_retrieval")!;
    expect(retrieval.payload.topScore).toBeLessThan(ANSWER_THRESHOLD);
    expect(run.events.findLast((e) => e.eventType === "agent_message")!.payload.citations).toBeUndefined();
    const gaps = await gapsWhen(agent.id, (l) => l.gaps.length === 1, "", lb);
    expect(gaps.gaps[0]).toMatchObject({ queryText: "Do you sell gift cards?", count: 1 });
  });
});

describe("knowledge gaps grouped by meaning (an embedder that knows a voucher is a gift card)", () => {
  let embeddings: EmbeddingsStandIn;
  let semanticApp: TestApp;
  let sb: ReturnType<typeof agentBuilder>;
  const GIFT = "Do you sell gift cards?";
  const VOUCHER = "Can I buy a voucher?";

  beforeAll(async () => {
    embeddings = startEmbeddingsStandIn();
    semanticApp = await startTestApp({ EMBEDDINGS_BASE_URL: embeddings.baseUrl, EMBEDDINGS_MODEL: "concept-test" });
    sb = agentBuilder(semanticApp, (await semanticApp.newOrg()).key);
  });
  afterAll(async () => {
    await semanticApp?.stop();
    embeddings?.stop();
  });

  it("puts a differently worded question whose embedding is within cosine 0.85 into the same gap, and an unrelated one apart", async () => {
    // The premise: no content word in common, yet the embeddings nearly agree.
    expect(normalizedKey(GIFT)).not.toBe(normalizedKey(VOUCHER));
    const [a, v] = [conceptVector(GIFT), conceptVector(VOUCHER)];
    expect(a.reduce((sum, x, i) => sum + x * v[i]!, 0)).toBeGreaterThanOrEqual(0.85);

    const agent = await sb.agent({ name: "Gift shop" });
    await addFaq(agent.id, [RETURNS], sb);
    await sb.simulate(agent.id, { transcript: [GIFT] });
    await gapsWhen(agent.id, (l) => l.gaps.length === 1, "", sb);
    await sb.simulate(agent.id, { transcript: [VOUCHER] });
    await sb.simulate(agent.id, { transcript: ["Is there parking at the store?"] });

    const list = await gapsWhen(agent.id, (l) => l.gaps.length === 2 && l.gaps.some((g: any) => g.count === 2), "", sb);
    const gift = list.gaps.find((g: any) => g.queryText === GIFT);
    expect(gift).toMatchObject({ count: 2, distinctCalls: 2, samples: [GIFT, VOUCHER] });
    expect(list.gaps.find((g: any) => g.queryText !== GIFT)).toMatchObject({ queryText: "Is there parking at the store?", count: 1 });
    const stored = await semanticApp.query<{ model: string }>(`select distinct embedding_model as model from knowledge_gaps where agent_id = '${agent.id}'`);
    expect(stored).toEqual([{ model: "concept-test" }]);
  });
});

describe("knowledge gaps", () => {
  it("records a question the agent cannot answer, groups its rephrasings, and marks it covered once a source answers it", async () => {
    const agent = await b.agent({ name: "Garden centre" });
    await addFaq(agent.id, [RETURNS]);
    const first = await b.simulate(agent.id, { transcript: ["Do you sell gift cards?"] });
    expect(first.said.at(-1)).toContain("I don't know");

    const one = await gapsWhen(agent.id, (l) => l.gaps.length === 1);
    expect(one).toMatchObject({ ranked: false, dataState: "collecting" });
    const gap = one.gaps[0];
    expect(gap).toMatchObject({ queryText: "Do you sell gift cards?", count: 1, distinctCalls: 1, status: "open", coveredBySourceId: null });
    expect(["TRUE_GAP", "RETRIEVAL_MISS"]).toContain(gap.classification);

    await b.simulate(agent.id, { transcript: ["do you sell GIFT CARDS", "Do you sell gift cards?"] });
    const grouped = await gapsWhen(agent.id, (l) => l.gaps[0]?.count === 3);
    expect(grouped.gaps).toHaveLength(1);
    expect(grouped.gaps[0]).toMatchObject({ gapId: gap.gapId, count: 3, distinctCalls: 2, samples: ["Do you sell gift cards?", "do you sell GIFT CARDS"] });
    expect(grouped.gaps[0].signals).toContain("asked_in_several_conversations");

    const progress = await app.api("PATCH", `/api/v1/agents/${agent.id}/knowledge-gaps/${gap.gapId}`, { key: org.key, body: { status: "in_progress" } });
    expect(progress.status).toBe(200);
    expect(progress.body.data.status).toBe("in_progress");

    const cards = await addFaq(agent.id, [{ question: "Do you sell gift cards?", answer: "Yes, gift cards from 10 to 200 dollars are sold at every till." }]);
    const covered = await gapsWhen(agent.id, (l) => l.gaps[0]?.status === "covered");
    expect(covered.gaps[0]).toMatchObject({ gapId: gap.gapId, status: "covered", coveredBySourceId: cards.id });
    expect((await b.call("GET", `/api/v1/agents/${agent.id}/knowledge/sources/${cards.id}`)).coverageScore).toBe(1);

    const answered = await b.simulate(agent.id, { transcript: ["Do you sell gift cards?"] });
    expect(answered.said.at(-1)).toContain("10 to 200 dollars");

    await b.call("DELETE", `/api/v1/agents/${agent.id}/knowledge/sources/${cards.id}`);
    const reopened = await b.call("GET", `/api/v1/agents/${agent.id}/knowledge-gaps`);
    expect(reopened.gaps[0]).toMatchObject({ gapId: gap.gapId, status: "open", coveredBySourceId: null });
  });

  it("ranks gaps by frequency and recency once there are enough of them, and filters the ranked list by status", async () => {
    const agent = await b.agent({ name: "Bakery" });
    await addFaq(agent.id, [RETURNS]);
    await b.simulate(agent.id, { transcript: ["Is there parking at the store?", "Is there parking at the store?"] });
    await b.simulate(agent.id, { transcript: ["Can I bring my dog inside?"] });
    const two = await gapsWhen(agent.id, (l) => l.gaps.length === 2 && l.gaps.some((g: any) => g.count === 2));
    expect(two).toMatchObject({ ranked: false, dataState: "collecting" });
    expect(two.gaps.map((g: any) => g.queryText)).toEqual(["Can I bring my dog inside?", "Is there parking at the store?"]);

    await b.simulate(agent.id, { transcript: ["Do you bake gluten free bread?"] });
    const ranked = await gapsWhen(agent.id, (l) => l.gaps.length === 3);
    expect(ranked).toMatchObject({ ranked: true, dataState: "ready" });
    expect(ranked.gaps[0]).toMatchObject({ queryText: "Is there parking at the store?", count: 2 });
    expect(ranked.gaps[0].rankScore).toBeGreaterThan(ranked.gaps[1].rankScore);
    expect(ranked.gaps.every((g: any) => typeof g.gapId === "string" && g.rankScore > 0)).toBe(true);

    const dog = ranked.gaps.find((g: any) => g.queryText.startsWith("Can I bring"));
    await b.call("PATCH", `/api/v1/agents/${agent.id}/knowledge-gaps/${dog.gapId}`, { status: "dismissed" });
    const open = await b.call("GET", `/api/v1/agents/${agent.id}/knowledge-gaps?status=open`);
    expect(open.gaps.map((g: any) => g.status)).toEqual(["open", "open"]);
    const dismissed = await b.call("GET", `/api/v1/agents/${agent.id}/knowledge-gaps?status=dismissed&limit=5`);
    expect(dismissed.gaps.map((g: any) => g.gapId)).toEqual([dog.gapId]);
    expect((await b.call("GET", `/api/v1/agents/${agent.id}/knowledge-gaps?limit=1`)).gaps).toHaveLength(1);
    for (const bad of ["?limit=0", "?limit=201", "?status=solved"]) expect((await app.api("GET", `/api/v1/agents/${agent.id}/knowledge-gaps${bad}`, { key: org.key })).status).toBe(400);
  });

  it("lets operators set open, in_progress or dismissed, never covered, and keeps gaps to their organization", async () => {
    const agent = await b.agent({ name: "Florist" });
    await b.simulate(agent.id, { transcript: ["Do you deliver roses on Sundays?"] });
    const [gap] = (await gapsWhen(agent.id, (l) => l.gaps.length === 1)).gaps;
    const path = `/api/v1/agents/${agent.id}/knowledge-gaps/${gap.gapId}`;

    const covered = await app.api("PATCH", path, { key: org.key, body: { status: "covered" } });
    expect(covered.status).toBe(400);
    expect(covered.body.errors).toEqual([{ field: "status", message: "covered is set by the system when a knowledge source answers the gap; use open, in_progress or dismissed" }]);
    expect((await app.api("PATCH", path, { key: org.key, body: { status: "solved" } })).status).toBe(400);
    for (const status of ["dismissed", "open"]) expect((await app.api("PATCH", path, { key: org.key, body: { status } })).body.data.status).toBe(status);
    expect((await app.api("PATCH", `/api/v1/agents/${agent.id}/knowledge-gaps/gap_01UNKNOWN`, { key: org.key, body: { status: "open" } })).body.code).toBe("knowledge_gap_not_found");

    const other = await app.newOrg();
    expect((await app.api("GET", `/api/v1/agents/${agent.id}/knowledge-gaps`, { key: other.key })).status).toBe(404);
    expect((await app.api("PATCH", path, { key: other.key, body: { status: "dismissed" } })).status).toBe(404);

    const reader = await app.keyWith(org.organizationId, ["analytics:read"]);
    expect((await app.api("GET", `/api/v1/agents/${agent.id}/knowledge-gaps`, { key: reader })).status).toBe(200);
    const refused = await app.api("PATCH", path, { key: reader, body: { status: "dismissed" } });
    expect(refused.status).toBe(403);
    expect(refused.body.requiredScope).toBe("analytics:write");
  });

  it("keeps what identifies a caller out of the gaps", async () => {
    const agent = await b.agent({ name: "Accounts" });
    await b.simulate(agent.id, { transcript: ["Can you send my invoice to jane.doe@example.com or call +1 415 555 0100?"] });
    const [gap] = (await gapsWhen(agent.id, (l) => l.gaps.length === 1)).gaps;
    expect(gap.queryText).not.toContain("jane.doe");
    expect(gap.queryText).toContain("[email]");
    expect(JSON.stringify(await app.query(`select * from knowledge_gaps where agent_id = '${agent.id}'`))).not.toContain("jane.doe");
  });
});
