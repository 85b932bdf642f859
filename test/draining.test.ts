// Readiness while a replica drains: told to stop, the server answers /ready 503 `draining` (so a load balancer or a
// Kubernetes Service takes it out of rotation) while it still serves, for SHUTDOWN_DELAY_SECONDS, then stops.
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startTestApp, storageKind, type TestApp } from "./support/app.ts";
import { startServerProcess } from "./support/server-process.ts";
import { until } from "./support/until.ts";

describe("readiness while draining", () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp();
  });
  afterAll(() => app.stop());

  it("answers /ready 503 draining once draining starts, while /health and the API still answer", async () => {
    expect((await app.api("GET", "/ready", { key: null })).body).toEqual({ status: "ready", storage: storageKind, dependencies: { meilisearch: "not_configured", llm: "not_configured", embeddings: "not_configured", speech: "not_configured" } });
    app.server.startDraining();
    const ready = await app.api("GET", "/ready", { key: null });
    expect({ status: ready.status, body: ready.body }).toEqual({ status: 503, body: { status: "draining", storage: storageKind, dependencies: { meilisearch: "not_configured", llm: "not_configured", embeddings: "not_configured", speech: "not_configured" } } });
    expect((await app.api("GET", "/health", { key: null })).status).toBe(200);
    expect((await app.api("GET", "/api/v1/agents")).status).toBe(200);
  });
});

describe("the server process on SIGTERM", () => {
  const dir = mkdtempSync(join(tmpdir(), "flowyte-draining-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it(
    "fails readiness first, keeps serving for SHUTDOWN_DELAY_SECONDS, then stops cleanly",
    async () => {
      const server = await startServerProcess(join(dir, "data"), { env: { SHUTDOWN_DELAY_SECONDS: "5" } });
      let exited = false;
      void server.exited.then(() => (exited = true));
      try {
        const url = await server.ready;
        if (!url) throw new Error(`the server did not start:\n${server.log()}`);
        expect((await fetch(`${url}/ready`)).status).toBe(200);
        server.signal("SIGTERM");
        const draining = await until(async () => {
          const res = await fetch(`${url}/ready`).catch(() => null);
          return res?.status === 503 && (await res.json());
        });
        expect(draining).toEqual({ status: "draining", storage: "pglite", dependencies: { meilisearch: "not_configured", llm: "not_configured", embeddings: "not_configured", speech: "not_configured" } });
        // Still serving while the load balancer catches up.
        expect(exited).toBe(false);
        expect((await fetch(`${url}/health`)).status).toBe(200);
        expect(await server.exited).toBe(0);
        expect(server.log()).toMatch(/SIGTERM: draining; \/ready answers 503 for 5 s[\s\S]*SIGTERM: shutting down/);
      } finally {
        if (!exited) server.signal("SIGKILL");
      }
    },
    { timeout: 120_000 },
  );
});
