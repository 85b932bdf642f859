// One answered inbound call as the call session sees it: its media (an externalMedia channel bridged with the
// caller), transfers, DTMF and hangup. Every channel and bridge made for the call is tracked and released when
// the caller hangs up, whatever state the call was in.
import type { Logger } from "../../src/platform/log.ts";
import { playAnnouncement } from "./announcement.ts";
import { AriError, type AriClient } from "./client.ts";
import { MEDIA_LEG, type BridgeSettings } from "./settings.ts";
import { transferCall, type TransferableCall, type TransferOptions, type TransferResult } from "./transfer.ts";
import type { ChannelDestroyed, ChannelDtmfReceived, ChannelHangupRequest, StasisEnd } from "./types.ts";

export type MediaFormat = "ulaw" | "slin16";

export interface CallMedia {
  /** Where to send the agent's RTP (Asterisk's end of the externalMedia channel). */
  remoteAddress: string;
  remotePort: number;
  /** The externalMedia channel and the bridge joining it with the caller. */
  channelId: string;
  bridgeId: string;
}

export interface HangupInfo {
  /** Q.850 cause (16 normal clearing), or null when Asterisk gave none. */
  cause: number | null;
}

export interface InboundCall {
  /** The caller's ARI channel. */
  readonly channelId: string;
  /** As the trunk presented it; empty when withheld. */
  readonly callerNumber: string;
  readonly callerName: string;
  /** E.164. */
  readonly dialedNumber: string;
  readonly organizationId: string;
  readonly agentId: string;
  /**
   * Connects the caller's audio to RTP on `localPort` at the bridge's rtpHost. Asterisk sends ulaw as PT 0 with
   * 160-byte payloads, slin16 as PT 118 with 640 bytes, every 20 ms (nothing while the caller is silent). What is
   * sent back must use a static payload type: Asterisk 22 drops 118 on this channel, so with slin16 send PT 11
   * (L16 big-endian at 8 kHz, 320 bytes per 20 ms) or PT 0 ulaw.
   */
  openMedia(options: { format: MediaFormat; localPort: number }): Promise<CallMedia>;
  /** Resolves with ok:false (and the caller back with the agent) when the destination does not take the call. */
  transfer(options: TransferOptions): Promise<TransferResult>;
  hangup(): Promise<void>;
  /**
   * Tells the caller the agent cannot take the call now (the bridge's `unavailableAnnouncement`); resolves once it
   * has played, or the caller hung up. It does not hang up.
   */
  announceUnavailable(): Promise<void>;
  onDtmf(listener: (digit: string, durationMs: number) => void): () => void;
  /** Fires once, when the caller's side of the call ends (after a transfer too). */
  onHangup(listener: (info: HangupInfo) => void): () => void;
}

/** The caller hung up while an operation on the call was under way. */
export class CallEndedError extends Error {
  override readonly name = "CallEndedError";
}

export interface CallRegistry {
  /** Routes the channel's events to the call. */
  adopt(channelId: string, call: ActiveCall): void;
  forget(channelId: string): void;
  /** Bridges made for live calls: a takeover sweep must leave them alone. */
  adoptBridge(bridgeId: string): void;
  forgetBridge(bridgeId: string): void;
}

export interface CallIdentity {
  channelId: string;
  callerNumber: string;
  callerName: string;
  dialedNumber: string;
  organizationId: string;
  agentId: string;
}

/** The events the Stasis app routes to a call by channel. */
export type CallEvent = ChannelDtmfReceived | ChannelHangupRequest | StasisEnd | ChannelDestroyed;

export class ActiveCall implements InboundCall, TransferableCall {
  readonly channelId: string;
  readonly callerNumber: string;
  readonly callerName: string;
  readonly dialedNumber: string;
  readonly organizationId: string;
  readonly agentId: string;
  private media: CallMedia | null = null;
  private bridgeId: string | null = null;
  private transferring = false;
  private transferredTo: string | null = null;
  private hangingUp = false;
  private readonly legs = new Set<string>();
  private readonly bridges = new Set<string>();
  private readonly ending = new AbortController();
  private readonly dtmfListeners = new Set<(digit: string, durationMs: number) => void>();
  private readonly hangupListeners = new Set<(info: HangupInfo) => void>();

