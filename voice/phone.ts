// A phone call: the ARI call's media as RTP on a port of our own, handed to a call session. The port comes from
// the RTP range (RTP_PORT_MIN–MAX) and goes back when the call ends.
import type { Logger } from "../src/platform/log.ts";
import type { Telemetry } from "../src/platform/telemetry/index.ts";
import type { ConversationRuntime } from "../src/runtime/conversation.ts";
import type { CompiledConfig } from "../src/runtime/compiled.ts";
import { CallEndedError, type AriClient, type InboundCall } from "./ari/index.ts";
import { CallSession, type CallSpeech, type CallTransport } from "./call/index.ts";
import { systemClock, type Clock } from "./clock.ts";
import { chooseMediaFormat, EchoGate, parseFormatNames, RtpEndpoint, type DtmfDigit, type MediaFormatSetting } from "./media/index.ts";

/** A digit seen on two paths (ARI's ChannelDtmfReceived and RTP telephone-events or tones) within this window is one press. */
const SAME_PRESS_MS = 80;

export class PortPool {
  private free: number[];
  constructor(min: number, max: number) {
    this.free = Array.from({ length: max - min + 1 }, (_, i) => min + i);
  }
  take(): number | null {
    return this.free.shift() ?? null;
  }
  give(port: number) {
    this.free.push(port);
  }
}

export interface PhoneCallDeps {
  runtime: ConversationRuntime;
  speech: CallSpeech;
  ports: PortPool;
  /** The published version the number's agent serves; throws when there is none (the caller then hears a refusal). */
  compiledFor(organizationId: string, agentId: string): Promise<{ compiled: CompiledConfig; versionId: string }>;
  /**
   * Aborted when this replica stops taking calls: the conversation is closed with the abort's reason (a string:
   * `server_stopping`, `lease_lost`) while storage is still open.
   */
  stopping: AbortSignal;
  /** Recorded in the conversation's metadata: which replica ran the call (a replica taking over ends the others'). */
  replicaId?: string;
  log: Logger;
  /** The call's timers and time readings (the system's unless a test drives time itself). */
  clock?: Clock;
  telemetry?: Telemetry;
  /** VOICE_MEDIA_FORMAT; `auto` (the default) asks `nativeFormats` whether the caller's leg is wideband. */
  mediaFormat?: MediaFormatSetting;
  /** The codecs the caller's own leg carries (`nativeFormatsOf`); without it, `auto` means µ-law. */
  nativeFormats?(channelId: string): Promise<string[] | null>;
}

/** The codecs a channel's leg carries, by Asterisk's `CHANNEL(audionativeformat)`; null when Asterisk would not say. */
export function nativeFormatsOf(client: Pick<AriClient, "channels">, log: Logger): (channelId: string) => Promise<string[] | null> {
  return async (channelId) => {
    try {
      return parseFormatNames((await client.channels.getVariable(channelId, "CHANNEL(audionativeformat)")).value);
    } catch (error) {
      log.warn("could not read the caller's codecs from Asterisk; using µ-law for the call", { channelId, error });
      return null;
    }
  };
}

export async function handlePhoneCall(call: InboundCall, deps: PhoneCallDeps): Promise<void> {
  const { log } = deps;
  const clock = deps.clock ?? systemClock;
  let opened: { endpoint: RtpEndpoint; port: number } | null = null;
  try {
    let served: { compiled: CompiledConfig; versionId: string };
    try {
      served = await deps.compiledFor(call.organizationId, call.agentId);
    } catch (error) {
      // 409 no_published_version / agent_paused, or 404 (the agent is gone): assigned, but nobody can answer.
      const refusal = refusalOf(error);
      return await refuse(call, log, refusal ?? "agent_lookup_failed", error, refusal ? "warn" : "error");
    }
    const { compiled, versionId } = served;
    const metrics = deps.telemetry?.metrics;
    // Asked only of a call the agent takes (one ARI request on the LAN): the answer decides the codec of the port.
    const setting = deps.mediaFormat ?? "auto";
    const nativeFormats = setting === "auto" && deps.nativeFormats ? await deps.nativeFormats(call.channelId) : null;
    const format = chooseMediaFormat(setting, nativeFormats);
    opened = await openEndpoint(deps.ports, format, log, clock, metrics && ((ms) => metrics.rtpLateness.observe(ms / 1000)));
    if (!opened) return await refuse(call, log, "no_rtp_port", "no free RTP port for a call; raise RTP_PORT_MAX", "error");
    const { endpoint, port } = opened;
    const media = await call.openMedia({ format, localPort: port });
    endpoint.setRemote({ address: media.remoteAddress, port: media.remotePort });
    log.debug("call media opened", { channelId: call.channelId, format, callerFormats: nativeFormats });

    const transport = rtpTransport(endpoint, call, clock, log);
    const session = new CallSession({
      runtime: deps.runtime,
      speech: deps.speech,
      transport,
      start: { organizationId: call.organizationId, agentId: call.agentId, agentVersionId: versionId, draftMode: false, compiled, source: "voice", callerNumber: call.callerNumber || null, callerName: call.callerName || null, metadata: { dialedNumber: call.dialedNumber, channelId: call.channelId, ...(deps.replicaId && { replicaId: deps.replicaId }) } },
      transfer: async (t, brief) => {
        const result = await call.transfer({ destination: t.destination, warm: t.warm, summary: t.summary, callerIdNumber: call.callerNumber || undefined, briefDestination: ({ signal }) => brief(signal) });
        return result.ok ? { ok: true } : { ok: false, reason: result.reason, ...(result.cause ? { cause: result.cause } : {}) };
      },
      hangup: () => call.hangup(),
      log,
      clock,
      telemetry: deps.telemetry,
    });
    call.onHangup(() => void session.callerHungUp());
    const stop = () => void session.callerHungUp(typeof deps.stopping.reason === "string" ? deps.stopping.reason : "server_stopping");
    deps.stopping.addEventListener("abort", stop, { once: true });
    try {
      await session.run();
    } finally {
      deps.stopping.removeEventListener("abort", stop);
    }
  } catch (error) {
    if (error instanceof CallEndedError) return log.info("the caller hung up while the call was being set up", { channelId: call.channelId });
    // Opening the media or the conversation failed: the session never spoke, so the caller still hears why it ends.
    await refuse(call, log, "call_failed", error, "error");
  } finally {
    if (opened) {
      opened.endpoint.close();
      deps.ports.give(opened.port);
    }
  }
}

