// DTMF in both forms a call can carry it: RFC 4733 telephone-events in RTP, and in-band tones in the audio
// (a Goertzel filter bank on 8 kHz samples). Both report a key once, when it is released, with how long
// it was held.

export type DtmfSource = "rfc4733" | "inband";

export interface DtmfDigit {
  digit: string;
  durationMs: number;
  source: DtmfSource;
}

/** RFC 4733 §3.2 event codes 0–15. */
const EVENT_DIGITS = "0123456789*#ABCD";

/**
 * Telephone-events (RFC 4733): every packet of one key press shares an RTP timestamp, the duration grows,
 * and the final packet (end bit set) is sent three times. A key is reported on its first end packet; when
 * all of them are lost, it is reported as soon as the next event begins.
 */
export class TelephoneEventDecoder {
  private current: { timestamp: number; event: number; duration: number } | null = null;
  private lastReported: number | null = null;

  constructor(private readonly clockRate = 8000) {}

  push(timestamp: number, payload: Uint8Array): DtmfDigit | null {
    if (payload.length < 4) return null;
    const event = payload[0]!;
    const end = (payload[1]! & 0x80) !== 0;
    const duration = (payload[2]! << 8) | payload[3]!;
    if (timestamp === this.lastReported) return null; // a redundant end packet, or a straggler of a reported key
    let unfinished: DtmfDigit | null = null;
    if (this.current && this.current.timestamp !== timestamp) unfinished = this.digit(this.current.event, this.current.duration);
    if (unfinished) this.lastReported = this.current!.timestamp;
    if (event >= EVENT_DIGITS.length) {
      this.current = null; // flash and other events: not keys
      return unfinished;
    }
    if (end && !unfinished) {
      this.current = null;
      this.lastReported = timestamp;
      return this.digit(event, duration);
    }
    this.current = { timestamp, event, duration };
    return unfinished;
  }

  private digit(event: number, duration: number): DtmfDigit {
    return { digit: EVENT_DIGITS[event]!, durationMs: Math.round((duration * 1000) / this.clockRate), source: "rfc4733" };
  }
}

const ROW_HZ = [697, 770, 852, 941];
const COLUMN_HZ = [1209, 1336, 1477, 1633];
const KEYPAD = ["123A", "456B", "789C", "*0#D"];

/** 102 samples at 8 kHz (12.75 ms): fine enough to tell 697 Hz from 770 Hz, short enough for 40 ms tones. */
const BLOCK = 102;
/** Blocks in a row a tone must hold: 3 × 12.75 ms, so any tone of 51 ms or more is heard; speech rarely holds two clean sines that long. */
const MIN_BLOCKS = 3;
/** Blocks without the tone that end a key (one dropout is bridged). */
const GAP_BLOCKS = 2;
/** ITU-T Q.24 twist limits: the high (column) tone may be up to 8 dB louder, or 4 dB quieter, than the row tone. */
const NORMAL_TWIST = 6.31;
const REVERSE_TWIST = 2.51;
/** The second-strongest tone of a group must be 8 dB below the strongest. */
const RELATIVE_PEAK = 6.31;
/** The two tones must carry this share of the block's energy: rejects speech and noise with energy elsewhere. */
const TONE_SHARE = 0.7;
/** Each tone must be louder than about -40 dBFS (mean square of a full-scale float sine is 0.5). */
const MIN_TONE_POWER = 0.5 * 10 ** (-40 / 10);

/** In-band DTMF on 8 kHz audio. Frames of any length; state carries across them. */
export class InbandDtmfDetector {
  private readonly coefficients: Float64Array;
  private readonly s1 = new Float64Array(8);
  private readonly s2 = new Float64Array(8);
  private readonly power = new Float64Array(8);
  private count = 0;
  private energy = 0;
  private candidate = "";
  private held = 0;
  private missed = 0;
  private active = "";

  constructor(private readonly onDigit: (digit: DtmfDigit) => void) {
    this.coefficients = Float64Array.from([...ROW_HZ, ...COLUMN_HZ], (hz) => 2 * Math.cos((2 * Math.PI * hz) / 8000));
  }

  push(samples: Int16Array): void {
    const { coefficients, s1, s2 } = this;
    for (let i = 0; i < samples.length; i++) {
      const x = samples[i]! / 32768;
      this.energy += x * x;
      for (let f = 0; f < 8; f++) {
        const s = x + coefficients[f]! * s1[f]! - s2[f]!;
        s2[f] = s1[f]!;
        s1[f] = s;
      }
      if (++this.count === BLOCK) this.endBlock();
    }
  }

  private endBlock(): void {
    const { coefficients, s1, s2, power } = this;
    // Goertzel power → mean square of that sine over the block: 2·|X|² / N².
    for (let f = 0; f < 8; f++) power[f] = (2 * (s1[f]! ** 2 + s2[f]! ** 2 - coefficients[f]! * s1[f]! * s2[f]!)) / (BLOCK * BLOCK);
    const meanSquare = this.energy / BLOCK;
    s1.fill(0);
    s2.fill(0);
    this.count = 0;
    this.energy = 0;
    this.observe(this.classify(meanSquare));
  }

  private classify(meanSquare: number): string {
    const power = this.power;
    let row = 0;
    let column = 4;
    for (let f = 1; f < 4; f++) if (power[f]! > power[row]!) row = f;
    for (let f = 5; f < 8; f++) if (power[f]! > power[column]!) column = f;
    const r = power[row]!;
    const c = power[column]!;
    if (r < MIN_TONE_POWER || c < MIN_TONE_POWER) return "";
    if (c > r * NORMAL_TWIST || r > c * REVERSE_TWIST) return "";
    for (let f = 0; f < 4; f++) if (f !== row && power[f]! * RELATIVE_PEAK > r) return "";
    for (let f = 4; f < 8; f++) if (f !== column && power[f]! * RELATIVE_PEAK > c) return "";
    if (r + c < TONE_SHARE * meanSquare) return "";
    return KEYPAD[row]![column - 4]!;
  }

  private observe(digit: string): void {
    if (digit && digit === this.candidate) {
      this.held++;
      this.missed = 0;
      if (this.held >= MIN_BLOCKS) this.active = digit;
      return;
    }
    if (!digit && this.candidate && ++this.missed < GAP_BLOCKS) return;
    if (this.active) this.onDigit({ digit: this.active, durationMs: Math.round((this.held * BLOCK * 1000) / 8000), source: "inband" });
    this.active = "";
    this.candidate = digit;
    this.held = digit ? 1 : 0;
    this.missed = 0;
  }
}
