import { afterEach, describe, expect, it } from "bun:test";
import { decodeUlaw, encodeUlaw, float32ToInt16 } from "../../../voice/media/codecs.ts";
import type { DtmfDigit } from "../../../voice/media/dtmf.ts";
import { parseRtp, RtpEndpoint, serializeRtp, type AudioFrame, type RtpPacket } from "../../../voice/media/rtp.ts";
import { FakeClock } from "../../support/fake-clock.ts";
import { until } from "../../support/until.ts";

describe("RTP packets", () => {
  it("serialize and parse back, header fields and payload intact", () => {
    const payload = Uint8Array.from({ length: 160 }, (_, i) => i);
    const bytes = serializeRtp({ marker: true, payloadType: 0, sequenceNumber: 65535, timestamp: 0xfffffff0, ssrc: 0xdeadbeef }, payload);
    expect(bytes.length).toBe(172);
    expect([...bytes.subarray(0, 12)]).toEqual([0x80, 0x80, 0xff, 0xff, 0xff, 0xff, 0xff, 0xf0, 0xde, 0xad, 0xbe, 0xef]);
    const packet = parseRtp(bytes)!;
    expect(packet).toMatchObject({ marker: true, payloadType: 0, sequenceNumber: 65535, timestamp: 0xfffffff0, ssrc: 0xdeadbeef, padding: false, csrc: [], extension: null });
    expect(packet.payload).toEqual(payload);
  });

  it("skips CSRCs, header extensions and padding to find the payload", () => {
    const bytes = Uint8Array.of(
      0xb1, 0x76, 0x00, 0x01, 0x00, 0x00, 0x01, 0x40, 0x00, 0x00, 0x00, 0x07, // V=2 P X CC=1, PT 118
      0x11, 0x22, 0x33, 0x44, // CSRC
      0xbe, 0xde, 0x00, 0x01, 0x10, 0xaa, 0x00, 0x00, // one-word extension
      0x01, 0x02, 0x03, 0x04, // payload
      0x00, 0x00, 0x03, // 3 bytes of padding
    );
    const packet = parseRtp(bytes)!;
    expect(packet).toMatchObject({ payloadType: 118, sequenceNumber: 1, timestamp: 320, ssrc: 7, padding: true, csrc: [0x11223344] });
    expect(packet.extension!.profile).toBe(0xbede);
    expect([...packet.payload]).toEqual([1, 2, 3, 4]);
  });

  it("refuses what is not RTP version 2 or whose lengths do not add up", () => {
    expect(parseRtp(new Uint8Array(11))).toBeNull();
    expect(parseRtp(Uint8Array.of(0x40, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0))).toBeNull();
    expect(parseRtp(Uint8Array.of(0x82, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4))).toBeNull(); // 2 CSRCs announced, 1 present
    expect(parseRtp(Uint8Array.of(0xa0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 9))).toBeNull(); // padding longer than the payload
  });
});

const open: { close(): void }[] = [];
afterEach(() => {
  for (const e of open.splice(0)) e.close();
});

async function endpoint(options: Parameters<typeof RtpEndpoint.open>[0]) {
  const e = await RtpEndpoint.open({ host: "127.0.0.1", ...options });
  open.push(e);
  return e;
}

/** A bare UDP socket standing in for Asterisk: records what it receives, sends hand-made packets. */
async function peer() {
  const received: { packet: RtpPacket }[] = [];
  const socket = await Bun.udpSocket({
    hostname: "127.0.0.1",
    binaryType: "uint8array",
    socket: {
      data(_s, data) {
        const packet = parseRtp(data);
        if (packet) received.push({ packet: { ...packet, payload: packet.payload.slice() } });
      },
    },
  });
  open.push(socket);
  return { socket, received, send: (to: number, bytes: Uint8Array) => socket.send(bytes, to, "127.0.0.1") };
}

const tone = (hz: number, ms: number, rate = 8000) => float32ToInt16(Float32Array.from({ length: (rate * ms) / 1000 }, (_, i) => 0.3 * Math.sin((2 * Math.PI * hz * i) / rate)));

