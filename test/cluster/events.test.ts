// The event bus on a cluster: events written through one replica reach subscribers on the others, a durable
// subscription resumes after its replica restarts, and a subscription name shared by replicas handles each event once.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { DomainEvent } from "../../src/platform/events/index.ts";
import { clusterUnavailable, type Replica, startCluster, type TestCluster } from "../support/cluster.ts";
import { until } from "../support/until.ts";

describe.skipIf(clusterUnavailable !== null)("domain events across replicas", () => {
  let cluster: TestCluster;
  beforeAll(async () => {
    cluster = await startCluster({ replicas: 2 });
  });
  afterAll(async () => {
    await cluster?.stop();
  });

  /** A fresh organization with one agent; `publish` publishes it through a replica over HTTP. */
  async function agentToPublish() {
    const { organizationId, key } = await cluster.newOrg();
    const created = await cluster.replicas[0]!.api("POST", "/api/v1/agents", { key, body: { name: "Events" } });
    const agentId = created.body.data.id as string;
    return {
      organizationId,
      agentId,
      async publish(through: Replica) {
        const res = await through.api("POST", `/api/v1/agents/${agentId}/publish`, { key, body: {} });
        expect(res.status).toBe(201);
        return res.body.data.version as number;
      },
    };
  }

  /** Subscribes on `replica` and records which replica handled each of `organizationId`'s events. */
  async function record(replica: Replica, name: string, organizationId: string, into: { replica: number; version: number }[]) {
    const sub = replica.server.events.subscribe(name, (e: DomainEvent) => {
      if (e.organizationId === organizationId && e.type === "agent.published") into.push({ replica: replica.index, version: e.payload.version });
    });
    await sub.ready;
    return sub;
  }

  const versions = (handled: { version: number }[]) => handled.map((h) => h.version);
  const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

  test("an event emitted on one replica is delivered once to a subscriber on the other, across that replica's restart", async () => {
    const [a, b] = cluster.replicas as [Replica, Replica];
    const agent = await agentToPublish();
    const handled: { replica: number; version: number }[] = [];
    await record(b, "audit-on-b", agent.organizationId, handled);
    for (let i = 0; i < 3; i++) await agent.publish(a);
    await until(() => handled.length === 3);

    // Published while B goes down and comes back: its durable cursor picks them up.
    const publishing = (async () => {
      for (let i = 0; i < 3; i++) await agent.publish(a);
    })();
    await b.restart();
    await publishing;
    await record(b, "audit-on-b", agent.organizationId, handled);
    await agent.publish(a);
    await until(() => handled.length >= 7);
    // One more, delivered after everything before it: a duplicate would have come before it.
    await agent.publish(a);
    await until(() => handled.length >= 8);
    expect(versions(handled)).toEqual(range(1, 8));
    expect(new Set(handled.map((h) => h.replica))).toEqual(new Set([b.index]));
  });

  test("a subscription name shared by two replicas handles each event once, and passes to the other when its owner stops", async () => {
    const [a, b] = cluster.replicas as [Replica, Replica];
    const agent = await agentToPublish();
    const handled: { replica: number; version: number }[] = [];
    const subs = [await record(a, "shared-webhooks", agent.organizationId, handled), await record(b, "shared-webhooks", agent.organizationId, handled)];
    for (let i = 0; i < 10; i++) await agent.publish(i % 2 ? a : b);
    await until(() => handled.length >= 10);
    const owner = handled[0]!.replica;
    // The owner's subscription stops (a rolling update): the other replica carries on from its cursor.
    await subs[owner]!.stop();
    for (let i = 0; i < 5; i++) await agent.publish(i % 2 ? a : b);
    await until(() => handled.length >= 15);
    await agent.publish(a);
    await until(() => handled.length >= 16);
    expect(versions(handled)).toEqual(range(1, 16));
    expect(new Set(handled.slice(0, 10).map((h) => h.replica))).toEqual(new Set([owner]));
    expect(new Set(handled.slice(10).map((h) => h.replica))).toEqual(new Set([1 - owner]));
    await subs[1 - owner]!.stop();
  });

  test("subscriptions named per replica each get every event", async () => {
    const [a, b] = cluster.replicas as [Replica, Replica];
    const agent = await agentToPublish();
    const onA: { replica: number; version: number }[] = [];
    const onB: { replica: number; version: number }[] = [];
    await record(a, "cache-replica-0", agent.organizationId, onA);
    await record(b, "cache-replica-1", agent.organizationId, onB);
    for (let i = 0; i < 4; i++) await agent.publish(i % 2 ? a : b);
    await until(() => onA.length >= 4 && onB.length >= 4);
    expect(versions(onA)).toEqual(range(1, 4));
    expect(versions(onB)).toEqual(range(1, 4));
  });
});
