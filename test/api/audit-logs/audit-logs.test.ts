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

  it("records rollbacks and every API-key mutation (create, rotate, revoke)", async () => {
    const org = await app.newOrg();
    const agent = (await app.api("POST", "/api/v1/agents", { key: org.key, body: { name: "Rolled" } })).body.data;
    const v1 = (await app.api("POST", `/api/v1/agents/${agent.id}/publish`, { key: org.key })).body.data;
    await app.api("POST", `/api/v1/agents/${agent.id}/publish`, { key: org.key });
    expect((await app.api("POST", `/api/v1/agents/${agent.id}/rollback`, { key: org.key, body: { versionId: v1.id } })).status).toBe(200);
    const created = await app.api("POST", "/api/v1/api-keys", { key: org.key, body: { name: "audited", scopes: ["agents:read"] } });
    expect(created.status).toBe(201);
    const id = created.body.data.id;
    expect((await app.api("POST", `/api/v1/api-keys/${id}/rotate`, { key: org.key })).status).toBe(200);
    expect((await app.api("DELETE", `/api/v1/api-keys/${id}`, { key: org.key })).status).toBe(200);
    const refused = await app.keyWith(org.organizationId, ["keys:write"]);
    const owner = (await app.api("GET", "/api/v1/api-keys?limit=100", { key: org.key })).body.data.find((k: any) => k.name === "Owner key");
    expect((await app.api("POST", `/api/v1/api-keys/${owner.id}/rotate`, { key: refused })).status).toBe(403);

    const rows = (await app.api("GET", "/api/v1/audit-logs?limit=100", { key: org.key })).body.data.map((r: any) => `${r.method} ${r.path} ${r.status}`);
    expect(rows.slice(0, 5)).toEqual([
      `POST /api/v1/api-keys/${owner.id}/rotate 403`,
      `DELETE /api/v1/api-keys/${id} 200`,
      `POST /api/v1/api-keys/${id}/rotate 200`,
      "POST /api/v1/api-keys 201",
      `POST /api/v1/agents/${agent.id}/rollback 200`,
    ]);
  });

  it("has stored a request's entry by the time its response arrives, for successes, failures and replays", async () => {
    const org = await app.newOrg();
    const stored = async (requestId: string | null) =>
      (await app.query<{ method: string; path: string; status: number }>(`select method, path, status from audit_logs where request_id = '${requestId}'`)).map((r) => `${r.method} ${r.path} ${r.status}`);

    const created = await app.api("POST", "/api/v1/agents", { key: org.key, body: { name: "Now" }, headers: { "idempotency-key": "audit-now" } });
    expect(await stored(created.headers.get("x-request-id"))).toEqual(["POST /api/v1/agents 201"]);
    const id = created.body.data.id;
    const patched = await app.api("PATCH", `/api/v1/agents/${id}`, { key: org.key, body: { tone: "quick" } });
    expect(await stored(patched.headers.get("x-request-id"))).toEqual([`PATCH /api/v1/agents/${id} 200`]);
    const invalid = await app.api("PATCH", `/api/v1/agents/${id}`, { key: org.key, body: { tone: 5 } });
    expect(await stored(invalid.headers.get("x-request-id"))).toEqual([`PATCH /api/v1/agents/${id} 400`]);
    const conflict = await app.api("PATCH", `/api/v1/agents/${id}`, { key: org.key, body: { tone: "x" }, headers: { "if-match": "1" } });
    expect(await stored(conflict.headers.get("x-request-id"))).toEqual([`PATCH /api/v1/agents/${id} 409`]);
    const replay = await app.api("POST", "/api/v1/agents", { key: org.key, body: { name: "Now" }, headers: { "idempotency-key": "audit-now" } });
    expect(replay.headers.get("idempotent-replayed")).toBe("true");
    expect(await stored(replay.headers.get("x-request-id"))).toEqual(["POST /api/v1/agents 201"]);
    const deleted = await app.api("DELETE", `/api/v1/agents/${id}`, { key: org.key });
    expect(await stored(deleted.headers.get("x-request-id"))).toEqual([`DELETE /api/v1/agents/${id} 200`]);
  });

  it("stores one entry per request when many arrive at once", async () => {
    const org = await app.newOrg();
    const responses = await Promise.all(Array.from({ length: 40 }, (_, i) => app.api("POST", "/api/v1/agents", { key: org.key, body: { name: `Burst ${i}` } })));
    const ids = responses.map((r) => r.headers.get("x-request-id"));
    const rows = await app.query<{ request_id: string }>(`select request_id from audit_logs where organization_id = '${org.organizationId}'`);
    expect(rows.map((r) => r.request_id).sort()).toEqual([...ids].sort() as string[]);
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
