import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { startTestApp, type TestApp } from "../../support/app.ts";

let app: TestApp;
beforeAll(async () => {
  app = await startTestApp();
});
afterAll(() => app.stop());

describe("audit logs", () => {
  it("records every state-changing request with actor, method, path, status and time", async () => {
    const org = await app.newOrg();
    const started = new Date(Date.now() - 1000).toISOString();
    const agent = (await app.api("POST", "/api/v1/agents", { key: org.key, body: { name: "Audited" } })).body.data;
    await app.api("PATCH", `/api/v1/agents/${agent.id}`, { key: org.key, body: { tone: "calm" } });
    await app.api("PATCH", `/api/v1/agents/${agent.id}`, { key: org.key, body: { tone: 5 } });
    await app.api("POST", `/api/v1/agents/${agent.id}/publish`, { key: org.key });
    await app.api("PUT", `/api/v1/agents/${agent.id}/voice`, { key: org.key, body: { voiceId: "not-installed" } });
    await app.api("DELETE", `/api/v1/agents/${agent.id}`, { key: org.key });
    await app.api("GET", "/api/v1/agents", { key: org.key }); // reads are not recorded

    const res = await app.api("GET", `/api/v1/audit-logs?from=${encodeURIComponent(started)}`, { key: org.key });
    expect(res.status).toBe(200);
    const rows = res.body.data.map((r: any) => `${r.method} ${r.path} ${r.status}`);
    expect(rows).toEqual([
      `DELETE /api/v1/agents/${agent.id} 200`,
      `PUT /api/v1/agents/${agent.id}/voice 404`,
      `POST /api/v1/agents/${agent.id}/publish 201`,
      `PATCH /api/v1/agents/${agent.id} 400`,
      `PATCH /api/v1/agents/${agent.id} 200`,
      "POST /api/v1/agents 201",
    ]);
    const row = res.body.data[0];
    expect(row.actorType).toBe("apiKey");
    expect(row.actorId).toMatch(/^key_/);
    expect(row.requestId).toMatch(/^req_/);
    expect(Date.parse(row.createdAt)).toBeGreaterThan(Date.parse(started));
  });

  it("filters by date range and actor and paginates", async () => {
    const org = await app.newOrg();
    const second = await app.keyWith(org.organizationId, ["agents:write"]);
    for (let i = 0; i < 3; i++) await app.api("POST", "/api/v1/agents", { key: org.key, body: { name: `A${i}` } });
    await app.api("POST", "/api/v1/agents", { key: second, body: { name: "B" } });
    const all = (await app.api("GET", "/api/v1/audit-logs?limit=100", { key: org.key })).body.data;
    const secondId = all.find((r: any) => r.actorId !== all[all.length - 1].actorId)?.actorId;
    const bySecond = await app.api("GET", `/api/v1/audit-logs?actorId=${secondId}`, { key: org.key });
    expect(bySecond.body.data).toHaveLength(1);
    expect((await app.api("GET", "/api/v1/audit-logs?actorType=system", { key: org.key })).body.data).toEqual([]);
    const future = new Date(Date.now() + 60_000).toISOString();
    expect((await app.api("GET", `/api/v1/audit-logs?from=${encodeURIComponent(future)}`, { key: org.key })).body.data).toEqual([]);
    const past = new Date(Date.now() - 3_600_000).toISOString();
    expect((await app.api("GET", `/api/v1/audit-logs?to=${encodeURIComponent(past)}`, { key: org.key })).body.data).toEqual([]);

    const first = await app.api("GET", "/api/v1/audit-logs?limit=2", { key: org.key });
    expect(first.body.data).toHaveLength(2);
    const next = await app.api("GET", `/api/v1/audit-logs?limit=2&cursor=${first.body.pagination.nextCursor}`, { key: org.key });
    expect(next.body.data).toHaveLength(2);
    expect(next.body.pagination.hasMore).toBe(false);
    const ids = [...first.body.data, ...next.body.data].map((r: any) => r.id);
    expect(new Set(ids).size).toBe(4);
  });

  it("shows an organization only its own entries and refuses bad filters", async () => {
    const a = await app.newOrg();
    const b = await app.newOrg();
    await app.api("POST", "/api/v1/agents", { key: a.key, body: { name: "A only" } });
    expect((await app.api("GET", "/api/v1/audit-logs", { key: b.key })).body.data).toEqual([]);
    const bad = await app.api("GET", "/api/v1/audit-logs?from=yesterday", { key: a.key });
    expect(bad.status).toBe(400);
    expect(bad.body.errors[0].field).toBe("from");
  });
});
