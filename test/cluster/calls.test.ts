// Calls on a cluster: one Asterisk (the ARI stand-in, test/support/ari-stand-in.ts), two replicas on one Postgres.
// Replica A is the real server as its own process (so it can die as a crashed pod does: SIGKILL, no cleanup);
// replica B runs in this process. A holds the Stasis application and answers a call; it is killed mid-call; B
// takes the application over within the lease, and in Asterisk nothing of the dead call is left (the caller
// told the call ends and hung up, the media leg hung up, the bridge destroyed), its conversation is ended in
// storage with the reason `replica_failed`, and B answers the next call. Then B stops cleanly with a call in
// progress: the caller is told, the conversation ends `server_stopping`, and A (started again) takes over at once,
// answering the caller who rang meanwhile.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createLogger } from "../../src/platform/log.ts";
import { startServer, type RunningServer } from "../../src/server.ts";
import { agentBuilder } from "../support/agent-builder.ts";
import type { TestApp } from "../support/app.ts";
import { ariStandInEnv, startAriStandIn, type AriStandIn } from "../support/ari-stand-in.ts";
import { clusterUnavailable, startCluster, type TestCluster } from "../support/cluster.ts";
import { startServerProcess, type ServerProcess } from "../support/server-process.ts";
import { until } from "../support/until.ts";
import { CALL_TEST_TIMEOUT_MS, SLOW_SETUP } from "../support/voice.ts";

const AGENT_NUMBER = "+15557654321";
// Short, so a takeover is quick to wait for; long enough that a holder whose process the machine starves for a few
// seconds (both cores busy with other work) still renews in time, so the lease does not change hands on its own.
const LEASE_SECONDS = 6;

let standIn: AriStandIn;
let cluster: TestCluster;
let replicaA: ServerProcess | null = null;
let replicaB: RunningServer | null = null;
const rtpBase = 20000 + Math.floor(Math.random() * 10000);

/** What replicas A and B are configured with, besides the cluster's own settings. */
function telephonyEnv(replica: "a" | "b"): Record<string, string> {
  const offset = replica === "a" ? 0 : 50;
  return {
    ...ariStandInEnv(standIn, rtpBase + offset, 20),
    ARI_LEASE_SECONDS: String(LEASE_SECONDS),
    REPLICA_ID: `replica-${replica}`,
    TRUNK_NUMBERS: AGENT_NUMBER,
  };
}

async function startA(): Promise<ServerProcess> {
  const r0 = cluster.replicas[0]!;
  const proc = await startServerProcess(r0.config.dataDir, {
    env: { ...telephonyEnv("a"), DATABASE_URL: cluster.databaseUrl, MASTER_KEY: r0.config.masterKey!.toString("hex") },
  });
  if (!(await proc.ready)) throw new Error(`replica A did not start:\n${proc.log()}`);
  return proc;
}

async function startB(): Promise<RunningServer> {
  const r0 = cluster.replicas[0]!;
  const env = telephonyEnv("b");
  return startServer(
    {
      ...r0.config,
      port: 0,
      replicaId: env.REPLICA_ID!,
      ari: { url: standIn.url, username: standIn.username, password: standIn.password, app: standIn.app, leaseSeconds: LEASE_SECONDS },
      rtp: { host: "127.0.0.1", portMin: Number(env.RTP_PORT_MIN), portMax: Number(env.RTP_PORT_MAX), mediaFormat: "auto" },
    },
    createLogger((process.env.TEST_LOG_LEVEL as "error") ?? "error"),
  );
}

async function leaseHolder(): Promise<string | null> {
  const [row] = await cluster.query<{ holder: string }>(`select holder from voice_leases`);
  return row?.holder ?? null;
}

async function conversationOf(channelId: string) {
  const [row] = await cluster.query<{ id: string; status: string; metadata: unknown }>(
    `select id, status, metadata from conversations where source = 'voice' and metadata->>'channelId' = '${channelId}'`,
  );
  return row ? { ...row, metadata: (typeof row.metadata === "string" ? JSON.parse(row.metadata) : row.metadata) as Record<string, unknown> } : null;
}

async function endReason(conversationId: string): Promise<string | undefined> {
  const [row] = await cluster.query<{ payload: unknown }>(`select payload from conversation_events where conversation_id = '${conversationId}' and event_type = 'call_ended'`);
  if (!row) return undefined;
  return ((typeof row.payload === "string" ? JSON.parse(row.payload) : row.payload) as { reason?: string }).reason;
}

/** The caller's channel answered and bridged with its media leg: the call runs. */
async function answered(channelId: string) {
  const bridge = await until(() => standIn.bridges().find((b) => b.channels.includes(channelId) && b.channels.length === 2));
  const conversation = await until(() => conversationOf(channelId));
  return { bridge, mediaChannelId: bridge.channels.find((id) => id !== channelId)!, conversation };
}

