import { afterEach, beforeEach, describe, expect, it } from "bun:test";
import type { Logger } from "../../../src/platform/log.ts";
import { AriClient, AriError, type ConnectionState } from "../../../voice/ari/index.ts";
import type { AriEvent, StasisStart } from "../../../voice/ari/types.ts";
import { startAriStandIn, type AriStandIn } from "../../support/ari-stand-in.ts";

const quiet: Logger = { debug() {}, info() {}, warn() {}, error() {} };
const fastRetry = { initialDelayMs: 20, maxDelayMs: 100 };

let standIn: AriStandIn;
const clients: AriClient[] = [];

function client(overrides: { password?: string; maxAttempts?: number } = {}) {
  const c = new AriClient(
    { url: standIn.url, username: standIn.username, password: overrides.password ?? standIn.password, app: standIn.app },
    { log: quiet, reconnect: { ...fastRetry, maxAttempts: overrides.maxAttempts ?? Infinity } },
  );
  clients.push(c);
  return c;
}

async function until(condition: () => boolean, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await Bun.sleep(5);
  }
}

async function failure(promise: Promise<unknown>): Promise<AriError> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof AriError) return err;
    throw err;
  }
  throw new Error("expected an AriError");
}

beforeEach(async () => {
  standIn = await startAriStandIn();
});

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  await standIn.stop();
});

