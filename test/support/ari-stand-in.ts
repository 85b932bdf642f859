// ARI stand-in: an HTTP + WebSocket server following Asterisk's published ARI description (Swagger 1.1 in
// shared/reference/asterisk-ari: channels, bridges, playbacks, applications, asterisk, events), its JSON shapes
// and error messages, and what a real Asterisk 22 did on loopback (shared STACK-NOTES):
// - basic auth or api_key; a plain GET on /ari/events answers 426; a Stasis application exists only while an
//   events WebSocket for it is connected, and a second socket for the same name replaces the first;
// - externalMedia answers with channelvars UNICASTRTP_LOCAL_ADDRESS/PORT (a real UDP socket here, relayed to the
//   test, which drops dynamic payload types as Asterisk does) and emits the channel's StasisStart a little AFTER
//   answering; bridging it before then is a 422;
// - originate rings, then answers into the application (StasisStart with appArgs) or ends with a Q.850 cause
//   (cause 0 for a refused Local channel, whose Dial event alone says BUSY);
// - a query `media` is split at commas into several media (a JSON body `media` is kept whole, or is an array);
//   several media are one playback, PlaybackFinished after the last;
// - the media channel's RTP is what real Asterisk sends: ulaw as payload type 0 (160 bytes, timestamp step 160),
//   slin16 as payload type 118 (640 bytes of big-endian 16-bit samples, step 320), every 20 ms while there is
//   audio and nothing in between, one SSRC; `say` sends the caller's audio so, and `loopBack` makes the far end
//   send the agent's own audio back (a misconfigured SBC or PBX), delayed and attenuated, mixed with the caller;
// - GET .../variable answers CHANNEL(audionativeformat) as Asterisk writes it ("(g722)"), from the trunk leg's codec;
// - hangups emit ChannelHangupRequest, ChannelLeftBridge, StasisEnd and ChannelDestroyed; noise (ChannelVarset,
//   Dial) is mixed in as Asterisk does;
// - channels and bridges outlive the events WebSocket of their application: when it closes they stay (in Stasis,
//   in their bridges) and the next socket for the name gets their events; GET /channels and GET /bridges list all.
// It is not Asterisk: no SIP, no dialplan, no mixing of audio. Tests drive the far end through its methods.
import type { Server, ServerWebSocket, udp } from "bun";

export interface RecordedRequest {
  /** ARI's nickname for the operation, e.g. "channels.externalMedia", "bridges.addChannel". */
  operation: string;
  method: string;
  path: string;
  query: Record<string, string>;
  body: unknown;
  /** performance.now() when the request arrived. */
  at: number;
}

export type OriginateOutcome = "answer" | "busy" | "reject" | "no-answer";

export interface StandInMedia {
  channelId: string;
  format: string;
  /** Where the bridge asked for the caller's audio (host:port). */
  externalHost: string;
  /** Asterisk's end, as given in UNICASTRTP_LOCAL_PORT. */
  port: number;
  received: Uint8Array[];
  /**
   * Packets Asterisk would drop: it maps only static payload types (0–95, e.g. 0 ulaw, 8 alaw, 11 L16 8 kHz) on
   * what reaches an externalMedia channel, so slin16's own 118 coming back is silently lost (seen on Asterisk 22).
   */
  dropped: number;
  /** The next packet the bridge sends to Asterisk's end. */
  nextPacket(timeoutMs?: number): Promise<Uint8Array>;
  /** Sends a packet to externalHost, as Asterisk sends the caller's audio. */
  send(packet: Uint8Array): void;
  /**
   * The caller's audio (16-bit samples at the channel's rate: 8 kHz for ulaw, 16 kHz for slin16) as Asterisk sends
   * it, 20 ms a packet in real time, mixed with any looped-back audio; resolves once the last packet is sent.
   */
  say(samples: Int16Array): Promise<void>;
  /**
   * From now on the far end sends back what the bridge sends it, `delayMs` later, scaled by `gain`, re-encoded in the
   * channel's format (µ-law twice over on a ulaw call); null stops it. `looped` counts the packets sent back.
   */
  loopBack(options: { delayMs: number; gain: number } | null): void;
  readonly looped: number;
}

export interface AriStandIn {
  /** Like ARI_URL: http://127.0.0.1:<port> (ARI itself under /ari). */
  url: string;
  username: string;
  password: string;
  app: string;
  requests: RecordedRequest[];
  /** Tunables tests may change at any time. */
  timing: {
    /** StasisStart of an externalMedia channel this long after answering; negative: that long before. */
    externalMediaStartDelayMs: number;
    /** How long each sound: of a playback lasts (tone: plays until stopped). */
    soundDurationMs: number;
    /** A slow Asterisk: requests of these operations (e.g. `channels.originate`) take this long before they are handled. */
    requestDelayMs: Record<string, number>;
  };
  /** Operations recorded so far, in order. */
  operations(): string[];
  channel(id: string): ChannelJson | undefined;
  isInStasis(id: string): boolean;
  bridge(id: string): BridgeJson | undefined;
  bridges(): BridgeJson[];
  playbacks(): PlaybackJson[];
  media(channelId: string): StandInMedia | undefined;
  /** Events WebSockets accepted so far, with their query. */
  connections: { app: string; subscribeAll: string | null }[];
  /** A call from the trunk reaching Stasis(app,<args>) — args default to [exten], as extensions.conf passes them. */
  /** `nativeFormat`: the codec the caller's trunk leg negotiated (ulaw unless given, e.g. g722 or opus). */
  placeInboundCall(call: { exten: string; callerNumber?: string; callerName?: string; args?: string[]; nativeFormat?: string }): string;
  /** The far end of a channel hangs up. */
  hangUp(channelId: string, cause?: number): void;
  pressDigit(channelId: string, digit: string, durationMs?: number): void;
  /** How the next originated channel behaves (default: answers after 20 ms). */
  nextOriginate(outcome: OriginateOutcome, afterMs?: number): void;
  /** Closes every events WebSocket, as a restart of Asterisk or a network cut would. */
  dropEventSockets(): void;
  /** Refuse (503) events WebSocket upgrades until set back to false. */
  refuseEventSockets(refuse: boolean): void;
  stop(): Promise<void>;
}

