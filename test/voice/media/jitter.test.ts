import { describe, expect, it } from "bun:test";
import { JitterBuffer, sequenceDistance } from "../../../voice/media/jitter.ts";

const payload = (seq: number) => Uint8Array.of(seq & 0xff, (seq >> 8) & 0xff);

/** Push packets as (sequence, arrival ms) and collect what comes out, polling every 5 ms like a timer would. */
function run(buffer: JitterBuffer, arrivals: [number, number][], until = 2000) {
  const out: { sequence: number; lost: number; at: number }[] = [];
  const byTime = [...arrivals].sort((a, b) => a[1] - b[1]);
  let i = 0;
  for (let now = 0; now <= until; now += 5) {
    while (i < byTime.length && byTime[i]![1] <= now) {
      const [seq] = byTime[i++]!;
      buffer.push(seq & 0xffff, seq * 160, false, payload(seq), now);
      for (let f = buffer.pop(now); f; f = buffer.pop(now)) out.push({ sequence: f.sequence, lost: f.lost, at: now });
    }
    for (let f = buffer.pop(now); f; f = buffer.pop(now)) out.push({ sequence: f.sequence, lost: f.lost, at: now });
  }
  return out;
}

describe("the jitter buffer", () => {
  it("passes in-order packets through at once, whatever their timestamps and sizes", () => {
    const buffer = new JitterBuffer();
    const out: number[] = [];
    // A timestamp jump (bridge technology change), a 300 ms pause, then a short last frame.
    const packets: [number, number, Uint8Array][] = [
      [1, 160, new Uint8Array(160)],
      [2, 320, new Uint8Array(160)],
      [3, 987_654, new Uint8Array(160)],
      [4, 987_814, new Uint8Array(72)],
    ];
    const times = [0, 20, 340, 360];
    packets.forEach(([seq, ts, data], i) => {
      buffer.push(seq, ts, false, data, times[i]!);
      const frame = buffer.pop(times[i]!);
      expect(frame).not.toBeNull();
      expect(frame!.payload.length).toBe(data.length);
      out.push(frame!.sequence);
    });
    expect(out).toEqual([1, 2, 3, 4]);
    expect(buffer.stats).toMatchObject({ lost: 0, late: 0, resyncs: 0 });
  });

  it("puts reordered packets back in sequence", () => {
    const out = run(new JitterBuffer(), [
      [10, 0],
      [12, 20],
      [11, 25],
      [13, 40],
      [15, 60],
      [14, 62],
    ]);
    expect(out.map((f) => f.sequence)).toEqual([10, 11, 12, 13, 14, 15]);
    expect(out.every((f) => f.lost === 0)).toBe(true);
  });

  it("gives up on a missing packet after its wait and reports it lost, without stalling", () => {
    const buffer = new JitterBuffer({ initialDelayMs: 40 });
    const out = run(buffer, [
      [1, 0],
      [2, 20],
      [4, 60],
      [5, 80],
    ]);
    expect(out.map((f) => [f.sequence, f.lost])).toEqual([
      [1, 0],
      [2, 0],
      [4, 1],
      [5, 0],
    ]);
    expect(out.find((f) => f.sequence === 4)!.at).toBeGreaterThanOrEqual(100);
    expect(out.find((f) => f.sequence === 4)!.at).toBeLessThanOrEqual(110);
    expect(buffer.stats.lost).toBe(1);
  });

  it("waits longer after packets arrive too late, and shortens the wait again after a clean run", () => {
    const buffer = new JitterBuffer({ initialDelayMs: 20, minDelayMs: 20 });
    run(buffer, [
      [1, 0],
      [3, 40],
      [2, 90], // its hole was given up at 60 ms
    ]);
    expect(buffer.stats.late).toBe(1);
    expect(buffer.delayMs).toBe(40);
    const clean: [number, number][] = Array.from({ length: 600 }, (_, i) => [4 + i, 100 + i * 20]);
    run(buffer, clean, 100 + 600 * 20);
    expect(buffer.delayMs).toBeLessThan(40);
  });

  it("drops duplicates and handles sequence numbers wrapping at 65535", () => {
    const out = run(new JitterBuffer(), [
      [65534, 0],
      [65535, 20],
      [65535, 21],
      [65536, 40],
      [65537, 60],
    ]);
    expect(out.map((f) => f.sequence)).toEqual([65534, 65535, 0, 1]);
    expect(sequenceDistance(1, 65534)).toBe(3);
    expect(sequenceDistance(65534, 1)).toBe(-3);
  });

  it("treats a large sequence jump as a new stream instead of waiting for thousands of packets", () => {
    const buffer = new JitterBuffer();
    const out = run(buffer, [
      [100, 0],
      [101, 20],
      [40000, 40],
      [40001, 60],
    ]);
    expect(out.map((f) => [f.sequence, f.at])).toEqual([
      [100, 0],
      [101, 20],
      [40000, 40],
      [40001, 60],
    ]);
    expect(buffer.stats).toMatchObject({ resyncs: 1, lost: 0 });
  });

  it("releases the oldest packet at once when full", () => {
    const buffer = new JitterBuffer({ capacity: 4, initialDelayMs: 1000, maxDelayMs: 1000 });
    buffer.push(1, 0, false, payload(1), 0);
    expect(buffer.pop(0)!.sequence).toBe(1);
    for (const seq of [3, 4, 5, 6]) buffer.push(seq, 0, false, payload(seq), 0);
    const frame = buffer.pop(0);
    expect(frame).toMatchObject({ sequence: 3, lost: 1 });
  });
});