  constructor(
    identity: CallIdentity,
    readonly client: AriClient,
    readonly log: Logger,
    readonly settings: BridgeSettings,
    private readonly registry: CallRegistry,
  ) {
    this.channelId = identity.channelId;
    this.callerNumber = identity.callerNumber;
    this.callerName = identity.callerName;
    this.dialedNumber = identity.dialedNumber;
    this.organizationId = identity.organizationId;
    this.agentId = identity.agentId;
    registry.adopt(this.channelId, this);
  }

  get endSignal(): AbortSignal {
    return this.ending.signal;
  }

  get mediaChannelId(): string | null {
    return this.media?.channelId ?? null;
  }

  /** Still ours to manage: not ended, and not handed over to a person. */
  get isWithAgent(): boolean {
    return !this.ending.signal.aborted && this.transferredTo === null;
  }

  async openMedia({ format, localPort }: { format: MediaFormat; localPort: number }): Promise<CallMedia> {
    this.assertLive();
    if (this.media || this.transferredTo) throw new Error("this call's media is already open or handed over");
    const mediaId = crypto.randomUUID();
    const bridgeId = crypto.randomUUID();
    this.adoptLeg(mediaId);
    this.adoptBridge(bridgeId);
    // Asterisk may answer externalMedia before the channel's StasisStart (bridging it then fails with 422), or the
    // StasisStart may overtake the answer: wait for it from before the request.
    const settled = new AbortController();
    const started = this.client.waitForStasisStart(mediaId, {
      timeoutMs: this.settings.mediaStartTimeoutMs,
      signal: AbortSignal.any([settled.signal, this.endSignal]),
    });
    started.catch(() => {}); // may reject (the caller hangs up) while the externalMedia request is still out
    try {
      const channel = await this.client.channels.externalMedia({
        channelId: mediaId,
        externalHost: `${this.settings.rtpHost}:${localPort}`,
        format,
        data: MEDIA_LEG,
      });
      await started;
      const remoteAddress = channel.channelvars?.UNICASTRTP_LOCAL_ADDRESS;
      const remotePort = Number(channel.channelvars?.UNICASTRTP_LOCAL_PORT);
      if (!remoteAddress || !Number.isInteger(remotePort) || remotePort <= 0) {
        throw new Error("Asterisk's externalMedia answer did not say where to send audio (UNICASTRTP_LOCAL_ADDRESS/PORT)");
      }
      await this.client.bridges.create({ bridgeId, name: `${this.settings.bridgeTag}/call/${this.channelId}` });
      await this.client.bridges.addChannel(bridgeId, [this.channelId, mediaId]);
      this.assertLive();
      this.bridgeId = bridgeId;
      this.media = { remoteAddress, remotePort, channelId: mediaId, bridgeId };
      return this.media;
    } catch (err) {
      settled.abort();
      await Promise.all([this.dropLeg(mediaId), this.dropBridge(bridgeId)]);
      throw this.ending.signal.aborted ? new CallEndedError("the caller hung up") : err;
    }
  }

  async transfer(options: TransferOptions): Promise<TransferResult> {
    if (this.transferring || this.transferredTo) throw new Error("this call is already being or has been transferred");
    this.transferring = true;
    try {
      return await transferCall(this, options);
    } finally {
      this.transferring = false;
    }
  }

  async hangup(): Promise<void> {
    if (this.hangingUp || this.ending.signal.aborted) return;
    this.hangingUp = true;
    try {
      await this.client.channels.hangup(this.channelId);
    } catch (err) {
      if (isGone(err)) return;
      this.hangingUp = false;
      throw err;
    }
  }

  async announceUnavailable(): Promise<void> {
    if (this.ending.signal.aborted) return;
    await playAnnouncement(this.client, this.channelId, this.settings.unavailableAnnouncement, this.log);
  }

  onDtmf(listener: (digit: string, durationMs: number) => void): () => void {
    this.dtmfListeners.add(listener);
    return () => this.dtmfListeners.delete(listener);
  }

  onHangup(listener: (info: HangupInfo) => void): () => void {
    this.hangupListeners.add(listener);
    return () => this.hangupListeners.delete(listener);
  }