export interface ChannelJson {
  id: string;
  name: string;
  state: string;
  protocol_id: string;
  caller: { name: string; number: string };
  connected: { name: string; number: string };
  accountcode: string;
  dialplan: { context: string; exten: string; priority: number; app_name: string; app_data: string };
  creationtime: string;
  language: string;
  channelvars?: Record<string, string>;
}

export interface BridgeJson {
  id: string;
  technology: string;
  bridge_type: string;
  bridge_class: string;
  creator: string;
  name: string;
  channels: string[];
  creationtime: string;
  video_mode: string;
}

export interface PlaybackJson {
  id: string;
  media_uri: string;
  /** Set when a query `media` was split at commas into several. */
  next_media_uri?: string;
  target_uri: string;
  language: string;
  state: string;
}

interface SimChannel {
  json: ChannelJson;
  /** The application it belongs to (entered, or subscribed by originate). */
  app: string;
  inStasis: boolean;
  bridgeId: string | null;
  timers: Set<ReturnType<typeof setTimeout>>;
  media?: StandInMedia & { socket: udp.Socket<"uint8array">; close(): void };
  /** What CHANNEL(audionativeformat) names: the trunk leg's codec, or the externalMedia channel's format. */
  nativeFormat: string;
  variables: Map<string, string>;
}

interface SocketData {
  app: string;
}

const ASTERISK_ID = "02:42:ac:11:00:02";
const KNOWN_FORMATS = new Set(["ulaw", "alaw", "slin", "slin16", "slin48", "g722", "gsm", "opus"]);
const HANGUP_REASONS = new Set(["normal", "busy", "congestion", "no_answer", "timeout", "rejected", "unallocated", "normal_unspecified", "number_incomplete", "codec_mismatch", "interworking", "failure", "answered_elsewhere"]);
const CAUSE_TEXT: Record<number, string> = { 0: "Unknown", 16: "Normal Clearing", 17: "User busy", 19: "User alerting, no answer", 21: "Call Rejected" };

/**
 * The settings that send a server's calls to `standIn`: its ARI address, credentials and application, and call audio
 * on 127.0.0.1 at the UDP ports from `rtpBase` to `rtpBase + rtpPorts`.
 */
export function ariStandInEnv(standIn: Pick<AriStandIn, "url" | "username" | "password" | "app">, rtpBase: number, rtpPorts: number): Record<string, string> {
  return {
    ARI_URL: standIn.url,
    ARI_USERNAME: standIn.username,
    ARI_PASSWORD: standIn.password,
    ARI_APP: standIn.app,
    RTP_HOST: "127.0.0.1",
    RTP_PORT_MIN: String(rtpBase),
    RTP_PORT_MAX: String(rtpBase + rtpPorts),
  };
}

