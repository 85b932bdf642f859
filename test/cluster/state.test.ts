// Per-process state on a cluster: caches that another replica's change reaches (by LISTEN/NOTIFY, by a flush when
// LISTEN reconnects, by the TTL when an announcement is lost), the in-process knowledge engine kept in step, rate
// limits counted once for every replica, and probe runs failed only by the replica that ran them or once their
// lease expired. Cluster tests run on Postgres (DATABASE_URL); the rate-limit ones on Redis too when REDIS_URL is set.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { clusterUnavailable, type Replica, startCluster, type TestCluster } from "../support/cluster.ts";
import { until } from "../support/until.ts";

const SITE = "https://shop.example.com";

async function publishedAgent(replica: Replica, key: string, greeting: string) {
  const agent = (await replica.api("POST", "/api/v1/agents", { key, body: { name: "Desk", greeting } })).body.data;
  expect((await replica.api("POST", `/api/v1/agents/${agent.id}/publish`, { key, body: {} })).status).toBe(201);
  return agent.id as string;
}

const startChat = (replica: Replica, key: string, agentId: string) => replica.api("POST", "/api/v1/chat/sessions", { key, body: { agentId } });

async function addText(replica: Replica, key: string, agentId: string, text: string) {
  const created = (await replica.api("POST", `/api/v1/agents/${agentId}/knowledge/sources`, { key, body: { kind: "text", label: "Facts", text } })).body.data;
  await until(async () => (await replica.api("GET", `/api/v1/agents/${agentId}/knowledge/sources/${created.id}`, { key })).body.data.status === "indexed");
  return created.id as string;
}

const previewSources = async (replica: Replica, key: string, agentId: string, query: string) =>
  ((await replica.api("POST", `/api/v1/agents/${agentId}/knowledge/preview`, { key, body: { query } })).body.data.chunks as { sourceId: string }[]).map((c) => c.sourceId);

describe.skipIf(clusterUnavailable !== null)("caches with announcements cut: the TTL", () => {
  let cluster: TestCluster;
  beforeAll(async () => {
    cluster = await startCluster({ replicas: 2, env: { CACHE_TTL_SECONDS: "1" } });
  });
  afterAll(async () => {
    await cluster?.stop();
  });

  test("a paused, then republished agent is seen by the other replica within the TTL though it hears no NOTIFY", async () => {
    const [a, b] = cluster.replicas;
    const { key } = await cluster.newOrg();
    const agentId = await publishedAgent(a!, key, "Hello from version one.");
    expect((await startChat(b!, key, agentId)).body.data.messages[0].content).toBe("Hello from version one.");
    await b!.server.database.changes.stop();
    try {
      expect((await a!.api("PATCH", `/api/v1/agents/${agentId}`, { key, body: { isActive: false } })).status).toBe(200);
      const paused = await until(async () => {
        const res = await startChat(b!, key, agentId);
        return res.status === 409 && res;
      });
      expect(paused.body.code).toBe("agent_paused");

      expect((await a!.api("PATCH", `/api/v1/agents/${agentId}`, { key, body: { isActive: true, greeting: "Hello from version two." } })).status).toBe(200);
      expect((await a!.api("POST", `/api/v1/agents/${agentId}/publish`, { key, body: {} })).status).toBe(201);
      const republished = await until(async () => {
        const res = await startChat(b!, key, agentId);
        return res.status === 201 && res.body.data.messages[0].content === "Hello from version two." && res;
      });
      expect(republished.body.data.agentVersionId).toBe((await a!.api("GET", `/api/v1/agents/${agentId}`, { key })).body.data.publishedVersionId);
    } finally {
      await b!.restart();
    }
  });

  test("an API key revoked through one replica stops working on the other within the TTL though it hears no NOTIFY", async () => {
    const [a, b] = cluster.replicas;
    const { key } = await cluster.newOrg();
    const { secret, id } = (await a!.api("POST", "/api/v1/api-keys", { key, body: { name: "Temp", scopes: ["agents:read"] } })).body.data;
    expect((await b!.api("GET", "/api/v1/agents", { key: secret })).status).toBe(200);
    await b!.server.database.changes.stop();
    try {
      expect((await a!.api("DELETE", `/api/v1/api-keys/${id}`, { key })).status).toBe(200);
      await until(async () => (await b!.api("GET", "/api/v1/agents", { key: secret })).status === 401);
    } finally {
      await b!.restart();
    }
  });

  test("knowledge indexed and deleted through one replica is searched through the other by the periodic check alone", async () => {
    const [a, b] = cluster.replicas;
    const { key } = await cluster.newOrg();
    const agentId = await publishedAgent(a!, key, "Hi.");
    await b!.server.database.changes.stop();
    try {
      const sourceId = await addText(a!, key, agentId, "Our warehouse in Rotterdam ships parcels every Tuesday.");
      await until(async () => (await previewSources(b!, key, agentId, "When does the Rotterdam warehouse ship?")).includes(sourceId));
      expect((await a!.api("DELETE", `/api/v1/agents/${agentId}/knowledge/sources/${sourceId}`, { key })).status).toBe(200);
      await until(async () => !(await previewSources(b!, key, agentId, "When does the Rotterdam warehouse ship?")).includes(sourceId));
    } finally {
      await b!.restart();
    }
  });
});