describe("AriClient REST", () => {
  it("types REST errors with ARI's status and message (ARI stand-in)", async () => {
    const ari = client();
    const missing = await failure(ari.channels.get("no-such-channel"));
    expect({ status: missing.status, message: missing.message, method: missing.method, path: missing.path }).toEqual({
      status: 404,
      message: "Channel not found",
      method: "GET",
      path: "/channels/no-such-channel",
    });

    // A ringing originated channel is not in the application yet: bridging it is a 422.
    await ari.connect();
    standIn.nextOriginate("no-answer", 5000);
    const ringing = await ari.channels.originate({ endpoint: "PJSIP/+15553334444@trunk", timeout: 30 });
    const bridge = await ari.bridges.create({ name: "early" });
    const early = await failure(ari.bridges.addChannel(bridge.id, [ringing.id]));
    expect([early.status, early.message]).toEqual([422, "Channel not in Stasis application"]);

    const invalid = await failure(ari.channels.originate({ endpoint: "nonsense" }));
    expect([invalid.status, invalid.message]).toEqual([400, "Invalid endpoint specified"]);

    const denied = await failure(client({ password: "wrong" }).asterisk.info());
    expect([denied.status, denied.message]).toEqual([401, "Authentication required"]);
  });

  it("reports an Asterisk that does not answer as status 0 (ARI stand-in)", async () => {
    const url = standIn.url;
    await standIn.stop();
    const ari = new AriClient({ url, username: "u", password: "p", app: "flowyte" }, { log: quiet, requestTimeoutMs: 1000 });
    const err = await failure(ari.asterisk.info());
    expect(err.status).toBe(0);
    standIn = await startAriStandIn();
  });

  it("sends a request again once when the connection is reset before any answer (a kept-alive socket closed while idle)", async () => {
    // A server that resets the first connection as soon as a request arrives, then answers as Asterisk does.
    let connections = 0;
    const server = Bun.listen({
      hostname: "127.0.0.1",
      port: 0,
      socket: {
        data(socket) {
          if (++connections === 1) return void socket.terminate();
          const body = JSON.stringify({ system: { version: "22.10.1" } });
          socket.end(`HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\nconnection: close\r\n\r\n${body}`);
        },
      },
    });
    try {
      const ari = new AriClient({ url: `http://127.0.0.1:${server.port}`, username: "u", password: "p", app: "flowyte" }, { log: quiet, requestTimeoutMs: 5000 });
      expect(await ari.asterisk.info()).toMatchObject({ system: { version: "22.10.1" } });
      expect(connections).toBe(2);
    } finally {
      server.stop(true);
    }
  });

  it("sends the parameters the ARI description names (ARI stand-in)", async () => {
    const ari = client();
    await ari.connect();
    await ari.channels.externalMedia({ externalHost: "127.0.0.1:40000", format: "slin16", channelId: "media-1", data: "flowyte:media" });
    await ari.channels.originate({
      endpoint: "PJSIP/+15553334444@trunk",
      appArgs: "flowyte:transfer",
      callerId: "+15557654321",
      timeout: 20,
      channelId: "leg-1",
      variables: { FLOWYTE_CALL: "abc" },
    });
    await until(() => standIn.isInStasis("leg-1") && standIn.isInStasis("media-1"));
    const playback = await ari.channels.play("leg-1", "sound:hello-world", "pb-1");
    await ari.channels.setVariable("leg-1", "FLOWYTE_NOTE", "x");
    await ari.channels.ring("leg-1");
    await ari.channels.redirect("leg-1", "PJSIP/201");
    await ari.channels.continueInDialplan("leg-1", { context: "flowyte-transfer", extension: "+15553334444", priority: 1 });
    await ari.channels.hangup("media-1", "normal");

    expect(playback).toMatchObject({ id: "pb-1", media_uri: "sound:hello-world", target_uri: "channel:leg-1" });
    const [media, originate, ...rest] = standIn.requests;
    expect(media!.operation).toBe("channels.externalMedia");
    expect(media!.query).toEqual({
      app: "flowyte",
      external_host: "127.0.0.1:40000",
      format: "slin16",
      encapsulation: "rtp",
      transport: "udp",
      direction: "both",
      channelId: "media-1",
      data: "flowyte:media",
    });
    expect(originate!.operation).toBe("channels.originate");
    expect(originate!.query).toEqual({
      endpoint: "PJSIP/+15553334444@trunk",
      app: "flowyte",
      appArgs: "flowyte:transfer",
      callerId: "+15557654321",
      timeout: "20",
      channelId: "leg-1",
    });
    expect(originate!.body).toEqual({ variables: { FLOWYTE_CALL: "abc" } });
    expect(rest.map((r) => [r.operation, r.query])).toEqual([
      ["channels.play", { playbackId: "pb-1" }],
      ["channels.setChannelVar", { variable: "FLOWYTE_NOTE", value: "x" }],
      ["channels.ring", {}],
      ["channels.redirect", { endpoint: "PJSIP/201" }],
      ["channels.continueInDialplan", { context: "flowyte-transfer", extension: "+15553334444", priority: "1" }],
      ["channels.hangup", { reason: "normal" }],
    ]);
    // In the body, so ARI does not split it at commas into several media.
    expect(rest[0]!.body).toEqual({ media: "sound:hello-world" });
  });

  it("answers externalMedia with where to send audio, before the channel is in the application (ARI stand-in)", async () => {
    const ari = client();
    await ari.connect();
    standIn.timing.externalMediaStartDelayMs = 100;
    const started = ari.waitForStasisStart("media-2", { timeoutMs: 2000 });
    const channel = await ari.channels.externalMedia({ externalHost: "127.0.0.1:40002", format: "ulaw", channelId: "media-2" });
    expect(channel.channelvars?.UNICASTRTP_LOCAL_ADDRESS).toBe("127.0.0.1");
    expect(Number(channel.channelvars?.UNICASTRTP_LOCAL_PORT)).toBeGreaterThan(0);
    expect(standIn.isInStasis("media-2")).toBe(false);
    await started;
    expect(standIn.isInStasis("media-2")).toBe(true);
  });

  it("sees the application only while its events WebSocket is connected (ARI stand-in)", async () => {
    const ari = client();
    expect((await failure(ari.applications.get())).status).toBe(404);
    await ari.connect();
    expect((await ari.applications.get()).name).toBe("flowyte");
    expect((await ari.asterisk.info()).system?.version).toContain("22");
    expect(standIn.connections).toEqual([{ app: "flowyte", subscribeAll: "false" }]);

    const plain = await fetch(`${standIn.url}/ari/events?app=flowyte`, {
      headers: { authorization: "Basic " + btoa(`${standIn.username}:${standIn.password}`) },
    });
    expect(plain.status).toBe(426);
  });
});