export async function startAriStandIn(options: { username?: string; password?: string; app?: string } = {}): Promise<AriStandIn> {
  const username = options.username ?? "flowyte";
  const password = options.password ?? "stand-in-secret";
  const app = options.app ?? "flowyte";
  const requests: RecordedRequest[] = [];
  const connections: { app: string; subscribeAll: string | null }[] = [];
  const sockets = new Set<ServerWebSocket<SocketData>>();
  const channels = new Map<string, SimChannel>();
  const bridges = new Map<string, BridgeJson>();
  const playbacks = new Map<string, { json: PlaybackJson; app: string; timer?: ReturnType<typeof setTimeout> }>();
  const outcomes: { outcome: OriginateOutcome; afterMs: number }[] = [];
  const timing = { externalMediaStartDelayMs: 30, soundDurationMs: 40, requestDelayMs: {} as Record<string, number> };
  let refusing = false;
  let sequence = 0;

  const now = () => new Date().toISOString().replace("Z", "+0000");
  const nextId = () => `${Math.floor(Date.now() / 1000)}.${++sequence}`;
  const registered = (name: string) => [...sockets].some((s) => s.data.app === name);

  function emit(appName: string, event: Record<string, unknown>) {
    const text = JSON.stringify({ ...event, timestamp: now(), asterisk_id: ASTERISK_ID, application: appName });
    for (const socket of sockets) if (socket.data.app === appName) socket.send(text);
  }

  function later(sim: SimChannel, ms: number, fn: () => void) {
    const timer = setTimeout(() => {
      sim.timers.delete(timer);
      fn();
    }, ms);
    sim.timers.add(timer);
  }

  function newChannel(name: string, appName: string, fields: Partial<ChannelJson> = {}): SimChannel {
    const id = fields.id ?? nextId();
    const json: ChannelJson = {
      name,
      state: "Down",
      protocol_id: "",
      caller: { name: "", number: "" },
      connected: { name: "", number: "" },
      accountcode: "",
      dialplan: { context: "default", exten: "s", priority: 1, app_name: "", app_data: "" },
      creationtime: now(),
      language: "en",
      ...fields,
      // After the spread: an originate without channelId passes id: undefined.
      id,
    };
    const sim: SimChannel = { json, app: appName, inStasis: false, bridgeId: null, timers: new Set(), nativeFormat: "ulaw", variables: new Map() };
    channels.set(id, sim);
    return sim;
  }

  function enterStasis(sim: SimChannel, args: string[]) {
    sim.inStasis = true;
    sim.json.dialplan = { ...sim.json.dialplan, app_name: "Stasis", app_data: [sim.app, ...args].join(",") };
    emit(sim.app, { type: "StasisStart", args, channel: sim.json });
    emit(sim.app, { type: "ChannelVarset", variable: "STASISSTATUS", value: "", channel: sim.json });
  }

  function setState(sim: SimChannel, state: string) {
    sim.json.state = state;
    emit(sim.app, { type: "ChannelStateChange", channel: sim.json });
  }

  function leaveBridge(sim: SimChannel) {
    const bridge = sim.bridgeId ? bridges.get(sim.bridgeId) : undefined;
    sim.bridgeId = null;
    if (!bridge) return;
    bridge.channels = bridge.channels.filter((id) => id !== sim.json.id);
    emit(sim.app, { type: "ChannelLeftBridge", bridge, channel: sim.json });
  }

  function finishPlayback(id: string) {
    const playback = playbacks.get(id);
    if (!playback) return;
    clearTimeout(playback.timer);
    playbacks.delete(id);
    playback.json.state = "done";
    emit(playback.app, { type: "PlaybackFinished", playback: playback.json });
  }

  function destroy(sim: SimChannel, cause: number, soft: boolean) {
    if (!channels.has(sim.json.id)) return;
    for (const timer of sim.timers) clearTimeout(timer);
    emit(sim.app, { type: "ChannelHangupRequest", cause, ...(soft ? { soft: true } : {}), channel: sim.json });
    leaveBridge(sim);
    for (const [id, playback] of playbacks) if (playback.json.target_uri === `channel:${sim.json.id}`) finishPlayback(id);
    if (sim.inStasis) emit(sim.app, { type: "StasisEnd", channel: sim.json });
    sim.inStasis = false;
    channels.delete(sim.json.id);
    emit(sim.app, { type: "ChannelDestroyed", cause, cause_txt: CAUSE_TEXT[cause] ?? "Unknown", channel: sim.json });
    sim.media?.close();
  }

  function startPlayback(appName: string, media: string[], target: string, playbackId: string | undefined): PlaybackJson {
    const json: PlaybackJson = {
      id: playbackId ?? crypto.randomUUID(),
      media_uri: media[0]!,
      ...(media[1] ? { next_media_uri: media[1] } : {}),
      target_uri: target,
      language: "en",
      state: "playing",
    };
    const entry: { json: PlaybackJson; app: string; timer?: ReturnType<typeof setTimeout> } = { json, app: appName };
    playbacks.set(json.id, entry);
    setTimeout(() => emit(appName, { type: "PlaybackStarted", playback: json }), 1);
    if (!media[0]!.startsWith("tone:")) entry.timer = setTimeout(() => finishPlayback(json.id), timing.soundDurationMs * media.length);
    return json;
  }

  async function openMedia(sim: SimChannel, externalHost: string, format: string): Promise<StandInMedia & { socket: udp.Socket<"uint8array">; close(): void }> {
    const [host, portText] = [externalHost.slice(0, externalHost.lastIndexOf(":")), externalHost.slice(externalHost.lastIndexOf(":") + 1)];
    const received: Uint8Array[] = [];
    const waiting: ((packet: Uint8Array) => void)[] = [];
    let dropped = 0;
    let loop: { delayMs: number; gain: number } | null = null;
    let looped = 0;
    const line = new CallerLine(format, (packet) => socket.send(packet, Number(portText), host));
    const socket = await Bun.udpSocket({
      hostname: "127.0.0.1",
      binaryType: "uint8array",
      socket: {
        data(_socket, data) {
          if ((data[1]! & 0x7f) > 95) return void dropped++;
          if (loop) {
            line.echo(data, loop.delayMs, loop.gain);
            looped++;
          }
          const waiter = waiting.shift();
          if (waiter) waiter(data);
          else received.push(data);
        },
        // The far end's port closed (its process died: ICMP port unreachable): Asterisk goes on sending RTP
        // regardless, and so does this socket, quietly.
        error() {},
      },
    });
    return {
      channelId: sim.json.id,
      format,
      externalHost,
      port: socket.port,
      received,
      get dropped() {
        return dropped;
      },
      get looped() {
        return looped;
      },
      socket,
      nextPacket(timeoutMs = 2000) {
        const queued = received.shift();
        if (queued) return Promise.resolve(queued);
        return new Promise((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error("no RTP reached the stand-in's externalMedia socket")), timeoutMs);
          waiting.push((packet) => {
            clearTimeout(timer);
            resolve(packet);
          });
        });
      },
      send(packet) {
        socket.send(packet, Number(portText), host);
      },
      say: (samples) => line.say(samples),
      loopBack(options) {
        loop = options;
      },
      close() {
        line.stop();
        socket.close();
      },
    };
  }

  // ---- REST ----------------------------------------------------------------------------------------------

  type Reply = Response | Promise<Response>;
  const json = (status: number, body?: unknown) =>
    body === undefined ? new Response(null, { status }) : Response.json(body, { status });
  const error = (status: number, message: string) => Response.json({ message }, { status });

  /** ARI reads `media` from the JSON body as one value, but splits a query `media` at commas into several. */
  function mediaOf(q: URLSearchParams, body: unknown): string[] {
    const fromBody = (body as { media?: unknown } | null)?.media;
    if (typeof fromBody === "string") return [fromBody];
    if (Array.isArray(fromBody)) return fromBody.filter((m): m is string => typeof m === "string");
    return (q.get("media") ?? "").split(",").filter(Boolean);
  }

  function channelIn(id: string): SimChannel | Response {
    const sim = channels.get(id);
    if (!sim) return error(404, "Channel not found");
    if (!sim.inStasis) return error(409, "Channel not in a Stasis application");
    return sim;
  }

  const routes: [method: string, pattern: RegExp, operation: string, handle: (m: string[], q: URLSearchParams, body: unknown) => Reply][] = [
    ["GET", /^\/asterisk\/info$/, "asterisk.getInfo", () =>
      json(200, {
        build: { os: "Linux", kernel: "6.1.0", options: "", machine: "x86_64", date: "2026-11-22 00:00:00 UTC", user: "stand-in" },
        system: { version: "22.0.0 (ARI stand-in)", entity_id: ASTERISK_ID },
        config: { name: "", default_language: "en", setid: { user: "asterisk", group: "asterisk" } },
        status: { startup_time: now(), last_reload_time: now() },
      }),
    ],
    ["GET", /^\/applications\/([^/]+)$/, "applications.get", (m) => {
      const name = decodeURIComponent(m[1]!);
      if (!registered(name)) return error(404, "Application does not exist.");
      const ids = [...channels.values()].filter((c) => c.app === name && c.inStasis).map((c) => c.json.id);
      return json(200, { name, channel_ids: ids, bridge_ids: [...bridges.keys()], endpoint_ids: [], device_names: [], events_allowed: [], events_disallowed: [] });
    }],
    ["POST", /^\/channels\/externalMedia$/, "channels.externalMedia", async (_m, q, body) => {
      const appName = q.get("app");
      if (!appName) return error(400, "app cannot be empty");
      const encapsulation = q.get("encapsulation") ?? "rtp";
      const transport = q.get("transport") ?? "udp";
      if (encapsulation === "rtp" && transport !== "udp") return error(400, "transport must be 'udp' for rtp encapsulation");
      const externalHost = q.get("external_host");
      if (!externalHost) return error(400, "external_host is required for all but websocket server connections");
      if (!/^[^:]+:\d+$/.test(externalHost)) return error(400, "external_host must be <host>:<port> for all transports other than websocket");
      const format = q.get("format");
      if (!format) return error(400, "format cannot be empty");
      const direction = q.get("direction");
      if (direction && !["both", "in", "out"].includes(direction)) return error(400, "Invalid direction specified");
      if (!KNOWN_FORMATS.has(format)) return error(500, "An internal error prevented this request from being handled");
      const channelId = q.get("channelId") ?? undefined;
      if (channelId && channels.has(channelId)) return error(409, "Channel with given unique ID already exists");
      const sim = newChannel(`UnicastRTP/${externalHost}-0x${(++sequence).toString(16).padStart(12, "0")}`, appName, { id: channelId, state: "Up" });
      sim.nativeFormat = format;
      sim.media = await openMedia(sim, externalHost, format);
      const vars = (body as { variables?: Record<string, string> } | null)?.variables ?? {};
      const answer = { ...sim.json, channelvars: { ...vars, UNICASTRTP_LOCAL_ADDRESS: "127.0.0.1", UNICASTRTP_LOCAL_PORT: String(sim.media.port) } };
      const args = q.get("data") ? [q.get("data")!] : [];
      const delay = timing.externalMediaStartDelayMs;
      if (delay >= 0) {
        later(sim, delay, () => enterStasis(sim, args));
        return json(200, answer);
      }
      enterStasis(sim, args);
      await Bun.sleep(-delay);
      return json(200, answer);
    }],
    ["POST", /^\/channels$/, "channels.originate", (_m, q) => {
      const endpoint = q.get("endpoint");
      if (!endpoint) return error(400, "Endpoint must be specified");
      const appName = q.get("app");
      if (!appName) return error(400, "Application or extension must be specified");
      const [tech, resource] = [endpoint.slice(0, endpoint.indexOf("/")), endpoint.slice(endpoint.indexOf("/") + 1)];
      if (!tech || !resource || !endpoint.includes("/")) return error(400, "Invalid endpoint specified");
      const channelId = q.get("channelId") ?? undefined;
      if (channelId && channels.has(channelId)) return error(409, "Channel with given unique ID already exists");
      const peer = resource.includes("@") ? resource.slice(resource.indexOf("@") + 1) : resource;
      const callerId = q.get("callerId") ?? "";
      const number = /<([^>]*)>/.exec(callerId)?.[1] ?? callerId;
      const sim = newChannel(`${tech}/${peer}-${(++sequence).toString(16).padStart(8, "0")}`, appName, {
        id: channelId,
        caller: { name: "", number },
        connected: { name: "", number },
      });
      const args = q.get("appArgs") ? q.get("appArgs")!.split(",") : [];
      const timeoutMs = Number(q.get("timeout") ?? 30) * 1000;
      const { outcome, afterMs } = outcomes.shift() ?? { outcome: "answer" as const, afterMs: 20 };
      const dial = (dialstatus: string) => emit(appName, { type: "Dial", peer: sim.json, dialstring: resource, dialstatus });
      setTimeout(() => {
        dial("");
        setState(sim, "Ringing");
      }, 1);
      const cause = { busy: 17, reject: 21, "no-answer": 19, answer: 0 }[outcome];
      later(sim, outcome === "no-answer" ? Math.min(afterMs, timeoutMs) : afterMs, () => {
        if (outcome === "answer") {
          dial("ANSWER");
          setState(sim, "Up");
          return enterStasis(sim, args);
        }
        dial(outcome === "busy" ? "BUSY" : outcome === "reject" ? "CONGESTION" : "NOANSWER");
        // A real Asterisk 22 destroys a refused Local ;1 leg with cause 0: only the Dial event says why.
        destroy(sim, tech === "Local" && outcome !== "no-answer" ? 0 : cause, false);
      });
      return json(200, sim.json);
    }],
    ["GET", /^\/channels$/, "channels.list", () => json(200, [...channels.values()].map((c) => c.json))],
    ["GET", /^\/channels\/([^/]+)$/, "channels.get", (m) => {
      const sim = channels.get(decodeURIComponent(m[1]!));
      return sim ? json(200, sim.json) : error(404, "Channel not found");
    }],
    ["DELETE", /^\/channels\/([^/]+)$/, "channels.hangup", (m, q) => {
      const sim = channels.get(decodeURIComponent(m[1]!));
      if (!sim) return error(404, "Channel not found");
      const reason = q.get("reason");
      if (reason && !HANGUP_REASONS.has(reason)) return error(400, "Invalid reason for hangup provided");
      setTimeout(() => destroy(sim, reason === "busy" ? 17 : 16, true), 1);
      return json(204);
    }],
    ["POST", /^\/channels\/([^/]+)\/answer$/, "channels.answer", (m) => {
      const sim = channelIn(decodeURIComponent(m[1]!));
      if (sim instanceof Response) return sim;
      if (sim.json.state !== "Up") setTimeout(() => setState(sim, "Up"), 1);
      return json(204);
    }],
    ["POST", /^\/channels\/([^/]+)\/ring$/, "channels.ring", (m) => {
      const sim = channelIn(decodeURIComponent(m[1]!));
      return sim instanceof Response ? sim : json(204);
    }],
    ["POST", /^\/channels\/([^/]+)\/continue$/, "channels.continueInDialplan", (m) => {
      const sim = channelIn(decodeURIComponent(m[1]!));
      if (sim instanceof Response) return sim;
      sim.inStasis = false;
      setTimeout(() => emit(sim.app, { type: "StasisEnd", channel: sim.json }), 1);
      return json(204);
    }],
    ["POST", /^\/channels\/([^/]+)\/redirect$/, "channels.redirect", (m, q) => {
      if (!q.get("endpoint")) return error(400, "Endpoint parameter not provided");
      const sim = channelIn(decodeURIComponent(m[1]!));
      return sim instanceof Response ? sim : json(204);
    }],
    ["GET", /^\/channels\/([^/]+)\/variable$/, "channels.getChannelVar", (m, q) => {
      const variable = q.get("variable");
      if (!variable) return error(400, "Variable name is required");
      const sim = channelIn(decodeURIComponent(m[1]!));
      if (sim instanceof Response) return sim;
      // ast_format_cap_get_names writes a channel's codecs as "(g722|ulaw)".
      const value = variable === "CHANNEL(audionativeformat)" ? `(${sim.nativeFormat})` : sim.variables.get(variable);
      return value === undefined ? error(404, "Provided variable was not found") : json(200, { value });
    }],
    ["POST", /^\/channels\/([^/]+)\/variable$/, "channels.setChannelVar", (m, q) => {
      const variable = q.get("variable");
      if (!variable) return error(400, "Variable name is required");
      const sim = channelIn(decodeURIComponent(m[1]!));
      if (sim instanceof Response) return sim;
      sim.variables.set(variable, q.get("value") ?? "");
      setTimeout(() => emit(sim.app, { type: "ChannelVarset", variable, value: q.get("value") ?? "", channel: sim.json }), 1);
      return json(204);
    }],
    ["POST", /^\/channels\/([^/]+)\/play$/, "channels.play", (m, q, body) => {
      const sim = channelIn(decodeURIComponent(m[1]!));
      if (sim instanceof Response) return sim;
      const media = mediaOf(q, body);
      if (!media.length) return error(400, "Missing parameter media");
      return json(201, startPlayback(sim.app, media, `channel:${sim.json.id}`, q.get("playbackId") ?? undefined));
    }],
    ["GET", /^\/bridges$/, "bridges.list", () => json(200, [...bridges.values()])],
    ["POST", /^\/bridges$/, "bridges.create", (_m, q) => {
      const id = q.get("bridgeId") ?? crypto.randomUUID();
      if (bridges.has(id)) return error(409, `Bridge with id '${id}' already exists`);
      const type = q.get("type") ?? "mixing";
      const bridge: BridgeJson = {
        id,
        technology: "simple_bridge",
        bridge_type: type.includes("holding") ? "holding" : "mixing",
        bridge_class: "stasis",
        creator: "Stasis",
        name: q.get("name") ?? "",
        channels: [],
        creationtime: now(),
        video_mode: "none",
      };
      bridges.set(id, bridge);
      setTimeout(() => emit(app, { type: "BridgeCreated", bridge }), 1);
      return json(200, bridge);
    }],
    ["POST", /^\/bridges\/([^/]+)\/addChannel$/, "bridges.addChannel", (m, q) => {
      const bridge = bridges.get(decodeURIComponent(m[1]!));
      if (!bridge) return error(404, "Bridge not found");
      const ids = (q.get("channel") ?? "").split(",").filter(Boolean);
      if (!ids.length) return error(400, "Missing parameter channel");
      const sims: SimChannel[] = [];
      for (const id of ids) {
        const sim = channels.get(id);
        if (!sim) return error(400, "Channel not found");
        if (!sim.inStasis) return error(422, "Channel not in Stasis application");
        sims.push(sim);
      }
      for (const sim of sims) {
        if (sim.bridgeId === bridge.id) continue;
        leaveBridge(sim);
        sim.bridgeId = bridge.id;
        bridge.channels.push(sim.json.id);
        emit(sim.app, { type: "ChannelEnteredBridge", bridge, channel: sim.json });
      }
      bridge.technology = bridge.channels.length > 2 ? "softmix" : "simple_bridge";
      return json(204);
    }],
    ["POST", /^\/bridges\/([^/]+)\/removeChannel$/, "bridges.removeChannel", (m, q) => {
      const bridge = bridges.get(decodeURIComponent(m[1]!));
      if (!bridge) return error(404, "Bridge not found");
      const ids = (q.get("channel") ?? "").split(",").filter(Boolean);
      if (!ids.length) return error(400, "Missing parameter channel");
      for (const id of ids) {
        if (!channels.has(id)) return error(400, "Channel not found");
        if (!bridge.channels.includes(id)) return error(422, "Channel not in this bridge");
      }
      for (const id of ids) leaveBridge(channels.get(id)!);
      return json(204);
    }],
    ["DELETE", /^\/bridges\/([^/]+)$/, "bridges.destroy", (m) => {
      const bridge = bridges.get(decodeURIComponent(m[1]!));
      if (!bridge) return error(404, "Bridge not found");
      for (const id of [...bridge.channels]) {
        const sim = channels.get(id);
        if (sim) leaveBridge(sim);
      }
      for (const [id, playback] of playbacks) if (playback.json.target_uri === `bridge:${bridge.id}`) finishPlayback(id);
      bridges.delete(bridge.id);
      setTimeout(() => emit(app, { type: "BridgeDestroyed", bridge }), 1);
      return json(204);
    }],
    ["POST", /^\/bridges\/([^/]+)\/play$/, "bridges.play", (m, q, body) => {
      const bridge = bridges.get(decodeURIComponent(m[1]!));
      if (!bridge) return error(404, "Bridge not found");
      const media = mediaOf(q, body);
      if (!media.length) return error(400, "Missing parameter media");
      return json(201, startPlayback(app, media, `bridge:${bridge.id}`, q.get("playbackId") ?? undefined));
    }],
    ["DELETE", /^\/playbacks\/([^/]+)$/, "playbacks.stop", (m) => {
      const id = decodeURIComponent(m[1]!);
      if (!playbacks.has(id)) return error(404, "The playback cannot be found");
      setTimeout(() => finishPlayback(id), 1);
      return json(204);
    }],
  ];

  function authorized(req: Request, query: URLSearchParams): boolean {
    const expected = `${username}:${password}`;
    if (query.get("api_key") === expected) return true;
    const header = req.headers.get("authorization") ?? "";
    return header.startsWith("Basic ") && Buffer.from(header.slice(6), "base64").toString() === expected;
  }

  const server: Server<SocketData> = Bun.serve<SocketData>({
    port: 0,
    hostname: "127.0.0.1",
    async fetch(req, srv) {
      const url = new URL(req.url);
      if (!url.pathname.startsWith("/ari/")) return error(404, "Not found");
      const path = url.pathname.slice(4);
      if (!authorized(req, url.searchParams)) return error(401, "Authentication required");
      if (path === "/events" && req.method === "GET") {
        if (req.headers.get("upgrade")?.toLowerCase() !== "websocket") return new Response("Upgrade Required", { status: 426 });
        const appName = url.searchParams.get("app");
        if (!appName) return error(400, "HTTP request is missing param: [app]");
        if (refusing) return error(503, "Service Unavailable");
        if (srv.upgrade(req, { data: { app: appName } })) {
          connections.push({ app: appName, subscribeAll: url.searchParams.get("subscribeAll") });
          return;
        }
        return error(500, "upgrade failed");
      }
      const text = await req.text();
      const body = text ? (JSON.parse(text) as unknown) : null;
      for (const [method, pattern, operation, handle] of routes) {
        const match = pattern.exec(path);
        if (!match || method !== req.method) continue;
        requests.push({ operation, method, path, query: Object.fromEntries(url.searchParams), body, at: performance.now() });
        if (timing.requestDelayMs[operation]) await Bun.sleep(timing.requestDelayMs[operation]);
        return handle(match, url.searchParams, body);
      }
      return error(404, "Resource not found");
    },
    websocket: {
      open(ws) {
        // A new socket for an application takes it over from the old one.
        for (const other of sockets) {
          if (other.data.app !== ws.data.app) continue;
          other.send(JSON.stringify({ type: "ApplicationReplaced", application: other.data.app, timestamp: now(), asterisk_id: ASTERISK_ID }));
          sockets.delete(other);
        }
        sockets.add(ws);
      },
      message() {},
      close(ws) {
        sockets.delete(ws);
      },
    },
  });

  return {
    url: `http://127.0.0.1:${server.port}`,
    username,
    password,
    app,
    requests,
    timing,
    connections,
    operations: () => requests.map((r) => r.operation),
    channel: (id) => channels.get(id)?.json,
    isInStasis: (id) => channels.get(id)?.inStasis ?? false,
    bridge: (id) => bridges.get(id),
    bridges: () => [...bridges.values()],
    playbacks: () => [...playbacks.values()].map((p) => p.json),
    media: (channelId) => channels.get(channelId)?.media,
    placeInboundCall({ exten, callerNumber = "+15550001111", callerName = "", args = [exten], nativeFormat = "ulaw" }) {
      if (!registered(app)) throw new Error(`no events WebSocket is connected for "${app}": Stasis() would fail`);
      const sim = newChannel(`PJSIP/trunk-${(++sequence).toString(16).padStart(8, "0")}`, app, {
        state: "Ring",
        protocol_id: `${crypto.randomUUID()}@203.0.113.10`,
        caller: { name: callerName, number: callerNumber },
        dialplan: { context: "from-trunk", exten, priority: 1, app_name: "", app_data: "" },
      });
      sim.nativeFormat = nativeFormat;
      emit(app, { type: "ChannelVarset", variable: "SIPCALLID", value: sim.json.protocol_id, channel: sim.json });
      enterStasis(sim, args);
      return sim.json.id;
    },
    hangUp(channelId, cause = 16) {
      const sim = channels.get(channelId);
      if (!sim) throw new Error(`no channel ${channelId}`);
      destroy(sim, cause, false);
    },
    pressDigit(channelId, digit, durationMs = 120) {
      const sim = channels.get(channelId);
      if (!sim) throw new Error(`no channel ${channelId}`);
      emit(sim.app, { type: "ChannelDtmfReceived", digit, duration_ms: durationMs, channel: sim.json });
    },
    nextOriginate(outcome, afterMs = 20) {
      outcomes.push({ outcome, afterMs });
    },
    dropEventSockets() {
      for (const socket of sockets) socket.close(1011, "stand-in dropped the connection");
      sockets.clear();
    },
    refuseEventSockets(refuse) {
      refusing = refuse;
    },
    async stop() {
      for (const sim of channels.values()) {
        for (const timer of sim.timers) clearTimeout(timer);
        sim.media?.close();
      }
      for (const playback of playbacks.values()) clearTimeout(playback.timer);
      server.stop(true);
    },
  };
}

