// Integration connections on a cluster: a skill run on one replica opens that replica's pool to the customer's
// database; disconnecting, or connecting new credentials, through another replica closes it there too (the change
// feed), and the skill then fails cleanly on every replica. Runs on Postgres (DATABASE_URL), against this
// machine's real Postgres as the customer's database.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import postgres from "postgres";
import { type Fixture, fixture } from "../integrations/sql/support.ts";
import { clusterUnavailable, type Replica, startCluster, type TestCluster } from "../support/cluster.ts";
import { until } from "../support/until.ts";

describe.skipIf(clusterUnavailable !== null)("integration connections on every replica", () => {
  let cluster: TestCluster;
  let f: Fixture;
  let watcher: postgres.Sql;

  beforeAll(async () => {
    cluster = await startCluster({ replicas: 2, env: { EGRESS_ALLOWLIST: "127.0.0.1", SQL_PLAINTEXT_HOSTS: "127.0.0.1" } });
    f = await fixture("postgres");
    await f.admin.exec(`
      CREATE TABLE appointments (id serial PRIMARY KEY, phone text NOT NULL, starts_at text NOT NULL);
      CREATE INDEX appointments_phone ON appointments (phone);
      INSERT INTO appointments (phone, starts_at) VALUES ('+14155550100', 'Monday at 9');
    `);
    const url = new URL(process.env.SQL_TEST_POSTGRES_URL ?? "postgres://postgres@127.0.0.1:5432/test");
    watcher = postgres({ host: url.hostname, port: Number(url.port || 5432), database: url.pathname.slice(1) || "test", username: decodeURIComponent(url.username) || "postgres", password: decodeURIComponent(url.password), max: 1 });
  });
  afterAll(async () => {
    await watcher?.end();
    await cluster?.stop();
    await f?.cleanup();
  });

  /** The product's connections to the customer's database (its pools name themselves `flowyte`). */
  const poolConnections = async () => Number((await watcher`SELECT count(*) AS n FROM pg_stat_activity WHERE datname = ${f.database} AND application_name = 'flowyte'`)[0]!.n);

  async function lookUp(replica: Replica, key: string, agentId: string) {
    const res = await fetch(`${replica.url}/api/v1/agents/${agentId}/simulate`, {
      method: "POST",
      headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
      body: JSON.stringify({ transcript: ["When is my appointment? My number is 415 555 0100"] }),
    });
    const frames = (await res.text()).split("\n\n").filter((frame) => frame.startsWith("event:tool_call"));
    return JSON.parse(frames[0]!.slice(frames[0]!.indexOf("\ndata:") + 6)).payload as { status: string; errorCode?: string; result?: Record<string, unknown> };
  }

  test("a disconnect through one replica closes the pool the other opened, and the skill fails cleanly everywhere", async () => {
    const [a, b] = cluster.replicas as [Replica, Replica];
    const { key } = await cluster.newOrg();
    expect((await a.api("POST", "/api/v1/integrations/postgres/connect", { key, body: { credentials: f.credentials() } })).status).toBe(200);
    expect((await a.api("POST", "/api/v1/integrations/postgres/discover", { key, body: {} })).status).toBe(200);
    const agent = (await a.api("POST", "/api/v1/agents", { key, body: { name: "Clinic", greeting: "Hello." } })).body.data;
    const bound = await a.api("POST", `/api/v1/agents/${agent.id}/integrations/postgres/bindings`, {
      key,
      body: { toolName: "find_appointment", description: "Look up the caller's appointment", operation: "appointments.select", sqlSearch: { column: "phone", param: "caller_phone", limit: 1 }, projection: [{ path: "starts_at", leaf: "start_time" }] },
    });
    expect(bound.status).toBe(200);

    // Replica B runs the skill: its pool to the customer's database opens.
    expect(await lookUp(b, key, agent.id)).toMatchObject({ status: "ok", result: { start_time: "Monday at 9" } });
    expect(await poolConnections()).toBeGreaterThan(0);

    // Disconnected through replica A: B hears of it and closes its pool; neither replica can run the skill.
    expect((await a.api("DELETE", "/api/v1/integrations/postgres", { key })).status).toBeLessThan(300);
    // Well before the pool's own idle timeout (60 s) would close it.
    await until(async () => (await poolConnections()) === 0, 20_000);
    expect(await lookUp(b, key, agent.id)).toMatchObject({ status: "error", errorCode: "integration_not_connected" });
    expect(await lookUp(a, key, agent.id)).toMatchObject({ status: "error", errorCode: "integration_not_connected" });

    // Connected again through A with the same credentials: B opens a new pool and answers again.
    expect((await a.api("POST", "/api/v1/integrations/postgres/connect", { key, body: { credentials: f.credentials() } })).status).toBe(200);
    expect(await lookUp(b, key, agent.id)).toMatchObject({ status: "ok", result: { start_time: "Monday at 9" } });
  });
});