describe("AriClient events", () => {
  it("dispatches typed events and passes the others through untyped (ARI stand-in)", async () => {
    const ari = client();
    const starts: StasisStart[] = [];
    const all: AriEvent[] = [];
    ari.events.on("StasisStart", (e) => starts.push(e));
    ari.events.onAny((e) => all.push(e));
    await ari.connect();
    const channelId = standIn.placeInboundCall({ exten: "+15557654321", callerNumber: "+15550001111", callerName: "Ada" });
    await until(() => starts.length === 1);
    const start = starts[0]!;
    expect(start.args).toEqual(["+15557654321"]);
    expect(start.channel).toMatchObject({ id: channelId, state: "Ring", caller: { name: "Ada", number: "+15550001111" } });
    expect(start.channel.dialplan).toMatchObject({ context: "from-trunk", exten: "+15557654321", app_name: "Stasis" });
    expect(start.application).toBe("flowyte");
    expect(all.map((e) => e.type)).toContain("ChannelVarset");
  });

  it("keeps dispatching when one listener throws (ARI stand-in)", async () => {
    const ari = client();
    let seen = 0;
    ari.events.on("StasisStart", () => {
      throw new Error("a broken listener");
    });
    ari.events.on("StasisStart", () => seen++);
    await ari.connect();
    standIn.placeInboundCall({ exten: "+15557654321" });
    standIn.placeInboundCall({ exten: "+15557654321" });
    await until(() => seen === 2);
  });

  it("reconnects with backoff and re-registers the application after the WebSocket drops (ARI stand-in)", async () => {
    const ari = client();
    const states: ConnectionState[] = [];
    ari.events.onState((s) => states.push(s));
    const starts: string[] = [];
    ari.events.on("StasisStart", (e) => starts.push(e.channel.id));
    await ari.connect();

    standIn.refuseEventSockets(true);
    standIn.dropEventSockets();
    await until(() => states.at(-1) === "reconnecting");
    expect((await failure(ari.applications.get())).status).toBe(404);
    await Bun.sleep(150);
    standIn.refuseEventSockets(false);
    await until(() => states.at(-1) === "open");

    expect(states[0]).toBe("connecting");
    expect(states.filter((s) => s === "open")).toHaveLength(2);
    expect(standIn.connections.length).toBeGreaterThanOrEqual(2);
    expect(standIn.connections.every((c) => c.app === "flowyte" && c.subscribeAll === "false")).toBe(true);
    expect((await ari.applications.get()).name).toBe("flowyte");
    const channelId = standIn.placeInboundCall({ exten: "+15557654321" });
    await until(() => starts.includes(channelId));
  });

  it("gives up after the configured number of failed attempts (ARI stand-in)", async () => {
    standIn.refuseEventSockets(true);
    const ari = client({ maxAttempts: 2 });
    const err = await ari.connect().then(
      () => null,
      (e: Error) => e,
    );
    expect(err?.message).toBe("ARI event stream gave up after 2 failed attempts");
    expect(ari.events.connectionState).toBe("closed");
  });

  it("stops instead of fighting back when another client takes over the application (ARI stand-in)", async () => {
    const first = client();
    await first.connect();
    const second = client();
    await second.connect();
    await until(() => first.events.connectionState === "closed");
    await Bun.sleep(150);
    expect(standIn.connections).toHaveLength(2);
    expect(second.events.connectionState).toBe("open");
  });

  it("finds a StasisStart missed while reconnecting by looking the channel up (ARI stand-in)", async () => {
    const ari = client();
    await ari.connect();
    standIn.refuseEventSockets(true);
    standIn.dropEventSockets();
    await until(() => ari.events.connectionState === "reconnecting");
    standIn.timing.externalMediaStartDelayMs = 10;
    const started = ari.waitForStasisStart("media-3", { timeoutMs: 3000 });
    await ari.channels.externalMedia({ externalHost: "127.0.0.1:40004", format: "ulaw", channelId: "media-3" });
    await until(() => standIn.isInStasis("media-3"));
    standIn.refuseEventSockets(false);
    await started;
  });
});