/**
 * The trunk leg's audio as Asterisk sends it on an externalMedia channel: a timeline of 20 ms frames, sent in real
 * time while it holds anything and not at all in between (a two-party bridge sends nothing for silence), with the
 * caller's speech and any looped-back audio mixed into it.
 */
class CallerLine {
  private readonly rate: number;
  private readonly perFrame: number;
  private readonly payloadType: number;
  private readonly start = performance.now();
  private readonly frames = new Map<number, Float32Array>();
  private readonly sentWaiters = new Map<number, (() => void)[]>();
  private timer: ReturnType<typeof setTimeout> | null = null;
  private sayUntil = 0;
  private echoAnchor: { ssrc: number; timestamp: number; delayMs: number; at: number } | null = null;
  private sequence = Math.floor(Math.random() * 0xffff);
  private readonly ssrc = Math.floor(Math.random() * 0xffffffff);
  private talking = false;
  private stopped = false;

  constructor(
    private readonly format: string,
    private readonly send: (packet: Uint8Array) => void,
  ) {
    this.rate = format === "slin16" ? 16000 : 8000;
    this.perFrame = this.rate / 50;
    this.payloadType = format === "slin16" ? 118 : 0;
  }

  say(samples: Int16Array): Promise<void> {
    if (this.format !== "ulaw" && this.format !== "slin16") throw new Error(`the stand-in speaks ulaw and slin16, not ${this.format}`);
    const at = Math.max((this.frameNow() + 1) * this.perFrame, this.sayUntil);
    this.add(at, samples, 1);
    this.sayUntil = at + samples.length;
    const last = Math.floor((this.sayUntil - 1) / this.perFrame);
    return new Promise((resolve) => this.sentWaiters.set(last, [...(this.sentWaiters.get(last) ?? []), resolve]));
  }

