import { afterEach, beforeEach, describe, expect, it } from "bun:test";
import type { Logger } from "../../../src/platform/log.ts";
import { startVoiceBridge, type CallRoute, type InboundCall, type VoiceBridge } from "../../../voice/ari/index.ts";
import { startAriStandIn, type AriStandIn } from "../../support/ari-stand-in.ts";

const AGENT_NUMBER = "+15557654321";
const ROUTE: CallRoute = { organizationId: "org_1", agentId: "agt_1" };

let standIn: AriStandIn;
let bridge: VoiceBridge;
let routed: [string, string][];
let calls: InboundCall[];
let errors: string[];

function start(overrides: { route?: (dialed: string) => CallRoute | null | Promise<CallRoute | null>; dialString?: string } = {}) {
  const log: Logger = { debug() {}, info() {}, warn() {}, error: (msg) => errors.push(msg) };
  bridge = startVoiceBridge({
    ari: { url: standIn.url, username: standIn.username, password: standIn.password, app: standIn.app },
    rtpHost: "127.0.0.1",
    route: (dialed, caller) => {
      routed.push([dialed, caller]);
      return overrides.route ? overrides.route(dialed) : dialed === AGENT_NUMBER ? ROUTE : null;
    },
    onCall: (call) => void calls.push(call),
    log,
    settings: { transferTimeoutMs: 2000, ...(overrides.dialString ? { dialString: overrides.dialString } : {}) },
    reconnect: { initialDelayMs: 20, maxDelayMs: 100 },
  });
  return bridge.ready;
}

async function until(condition: () => boolean, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await Bun.sleep(5);
  }
}

/** Places a call to the agent's number and returns it once the bridge has answered it. */
async function answeredCall(): Promise<InboundCall> {
  const before = calls.length;
  standIn.placeInboundCall({ exten: AGENT_NUMBER, callerNumber: "+15550001111", callerName: "Ada Lovelace" });
  await until(() => calls.length > before);
  return calls.at(-1)!;
}

/** A local UDP socket standing in for the call session's RTP endpoint. */
async function rtpEndpoint() {
  const packets: Uint8Array[] = [];
  const socket = await Bun.udpSocket({
    hostname: "127.0.0.1",
    binaryType: "uint8array",
    socket: { data: (_s, data) => void packets.push(data) },
  });
  return { socket, packets };
}

/** Operations the bridge issued after `from` (an index into the recorded requests). */
function operationsSince(from: number) {
  return standIn.operations().slice(from);
}

beforeEach(async () => {
  standIn = await startAriStandIn();
  routed = [];
  calls = [];
  errors = [];
});

afterEach(async () => {
  await bridge.stop();
  await standIn.stop();
});

