// The cluster harness itself: two replicas on one Postgres see one another's writes.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { clusterUnavailable, startCluster, type TestCluster } from "../support/cluster.ts";

describe.skipIf(clusterUnavailable !== null)("two replicas on one Postgres", () => {
  let cluster: TestCluster;
  beforeAll(async () => {
    cluster = await startCluster({ replicas: 2 });
  });
  afterAll(async () => {
    await cluster?.stop();
  });

  test("an agent created through one replica is read through the other", async () => {
    const [a, b] = cluster.replicas;
    const { key } = await cluster.newOrg();
    const created = await a!.api("POST", "/api/v1/agents", { key, body: { name: "Shared" } });
    expect(created.status).toBe(201);
    const read = await b!.api("GET", `/api/v1/agents/${created.body.data.id}`, { key });
    expect(read.status).toBe(200);
    expect(read.body.data.name).toBe("Shared");
  });
});