  /**
   * A packet the bridge sent, heard back `delayMs` later: decoded (PT 0 µ-law or PT 11 slin), resampled, scaled.
   * Placed by its RTP timestamp, as a far end plays packets out, so that jitter in their arrival does not tear
   * the audio.
   */
  echo(packet: Uint8Array, delayMs: number, gain: number): void {
    const pt = packet[1]! & 0x7f;
    const payload = packet.subarray(12 + (packet[0]! & 0x0f) * 4);
    let pcm: Int16Array;
    if (pt === 0) pcm = Int16Array.from(payload, ulawToLinear);
    else if (pt === 11) {
      const view = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
      pcm = Int16Array.from({ length: payload.byteLength >> 1 }, (_, i) => view.getInt16(i * 2, false));
    } else return;
    // 8 kHz up to the channel's rate by linear interpolation, as a translator would.
    const factor = this.rate / 8000;
    const out = new Int16Array(pcm.length * factor);
    for (let i = 0; i < out.length; i++) {
      const x = i / factor;
      const a = pcm[Math.floor(x)]!;
      const b = pcm[Math.min(pcm.length - 1, Math.floor(x) + 1)]!;
      out[i] = Math.round(a + (b - a) * (x - Math.floor(x)));
    }
    const view = new DataView(packet.buffer, packet.byteOffset, packet.byteLength);
    const timestamp = view.getUint32(4);
    const ssrc = view.getUint32(8);
    const anchor = this.echoAnchor;
    if (!anchor || anchor.ssrc !== ssrc || anchor.delayMs !== delayMs) {
      this.echoAnchor = { ssrc, timestamp, delayMs, at: Math.floor(((performance.now() - this.start + delayMs) * this.rate) / 1000) };
    }
    const a = this.echoAnchor!;
    this.add(a.at + ((timestamp - a.timestamp) | 0) * factor, out, gain);
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    for (const waiters of this.sentWaiters.values()) for (const w of waiters) w();
  }

