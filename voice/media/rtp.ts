// RTP (RFC 3550) packets, and an endpoint for one call's audio over a Bun UDP socket: what Asterisk's
// ExternalMedia channel talks to. Inbound packets go through the jitter buffer, are decoded and handed
// out frame by frame, with DTMF from RFC 4733 events or in-band tones; outbound audio is paced on a
// 20 ms clock with continuous sequence numbers and timestamps, and can be cut off at once (barge-in).
import type { udp } from "bun";
import { systemClock, type Clock } from "../clock.ts";
import { codecFor, type Codec, type MediaFormat } from "./codecs.ts";
import { InbandDtmfDetector, TelephoneEventDecoder, type DtmfDigit } from "./dtmf.ts";
import { JitterBuffer, type JitterBufferOptions, type JitterStats } from "./jitter.ts";
import { FRAME_MS, Playout, type PlaybackResult } from "./playout.ts";

export interface RtpHeader {
  marker: boolean;
  payloadType: number;
  sequenceNumber: number;
  timestamp: number;
  ssrc: number;
}

export interface RtpPacket extends RtpHeader {
  padding: boolean;
  csrc: readonly number[];
  extension: { profile: number; data: Uint8Array } | null;
  /** A view into the datagram, not a copy. */
  payload: Uint8Array;
}

const HEADER_BYTES = 12;
const NO_CSRC: readonly number[] = Object.freeze([]);

/** The packet in `data`, or null when it is not RTP version 2 or its lengths do not add up. */
export function parseRtp(data: Uint8Array): RtpPacket | null {
  if (data.length < HEADER_BYTES) return null;
  const b0 = data[0]!;
  const b1 = data[1]!;
  if (b0 >> 6 !== 2) return null;
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const csrcCount = b0 & 0x0f;
  let offset = HEADER_BYTES + csrcCount * 4;
  if (offset > data.length) return null;
  let csrc = NO_CSRC;
  if (csrcCount) {
    const list: number[] = [];
    for (let i = 0; i < csrcCount; i++) list.push(view.getUint32(HEADER_BYTES + i * 4));
    csrc = list;
  }
  let extension: RtpPacket["extension"] = null;
  if (b0 & 0x10) {
    if (offset + 4 > data.length) return null;
    const profile = view.getUint16(offset);
    const words = view.getUint16(offset + 2);
    if (offset + 4 + words * 4 > data.length) return null;
    extension = { profile, data: data.subarray(offset + 4, offset + 4 + words * 4) };
    offset += 4 + words * 4;
  }
  let end = data.length;
  const padding = (b0 & 0x20) !== 0;
  if (padding) {
    const count = data[end - 1]!;
    if (count === 0 || offset + count > end) return null;
    end -= count;
  }
  return {
    marker: (b1 & 0x80) !== 0,
    payloadType: b1 & 0x7f,
    sequenceNumber: view.getUint16(2),
    timestamp: view.getUint32(4),
    ssrc: view.getUint32(8),
    padding,
    csrc,
    extension,
    payload: data.subarray(offset, end),
  };
}

/** A packet with no CSRCs, extension or padding, which is all a media endpoint sends. Writes into `out` when given. */
export function serializeRtp(header: RtpHeader, payload: Uint8Array, out: Uint8Array = new Uint8Array(HEADER_BYTES + payload.length)): Uint8Array {
  const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
  out[0] = 0x80;
  out[1] = (header.marker ? 0x80 : 0) | (header.payloadType & 0x7f);
  view.setUint16(2, header.sequenceNumber & 0xffff);
  view.setUint32(4, header.timestamp >>> 0);
  view.setUint32(8, header.ssrc >>> 0);
  out.set(payload, HEADER_BYTES);
  return out.subarray(0, HEADER_BYTES + payload.length);
}

export interface RtpAddress {
  address: string;
  port: number;
}

/** One decoded inbound frame. The object and its samples are reused: read them inside the listener. */
export interface AudioFrame {
  /** Samples at the codec's rate. */
  samples: Int16Array;
  sampleRate: number;
  sequence: number;
  timestamp: number;
  /** Packets given up as lost just before this one. */
  lost: number;
}