describe.skipIf(clusterUnavailable !== null)("caches behind announcements (a TTL far away)", () => {
  let cluster: TestCluster;
  beforeAll(async () => {
    cluster = await startCluster({ replicas: 2, env: { CACHE_TTL_SECONDS: "3600" }, envFor: (i) => ({ REPLICA_ID: `replica-${i}` }) });
  });
  afterAll(async () => {
    await cluster?.stop();
  });

  test("a paused agent is refused by the other replica once the announcement arrives", async () => {
    const [a, b] = cluster.replicas;
    const { key } = await cluster.newOrg();
    const agentId = await publishedAgent(a!, key, "Hi.");
    expect((await startChat(b!, key, agentId)).status).toBe(201);
    await a!.api("PATCH", `/api/v1/agents/${agentId}`, { key, body: { isActive: false } });
    await until(async () => (await startChat(b!, key, agentId)).status === 409);
  });

  test("a LISTEN connection that drops reconnects and flushes the caches, which may have missed changes meanwhile", async () => {
    const [, b] = cluster.replicas;
    const { key } = await cluster.newOrg();
    const agentId = (await b!.api("POST", "/api/v1/agents", { key, body: { name: "Before" } })).body.data.id;
    expect((await b!.api("GET", `/api/v1/agents/${agentId}`, { key })).body.data.name).toBe("Before");
    // A change no replica announced, as one whose NOTIFY was sent while the listener was away.
    await cluster.query(`update agents set name = 'After' where id = '${agentId}'`);
    expect((await b!.api("GET", `/api/v1/agents/${agentId}`, { key })).body.data.name).toBe("Before");
    const listeners = await cluster.query<{ pid: number }>(
      `select pid from pg_stat_activity where datname = current_database() and query ilike 'listen%' and pid <> pg_backend_pid()`,
    );
    expect(listeners.length).toBe(2);
    await cluster.query(`select pg_terminate_backend(pid) from pg_stat_activity where pid in (${listeners.map((l) => l.pid).join(",")})`);
    await until(async () => (await b!.api("GET", `/api/v1/agents/${agentId}`, { key })).body.data.name === "After");
    // The feed listens again: a change announced now reaches the other replica at once, not in an hour.
    await until(async () => (await cluster.query(`select pid from pg_stat_activity where datname = current_database() and query ilike 'listen%'`)).length === 2);
    const [a] = cluster.replicas;
    await a!.api("PATCH", `/api/v1/agents/${agentId}`, { key, body: { name: "Announced" } });
    await until(async () => (await b!.api("GET", `/api/v1/agents/${agentId}`, { key })).body.data.name === "Announced");
  });

  test("knowledge indexed and deleted through one replica is searched through the other when the announcement arrives", async () => {
    const [a, b] = cluster.replicas;
    const { key } = await cluster.newOrg();
    const agentId = await publishedAgent(a!, key, "Hi.");
    const sourceId = await addText(a!, key, agentId, "The Lisbon office opens at half past eight.");
    await until(async () => (await previewSources(b!, key, agentId, "When does the Lisbon office open?")).includes(sourceId));
    await a!.api("DELETE", `/api/v1/agents/${agentId}/knowledge/sources/${sourceId}`, { key });
    await until(async () => !(await previewSources(b!, key, agentId, "When does the Lisbon office open?")).includes(sourceId));
  });

  test("a probe run is marked with its replica and a lease; a restart fails only that replica's runs and runs whose lease expired", async () => {
    const [a, b] = cluster.replicas;
    const { key } = await cluster.newOrg();
    const agentId = (await a!.api("POST", "/api/v1/agents", { key, body: { name: "Probed" } })).body.data.id;
    const { runId } = (await a!.api("POST", `/api/v1/agents/${agentId}/probe/run`, { key, body: { scenarioId: "greeting", mode: "loopback" } })).body.data;
    const [started] = await cluster.query<{ replica_id: string; lease: boolean }>(`select replica_id, lease_expires_at > now() as lease from probe_runs where id = '${runId}'`);
    expect(started!.replica_id).toBe("replica-0");
    await until(async () => (await a!.api("GET", `/api/v1/agents/${agentId}/probe/runs/${runId}`, { key })).body.data.status === "completed");

    const [{ organization_id: org } = { organization_id: "" }] = await cluster.query<{ organization_id: string }>(`select organization_id from agents where id = '${agentId}'`);
    const run = (id: string, replica: string, lease: string) =>
      `('${id}', '${org}', '${agentId}', 'greeting', 'loopback', 'running', '${replica}', now() + interval '${lease}')`;
    await cluster.query(`insert into probe_runs (id, organization_id, agent_id, scenario_id, mode, status, replica_id, lease_expires_at) values
      ${run("prb_mine_before_restart", "replica-1", "1 minute")},
      ${run("prb_alive_elsewhere", "replica-0", "1 minute")},
      ${run("prb_lease_expired", "replica-gone", "-1 minute")}`);
    await b!.restart();
    const status = async () =>
      Object.fromEntries((await cluster.query<{ id: string; status: string }>(`select id, status from probe_runs where id in ('prb_mine_before_restart', 'prb_alive_elsewhere', 'prb_lease_expired')`)).map((r) => [r.id, r.status]));
    await until(async () => {
      const s = await status();
      return s.prb_mine_before_restart === "failed" && s.prb_lease_expired === "failed";
    });
    expect((await status()).prb_alive_elsewhere).toBe("running");
    const [failed] = await cluster.query<{ result: { failures: string[] } }>(`select result from probe_runs where id = 'prb_lease_expired'`);
    expect(failed!.result.failures).toEqual(["interrupted: the replica running it stopped"]);
  });
});