describe.skipIf(clusterUnavailable !== null)("calls on two replicas (ARI stand-in, one Postgres)", () => {
  beforeAll(async () => {
    standIn = await startAriStandIn();
    // Replica 0 serves the API only (no ARI_URL): the organization, agent and number are set up through it.
    cluster = await startCluster({ replicas: 1, env: { TRUNK_NUMBERS: AGENT_NUMBER } });
    const { key } = await cluster.newOrg();
    const b = agentBuilder(cluster.replicas[0] as unknown as TestApp, key);
    const agent = await b.agent({ name: "Phone desk", greeting: "Thanks for calling Acme Plumbing. How can I help?", callControl: { idleReminderDelaySeconds: 120 } });
    await b.publish(agent.id);
    const number = await b.call("POST", "/api/v1/numbers/purchase", { e164: AGENT_NUMBER });
    await b.call("POST", `/api/v1/numbers/${number.id}/assign`, { agentId: agent.id });

    replicaA = await startA();
    await until(async () => (await leaseHolder()) === "replica-a" && standIn.connections.length === 1);
    replicaB = await startB();
  }, SLOW_SETUP);

  afterAll(async () => {
    replicaA?.signal("SIGKILL");
    await replicaA?.exited;
    await replicaB?.stop();
    await cluster?.stop();
    await standIn?.stop();
  }, SLOW_SETUP);

  test(
    "a replica killed mid-call: the other takes the application over, leaves nothing of the call in Asterisk, ends its conversation, and answers the next call",
    async () => {
      // B stands by: the lease stays with A, and B never connects for the application.
      expect(await leaseHolder()).toBe("replica-a");
      const first = standIn.placeInboundCall({ exten: AGENT_NUMBER, callerNumber: "+15550001111" });
      const call = await answered(first);
      expect(call.conversation.status).toBe("active");
      expect(call.conversation.metadata.replicaId).toBe("replica-a");
      expect(call.bridge.name).toBe(`flowyte/${standIn.app}/replica-a/call/${first}`);
      expect(standIn.connections).toHaveLength(1);

      const killedAt = standIn.requests.length;
      replicaA!.signal("SIGKILL");
      await replicaA!.exited;
      replicaA = null;
      // Asterisk keeps the dead replica's channels and bridge: nobody has cleaned up yet.
      expect(standIn.channel(first)).toBeDefined();

      await until(async () => (await leaseHolder()) === "replica-b");
      await until(() => standIn.channel(first) === undefined && standIn.channel(call.mediaChannelId) === undefined && standIn.bridge(call.bridge.id) === undefined);
      const after = standIn.requests.slice(killedAt);
      const play = after.find((r) => r.operation === "channels.play" && r.path === `/channels/${first}/play`);
      expect(play?.body).toEqual({ media: ["sound:im-sorry", "sound:please-try-call-later"] });
      const hangup = after.find((r) => r.operation === "channels.hangup" && r.path === `/channels/${first}`);
      expect(hangup!.at).toBeGreaterThan(play!.at);
      expect(after.some((r) => r.operation === "channels.hangup" && r.path === `/channels/${call.mediaChannelId}`)).toBe(true);
      expect(after.some((r) => r.operation === "bridges.destroy" && r.path === `/bridges/${call.bridge.id}`)).toBe(true);

      await until(async () => (await conversationOf(first))?.status === "ended");
      expect(await endReason(call.conversation.id)).toBe("replica_failed");

      const second = standIn.placeInboundCall({ exten: AGENT_NUMBER, callerNumber: "+15550002222" });
      const next = await answered(second);
      expect(next.conversation.metadata.replicaId).toBe("replica-b");
      expect(next.bridge.name).toBe(`flowyte/${standIn.app}/replica-b/call/${second}`);
    },
    CALL_TEST_TIMEOUT_MS,
  );

  test(
    "a replica stopping cleanly ends its call with an apology and hands the application over at once",
    async () => {
      const inProgress = standIn.placeInboundCall({ exten: AGENT_NUMBER, callerNumber: "+15550003333" });
      const call = await answered(inProgress);
      expect(call.conversation.metadata.replicaId).toBe("replica-b");
      replicaA = await startA();
      // A stands by while B renews.
      expect(await leaseHolder()).toBe("replica-b");

      const stoppedAt = standIn.requests.length;
      const connectionsBefore = standIn.connections.length;
      const stopping = replicaB!.stop();
      // Once B tells its caller the call ends it answers no more calls, but stays connected until A has taken over:
      // a call arriving now enters the application and rings.
      await until(() => standIn.requests.slice(stoppedAt).some((r) => r.path === `/channels/${inProgress}/play`));
      const duringHandover = standIn.placeInboundCall({ exten: AGENT_NUMBER, callerNumber: "+15550005555" });
      await stopping;
      replicaB = null;
      // Released, not left to expire: A holds it on its next try, well within the lease.
      await until(async () => (await leaseHolder()) === "replica-a" && standIn.connections.length > connectionsBefore);
      const after = standIn.requests.slice(stoppedAt);
      expect(after.find((r) => r.path === `/channels/${inProgress}/play`)?.body).toEqual({ media: ["sound:im-sorry", "sound:please-try-call-later"] });
      await until(() => standIn.channel(inProgress) === undefined && standIn.bridge(call.bridge.id) === undefined);
      expect(await endReason(call.conversation.id)).toBe("server_stopping");

      // A answers the caller who rang through the handover, and the next one.
      expect((await answered(duringHandover)).conversation.metadata.replicaId).toBe("replica-a");
      const third = standIn.placeInboundCall({ exten: AGENT_NUMBER, callerNumber: "+15550004444" });
      expect((await answered(third)).conversation.metadata.replicaId).toBe("replica-a");
    },
    CALL_TEST_TIMEOUT_MS,
  );
});
