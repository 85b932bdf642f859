// Dependency health as /ready reports it: what counts as up or down for each kind of server, and probes shared and
// cached so readiness checks and scrapes never pile requests on a dependency.
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { loadConfig } from "../../src/config.ts";
import { createDependencyHealth } from "../../src/platform/health.ts";
import { startMeilisearchStandIn, type MeilisearchStandIn } from "../support/meilisearch-stand-in.ts";

describe("dependency health", () => {
  let server: ReturnType<typeof Bun.serve>;
  let meili: MeilisearchStandIn;
  const probes: string[] = [];
  /** An OpenAI-compatible server whose GET /models answers the status its path names (`/s404/v1/models` → 404). */
  const serverAt = (status: number) => `http://127.0.0.1:${server.port}/s${status}/v1`;

  beforeAll(() => {
    server = Bun.serve({
      hostname: "127.0.0.1",
      port: 0,
      fetch(req) {
        const { pathname } = new URL(req.url);
        probes.push(pathname);
        const status = Number(/^\/s(\d+)\//.exec(pathname)?.[1] ?? 404);
        return status === 200 ? Response.json({ object: "list", data: [] }) : Response.json({ error: { message: "no" } }, { status });
      },
    });
    meili = startMeilisearchStandIn();
  });
  afterAll(() => {
    server.stop(true);
    meili.stop();
  });

  it("calls a server up when it lists its models or has no such route, down when it refuses the key or fails", async () => {
    const config = (llm: number, embeddings: number, speech: number) =>
      loadConfig({ MEILI_URL: meili.url, LLM_BASE_URL: serverAt(llm), LLM_MODEL: "m", EMBEDDINGS_BASE_URL: serverAt(embeddings), EMBEDDINGS_MODEL: "e", SPEECH_BASE_URL: serverAt(speech) });
    expect(await createDependencyHealth(config(200, 404, 405)).dependencyHealth()).toEqual({ meilisearch: "up", llm: "up", embeddings: "up", speech: "up" });
    expect(await createDependencyHealth(config(401, 403, 503)).dependencyHealth()).toEqual({ meilisearch: "up", llm: "down", embeddings: "down", speech: "down" });
    expect(await createDependencyHealth(loadConfig({ MEILI_URL: "http://127.0.0.1:9" })).dependencyHealth()).toEqual({ meilisearch: "down", llm: "not_configured", embeddings: "not_configured", speech: "not_configured" });
  });

  it("probes once for concurrent callers and not again until the cached report is older than its window", async () => {
    let now = 0;
    const health = createDependencyHealth(loadConfig({ LLM_BASE_URL: serverAt(200), LLM_MODEL: "m" }), { cacheMs: 5000, clock: () => now });
    probes.length = 0;
    await Promise.all([health.dependencyHealth(), health.dependencyHealth(), health.dependencyHealth()]);
    expect(probes).toHaveLength(1);
    now = 4999;
    await health.dependencyHealth();
    expect(probes).toHaveLength(1);
    now = 5000;
    expect((await health.dependencyHealth()).llm).toBe("up");
    expect(probes).toHaveLength(2);
  });
});
