import { describe, expect, it } from "bun:test";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { float32ToInt16 } from "../../../voice/media/codecs.ts";
import { InbandDtmfDetector, TelephoneEventDecoder, type DtmfDigit } from "../../../voice/media/dtmf.ts";
import { resample } from "../../../voice/media/resample.ts";
import { decodeWav } from "../../../voice/media/wav.ts";

const KEYS = "123A456B789C*0#D";
const ROWS = [697, 770, 852, 941];
const COLUMNS = [1209, 1336, 1477, 1633];

function dualTone(key: string, ms: number, dbfsPerTone = -10, twistDb = 0): Float32Array {
  const index = KEYS.indexOf(key);
  const row = ROWS[Math.floor(index / 4)]!;
  const column = COLUMNS[index % 4]!;
  const a = 10 ** (dbfsPerTone / 20);
  const b = a * 10 ** (twistDb / 20);
  return Float32Array.from({ length: (ms * 8000) / 1000 }, (_, i) => a * Math.sin((2 * Math.PI * row * i) / 8000) + b * Math.sin((2 * Math.PI * column * i) / 8000));
}

function concat(parts: Float32Array[]): Float32Array {
  const out = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Feed 8 kHz audio in 20 ms frames, as it comes off RTP. */
function detect(audio: Float32Array, noise = 0): DtmfDigit[] {
  const digits: DtmfDigit[] = [];
  const detector = new InbandDtmfDetector((d) => digits.push(d));
  let seed = 1;
  const noisy = audio.map((x) => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return x + noise * (seed / 0x7fffffff - 0.5);
  });
  const pcm = float32ToInt16(noisy);
  for (let i = 0; i < pcm.length; i += 160) detector.push(pcm.subarray(i, i + 160));
  return digits;
}

const silence = (ms: number) => new Float32Array((ms * 8000) / 1000);

describe("in-band DTMF", () => {
  it("detects all 16 keys, once each, from 100 ms dual tones with noise", () => {
    const audio = concat([...KEYS].flatMap((k) => [dualTone(k, 100), silence(80)]));
    const digits = detect(audio, 0.02);
    expect(digits.map((d) => d.digit).join("")).toBe(KEYS);
    for (const d of digits) {
      expect(d.source).toBe("inband");
      expect(d.durationMs).toBeGreaterThanOrEqual(75);
      expect(d.durationMs).toBeLessThanOrEqual(115);
    }
  });

  it("hears short (55 ms) and quiet (-30 dBFS) presses and twisted tones within the ITU limits", () => {
    expect(detect(concat([dualTone("5", 55), silence(60)])).map((d) => d.digit)).toEqual(["5"]);
    expect(detect(concat([dualTone("9", 100, -30), silence(60)])).map((d) => d.digit)).toEqual(["9"]);
    expect(detect(concat([dualTone("#", 100, -12, 6), silence(60), dualTone("*", 100, -12, -3), silence(60)])).map((d) => d.digit)).toEqual(["#", "*"]);
  });

  it("ignores tones too short to be a key press, and single tones", () => {
    expect(detect(concat([dualTone("1", 20), silence(100)]))).toEqual([]);
    const single = Float32Array.from({ length: 1600 }, (_, i) => 0.3 * Math.sin((2 * Math.PI * 697 * i) / 8000));
    expect(detect(concat([single, silence(60)]))).toEqual([]);
  });

  it("rejects tones twisted beyond the ITU limits", () => {
    expect(detect(concat([dualTone("1", 100, -10, 12), silence(60)]))).toEqual([]);
    expect(detect(concat([dualTone("1", 100, -10, -10), silence(60)]))).toEqual([]);
  });

  it("bridges a single dropout inside one press instead of reporting the key twice", () => {
    const audio = concat([dualTone("7", 80), silence(10), dualTone("7", 80), silence(60)]);
    expect(detect(audio).map((d) => d.digit)).toEqual(["7"]);
  });

  const prompts = "/usr/share/asterisk/sounds/en_US_f_Allison";
  const hasPrompts = existsSync(prompts);
  if (!hasPrompts) console.warn(`skipping the talk-off test on recorded speech: ${prompts} is missing (apt-get install asterisk-core-sounds-en-wav)`);
  it.skipIf(!hasPrompts)("hears no key in recorded telephone speech (Asterisk's prompts)", () => {
    const files = readdirSync(prompts)
      .filter((f) => f.endsWith(".wav"))
      .sort()
      .slice(0, 120);
    let seconds = 0;
    for (const file of files) {
      const wav = decodeWav(readFileSync(`${prompts}/${file}`));
      expect(wav.sampleRate).toBe(8000);
      seconds += wav.samples.length / 8000;
      expect({ file, digits: detect(wav.samples) }).toEqual({ file, digits: [] });
    }
    expect(seconds).toBeGreaterThan(60);
  });

  const hasEspeak = Bun.which("espeak-ng") !== null;
  if (!hasEspeak) console.warn("skipping the talk-off test on synthetic speech: espeak-ng is not installed (apt-get install espeak-ng)");
  it.skipIf(!hasEspeak)("hears no key in synthetic speech (espeak-ng), digits read aloud included", async () => {
    const proc = Bun.spawn(["espeak-ng", "--stdout", "-v", "en-us", "One two three. Press nine for the operator, or hash to repeat. Thank you for calling, goodbye."], { stdout: "pipe" });
    const wav = decodeWav(new Uint8Array(await new Response(proc.stdout).arrayBuffer()));
    expect(detect(resample(wav.samples, wav.sampleRate, 8000))).toEqual([]);
  });
});

describe("RFC 4733 telephone-events", () => {
  const event = (code: number, end: boolean, duration: number) => Uint8Array.of(code, (end ? 0x80 : 0) | 10, duration >> 8, duration & 0xff);

  it("reports a key once, at its end, despite the three redundant end packets", () => {
    const decoder = new TelephoneEventDecoder();
    const got: (DtmfDigit | null)[] = [];
    for (const d of [160, 320, 480, 640]) got.push(decoder.push(8000, event(5, false, d)));
    for (let i = 0; i < 3; i++) got.push(decoder.push(8000, event(5, true, 800)));
    expect(got.filter(Boolean)).toEqual([{ digit: "5", durationMs: 100, source: "rfc4733" }]);
  });

  it("decodes every key and tells presses of the same key apart by their timestamp", () => {
    const decoder = new TelephoneEventDecoder();
    const digits: string[] = [];
    [...KEYS, "1", "1"].forEach((_, i) => {
      const code = i < 16 ? i : 1;
      for (const end of [false, true, true, true]) {
        const d = decoder.push(1000 + i * 2000, event(code, end, 640));
        if (d) digits.push(d.digit);
      }
    });
    expect(digits.join("")).toBe("0123456789*#ABCD11");
  });

  it("still reports a key whose end packets were all lost, when the next one begins", () => {
    const decoder = new TelephoneEventDecoder();
    expect(decoder.push(100, event(2, false, 160))).toBeNull();
    expect(decoder.push(100, event(2, false, 320))).toBeNull();
    expect(decoder.push(5000, event(3, false, 160))).toEqual({ digit: "2", durationMs: 40, source: "rfc4733" });
    expect(decoder.push(5000, event(3, true, 480))).toEqual({ digit: "3", durationMs: 60, source: "rfc4733" });
  });

  it("ignores flash and other non-key events, and truncated payloads", () => {
    const decoder = new TelephoneEventDecoder();
    expect(decoder.push(100, event(16, true, 800))).toBeNull();
    expect(decoder.push(200, Uint8Array.of(1, 0x80))).toBeNull();
  });
});
