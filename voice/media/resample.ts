// Sample-rate conversion between the telephone, recogniser and synthesiser rates (8, 16, 22.05, 24 kHz …):
// a rational polyphase filter (Kaiser-windowed sinc), streaming across chunk boundaries.
// Output sample n sits at input time n·from/to with no added delay; the filter only looks `halfWidth`
// input samples ahead, so a stream's last outputs arrive with `flush()`.

/** Sinc zero crossings on each side, counted at the lower of the two rates; sets the transition width. */
const ZERO_CROSSINGS = 32;
/** The -6 dB point as a fraction of the lower Nyquist frequency: 8 kHz output keeps 300–3400 Hz flat. */
const CUTOFF = 0.92;
/** Kaiser β for about 80 dB of stopband attenuation. */
const KAISER_BETA = 7.86;

interface PolyphaseFilter {
  up: number;
  down: number;
  /** Taps per phase (2 × halfWidth). */
  taps: number;
  halfWidth: number;
  /** `up` phases of `taps` coefficients each. */
  coefficients: Float32Array;
}

const filters = new Map<string, PolyphaseFilter>();

function gcd(a: number, b: number): number {
  while (b) [a, b] = [b, a % b];
  return a;
}

function besselI0(x: number): number {
  let sum = 1;
  let term = 1;
  for (let k = 1; k < 50; k++) {
    term *= (x / (2 * k)) ** 2;
    sum += term;
    if (term < sum * 1e-12) break;
  }
  return sum;
}

/** Filters are shared by every stream with the same rate pair; they are read-only once built. */
function filterFor(fromRate: number, toRate: number): PolyphaseFilter {
  const g = gcd(fromRate, toRate);
  const up = toRate / g;
  const down = fromRate / g;
  const key = `${up}/${down}`;
  const cached = filters.get(key);
  if (cached) return cached;

  const cutoff = 0.5 * Math.min(1, up / down) * CUTOFF; // cycles per input sample
  const halfWidth = Math.ceil(ZERO_CROSSINGS / (2 * cutoff));
  const taps = 2 * halfWidth;
  const coefficients = new Float32Array(up * taps);
  const i0Beta = besselI0(KAISER_BETA);
  for (let phase = 0; phase < up; phase++) {
    const frac = phase / up;
    let sum = 0;
    for (let k = 0; k < taps; k++) {
      const d = k - halfWidth + 1 - frac; // distance from the output instant, in input samples
      const x = 2 * cutoff * d;
      const sinc = x === 0 ? 1 : Math.sin(Math.PI * x) / (Math.PI * x);
      const r = d / halfWidth;
      const window = Math.abs(r) >= 1 ? 0 : besselI0(KAISER_BETA * Math.sqrt(1 - r * r)) / i0Beta;
      const h = 2 * cutoff * sinc * window;
      coefficients[phase * taps + k] = h;
      sum += h;
    }
    for (let k = 0; k < taps; k++) coefficients[phase * taps + k]! /= sum; // unity gain at DC for every phase
  }
  const filter = { up, down, taps, halfWidth, coefficients };
  filters.set(key, filter);
  return filter;
}

export class Resampler {
  private readonly filter: PolyphaseFilter;
  private buffer: Float32Array;
  private length: number;
  /** Position of the next output in input samples × `up`, relative to buffer[0]. */
  private position: number;
  private output = new Float32Array(0);
  /** The last view of `output` handed out: a steady stream (160 in, 320 out) reuses it, so a frame allocates nothing. */
  private view = new Float32Array(0);

  constructor(
    readonly fromRate: number,
    readonly toRate: number,
  ) {
    if (!Number.isInteger(fromRate) || !Number.isInteger(toRate) || fromRate <= 0 || toRate <= 0) {
      throw new RangeError(`sample rates must be positive integers (got ${fromRate} → ${toRate})`);
    }
    this.filter = filterFor(fromRate, toRate);
    this.buffer = new Float32Array(this.filter.taps + 1024);
    this.length = 0;
    this.position = 0;
    this.reset();
  }

  /** Forget the stream: the next sample starts a new one (silence before it). */
  reset(): void {
    // halfWidth - 1 samples of silence stand for the time before the stream's first sample.
    this.buffer.fill(0);
    this.length = this.filter.halfWidth - 1;
    this.position = this.length * this.filter.up;
  }

  /**
   * Resample the next chunk of the stream. The returned array is a view of an internal buffer that the
   * next call overwrites: consume or copy it first.
   */
  process(input: Float32Array): Float32Array {
    if (this.filter.up === this.filter.down) return input;
    this.append(input);
    // An output is ready once the input halfWidth samples past its instant has arrived.
    return this.drain((this.length - this.filter.halfWidth) * this.filter.up - 1);
  }

  /** The outputs still held back at the end of a stream (the filter's look-ahead); then a fresh stream. */
  flush(): Float32Array {
    if (this.filter.up === this.filter.down) return new Float32Array(0);
    const end = this.length;
    this.append(new Float32Array(this.filter.halfWidth));
    const tail = this.drain(end * this.filter.up - 1).slice();
    this.reset();
    return tail;
  }

  private append(input: Float32Array): void {
    const needed = this.length + input.length;
    if (needed > this.buffer.length) {
      const grown = new Float32Array(Math.max(needed, this.buffer.length * 2));
      grown.set(this.buffer.subarray(0, this.length));
      this.buffer = grown;
    }
    this.buffer.set(input, this.length);
    this.length = needed;
  }

  /** Compute every output whose position is at most `lastPosition` (input samples × up). */
  private drain(lastPosition: number): Float32Array {
    const { up, down, taps, halfWidth, coefficients } = this.filter;
    const buffer = this.buffer;
    let position = this.position;
    const count = position > lastPosition ? 0 : Math.floor((lastPosition - position) / down) + 1;
    if (this.output.length < count) {
      this.output = new Float32Array(Math.max(count, 2 * this.output.length));
      this.view = this.output.subarray(0, 0);
    }
    const out = this.output;
    for (let n = 0; n < count; n++) {
      const centre = Math.floor(position / up);
      const c = (position - centre * up) * taps;
      const start = centre - halfWidth + 1;
      let acc = 0;
      for (let k = 0; k < taps; k++) acc += buffer[start + k]! * coefficients[c + k]!;
      out[n] = acc;
      position += down;
    }
    // Keep only the history the next output needs.
    const keepFrom = Math.max(0, Math.floor(position / up) - halfWidth + 1);
    if (keepFrom > 0) {
      buffer.copyWithin(0, keepFrom, this.length);
      this.length -= keepFrom;
      position -= keepFrom * up;
    }
    this.position = position;
    if (this.view.length !== count) this.view = out.subarray(0, count);
    return this.view;
  }
}

/** Resample a whole clip at once: ceil(length × to / from) samples, time-aligned with the input. */
export function resample(samples: Float32Array, fromRate: number, toRate: number): Float32Array {
  if (fromRate === toRate) return samples.slice();
  const resampler = new Resampler(fromRate, toRate);
  const head = resampler.process(samples);
  const out = new Float32Array(Math.ceil((samples.length * toRate) / fromRate));
  out.set(head.subarray(0, out.length));
  const tail = resampler.flush();
  out.set(tail.subarray(0, out.length - head.length), head.length);
  return out;
}