export interface RtpEndpointOptions {
  /** What arrives. */
  format: MediaFormat;
  /**
   * What is sent, when it differs: Asterisk's externalMedia channel takes back only static payload types, so a
   * slin16 call (PT 118 in) answers in slin at 8 kHz (PT 11). `format` by default.
   */
  sendFormat?: MediaFormat;
  /** Local UDP port; 0 picks a free one. */
  port?: number;
  /** Local address to bind, 0.0.0.0 by default. */
  host?: string;
  /** Where to send, when known up front (Asterisk's UNICASTRTP_LOCAL_ADDRESS/PORT); else the first packet's source. */
  remote?: RtpAddress;
  /** Payload type of RFC 4733 telephone-events, 101 as Asterisk offers it. */
  telephoneEventPayloadType?: number;
  /** Listen for DTMF tones in the audio too (8 kHz formats only); stops once the peer sends telephone-events. */
  inbandDtmf?: boolean;
  ssrc?: number;
  jitter?: JitterBufferOptions;
  /** Paces outbound frames and times inbound ones for the jitter buffer (the system's unless a test drives time). */
  clock?: Clock;
  /** How late each outbound frame left after its 20 ms slot, in ms. */
  onSendLateness?(ms: number): void;
}

export interface RtpEndpointEvents {
  audio: (frame: AudioFrame) => void;
  dtmf: (digit: DtmfDigit) => void;
  /** The remote address was learned from the first inbound packet. */
  remote: (remote: RtpAddress) => void;
  /**
   * A frame of outbound audio (at the send codec's rate) as it leaves, in the `tick`-th 20 ms slot of the endpoint's
   * clock (slots without audio count too); reused, so read it inside the listener.
   */
  sent: (pcm: Int16Array, tick: number) => void;
}

export interface RtpEndpointStats {
  packetsReceived: number;
  packetsSent: number;
  /** Datagrams that were not RTP. */
  malformed: number;
  /** Sends or receives the socket refused, e.g. ICMP port-unreachable once the far end has gone. */
  socketErrors: number;
  jitter: JitterStats;
}

const COMFORT_NOISE_PT = 13;

type Listeners = { [K in keyof RtpEndpointEvents]: Set<RtpEndpointEvents[K]> };

export class RtpEndpoint {
  /** What arrives. */
  readonly codec: Codec;
  /** What is sent. */
  readonly sendCodec: Codec;
  readonly stats: RtpEndpointStats;
  private readonly samplesPerFrame: number;
  private readonly eventPayloadType: number;
  private readonly jitter: JitterBuffer;
  private readonly events: TelephoneEventDecoder;
  private inband: InbandDtmfDetector | null;
  private readonly listeners: Listeners = { audio: new Set(), dtmf: new Set(), remote: new Set(), sent: new Set() };
  private peer: RtpAddress | null;
  private inboundSsrc: number | null = null;
  private readonly frame: AudioFrame;
  private decoded = new Int16Array(0);

  private readonly ssrc: number;
  private sequence: number;
  private readonly timestampBase: number;
  private readonly outPayload: Uint8Array;
  private readonly outPacket: Uint8Array;
  private readonly playout: Playout;
  private readonly clock: Clock;
  private closed = false;

  private constructor(
    private readonly socket: udp.Socket<"uint8array">,
    options: RtpEndpointOptions,
  ) {
    this.codec = codecFor(options.format);
    this.sendCodec = codecFor(options.sendFormat ?? options.format);
    this.samplesPerFrame = (this.sendCodec.sampleRate * FRAME_MS) / 1000;
    this.eventPayloadType = options.telephoneEventPayloadType ?? 101;
    this.jitter = new JitterBuffer({ frameMs: FRAME_MS, ...options.jitter });
    this.events = new TelephoneEventDecoder(this.codec.sampleRate);
    this.inband = options.inbandDtmf !== false && this.codec.sampleRate === 8000 ? new InbandDtmfDetector((d) => this.emitDtmf(d)) : null;
    this.peer = options.remote ?? null;
    this.stats = { packetsReceived: 0, packetsSent: 0, malformed: 0, socketErrors: 0, jitter: this.jitter.stats };
    this.frame = { samples: this.decoded, sampleRate: this.codec.sampleRate, sequence: 0, timestamp: 0, lost: 0 };

    const random32 = () => crypto.getRandomValues(new Uint32Array(1))[0]!;
    this.ssrc = options.ssrc ?? random32();
    this.sequence = random32() & 0xffff; // random starts, as RFC 3550 §5.1 asks
    this.timestampBase = random32();
    this.outPayload = new Uint8Array(this.samplesPerFrame * this.sendCodec.bytesPerSample);
    this.outPacket = new Uint8Array(HEADER_BYTES + this.outPayload.length);
    // One clock paces what we send and drains what we received.
    this.clock = options.clock ?? systemClock;
    this.playout = new Playout({
      clock: this.clock,
      sampleRate: this.sendCodec.sampleRate,
      send: (pcm, talkspurt, tick) => this.sendFrame(pcm, talkspurt, tick),
      onTick: (now) => this.deliver(now),
      canSend: () => this.peer !== null,
      onLateness: options.onSendLateness,
    });
  }

