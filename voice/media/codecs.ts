// Audio payload codecs for telephone RTP: G.711 µ-law and A-law (ITU-T G.711) and 16-bit signed linear.
// Every encoder/decoder writes into a caller-supplied buffer when one is given, so a call's per-frame work
// allocates nothing; the G.711 tables are built once per process.

const ULAW_BIAS = 0x84;
const ULAW_CLIP = 32635;

function ulawFromLinear(pcm: number): number {
  const sign = pcm < 0 ? 0x80 : 0;
  let magnitude = sign ? -pcm : pcm;
  if (magnitude > ULAW_CLIP) magnitude = ULAW_CLIP;
  magnitude += ULAW_BIAS;
  let exponent = 7;
  for (let mask = 0x4000; (magnitude & mask) === 0 && exponent > 0; mask >>= 1) exponent--;
  const mantissa = (magnitude >> (exponent + 3)) & 0x0f;
  return ~(sign | (exponent << 4) | mantissa) & 0xff;
}

function linearFromUlaw(byte: number): number {
  const u = ~byte & 0xff;
  const t = (((u & 0x0f) << 3) + ULAW_BIAS) << ((u & 0x70) >> 4);
  return u & 0x80 ? ULAW_BIAS - t : t - ULAW_BIAS;
}

// A-law works on 13-bit magnitudes and inverts the even bits (the 0x55 mask) on the wire.
const ALAW_SEGMENT_ENDS = [0x1f, 0x3f, 0x7f, 0xff, 0x1ff, 0x3ff, 0x7ff, 0xfff];

function alawFromLinear(pcm: number): number {
  let value = pcm >> 3;
  let mask: number;
  if (value >= 0) mask = 0xd5;
  else {
    mask = 0x55;
    value = -value - 1;
  }
  let segment = 0;
  while (segment < 8 && value > ALAW_SEGMENT_ENDS[segment]!) segment++;
  if (segment >= 8) return 0x7f ^ mask;
  const mantissa = segment < 2 ? (value >> 1) & 0x0f : (value >> segment) & 0x0f;
  return ((segment << 4) | mantissa) ^ mask;
}

function linearFromAlaw(byte: number): number {
  const a = byte ^ 0x55;
  let t = (a & 0x0f) << 4;
  const segment = (a & 0x70) >> 4;
  if (segment === 0) t += 8;
  else t = (t + 0x108) << (segment - 1);
  return a & 0x80 ? t : -t;
}

function buildTables(fromLinear: (pcm: number) => number, toLinear: (byte: number) => number) {
  const encode = new Uint8Array(65536);
  for (let i = 0; i < 65536; i++) encode[i] = fromLinear((i << 16) >> 16);
  const decode = new Int16Array(256);
  for (let b = 0; b < 256; b++) decode[b] = toLinear(b);
  return { encode, decode };
}

const ULAW = buildTables(ulawFromLinear, linearFromUlaw);
const ALAW = buildTables(alawFromLinear, linearFromAlaw);

function g711Encode(table: Uint8Array, pcm: Int16Array, out: Uint8Array): Uint8Array {
  for (let i = 0; i < pcm.length; i++) out[i] = table[pcm[i]! & 0xffff]!;
  return out;
}

function g711Decode(table: Int16Array, payload: Uint8Array, out: Int16Array): Int16Array {
  for (let i = 0; i < payload.length; i++) out[i] = table[payload[i]!]!;
  return out;
}

export const encodeUlaw = (pcm: Int16Array, out: Uint8Array = new Uint8Array(pcm.length)) => g711Encode(ULAW.encode, pcm, out);
export const decodeUlaw = (payload: Uint8Array, out: Int16Array = new Int16Array(payload.length)) => g711Decode(ULAW.decode, payload, out);
export const encodeAlaw = (pcm: Int16Array, out: Uint8Array = new Uint8Array(pcm.length)) => g711Encode(ALAW.encode, pcm, out);
export const decodeAlaw = (payload: Uint8Array, out: Int16Array = new Int16Array(payload.length)) => g711Decode(ALAW.decode, payload, out);

export type Endianness = "be" | "le";

/**
 * Signed 16-bit linear samples from bytes. RTP carries L16 in network byte order (RFC 3551 §4.5.11), and
 * Asterisk's RTP stack byte-swaps its slin/slin16 frames to big-endian when it sends and back when it
 * receives; AudioSocket and raw .sln files are little-endian.
 */
export function decodeSlin(payload: Uint8Array, endian: Endianness = "be", out: Int16Array = new Int16Array(payload.length >> 1)): Int16Array {
  const view = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
  const little = endian === "le";
  const n = payload.byteLength >> 1;
  for (let i = 0; i < n; i++) out[i] = view.getInt16(i * 2, little);
  return out;
}

export function encodeSlin(pcm: Int16Array, endian: Endianness = "be", out: Uint8Array = new Uint8Array(pcm.length * 2)): Uint8Array {
  const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
  const little = endian === "le";
  for (let i = 0; i < pcm.length; i++) view.setInt16(i * 2, pcm[i]!, little);
  return out;
}

/** Int16 samples as floats in [-1, 1), the form VAD, STT and the resampler work in. */
export function int16ToFloat32(pcm: Int16Array, out: Float32Array = new Float32Array(pcm.length)): Float32Array {
  for (let i = 0; i < pcm.length; i++) out[i] = pcm[i]! / 32768;
  return out;
}

/** Floats back to Int16, clipped (TTS output can overshoot ±1). */
export function float32ToInt16(samples: Float32Array, out: Int16Array = new Int16Array(samples.length)): Int16Array {
  for (let i = 0; i < samples.length; i++) {
    const s = samples[i]! * 32768;
    out[i] = s >= 32767 ? 32767 : s <= -32768 ? -32768 : Math.round(s);
  }
  return out;
}

/** The ExternalMedia formats Asterisk offers for RTP, named as its `format` parameter names them. */
export type MediaFormat = "ulaw" | "alaw" | "slin" | "slin16";

export interface Codec {
  readonly format: MediaFormat;
  /** RTP payload type: static for G.711 (RFC 3551), Asterisk's dynamic choice for slin. */
  readonly payloadType: number;
  readonly sampleRate: number;
  readonly bytesPerSample: number;
  /** Payload bytes → samples; writes into `out` (sized for the payload) when given. */
  decode(payload: Uint8Array, out?: Int16Array): Int16Array;
  encode(pcm: Int16Array, out?: Uint8Array): Uint8Array;
}

const CODECS: Record<MediaFormat, Codec> = {
  ulaw: { format: "ulaw", payloadType: 0, sampleRate: 8000, bytesPerSample: 1, decode: decodeUlaw, encode: encodeUlaw },
  alaw: { format: "alaw", payloadType: 8, sampleRate: 8000, bytesPerSample: 1, decode: decodeAlaw, encode: encodeAlaw },
  // Asterisk's own static map: 10 and 11 both mean slin (11 is the mono one), 118 is slin16.
  slin: { format: "slin", payloadType: 11, sampleRate: 8000, bytesPerSample: 2, decode: (p, o) => decodeSlin(p, "be", o), encode: (p, o) => encodeSlin(p, "be", o) },
  slin16: { format: "slin16", payloadType: 118, sampleRate: 16000, bytesPerSample: 2, decode: (p, o) => decodeSlin(p, "be", o), encode: (p, o) => encodeSlin(p, "be", o) },
};

export function codecFor(format: MediaFormat): Codec {
  return CODECS[format];
}