const stores: { name: string; env: Record<string, string> }[] = [{ name: "Postgres", env: {} }];
if (process.env.REDIS_URL) stores.push({ name: "Redis", env: { REDIS_URL: process.env.REDIS_URL } });

for (const store of stores) {
  describe.skipIf(clusterUnavailable !== null)(`rate limits counted in ${store.name}, once for every replica`, () => {
    let cluster: TestCluster;
    beforeAll(async () => {
      cluster = await startCluster({ replicas: 2, env: { RATE_LIMIT_PER_MINUTE: "5", ...store.env } });
    });
    afterAll(async () => {
      await cluster?.stop();
    });

    test("requests alternated between two replicas reach 429 at the shared count", async () => {
      const { key } = await cluster.newOrg();
      const answers = [];
      for (let i = 0; i < 7; i++) answers.push(await cluster.replicas[i % 2]!.api("GET", "/api/v1/agents", { key }));
      expect(answers.map((r) => r.status)).toEqual([200, 200, 200, 200, 200, 429, 429]);
      expect(answers.slice(0, 5).map((r) => r.headers.get("ratelimit-remaining"))).toEqual(["4", "3", "2", "1", "0"]);
      const refused = answers[6]!;
      expect(refused.body.code).toBe("rate_limited");
      expect(refused.headers.get("ratelimit-limit")).toBe("5");
      expect(Number(refused.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
      expect(Number(refused.headers.get("retry-after"))).toBeLessThanOrEqual(60);
    });

    test("a visitor's widget sessions are counted across the replicas", async () => {
      const [a, b] = cluster.replicas;
      const { key } = await cluster.newOrg();
      const agentId = await publishedAgent(a!, key, "Hi.");
      const pk = (await a!.api("POST", `/api/v1/agents/${agentId}/publishable-keys`, { key, body: { name: "Shop", allowedOrigins: [SITE], rateLimitRpm: 6000 } })).body.data;
      const statuses: number[] = [];
      for (let i = 0; i < 21; i++) {
        const replica = i % 2 ? b! : a!;
        statuses.push((await replica.api("POST", "/api/v1/chat/widget/sessions", { key: pk.keyPublic, body: {}, headers: { origin: SITE } })).status);
      }
      expect(statuses.slice(0, 20).every((s) => s === 201)).toBe(true);
      expect(statuses[20]).toBe(429);
    });
  });
}
