// A replica taking the Stasis application over from one that died (voice/ari/takeover.ts), against the ARI stand-in:
// the dead replica is a voice bridge whose connection is cut without any cleanup, as a crash leaves it.
import { afterEach, beforeEach, expect, it } from "bun:test";
import type { Logger } from "../../../src/platform/log.ts";
import { startVoiceBridge, type CallRoute, type InboundCall, type VoiceBridge } from "../../../voice/ari/index.ts";
import { startAriStandIn, type AriStandIn } from "../../support/ari-stand-in.ts";
import { until } from "../../support/until.ts";

const AGENT_NUMBER = "+15557654321";
/** The dead replica never finished routing calls to this number: they were left ringing. */
const STUCK_NUMBER = "+15557650009";
const ROUTE: CallRoute = { organizationId: "org_1", agentId: "agt_1" };
const quiet: Logger = { debug() {}, info() {}, warn() {}, error() {} };

let standIn: AriStandIn;
const bridges: VoiceBridge[] = [];

function replica(replicaId: string, onCall: (call: InboundCall) => void, route: (dialed: string) => CallRoute | null | Promise<CallRoute | null> = () => ROUTE) {
  const bridge = startVoiceBridge({
    ari: { url: standIn.url, username: standIn.username, password: standIn.password, app: standIn.app },
    rtpHost: "127.0.0.1",
    replicaId,
    route,
    onCall,
    log: quiet,
  });
  bridges.push(bridge);
  return bridge;
}

beforeEach(async () => {
  standIn = await startAriStandIn();
  standIn.timing.soundDurationMs = 50;
});

afterEach(async () => {
  for (const bridge of bridges.splice(0)) await bridge.stop();
  await standIn.stop();
});

it("ends what a dead replica left: its bridge destroyed, its media leg hung up, its caller told and hung up; a ringing caller answered; a transferred one left connected", async () => {
  const deadCalls: InboundCall[] = [];
  const dead = replica("dead", (call) => void deadCalls.push(call), (dialed) => (dialed === STUCK_NUMBER ? new Promise<never>(() => {}) : ROUTE));
  await dead.ready;

  // A call with the agent: media open, bridged.
  const talking = standIn.placeInboundCall({ exten: AGENT_NUMBER, callerNumber: "+15550001111" });
  await until(() => deadCalls.length === 1);
  const media = await deadCalls[0]!.openMedia({ format: "ulaw", localPort: 40_000 });
  // A call handed to a person (cold transfer): the caller and the destination share the caller's bridge.
  const handedOver = standIn.placeInboundCall({ exten: AGENT_NUMBER, callerNumber: "+15550002222" });
  await until(() => deadCalls.length === 2);
  const handedOverMedia = await deadCalls[1]!.openMedia({ format: "ulaw", localPort: 40_001 });
  expect(await deadCalls[1]!.transfer({ destination: "+14155550100", warm: false })).toMatchObject({ ok: true });
  const transferBridge = standIn.bridges().find((b) => b.channels.includes(handedOver))!;
  const destination = transferBridge.channels.find((id) => id !== handedOver)!;
  // A call still ringing: the dead replica never answered it.
  const ringing = standIn.placeInboundCall({ exten: STUCK_NUMBER, callerNumber: "+15550003333" });

  // Handed over, the call's media leg is hung up by the dead replica before it dies (the request may still be on its
  // way when the transfer answers): the sweep must not race it.
  await until(() => !standIn.channel(handedOverMedia.channelId));
  // The crash: the connection goes, nothing is cleaned up.
  await dead.client.close();
  expect(standIn.channel(talking)).toBeDefined();
  expect(standIn.bridge(media.bridgeId)?.name).toBe(`flowyte/${standIn.app}/dead/call/${talking}`);

  const liveCalls: InboundCall[] = [];
  const live = replica("live", (call) => void liveCalls.push(call));
  await live.ready;
  const from = standIn.requests.length;
  const sweep = await live.sweep();

  expect(sweep).toEqual({ cutOff: [talking], legs: [media.channelId], bridges: [media.bridgeId], answered: [ringing], transferred: [handedOver] });
  // Asterisk destroys a channel just after answering the DELETE.
  await until(() => standIn.channel(talking) === undefined && standIn.channel(media.channelId) === undefined);
  expect(standIn.bridge(media.bridgeId)).toBeUndefined();
  const ops = standIn.requests.slice(from);
  const play = ops.find((r) => r.path === `/channels/${talking}/play`)!;
  expect(play.body).toEqual({ media: ["sound:im-sorry", "sound:please-try-call-later"] });
  expect(ops.find((r) => r.operation === "channels.hangup" && r.path === `/channels/${talking}`)!.at).toBeGreaterThan(play.at);

  await until(() => liveCalls.length === 1);
  expect(liveCalls[0]!.channelId).toBe(ringing);
  expect(standIn.channel(ringing)?.state).toBe("Up");

  // The transferred caller still talks to the person; when the person hangs up, the caller is hung up too.
  expect(standIn.bridge(transferBridge.id)?.channels.sort()).toEqual([handedOver, destination].sort());
  standIn.hangUp(destination);
  await until(() => standIn.channel(handedOver) === undefined && standIn.bridge(transferBridge.id) === undefined);
});

it("leaves alone a call that arrives while it sweeps, and bridges other applications made", async () => {
  const live = replica("live", () => {});
  await live.ready;
  // A bridge that is not this application's (a PBX's own ARI application on the same Asterisk).
  await live.client.bridges.create({ bridgeId: "pbx-bridge", name: "pbx/conference" });
  const arriving = standIn.placeInboundCall({ exten: AGENT_NUMBER });
  const sweep = await live.sweep();
  expect(sweep).toEqual({ cutOff: [], legs: [], bridges: [], answered: [], transferred: [] });
  expect(standIn.bridge("pbx-bridge")).toBeDefined();
  await until(() => standIn.channel(arriving)?.state === "Up");
});
