import { describe, expect, it } from "bun:test";
import {
  codecFor,
  decodeAlaw,
  decodeSlin,
  decodeUlaw,
  encodeAlaw,
  encodeSlin,
  encodeUlaw,
  float32ToInt16,
  int16ToFloat32,
} from "../../../voice/media/codecs.ts";

const allBytes = Uint8Array.from({ length: 256 }, (_, i) => i);
const ramp = Int16Array.from({ length: 65536 }, (_, i) => i - 32768);

describe("G.711 µ-law", () => {
  // Full scale is ±8031 (14-bit) = ±32124; 100 lands in the first segment, whose midpoint decodes to 104.
  it("matches the ITU-T G.711 reference values", () => {
    expect([...encodeUlaw(Int16Array.of(0, -1, 32767, -32768, 100, -100))]).toEqual([0xff, 0x7f, 0x80, 0x00, 0xf2, 0x72]);
    expect([...decodeUlaw(Uint8Array.of(0xff, 0x7f, 0x80, 0x00, 0xf2, 0x72))]).toEqual([0, 0, 32124, -32124, 104, -104]);
  });

  it("decodes and re-encodes every code word to itself (0x7f, negative zero, reads back as 0xff)", () => {
    const back = encodeUlaw(decodeUlaw(allBytes));
    for (let b = 0; b < 256; b++) expect(back[b]).toBe(b === 0x7f ? 0xff : b);
  });

  it("keeps the quantization error within half a step of its segment over the whole 16-bit range", () => {
    const decoded = decodeUlaw(encodeUlaw(ramp));
    for (let i = 0; i < ramp.length; i += 7) {
      const x = ramp[i]!;
      const step = 8 << Math.max(0, Math.floor(Math.log2((Math.min(Math.abs(x), 32635) + 0x84) >> 7)));
      expect(Math.abs(decoded[i]! - Math.max(-32124, Math.min(32124, x)))).toBeLessThanOrEqual(step);
    }
  });
});

describe("G.711 A-law", () => {
  // Full scale is ±4032 (13-bit) = ±32256; the even bits are inverted on the wire, so 0 is 0xd5.
  it("matches the ITU-T G.711 reference values", () => {
    expect([...encodeAlaw(Int16Array.of(0, -1, 32767, -32768, 100, -100))]).toEqual([0xd5, 0x55, 0xaa, 0x2a, 0xd3, 0x53]);
    expect([...decodeAlaw(Uint8Array.of(0xd5, 0x55, 0xaa, 0x2a, 0xd3, 0x53))]).toEqual([8, -8, 32256, -32256, 104, -104]);
  });

  it("decodes and re-encodes every code word to itself", () => {
    expect([...encodeAlaw(decodeAlaw(allBytes))]).toEqual([...allBytes]);
  });

  it("is monotonic over the 16-bit range", () => {
    const decoded = decodeAlaw(encodeAlaw(ramp));
    for (let i = 1; i < decoded.length; i++) expect(decoded[i]! >= decoded[i - 1]!).toBe(true);
  });
});

describe("signed linear", () => {
  it("is big-endian by default, as RTP carries L16 and Asterisk sends slin", () => {
    expect([...encodeSlin(Int16Array.of(0x0102, -2))]).toEqual([0x01, 0x02, 0xff, 0xfe]);
    expect([...encodeSlin(Int16Array.of(0x0102, -2), "le")]).toEqual([0x02, 0x01, 0xfe, 0xff]);
    expect([...decodeSlin(Uint8Array.of(0x01, 0x02, 0xff, 0xfe))]).toEqual([0x0102, -2]);
  });

  it("round-trips every sample value in both byte orders, from an offset view", () => {
    for (const endian of ["be", "le"] as const) {
      const bytes = encodeSlin(ramp, endian);
      const shifted = new Uint8Array(bytes.length + 1);
      shifted.set(bytes, 1);
      expect(decodeSlin(shifted.subarray(1), endian)).toEqual(ramp);
    }
  });
});

describe("codecs for Asterisk's ExternalMedia formats", () => {
  it("describe payload type, rate and frame size as Asterisk sends them", () => {
    expect(codecFor("ulaw")).toMatchObject({ payloadType: 0, sampleRate: 8000, bytesPerSample: 1 });
    expect(codecFor("alaw")).toMatchObject({ payloadType: 8, sampleRate: 8000, bytesPerSample: 1 });
    expect(codecFor("slin16")).toMatchObject({ payloadType: 118, sampleRate: 16000, bytesPerSample: 2 });
    // 20 ms of slin16 is the 640-byte payload Asterisk sends.
    expect(codecFor("slin16").encode(new Int16Array(320)).length).toBe(640);
  });

  it("decode into a caller's buffer without allocating a new one", () => {
    const out = new Int16Array(160);
    expect(codecFor("ulaw").decode(new Uint8Array(160).fill(0xff), out)).toBe(out);
  });
});

describe("float conversion", () => {
  it("maps Int16 to [-1, 1) and back, clipping overshoot", () => {
    expect([...int16ToFloat32(Int16Array.of(-32768, 0, 16384))]).toEqual([-1, 0, 0.5]);
    expect([...float32ToInt16(Float32Array.of(-1.5, 0.5, 1.2))]).toEqual([-32768, 16384, 32767]);
  });
});
