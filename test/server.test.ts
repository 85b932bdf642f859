import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { ALL_SCOPES } from "../src/platform/auth/scopes.ts";
import { startTestApp, storageKind, type TestApp } from "./support/app.ts";

let app: TestApp;
beforeAll(async () => {
  app = await startTestApp();
});
afterAll(() => app.stop());

describe("the running server", () => {
  it("answers /health and /ready without a key", async () => {
    expect((await app.api("GET", "/health", { key: null })).body).toEqual({ status: "ok" });
    expect((await app.api("GET", "/ready", { key: null })).body).toEqual({
      status: "ready",
      storage: storageKind,
      dependencies: { meilisearch: "not_configured", llm: "not_configured", embeddings: "not_configured", speech: "not_configured" },
    });
  });

  it("makes FLOWYTE_ADMIN_KEY a key with every secret-key scope", async () => {
    const keys = await app.api("GET", "/api/v1/api-keys?limit=100");
    const admin = keys.body.data.find((k: { name: string }) => k.name === "FLOWYTE_ADMIN_KEY");
    expect(admin.scopes.sort()).toEqual(ALL_SCOPES.filter((s) => s !== "chat:public").sort());
    expect(admin.last4).toBe(app.adminKey.slice(-4));
  });

  it("keeps every piece of data across a restart", async () => {
    const org = await app.newOrg("Durable");
    const agent = (await app.api("POST", "/api/v1/agents", { key: org.key, body: { name: "Survivor", goals: ["stay"] } })).body.data;
    await app.api("PATCH", `/api/v1/agents/${agent.id}`, { key: org.key, body: { tone: "steady" } });
    const version = (await app.api("POST", `/api/v1/agents/${agent.id}/publish`, { key: org.key, body: { note: "before restart" } })).body.data;
    const minted = (await app.api("POST", "/api/v1/api-keys", { key: org.key, body: { name: "kept", scopes: ["agents:read"] } })).body.data;
    const replayKey = { "idempotency-key": "across-restart" };
    const created = (await app.api("POST", "/api/v1/agents", { key: org.key, body: { name: "Once" }, headers: replayKey })).body.data;

    await app.restart();

    expect((await app.api("GET", `/api/v1/agents/${agent.id}`, { key: org.key })).body.data).toMatchObject({ name: "Survivor", tone: "steady", goals: ["stay"], publishedVersionId: version.id, version: 3 });
    expect((await app.api("GET", `/api/v1/agents/${agent.id}/versions`, { key: org.key })).body.data).toEqual([version]);
    expect((await app.api("GET", "/api/v1/agents", { key: minted.secret })).status).toBe(200);
    const replay = await app.api("POST", "/api/v1/agents", { key: org.key, body: { name: "Once" }, headers: replayKey });
    expect(replay.body.data.id).toBe(created.id);
    const audit = (await app.api("GET", "/api/v1/audit-logs?limit=100", { key: org.key })).body.data;
    expect(audit.length).toBeGreaterThanOrEqual(5);
    expect((await app.api("GET", "/api/v1/agents", { key: app.adminKey })).status).toBe(200);
  });

  it.skipIf(storageKind !== "pglite")("keeps the embedded database and a generated master key on disk in DATA_DIR", async () => {
    expect(existsSync(join(app.config.dataDir, "pglite", "PG_VERSION"))).toBe(true);
    const generated = await startTestApp({ MASTER_KEY: "" });
    try {
      const file = join(generated.config.dataDir, "master.key");
      expect(readFileSync(file, "utf8").trim()).toMatch(/^[0-9a-f]{64}$/);
      const before = readFileSync(file, "utf8");
      await generated.restart();
      expect(readFileSync(file, "utf8")).toBe(before);
    } finally {
      await generated.stop();
    }
  });
});