  /** An event for the caller's channel or one made for this call. */
  handle(event: CallEvent) {
    const id = event.channel.id;
    if (event.type === "ChannelDestroyed") this.forgetLeg(id);
    if (id === this.channelId) {
      if (event.type === "ChannelDtmfReceived") return this.emitDtmf(event.digit, event.duration_ms);
      // Cause 0 is Asterisk's "not defined" (a Local channel's far end, for one).
      return this.end(event.type === "StasisEnd" ? null : event.cause || null);
    }
    // The person the caller was handed to hung up: the call is over.
    if (id === this.transferredTo && event.type !== "ChannelDtmfReceived") {
      this.hangup().catch((err) => this.log.error("could not hang up the caller after the transfer destination left", { err }));
    }
  }

  /** After a reconnect: events may have been missed, so ask whether the caller is still there. */
  async confirmCallerPresent(): Promise<void> {
    try {
      await this.client.channels.get(this.channelId);
    } catch (err) {
      if (err instanceof AriError && err.status === 404) this.end(null);
    }
  }

  // ---- for transfers (TransferableCall) -----------------------------------------------------------------------

  async callerBridge(): Promise<string> {
    if (this.bridgeId) return this.bridgeId;
    const bridgeId = crypto.randomUUID();
    this.adoptBridge(bridgeId);
    await this.client.bridges.create({ bridgeId, name: `${this.settings.bridgeTag}/call/${this.channelId}` });
    await this.client.bridges.addChannel(bridgeId, [this.channelId]);
    this.bridgeId = bridgeId;
    return bridgeId;
  }

  adoptLeg(channelId: string) {
    this.legs.add(channelId);
    this.registry.adopt(channelId, this);
  }

  adoptBridge(bridgeId: string) {
    this.bridges.add(bridgeId);
    this.registry.adoptBridge(bridgeId);
  }

  async dropLeg(channelId: string) {
    this.legs.delete(channelId);
    await this.client.channels.hangup(channelId).catch((err) => this.warnUnlessGone("could not hang up a call leg", err));
  }

  async dropBridge(bridgeId: string) {
    this.bridges.delete(bridgeId);
    this.registry.forgetBridge(bridgeId);
    await this.client.bridges.destroy(bridgeId).catch((err) => this.warnUnlessGone("could not destroy a call bridge", err));
  }

  async connected(destinationChannelId: string) {
    this.transferredTo = destinationChannelId;
    const media = this.media;
    this.media = null;
    if (media) await this.dropLeg(media.channelId);
  }

  // ---- ending ---------------------------------------------------------------------------------------------

  private end(cause: number | null) {
    if (this.ending.signal.aborted) return;
    this.ending.abort(new CallEndedError("the caller hung up"));
    for (const listener of this.hangupListeners) {
      try {
        listener({ cause });
      } catch (err) {
        this.log.error("a hangup listener failed", { err });
      }
    }
    void this.release();
  }

  /** Hangs up every leg and destroys every bridge made for this call; safe to run again for late arrivals. */
  private async release() {
    const legs = [...this.legs];
    const bridges = [...this.bridges];
    this.media = null;
    this.bridgeId = null;
    for (const id of [this.channelId, ...legs]) this.registry.forget(id);
    await Promise.all([...legs.map((id) => this.dropLeg(id)), ...bridges.map((id) => this.dropBridge(id))]);
  }

  private forgetLeg(channelId: string) {
    this.legs.delete(channelId);
    this.registry.forget(channelId);
  }

  private warnUnlessGone(message: string, err: unknown) {
    if (!isGone(err)) this.log.warn(message, { callChannelId: this.channelId, err });
  }

  private emitDtmf(digit: string, durationMs: number) {
    for (const listener of this.dtmfListeners) {
      try {
        listener(digit, durationMs);
      } catch (err) {
        this.log.error("a DTMF listener failed", { err });
      }
    }
  }

  /** Throws once the caller is gone, after releasing whatever was made for the call in the meantime. */
  private assertLive() {
    if (!this.ending.signal.aborted) return;
    void this.release();
    throw new CallEndedError("the caller hung up");
  }
}

/** Hanging up or destroying something that is already gone is fine. */
function isGone(err: unknown): boolean {
  return err instanceof AriError && err.status === 404;
}