describe("inbound calls", () => {
  it("answers a call on an assigned number and hands it over with its caller and dialed number (ARI stand-in)", async () => {
    await start();
    const call = await answeredCall();
    expect({ ...call }).toMatchObject({
      callerNumber: "+15550001111",
      callerName: "Ada Lovelace",
      dialedNumber: AGENT_NUMBER,
      organizationId: "org_1",
      agentId: "agt_1",
    });
    expect(routed).toEqual([[AGENT_NUMBER, "+15550001111"]]);
    expect(standIn.operations()).toEqual(["channels.answer"]);
    expect(standIn.requests[0]!.path).toBe(`/channels/${call.channelId}/answer`);
    await until(() => standIn.channel(call.channelId)?.state === "Up");
  });

  it("reads a national dialed number as E.164, and falls back to the dialplan extension (ARI stand-in)", async () => {
    await start();
    standIn.placeInboundCall({ exten: "5557654321" });
    standIn.placeInboundCall({ exten: AGENT_NUMBER, args: [] });
    await until(() => calls.length === 2);
    expect(calls.map((c) => c.dialedNumber)).toEqual([AGENT_NUMBER, AGENT_NUMBER]);
  });

  it("announces and hangs up a call to a number no agent answers (ARI stand-in)", async () => {
    await start();
    const channelId = standIn.placeInboundCall({ exten: "+15559990000" });
    await until(() => !standIn.channel(channelId));
    expect(calls).toEqual([]);
    expect(standIn.operations()).toEqual(["channels.answer", "channels.play", "channels.hangup"]);
    expect(standIn.requests[1]!.body).toEqual({ media: "sound:ss-noservice" });
  });

  it("treats a failing route lookup like an unassigned number (ARI stand-in)", async () => {
    await start({ route: () => Promise.reject(new Error("database down")) });
    const channelId = standIn.placeInboundCall({ exten: AGENT_NUMBER });
    await until(() => !standIn.channel(channelId));
    expect(standIn.operations()).toEqual(["channels.answer", "channels.play", "channels.hangup"]);
    expect(errors).toContain("routing an inbound call failed");
  });

  it("passes DTMF to the call (ARI stand-in)", async () => {
    await start();
    const call = await answeredCall();
    const digits: [string, number][] = [];
    call.onDtmf((digit, ms) => digits.push([digit, ms]));
    standIn.pressDigit(call.channelId, "5", 140);
    standIn.pressDigit(call.channelId, "#");
    await until(() => digits.length === 2);
    expect(digits).toEqual([["5", 140], ["#", 120]]);
  });
});

describe("openMedia", () => {
  it("issues externalMedia, waits for its StasisStart, then creates the bridge and adds both channels (ARI stand-in)", async () => {
    await start();
    const call = await answeredCall();
    const rtp = await rtpEndpoint();
    standIn.timing.externalMediaStartDelayMs = 150;
    const from = standIn.requests.length;
    const began = performance.now();
    const media = await call.openMedia({ format: "slin16", localPort: rtp.socket.port });

    expect(performance.now() - began).toBeGreaterThanOrEqual(140);
    expect(operationsSince(from)).toEqual(["channels.externalMedia", "bridges.create", "bridges.addChannel"]);
    const [externalMedia, create, add] = standIn.requests.slice(from);
    expect(externalMedia!.query).toMatchObject({ app: "flowyte", external_host: `127.0.0.1:${rtp.socket.port}`, format: "slin16", data: "flowyte:media" });
    expect(create!.query.type).toBe("mixing");
    expect(add!.query.channel).toBe(`${call.channelId},${media.channelId}`);
    expect(standIn.bridge(media.bridgeId)?.channels).toEqual([call.channelId, media.channelId]);
    expect(routed).toHaveLength(1);

    // Audio both ways: the session's RTP reaches Asterisk's end, the caller's reaches the session. Asterisk sends
    // slin16 as payload type 118 but only takes static types back (11: L16 at 8 kHz).
    const standInMedia = standIn.media(media.channelId)!;
    expect(media.remoteAddress).toBe("127.0.0.1");
    expect(media.remotePort).toBe(standInMedia.port);
    rtp.socket.send(new Uint8Array([0x80, 118, 0, 1]), media.remotePort, media.remoteAddress);
    rtp.socket.send(new Uint8Array([0x80, 11, 0, 2]), media.remotePort, media.remoteAddress);
    expect([...(await standInMedia.nextPacket())]).toEqual([0x80, 11, 0, 2]);
    expect(standInMedia.dropped).toBe(1);
    standInMedia.send(new Uint8Array([0x80, 118, 0, 2]));
    await until(() => rtp.packets.length === 1);
    rtp.socket.close();
  });

  it("survives a StasisStart that overtakes the externalMedia answer (ARI stand-in)", async () => {
    await start();
    const call = await answeredCall();
    standIn.timing.externalMediaStartDelayMs = -60;
    const media = await call.openMedia({ format: "ulaw", localPort: 40010 });
    expect(standIn.bridge(media.bridgeId)?.channels).toEqual([call.channelId, media.channelId]);
  });

  it("fires onHangup and cleans up when the caller hangs up mid-call (ARI stand-in)", async () => {
    await start();
    const call = await answeredCall();
    const hangups: (number | null)[] = [];
    call.onHangup(({ cause }) => hangups.push(cause));
    const media = await call.openMedia({ format: "ulaw", localPort: 40012 });
    const from = standIn.requests.length;

    standIn.hangUp(call.channelId, 16);
    await until(() => standIn.bridges().length === 0 && !standIn.channel(media.channelId));
    expect(hangups).toEqual([16]);
    expect(standIn.requests.slice(from).map((r) => `${r.operation} ${r.path}`).sort()).toEqual([
      `bridges.destroy /bridges/${media.bridgeId}`,
      `channels.hangup /channels/${media.channelId}`,
    ]);
    await Bun.sleep(50);
    expect(hangups).toEqual([16]);
    expect(errors).toEqual([]);
  });

  it("hangs up the externalMedia channel when the caller leaves while media is opening (ARI stand-in)", async () => {
    await start();
    const call = await answeredCall();
    standIn.timing.externalMediaStartDelayMs = 200;
    const opening = call.openMedia({ format: "ulaw", localPort: 40014 }).then(
      () => "opened",
      (err: Error) => err.name,
    );
    await until(() => standIn.operations().includes("channels.externalMedia"));
    const mediaId = standIn.requests.find((r) => r.operation === "channels.externalMedia")!.query.channelId!;
    standIn.hangUp(call.channelId);

    expect(await opening).toBe("CallEndedError");
    await until(() => !standIn.channel(mediaId));
    expect(standIn.operations()).not.toContain("bridges.addChannel");
    expect(standIn.bridges()).toEqual([]);
  });
});