// Pacing is decided on the endpoint's clock: a fake one (test/support/fake-clock.ts) says exactly when each packet
// left; loopback UDP only has to deliver them, which the tests wait for however long a busy machine takes.
describe("RtpEndpoint over loopback UDP", () => {
  it("sends audio paced every 20 ms with continuous sequence numbers and timestamps, and says when it has played", async () => {
    const clock = new FakeClock();
    const listener = await peer();
    const sender = await endpoint({ format: "ulaw", remote: { address: "127.0.0.1", port: listener.socket.port }, clock });
    const audio = tone(440, 1000);
    let result: unknown = null;
    const played = sender.play(audio).then((r) => (result = r));
    expect(sender.stats.packetsSent).toBe(1); // the first frame leaves at once (speech after silence re-phases the clock)
    for (let frame = 1; frame < 50; frame++) {
      await clock.advance(20);
      expect(sender.stats.packetsSent).toBe(frame + 1); // one packet per 20 ms of the clock, none early, none late
    }
    expect(result).toBeNull(); // the last frame's 20 ms are still playing
    await clock.advance(20);
    await played;
    expect(result).toEqual({ finished: true, playedMs: 1000 });

    await until(() => listener.received.length === 50, 15_000);
    const packets = listener.received;
    packets.forEach(({ packet }, i) => {
      expect(packet.payloadType).toBe(0);
      expect(packet.payload.length).toBe(160);
      expect(packet.marker).toBe(i === 0);
      expect(packet.sequenceNumber).toBe((packets[0]!.packet.sequenceNumber + i) & 0xffff);
      expect(packet.timestamp).toBe((packets[0]!.packet.timestamp + i * 160) >>> 0);
      expect(packet.ssrc).toBe(packets[0]!.packet.ssrc);
    });
    // The µ-law audio decodes back to the tone (within G.711's quantisation).
    const decoded = new Int16Array(8000);
    for (const [i, { packet }] of packets.entries()) decodeUlaw(packet.payload, decoded.subarray(i * 160, i * 160 + 160));
    const reference = decodeUlaw(encodeUlaw(audio));
    expect([...decoded]).toEqual([...reference]);
  });

  it("sends the first frame of speech after silence at once, not at the next 20 ms boundary, marked as a talkspurt", async () => {
    const clock = new FakeClock();
    const listener = await peer();
    const sender = await endpoint({ format: "ulaw", remote: { address: "127.0.0.1", port: listener.socket.port }, clock });
    let expected = 0;
    for (let i = 0; i < 8; i++) {
      await clock.advance(37 + i * 7); // land anywhere within the 20 ms cycle
      const played = sender.play(tone(440, 40));
      expect(sender.stats.packetsSent).toBe(expected + 1); // sent as play() was called, before any timer ran
      await clock.advance(40);
      expect(await played).toEqual({ finished: true, playedMs: 40 });
      expected += 2;
      await until(() => listener.received.length === expected, 15_000);
      expect(listener.received.slice(-2).map((r) => r.packet.marker)).toEqual([true, false]);
    }
  });

  it("stops playback at clear(), and resumes as a new talkspurt with sequence and timestamp running on", async () => {
    const clock = new FakeClock();
    const listener = await peer();
    const sender = await endpoint({ format: "ulaw", remote: { address: "127.0.0.1", port: listener.socket.port }, clock });
    const playing = sender.play(tone(440, 3000));
    await clock.advance(300);
    expect(sender.playing).toBe(true);
    sender.clear();
    const sentAtClear = sender.stats.packetsSent;
    expect(await playing).toMatchObject({ finished: false });
    expect(sender.queuedMs).toBe(0);
    await clock.advance(200);
    expect(sender.stats.packetsSent).toBe(sentAtClear); // nothing after clear()
    await until(() => listener.received.length === sentAtClear, 15_000);

    const resumed = sender.play(tone(440, 100));
    await clock.advance(100);
    await resumed;
    await until(() => listener.received.length === sentAtClear + 5, 15_000);
    const [last, ...after] = listener.received.slice(sentAtClear - 1).map((r) => r.packet);
    expect(after.map((p) => p.marker)).toEqual([true, false, false, false, false]);
    expect(after[0]!.sequenceNumber).toBe((last!.sequenceNumber + 1) & 0xffff);
    // The timestamp kept running through the 200 ms of silence (1600 samples), and the frames since.
    expect((after[0]!.timestamp - last!.timestamp) >>> 0).toBeGreaterThanOrEqual(1600);
  });

  it("exchanges audio both ways, learning the remote address from the first packet", async () => {
    const a = await endpoint({ format: "slin16" });
    const b = await endpoint({ format: "slin16", remote: { address: "127.0.0.1", port: a.port } });
    const learned: unknown[] = [];
    a.on("remote", (r) => learned.push(r));
    const atA: number[] = [];
    const atB: number[] = [];
    a.on("audio", (f: AudioFrame) => atA.push(...f.samples));
    b.on("audio", (f: AudioFrame) => atB.push(...f.samples));
    const fromB = tone(300, 200, 16000);
    await b.play(fromB);
    await until(() => learned.length, 15_000);
    expect(learned).toEqual([{ address: "127.0.0.1", port: b.port }]);
    const fromA = tone(500, 200, 16000);
    await a.play(fromA);
    await until(() => atA.length === fromB.length && atB.length === fromA.length, 15_000);
    expect(atA).toEqual([...fromB]);
    expect(atB).toEqual([...fromA]);
  });

  it("puts reordered packets back in order and carries on over gaps, timestamp jumps and short frames", async () => {
    const clock = new FakeClock();
    const receiver = await endpoint({ format: "ulaw", jitter: { initialDelayMs: 40 }, clock });
    const frames: { sequence: number; lost: number; length: number; first: number }[] = [];
    receiver.on("audio", (f) => frames.push({ sequence: f.sequence, lost: f.lost, length: f.samples.length, first: f.samples[0]! }));
    const asterisk = await peer();
    const packet = (seq: number, ts: number, length = 160) =>
      serializeRtp({ marker: false, payloadType: 0, sequenceNumber: seq, timestamp: ts, ssrc: 42 }, encodeUlaw(new Int16Array(length).fill(seq * 100)));
    const send = (seq: number, ts: number, length?: number) => asterisk.send(receiver.port, packet(seq, ts, length));

    // Time moves on the receiver's clock only once the packets sent before have arrived.
    const arrived = (count: number) => until(() => receiver.stats.packetsReceived === count, 15_000);
    send(1, 160);
    send(3, 480); // 2 is late
    send(2, 320);
    send(4, 640);
    await arrived(4);
    await clock.advance(20);
    send(6, 960); // 5 never comes
    send(7, 1120);
    await arrived(6);
    await clock.advance(100);
    send(8, 900_000); // a bridge change: timestamp jump after a pause
    send(9, 900_160, 72); // a short last frame
    await arrived(8);
    await clock.advance(100);

    expect(frames.map((f) => [f.sequence, f.lost])).toEqual([
      [1, 0],
      [2, 0],
      [3, 0],
      [4, 0],
      [6, 1],
      [7, 0],
      [8, 0],
      [9, 0],
    ]);
    expect(frames.map((f) => f.length)).toEqual([160, 160, 160, 160, 160, 160, 160, 72]);
    expect(frames[2]!.first).toBe(decodeUlaw(encodeUlaw(Int16Array.of(300)))[0]!);
  });

  it("reports an RFC 4733 key once despite redundant end packets", async () => {
    const receiver = await endpoint({ format: "ulaw" });
    const digits: DtmfDigit[] = [];
    receiver.on("dtmf", (d) => digits.push(d));
    const asterisk = await peer();
    let seq = 100;
    const send = (end: boolean, duration: number) =>
      asterisk.send(
        receiver.port,
        serializeRtp({ marker: duration === 160, payloadType: 101, sequenceNumber: seq++, timestamp: 48000, ssrc: 9 }, Uint8Array.of(11, end ? 0x8a : 0x0a, duration >> 8, duration & 0xff)),
      );
    for (const d of [160, 320, 480, 640, 800]) send(false, d);
    for (let i = 0; i < 3; i++) send(true, 960);
    await until(() => receiver.stats.packetsReceived === 8, 15_000);
    expect(digits).toEqual([{ digit: "#", durationMs: 120, source: "rfc4733" }]);
  });

  it("keeps its clock running when the far end's port goes away", async () => {
    const clock = new FakeClock();
    const gone = await peer();
    const sender = await endpoint({ format: "ulaw", remote: { address: "127.0.0.1", port: gone.socket.port }, clock });
    gone.socket.close();
    const playing = sender.play(tone(440, 200));
    for (let frame = 0; frame <= 10; frame++) {
      await clock.advance(20);
      await Bun.sleep(1); // lets the refusals (ICMP port unreachable) come back between frames
    }
    expect(await playing).toEqual({ finished: true, playedMs: 200 });
    expect(sender.stats.packetsSent).toBe(10);
  });

  it("hears in-band DTMF tones in the inbound audio", async () => {
    const receiver = await endpoint({ format: "alaw" });
    const sender = await endpoint({ format: "alaw", remote: { address: "127.0.0.1", port: receiver.port } });
    const digits: string[] = [];
    receiver.on("dtmf", (d) => digits.push(`${d.digit}:${d.source}`));
    const press = (row: number, column: number) =>
      float32ToInt16(Float32Array.from({ length: 800 }, (_, i) => 0.25 * (Math.sin((2 * Math.PI * row * i) / 8000) + Math.sin((2 * Math.PI * column * i) / 8000))));
    await sender.play(press(852, 1477));
    await sender.play(new Int16Array(800));
    await sender.play(press(941, 1336));
    await sender.play(new Int16Array(800));
    await until(() => digits.length === 2, 15_000);
    expect(digits).toEqual(["9:inband", "0:inband"]);
  });
});
