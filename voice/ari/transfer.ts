// Handing a caller to a person. The agent's media steps out of the caller's bridge and the caller hears ringback
// while the destination is dialed into the Stasis application. Cold: once it answers it joins the caller's bridge.
// Warm: it is first bridged with the agent's media alone so the call session can brief it, then it joins the
// caller. If it never answers, is busy, rejects, or hangs up during the briefing, the agent's media goes back to
// the caller and the failure is reported, so the session can carry on: the caller is never left in silence.
import type { Logger } from "../../src/platform/log.ts";
import type { AriClient } from "./client.ts";
import { AriWaitTimeout } from "./events.ts";
import { TRANSFER_LEG, type BridgeSettings } from "./settings.ts";

export interface TransferOptions {
  /** A number (+E.164, or a PBX extension) put into the dial string. */
  destination: string;
  /** Brief the destination before connecting the caller. */
  warm: boolean;
  /** What the destination should hear first on a warm transfer. */
  summary?: string;
  /** Caller ID shown to the destination; defaults to the number the caller dialed (the trunk accepts it). */
  callerIdNumber?: string;
  /**
   * Warm transfers: called once the destination answered, while the call's media (the RTP stream openMedia
   * returned) is connected to the destination alone. Speak the summary, then resolve. `signal` aborts when the
   * destination hangs up or the briefing runs out of time. Without it, or without open media, the destination
   * is connected straight away.
   */
  briefDestination?: (briefing: DestinationBriefing) => Promise<void>;
}

export interface DestinationBriefing {
  summary: string;
  channelId: string;
  signal: AbortSignal;
}

export type TransferFailure = "invalid_destination" | "busy" | "no_answer" | "rejected" | "failed" | "caller_hung_up";

export type TransferResult =
  | { ok: true; channelId: string }
  /** `cause` is the destination's Q.850 hangup cause when Asterisk gave one (not through Local channels). */
  | { ok: false; reason: TransferFailure; cause?: number };

/** What a transfer needs from the call it runs in. */
export interface TransferableCall {
  readonly client: AriClient;
  readonly log: Logger;
  readonly settings: BridgeSettings;
  /** The caller's channel: on every log line of the transfer, as on the call session's (which carry the conversation). */
  readonly channelId: string;
  readonly dialedNumber: string;
  /** The agent's externalMedia channel, when media is open. */
  readonly mediaChannelId: string | null;
  /** Aborted once the caller has hung up. */
  readonly endSignal: AbortSignal;
  /** The bridge holding the caller, made now if the call has none yet. */
  callerBridge(): Promise<string>;
  /** Routes a new channel's events to the call and hangs it up when the call ends. */
  adoptLeg(channelId: string): void;
  adoptBridge(bridgeId: string): void;
  dropBridge(bridgeId: string): Promise<void>;
  dropLeg(channelId: string): Promise<void>;
  /** The destination now shares the caller's bridge: the agent leaves the call. */
  connected(destinationChannelId: string): Promise<void>;
}