describe("transfers", () => {
  it("cold: originates the destination into the app and bridges it with the caller, in that order (ARI stand-in)", async () => {
    await start();
    const call = await answeredCall();
    const media = await call.openMedia({ format: "ulaw", localPort: 40020 });
    const from = standIn.requests.length;

    const result = await call.transfer({ destination: "+15553334444", warm: false });

    expect(result.ok).toBe(true);
    const destination = (result as { channelId: string }).channelId;
    expect(operationsSince(from)).toEqual([
      "bridges.removeChannel",
      "bridges.play",
      "channels.originate",
      "playbacks.stop",
      "bridges.addChannel",
      "channels.hangup",
    ]);
    const [remove, ringback, originate, , add, hangup] = standIn.requests.slice(from);
    expect(remove!.query.channel).toBe(media.channelId);
    // A ringback tone with its cadence, played whole (ARI would split a query `media` at its comma).
    expect(ringback!.body).toEqual({ media: "tone:440+480/2000,0/4000" });
    expect(originate!.query).toMatchObject({
      endpoint: "PJSIP/+15553334444@trunk",
      app: "flowyte",
      appArgs: "flowyte:transfer",
      callerId: AGENT_NUMBER,
      timeout: "2",
      channelId: destination,
    });
    expect(add!.query.channel).toBe(destination);
    expect(hangup!.path).toBe(`/channels/${media.channelId}`);
    expect(standIn.bridge(media.bridgeId)?.channels).toEqual([call.channelId, destination]);
    await until(() => standIn.playbacks().length === 0 && !standIn.channel(media.channelId));
    expect(routed).toHaveLength(1);
  });

  it("warm: briefs the destination through the call's media before bridging the caller (ARI stand-in)", async () => {
    await start();
    const call = await answeredCall();
    const media = await call.openMedia({ format: "ulaw", localPort: 40022 });
    const from = standIn.requests.length;
    const seen: { summary: string; channelId: string; briefingBridge?: string[]; callerBridge?: string[]; ringback: boolean; operations: string[] }[] = [];

    const result = await call.transfer({
      destination: "+15553334444",
      warm: true,
      summary: "Ada wants to move her appointment to Friday.",
      callerIdNumber: "+15550001111",
      briefDestination: async ({ summary, channelId }) => {
        seen.push({
          summary,
          channelId,
          briefingBridge: standIn.bridges().find((b) => b.id !== media.bridgeId)?.channels,
          callerBridge: [...standIn.bridge(media.bridgeId)!.channels],
          ringback: standIn.playbacks().some((p) => p.target_uri === `bridge:${media.bridgeId}` && p.media_uri === "tone:440+480/2000,0/4000" && !p.next_media_uri),
          operations: operationsSince(from),
        });
      },
    });

    expect(result.ok).toBe(true);
    const destination = (result as { channelId: string }).channelId;
    expect(seen).toEqual([
      {
        summary: "Ada wants to move her appointment to Friday.",
        channelId: destination,
        briefingBridge: [destination, media.channelId],
        callerBridge: [call.channelId],
        ringback: true,
        operations: ["bridges.removeChannel", "bridges.play", "channels.originate", "bridges.create", "bridges.addChannel"],
      },
    ]);
    expect(operationsSince(from).slice(5)).toEqual(["bridges.destroy", "playbacks.stop", "bridges.addChannel", "channels.hangup"]);
    expect(standIn.requests.find((r) => r.operation === "channels.originate")!.query.callerId).toBe("+15550001111");
    expect(standIn.bridges().map((b) => b.channels)).toEqual([[call.channelId, destination]]);
  });

  for (const [outcome, reason, cause] of [
    ["no-answer", "no_answer", 19],
    ["busy", "busy", 17],
    ["reject", "rejected", 21],
  ] as const) {
    it(`reports ${reason} and gives the caller back to the agent without hanging up (ARI stand-in)`, async () => {
      await start();
      const call = await answeredCall();
      const media = await call.openMedia({ format: "ulaw", localPort: 40024 });
      standIn.nextOriginate(outcome, 60);
      const from = standIn.requests.length;

      const result = await call.transfer({ destination: "+15553334444", warm: false });

      expect(result).toEqual({ ok: false, reason, cause });
      expect(operationsSince(from)).toEqual([
        "bridges.removeChannel",
        "bridges.play",
        "channels.originate",
        "playbacks.stop",
        "bridges.addChannel",
      ]);
      expect(standIn.requests.at(-1)!.query.channel).toBe(media.channelId);
      expect(standIn.bridge(media.bridgeId)?.channels).toEqual([call.channelId, media.channelId]);
      expect(standIn.channel(call.channelId)?.state).toBe("Up");
      await until(() => standIn.playbacks().length === 0);
    });
  }

  it("reads busy from the Dial event when a Local dial string hides the cause (ARI stand-in)", async () => {
    await start({ dialString: "Local/{number}@flowyte-transfer" });
    const call = await answeredCall();
    standIn.nextOriginate("busy", 30);
    expect(await call.transfer({ destination: "+15553334444", warm: false })).toEqual({ ok: false, reason: "busy" });
    expect(standIn.requests.find((r) => r.operation === "channels.originate")!.query.endpoint).toBe("Local/+15553334444@flowyte-transfer");
  });

  it("reports a destination that hangs up during the briefing as rejected and gives the caller back (ARI stand-in)", async () => {
    await start();
    const call = await answeredCall();
    const media = await call.openMedia({ format: "ulaw", localPort: 40026 });
    let aborted = false;

    const result = await call.transfer({
      destination: "+15553334444",
      warm: true,
      summary: "…",
      briefDestination: ({ channelId, signal }) =>
        new Promise<void>((resolve) => {
          signal.addEventListener("abort", () => {
            aborted = true;
            resolve();
          });
          standIn.hangUp(channelId, 16);
        }),
    });

    expect(result).toEqual({ ok: false, reason: "rejected" });
    expect(aborted).toBe(true);
    expect(standIn.bridges().map((b) => b.channels)).toEqual([[call.channelId, media.channelId]]);
  });

  it("refuses a destination that is not a number without dialing anything (ARI stand-in)", async () => {
    await start();
    const call = await answeredCall();
    const from = standIn.requests.length;
    expect(await call.transfer({ destination: "123&PJSIP/evil", warm: false })).toEqual({ ok: false, reason: "invalid_destination" });
    expect(operationsSince(from)).toEqual([]);
  });

  it("hangs up the ringing destination when the caller hangs up first (ARI stand-in)", async () => {
    await start();
    const call = await answeredCall();
    await call.openMedia({ format: "ulaw", localPort: 40028 });
    standIn.nextOriginate("answer", 1000);
    const transfer = call.transfer({ destination: "+15553334444", warm: false });
    await until(() => standIn.operations().includes("channels.originate"));
    const destination = standIn.requests.find((r) => r.operation === "channels.originate")!.query.channelId!;
    standIn.hangUp(call.channelId);

    expect(await transfer).toEqual({ ok: false, reason: "caller_hung_up" });
    await until(() => !standIn.channel(destination) && standIn.bridges().length === 0);
  });

  it("reports caller_hung_up, with no unhandled rejection, when the caller hangs up while ARI requests are still out (slow ARI stand-in)", async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => void unhandled.push(reason);
    process.on("unhandledRejection", onUnhandled);
    try {
      await start();
      // Hung up while the media's externalMedia request is out…
      standIn.timing.requestDelayMs["channels.externalMedia"] = 300;
      const first = await answeredCall();
      const opening = first.openMedia({ format: "ulaw", localPort: 40030 }).then(
        () => null,
        (err: Error) => err.name,
      );
      await until(() => standIn.operations().includes("channels.externalMedia"));
      standIn.hangUp(first.channelId);
      expect(await opening).toBe("CallEndedError");
      delete standIn.timing.requestDelayMs["channels.externalMedia"];
      // …and while a transfer's originate request is out.
      const second = await answeredCall();
      await second.openMedia({ format: "ulaw", localPort: 40031 });
      standIn.timing.requestDelayMs["channels.originate"] = 300;
      const transfer = second.transfer({ destination: "+15553334444", warm: true, briefDestination: async () => {} });
      await until(() => standIn.operations().includes("channels.originate"));
      standIn.hangUp(second.channelId);
      expect(await transfer).toEqual({ ok: false, reason: "caller_hung_up" });
      await until(() => standIn.bridges().length === 0);
      await Bun.sleep(0);
      expect(unhandled).toEqual([]);
    } finally {
      process.off("unhandledRejection", onUnhandled);
    }
  });

  it("ends the call when the person it was transferred to hangs up (ARI stand-in)", async () => {
    await start();
    const call = await answeredCall();
    const hangups: (number | null)[] = [];
    call.onHangup(({ cause }) => hangups.push(cause));
    const result = await call.transfer({ destination: "+15553334444", warm: false });
    expect(result.ok).toBe(true);

    standIn.hangUp((result as { channelId: string }).channelId);
    await until(() => !standIn.channel(call.channelId) && standIn.bridges().length === 0);
    expect(hangups).toHaveLength(1);
  });
});

describe("the bridge's lifecycle", () => {
  it("ends a call whose caller left while the events WebSocket was down (ARI stand-in)", async () => {
    await start();
    const call = await answeredCall();
    const hangups: (number | null)[] = [];
    call.onHangup(({ cause }) => hangups.push(cause));
    standIn.refuseEventSockets(true);
    standIn.dropEventSockets();
    await until(() => bridge.client.events.connectionState === "reconnecting");
    standIn.hangUp(call.channelId);
    standIn.refuseEventSockets(false);
    await until(() => hangups.length === 1);
    expect(hangups).toEqual([null]);
  });

  it("hangs up the calls it is handling when stopped (ARI stand-in)", async () => {
    await start();
    const call = await answeredCall();
    await bridge.stop();
    expect(standIn.requests.at(-1)).toMatchObject({ operation: "channels.hangup", path: `/channels/${call.channelId}` });
  });
});