  private frameNow(): number {
    return Math.floor((performance.now() - this.start) / 20);
  }

  private add(at: number, samples: Int16Array, gain: number): void {
    for (let i = 0; i < samples.length; i++) {
      const f = Math.floor((at + i) / this.perFrame);
      let frame = this.frames.get(f);
      if (!frame) this.frames.set(f, (frame = new Float32Array(this.perFrame)));
      frame[(at + i) % this.perFrame]! += samples[i]! * gain;
    }
    if (!this.timer && !this.stopped) this.schedule();
  }

  private schedule(): void {
    const next = this.frameNow() + 1;
    this.timer = setTimeout(() => this.tick(), Math.max(0, this.start + next * 20 - performance.now()));
  }

  private tick(): void {
    this.timer = null;
    if (this.stopped) return;
    const now = this.frameNow();
    for (const f of [...this.frames.keys()].filter((k) => k <= now).sort((a, b) => a - b)) {
      const frame = this.frames.get(f)!;
      this.frames.delete(f);
      if (f < now - 5) continue; // too late to send: Asterisk would not send it either
      this.sendFrame(f, frame);
    }
    if (!this.frames.has(now)) this.talking = false;
    for (const [f, waiters] of this.sentWaiters) {
      if (f > now) continue;
      this.sentWaiters.delete(f);
      for (const w of waiters) w();
    }
    if (this.frames.size || this.sentWaiters.size) this.schedule();
  }