  /** Bind a UDP port and start the endpoint's 20 ms clock. */
  static async open(options: RtpEndpointOptions): Promise<RtpEndpoint> {
    let endpoint: RtpEndpoint | null = null;
    const socket = await Bun.udpSocket({
      hostname: options.host ?? "0.0.0.0",
      port: options.port ?? 0,
      binaryType: "uint8array",
      socket: {
        data: (_socket, data, port, address) => endpoint?.receive(data, port, address),
        error: () => {
          if (endpoint) endpoint.stats.socketErrors++;
        },
      },
    });
    endpoint = new RtpEndpoint(socket, options);
    return endpoint;
  }

  get port(): number {
    return this.socket.port;
  }

  get remote(): RtpAddress | null {
    return this.peer;
  }

  setRemote(remote: RtpAddress): void {
    this.peer = remote;
  }

  on<K extends keyof RtpEndpointEvents>(event: K, listener: RtpEndpointEvents[K]): () => void {
    const set = this.listeners[event] as Set<RtpEndpointEvents[K]>;
    set.add(listener);
    return () => set.delete(listener);
  }

  /**
   * Queue audio (Int16 at the codec's rate) behind what is already playing. Resolves when its last frame
   * has played out, or early with `finished: false` when cut off. `started` runs as its first packet is sent.
   */
  play(samples: Int16Array, started?: () => void): Promise<PlaybackResult> {
    return this.playout.play(samples, started);
  }

  /** Stop playback now: nothing queued is sent after this call (barge-in). */
  clear(): void {
    this.playout.clear();
  }

  /** Audio queued and not yet sent, in ms. */
  get queuedMs(): number {
    return this.playout.queuedMs;
  }

  get playing(): boolean {
    return this.playout.playing;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.playout.close();
    this.socket.close();
  }

  private receive(data: Uint8Array, port: number, address: string): void {
    if (this.closed) return;
    const packet = parseRtp(data);
    if (!packet) {
      this.stats.malformed++;
      return;
    }
    this.stats.packetsReceived++;
    if (!this.peer) {
      this.peer = { address, port };
      for (const l of this.listeners.remote) l(this.peer);
    }
    if (packet.ssrc !== this.inboundSsrc) {
      if (this.inboundSsrc !== null) this.jitter.reset();
      this.inboundSsrc = packet.ssrc;
    }
    if (packet.payloadType === this.eventPayloadType) {
      this.inband = null; // the peer signals keys out of band: tones in the audio are not keys
      const digit = this.events.push(packet.timestamp, packet.payload);
      if (digit) this.emitDtmf(digit);
      return;
    }
    if (packet.payloadType === COMFORT_NOISE_PT) return;
    // Any other payload type is the call's audio: ExternalMedia sends exactly one format, and slin can
    // arrive as payload type 10 or 11.
    const now = this.clock.now();
    this.jitter.push(packet.sequenceNumber, packet.timestamp, packet.marker, packet.payload, now);
    this.deliver(now);
  }

  private deliver(now: number): void {
    for (let f = this.jitter.pop(now); f; f = this.jitter.pop(now)) {
      const count = f.payload.length / this.codec.bytesPerSample;
      if (this.decoded.length < count) this.decoded = new Int16Array(Math.max(count, (this.codec.sampleRate * FRAME_MS * 2) / 1000));
      const samples = this.codec.decode(f.payload, this.decoded.subarray(0, count));
      this.inband?.push(samples);
      const frame = this.frame;
      frame.samples = samples;
      frame.sequence = f.sequence;
      frame.timestamp = f.timestamp;
      frame.lost = f.lost;
      for (const l of this.listeners.audio) l(frame);
    }
  }

  private emitDtmf(digit: DtmfDigit): void {
    for (const l of this.listeners.dtmf) l(digit);
  }

  private sendFrame(pcm: Int16Array, talkspurt: boolean, tick: number): void {
    if (!this.peer) return;
    const payload = this.sendCodec.encode(pcm, this.outPayload);
    const packet = serializeRtp(
      {
        marker: talkspurt, // first packet of a talkspurt (RFC 3551 §4.1)
        payloadType: this.sendCodec.payloadType,
        sequenceNumber: this.sequence,
        timestamp: (this.timestampBase + tick * this.samplesPerFrame) >>> 0,
        ssrc: this.ssrc,
      },
      payload,
      this.outPacket,
    );
    this.sequence = (this.sequence + 1) & 0xffff;
    try {
      this.socket.send(packet, this.peer.port, this.peer.address);
      this.stats.packetsSent++;
      for (const l of this.listeners.sent) l(pcm, tick);
    } catch {
      // A refused send (the far end hung up) must not stop the clock; the call session decides what ends a call.
      this.stats.socketErrors++;
    }
  }
}
