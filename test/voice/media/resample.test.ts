import { describe, expect, it } from "bun:test";
import { resample, Resampler } from "../../../voice/media/resample.ts";

const tone = (hz: number, rate: number, seconds: number, amplitude = 0.5) =>
  Float32Array.from({ length: Math.round(rate * seconds) }, (_, i) => amplitude * Math.sin((2 * Math.PI * hz * i) / rate));

/** RMS over the middle of a clip, away from the start-up and end transients. */
function rms(samples: Float32Array): number {
  const from = Math.floor(samples.length * 0.2);
  const to = Math.floor(samples.length * 0.8);
  let sum = 0;
  for (let i = from; i < to; i++) sum += samples[i]! ** 2;
  return Math.sqrt(sum / (to - from));
}

const db = (ratio: number) => 20 * Math.log10(ratio);

describe("resampling between the telephone, recogniser and synthesiser rates", () => {
  const pairs: [number, number][] = [
    [8000, 16000],
    [16000, 8000],
    [22050, 16000],
    [22050, 8000],
    [24000, 8000],
    [24000, 16000],
    [16000, 24000],
    [8000, 22050],
  ];

  for (const [from, to] of pairs) {
    it(`keeps a 1 kHz tone at its level and frequency from ${from} to ${to} Hz`, () => {
      const input = tone(1000, from, 0.5);
      const output = resample(input, from, to);
      expect(output.length).toBe(Math.ceil((input.length * to) / from));
      expect(Math.abs(db(rms(output) / rms(input)))).toBeLessThan(0.1);
      // Sample by sample it is the same sine, now at the new rate.
      const expected = tone(1000, to, 0.5);
      let worst = 0;
      for (let i = Math.floor(output.length * 0.2); i < output.length * 0.8; i++) worst = Math.max(worst, Math.abs(output[i]! - expected[i]!));
      expect(worst).toBeLessThan(0.005);
    });
  }

  it("keeps the telephone band flat going down to 8 kHz (300–3400 Hz within 0.5 dB)", () => {
    for (const hz of [300, 1000, 2000, 3000, 3400]) {
      const input = tone(hz, 16000, 0.5);
      expect(Math.abs(db(rms(resample(input, 16000, 8000)) / rms(input)))).toBeLessThan(0.5);
    }
  });

  it("suppresses what would alias when going down: tones above the new Nyquist frequency are at least 60 dB down", () => {
    for (const [hz, from, to] of [
      [5000, 16000, 8000],
      [6500, 16000, 8000],
      [4500, 22050, 8000],
      [9000, 22050, 16000],
      [10000, 24000, 16000],
    ] as const) {
      const input = tone(hz, from, 0.5);
      expect(db(rms(resample(input, from, to)) / rms(input))).toBeLessThan(-60);
    }
  });

  it("does not image when going up: 8 kHz speech-band audio upsampled to 16 kHz has nothing above 4 kHz", () => {
    const up = resample(tone(3000, 8000, 0.5), 8000, 16000);
    // Project onto the 5 kHz image of the 3 kHz tone.
    let re = 0;
    let im = 0;
    for (let i = 0; i < up.length; i++) {
      re += up[i]! * Math.cos((2 * Math.PI * 5000 * i) / 16000);
      im += up[i]! * Math.sin((2 * Math.PI * 5000 * i) / 16000);
    }
    const image = (2 * Math.hypot(re, im)) / up.length;
    expect(db(image / 0.5)).toBeLessThan(-60);
  });

  it("gives exactly the same samples whether a stream comes in one piece or in uneven frames", () => {
    const input = tone(440, 22050, 0.3);
    for (const [from, to] of [[22050, 16000], [22050, 8000]] as const) {
      const whole = resample(input.slice(0, Math.round(0.3 * from)), from, to);
      const resampler = new Resampler(from, to);
      const parts: number[] = [];
      let offset = 0;
      for (const size of [1, 7, 160, 441, 3, 2000, 999999]) {
        const chunk = input.subarray(offset, Math.min(offset + size, input.length));
        offset += chunk.length;
        parts.push(...resampler.process(chunk));
      }
      parts.push(...resampler.flush());
      expect(parts.length).toBe(whole.length);
      let worst = 0;
      for (let i = 0; i < whole.length; i++) worst = Math.max(worst, Math.abs(parts[i]! - whole[i]!));
      expect(worst).toBeLessThan(1e-6);
    }
  });

  it("streams 20 ms telephone frames to 16 kHz with no seam between frames", () => {
    const input = tone(700, 8000, 1);
    const resampler = new Resampler(8000, 16000);
    const out: number[] = [];
    for (let i = 0; i < input.length; i += 160) out.push(...resampler.process(input.subarray(i, i + 160)));
    const expected = tone(700, 16000, 1);
    let worst = 0;
    for (let i = 200; i < out.length; i++) worst = Math.max(worst, Math.abs(out[i]! - expected[i]!));
    expect(worst).toBeLessThan(0.005);
    // Only the filter's look-ahead (35 input samples) is held back.
    expect(input.length * 2 - out.length).toBeLessThanOrEqual(2 * 35);
  });

  it("passes audio through untouched when the rates are equal", () => {
    const input = tone(1000, 16000, 0.1);
    expect(new Resampler(16000, 16000).process(input)).toBe(input);
  });
});