/** Tells the caller the agent cannot take the call, then hangs up: never a silent hangup on an assigned number. */
async function refuse(call: InboundCall, log: Logger, reason: string, error: unknown, level: "warn" | "error") {
  log[level]("a call the agent cannot take: announced that it is unavailable and hung up", { channelId: call.channelId, dialedNumber: call.dialedNumber, agentId: call.agentId, reason, error });
  await call.announceUnavailable().catch((err) => log.warn("could not play the unavailable announcement", { channelId: call.channelId, err }));
  await call.hangup().catch(() => {});
}

/** The code of a refusal (a 404 or 409 Problem: agent_not_found, no_published_version, agent_paused); null for a failure. */
function refusalOf(error: unknown): string | null {
  const { status, code } = (error ?? {}) as { status?: unknown; code?: unknown };
  return (status === 404 || status === 409) && typeof code === "string" ? code : null;
}

/**
 * An RTP endpoint on a port of the pool. A port something else holds (EADDRINUSE: another program took it) goes to
 * the back of the pool and the next one is tried. A slin16 call answers in slin at 8 kHz (payload type 11): an
 * externalMedia channel drops the dynamic 118 sent to it (docs/voice-ari.md).
 */
async function openEndpoint(ports: PortPool, format: "ulaw" | "slin16", log: Logger, clock: Clock, onSendLateness?: (ms: number) => void): Promise<{ endpoint: RtpEndpoint; port: number } | null> {
  for (let attempt = 0; attempt < 8; attempt++) {
    const port = ports.take();
    if (port === null) return null;
    try {
      const sendFormat = format === "slin16" ? "slin" : format;
      return { endpoint: await RtpEndpoint.open({ format, sendFormat, port, inbandDtmf: true, clock, onSendLateness }), port };
    } catch (error) {
      ports.give(port);
      if ((error as { code?: string }).code !== "EADDRINUSE") throw error;
      log.warn("an RTP port of the range is taken by another program; trying the next", { port });
    }
  }
  return null;
}

/**
 * The call's audio as the call session sees it. Inbound frames that are the agent's own audio coming back (a far
 * end looping it, EchoGate) reach the session as silence: they neither barge in nor reach the recognizer.
 */
function rtpTransport(endpoint: RtpEndpoint, call: InboundCall, clock: Clock, log: Logger): CallTransport {
  const echo = new EchoGate();
  const silence = new Int16Array((endpoint.codec.sampleRate * 40) / 1000);
  let echoLogged = false;
  endpoint.on("sent", (pcm, tick) => echo.sentFrame(pcm, tick, clock.now()));
  const last = new Map<string, number>();
  const fresh = (digit: string) => {
    const now = clock.now();
    const before = last.get(digit) ?? -Infinity;
    last.set(digit, now);
    return now - before > SAME_PRESS_MS;
  };
  return {
    inputRate: endpoint.codec.sampleRate,
    outputRate: endpoint.sendCodec.sampleRate,
    onAudio: (listener) =>
      void endpoint.on("audio", (frame) => {
        if (!echo.isEcho(frame.samples, frame.sampleRate, clock.now())) return listener(frame.samples);
        if (!echoLogged) {
          echoLogged = true;
          log.warn("the far end sends the agent's own audio back (an echo loop in an SBC or PBX); ignoring it", { channelId: call.channelId, delayMs: echo.stats.delayMs });
        }
        listener(frame.samples.length <= silence.length ? silence.subarray(0, frame.samples.length) : new Int16Array(frame.samples.length));
      }),
    onDtmf: (listener) => {
      endpoint.on("dtmf", (d: DtmfDigit) => fresh(d.digit) && listener(d.digit));
      call.onDtmf((digit) => fresh(digit) && listener(digit));
    },
    play: (samples, started) => endpoint.play(samples, started),
    clear: () => endpoint.clear(),
    get playing() {
      return endpoint.playing;
    },
  };
}