  private sendFrame(f: number, frame: Float32Array): void {
    const slin = this.format === "slin16";
    const packet = new Uint8Array(12 + this.perFrame * (slin ? 2 : 1));
    const view = new DataView(packet.buffer);
    packet[0] = 0x80;
    packet[1] = (this.talking ? 0 : 0x80) | this.payloadType;
    this.talking = true;
    view.setUint16(2, this.sequence++ & 0xffff);
    view.setUint32(4, (f * this.perFrame) >>> 0);
    view.setUint32(8, this.ssrc);
    for (let i = 0; i < this.perFrame; i++) {
      const s = Math.max(-32768, Math.min(32767, Math.round(frame[i]!)));
      if (slin) view.setInt16(12 + i * 2, s, false); // network byte order, as Asterisk byte-swaps slin for RTP
      else packet[12 + i] = linearToUlaw(s);
    }
    this.send(packet);
  }
}

// G.711 µ-law (ITU-T G.711), written out here so the stand-in does not lean on the code it tests.
function linearToUlaw(sample: number): number {
  const sign = sample < 0 ? 0x80 : 0;
  let magnitude = Math.min(sign ? -sample : sample, 32635) + 0x84;
  let exponent = 7;
  for (let mask = 0x4000; (magnitude & mask) === 0 && exponent > 0; mask >>= 1) exponent--;
  magnitude = (magnitude >> (exponent + 3)) & 0x0f;
  return ~(sign | (exponent << 4) | magnitude) & 0xff;
}

function ulawToLinear(byte: number): number {
  const u = ~byte & 0xff;
  const t = (((u & 0x0f) << 3) + 0x84) << ((u & 0x70) >> 4);
  return u & 0x80 ? 0x84 - t : t - 0x84;
}
