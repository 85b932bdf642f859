// A large source being ingested, watched from outside: other organizations' requests are answered while it is still
// indexing (its writes are batched with the event loop free between batches), and at every moment its chunkCount is
// the number of passages stored and searchable (each batch commits with the count).
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { chunkText } from "../../../src/knowledge/ingestion/chunker.ts";
import { startTestApp, type TestApp } from "../../support/app.ts";

let app: TestApp;
let owner: { organizationId: string; key: string };
let other: { organizationId: string; key: string };
let agentId: string;

beforeAll(async () => {
  app = await startTestApp();
  owner = await app.newOrg("Big manual");
  other = await app.newOrg("Neighbour");
  agentId = (await app.api("POST", "/api/v1/agents", { key: owner.key, body: { name: "Manual desk" } })).body.data.id;
  await app.api("POST", "/api/v1/agents", { key: other.key, body: { name: "Neighbour desk" } });
});
afterAll(() => app?.stop());

/** About `chars` characters of paragraphs in which every sentence mentions the warranty. */
function manual(chars: number, topic: string): string {
  const paragraphs: string[] = [];
  for (let i = 0, size = 0; size < chars; i++) {
    const p = Array.from({ length: 6 }, (_, j) => `Section ${i}.${j} of the ${topic} manual explains how the warranty covers part ${i * 6 + j}.`).join(" ");
    paragraphs.push(p);
    size += p.length + 2;
  }
  return paragraphs.join("\n\n");
}

const sources = (path = "") => `/api/v1/agents/${agentId}/knowledge/sources${path}`;

/** The source as the list shows it (without its content). */
async function summary(sourceId: string) {
  const res = await app.api("GET", sources(), { key: owner.key });
  expect(res.status).toBe(200);
  return res.body.data.find((s: any) => s.id === sourceId);
}

async function addText(label: string, text: string) {
  const res = await app.api("POST", sources(), { key: owner.key, body: { kind: "text", label, text } });
  expect(res.status).toBe(201);
  return res.body.data.id as string;
}

describe("a large ingestion among other tenants", () => {
  it("does not stall another organization: GET /agents answers while the source is still indexing", async () => {
    const text = manual(880_000, "dishwasher");
    const sourceId = await addText("Dishwasher manual", text);
    let answeredDuringIndexing = 0;
    const counts = new Set<number>();
    for (;;) {
      const before = await summary(sourceId);
      const agents = await app.api("GET", "/api/v1/agents?limit=1", { key: other.key });
      expect(agents.status).toBe(200);
      expect(agents.body.data).toHaveLength(1);
      const after = await summary(sourceId);
      // Both readings say indexing: the neighbour's request started and finished inside the ingestion.
      if (before.status === "indexing" && after.status === "indexing") {
        answeredDuringIndexing++;
        counts.add(after.chunkCount);
      }
      if (after.status === "indexed" || after.status === "error") break;
    }
    const done = await summary(sourceId);
    expect(done).toMatchObject({ status: "indexed", chunkCount: chunkText(text).length });
    expect(answeredDuringIndexing).toBeGreaterThanOrEqual(3);
    // The count grew batch by batch while it was watched, instead of jumping from 0 to the total at the end.
    expect([...counts].filter((n) => n > 0 && n < done.chunkCount).length).toBeGreaterThanOrEqual(2);
  });

  it("keeps chunkCount equal to the passages stored and searchable at every moment of an ingestion", async () => {
    const text = manual(300_000, "oven");
    const total = chunkText(text).length;
    const sourceId = await addText("Oven manual", text);
    let observed = 0;
    for (;;) {
      const first = await summary(sourceId);
      const [row] = await app.query<{ n: number }>(`select count(*)::int as n from knowledge_chunks where source_id = '${sourceId}'`);
      const stored = row!.n;
      const found = await app.api("POST", `/api/v1/agents/${agentId}/knowledge/preview`, { key: owner.key, body: { query: "oven warranty", sourceIds: [sourceId], limit: 20 } });
      const second = await summary(sourceId);
      expect(found.status).toBe(200);
      const served = found.body.data.chunks.length;
      // Every passage mentions the warranty, so preview finds as many as are searchable, up to its limit.
      expect(served).toBeGreaterThanOrEqual(Math.min(20, first.chunkCount));
      expect(served).toBeLessThanOrEqual(Math.min(20, second.chunkCount));
      expect(stored).toBeGreaterThanOrEqual(first.chunkCount);
      expect(stored).toBeLessThanOrEqual(second.chunkCount);
      if (first.chunkCount === second.chunkCount) expect(stored).toBe(first.chunkCount);
      // Progress commits with the passages: once a batch is in, it counts exactly the stored ones.
      if (second.chunkCount > 0) expect(second.progress).toEqual({ current: second.chunkCount, total });
      if (second.status !== "indexing") break;
      observed++;
    }
    expect(await summary(sourceId)).toMatchObject({ status: "indexed", chunkCount: total, progress: { current: total, total } });
    expect(observed).toBeGreaterThan(0);
  });

  it("deletes a source in the middle of its ingestion without waiting for it: the run stops and nothing of it stays searchable", async () => {
    const sourceId = await addText("Fridge manual", manual(600_000, "fridge"));
    let seen: any;
    do seen = await summary(sourceId);
    while (seen.chunkCount === 0 && seen.status !== "indexed");
    expect(seen.status).toBe("indexing");
    const deleted = await app.api("DELETE", sources(`/${sourceId}`), { key: owner.key });
    expect(deleted.status).toBe(200);
    expect((await app.api("GET", sources(`/${sourceId}`), { key: owner.key })).status).toBe(404);
    // Again after the run had time for more batches: it found its source gone and wrote nothing more.
    for (const pause of [0, 1000]) {
      await Bun.sleep(pause);
      const found = await app.api("POST", `/api/v1/agents/${agentId}/knowledge/preview`, { key: owner.key, body: { query: "fridge warranty", limit: 20 } });
      expect(found.body.data.chunks.filter((c: any) => c.sourceId === sourceId)).toEqual([]);
      const [row] = await app.query<{ n: number }>(`select count(*)::int as n from knowledge_chunks where source_id = '${sourceId}'`);
      expect(row!.n).toBe(0);
    }
  });
});