const DESTINATION = /^\+?[0-9*#]{2,32}$/;
const CALLER_ID = /^\+?[0-9]{2,20}$/;
/** Asterisk gives up on the destination after the originate timeout; this covers the time its events take. */
const ORIGINATE_GRACE_MS = 5_000;

export async function transferCall(call: TransferableCall, options: TransferOptions): Promise<TransferResult> {
  if (!DESTINATION.test(options.destination)) return { ok: false, reason: "invalid_destination" };
  if (call.endSignal.aborted) return { ok: false, reason: "caller_hung_up" };
  const state: Attempt = { bridgeId: null, media: call.mediaChannelId, ringback: null, destination: null };
  let result: TransferResult = { ok: false, reason: "failed" };
  try {
    result = await attempt(call, options, state);
  } catch (err) {
    if (!call.endSignal.aborted) call.log.error("transfer failed", { callChannelId: call.channelId, destination: options.destination, err });
  } finally {
    if (!result.ok) await restore(call, state);
  }
  if (!result.ok && call.endSignal.aborted) return { ok: false, reason: "caller_hung_up" };
  return result;
}

interface Attempt {
  bridgeId: string | null;
  media: string | null;
  ringback: string | null;
  destination: string | null;
}

async function attempt(call: TransferableCall, options: TransferOptions, state: Attempt): Promise<TransferResult> {
  const { client } = call;
  const bridgeId = (state.bridgeId = await call.callerBridge());
  if (state.media) await client.bridges.removeChannel(bridgeId, [state.media]);
  state.ringback = await startRingback(call, bridgeId);

  const dialed = await dial(call, options);
  if (!dialed.ok) return dialed;
  state.destination = dialed.channelId;

  if (options.warm) {
    const briefed = await brief(call, options, dialed.channelId);
    if (!briefed.ok) return briefed;
  }
  await stopPlayback(call, state.ringback);
  state.ringback = null;
  await client.bridges.addChannel(bridgeId, [dialed.channelId]);
  await call.connected(dialed.channelId);
  return dialed;
}

async function dial(call: TransferableCall, options: TransferOptions): Promise<TransferResult> {
  const { client, settings } = call;
  const channelId = crypto.randomUUID();
  call.adoptLeg(channelId);
  const settled = new AbortController();
  const wait = { timeoutMs: settings.transferTimeoutMs + ORIGINATE_GRACE_MS, signal: AbortSignal.any([settled.signal, call.endSignal]) };
  const answered = client.waitForStasisStart(channelId, wait).then(() => null);
  const destroyed = client.events.waitFor("ChannelDestroyed", (e) => e.channel.id === channelId, wait).then((e) => e.cause);
  // Either may reject (the caller hangs up) while the originate request is still out, before the race below awaits
  // them: marked as handled now, so that is not an unhandled rejection.
  answered.catch(() => {});
  destroyed.catch(() => {});
  // Through a Local channel the destroyed leg carries cause 0; only the Dial event says BUSY or NOANSWER.
  let dialStatus = "";
  const offDial = client.events.on("Dial", (e) => {
    if (e.peer.id === channelId && e.dialstatus) dialStatus = e.dialstatus;
  });
  try {
    await client.channels.originate({
      endpoint: settings.dialString.replaceAll("{number}", options.destination).replaceAll("{digits}", options.destination.replace(/^\+/, "")),
      appArgs: TRANSFER_LEG,
      callerId: options.callerIdNumber && CALLER_ID.test(options.callerIdNumber) ? options.callerIdNumber : call.dialedNumber,
      timeout: Math.ceil(settings.transferTimeoutMs / 1000),
      channelId,
    });
    const cause = await Promise.race([answered, destroyed]);
    if (cause === null) return { ok: true, channelId };
    call.log.info("transfer destination did not take the call", { callChannelId: call.channelId, destination: options.destination, cause, dialStatus });
    return { ok: false, reason: failureFor(cause, dialStatus), ...(cause ? { cause } : {}) };
  } catch (err) {
    if (!(err instanceof AriWaitTimeout)) throw err;
    await call.dropLeg(channelId);
    return { ok: false, reason: "no_answer" };
  } finally {
    offDial();
    settled.abort();
  }
}

/** Connects the agent's media to the destination alone and lets the session speak; ok:false if the destination left. */
async function brief(call: TransferableCall, options: TransferOptions, destination: string): Promise<TransferResult> {
  const { client, settings, mediaChannelId: media } = call;
  const hook = options.briefDestination;
  if (!media || !hook) {
    call.log.info("warm transfer without a briefing: the call has no open media or no briefing hook", { callChannelId: call.channelId });
    return { ok: true, channelId: destination };
  }
  const bridgeId = crypto.randomUUID();
  call.adoptBridge(bridgeId);
  const settled = new AbortController();
  const signal = AbortSignal.any([settled.signal, call.endSignal]);
  const left = client.events
    .waitFor("StasisEnd", (e) => e.channel.id === destination, { timeoutMs: settings.briefingTimeoutMs, signal })
    .then(
      () => "left" as const,
      (err) => (err instanceof AriWaitTimeout ? ("timed_out" as const) : Promise.reject(err)),
    );
  left.catch(() => {}); // may reject (the caller hangs up) while the bridge is still being set up
  try {
    await client.bridges.create({ bridgeId, name: `${call.settings.bridgeTag}/briefing` });
    await client.bridges.addChannel(bridgeId, [destination, media]);
    const spoken = Promise.resolve()
      .then(() => hook({ summary: options.summary ?? "", channelId: destination, signal }))
      .then(
        () => "spoken" as const,
        (err) => {
          call.log.warn("briefing the transfer destination failed; connecting anyway", { callChannelId: call.channelId, err });
          return "spoken" as const;
        },
      );
    const outcome = await Promise.race([spoken, left]);
    if (outcome === "left") return { ok: false, reason: "rejected" };
    if (outcome === "timed_out") call.log.warn("briefing the transfer destination ran out of time; connecting anyway", { callChannelId: call.channelId });
    return { ok: true, channelId: destination };
  } finally {
    settled.abort();
    await call.dropBridge(bridgeId);
  }
}

/** Puts the agent back with the caller after a failed attempt, and lets go of the destination. */
async function restore(call: TransferableCall, state: Attempt) {
  await stopPlayback(call, state.ringback);
  if (state.destination) await call.dropLeg(state.destination);
  if (!state.media || !state.bridgeId || call.endSignal.aborted) return;
  try {
    await call.client.bridges.addChannel(state.bridgeId, [state.media]);
  } catch (err) {
    call.log.error("could not give the caller back to the agent after a failed transfer", { callChannelId: call.channelId, err });
  }
}

async function startRingback(call: TransferableCall, bridgeId: string): Promise<string | null> {
  const playbackId = crypto.randomUUID();
  try {
    await call.client.bridges.play(bridgeId, call.settings.ringback, playbackId);
    return playbackId;
  } catch (err) {
    call.log.warn("could not play ringback to the caller during a transfer", { callChannelId: call.channelId, media: call.settings.ringback, err });
    return null;
  }
}

async function stopPlayback(call: TransferableCall, playbackId: string | null) {
  if (!playbackId) return;
  // 404: it already ended, with the caller or the bridge.
  await call.client.playbacks.stop(playbackId).catch(() => {});
}

function failureFor(cause: number, dialStatus: string): TransferFailure {
  if (cause === 17 || dialStatus === "BUSY") return "busy";
  if (cause === 18 || cause === 19 || dialStatus === "NOANSWER") return "no_answer";
  if (cause === 21) return "rejected";
  return "failed";
}
