// An echo gate for one call: tells whether an inbound frame is the agent's own audio coming back (a far end that
// loops the agent's voice back, as misconfigured SBCs and some PBXs do), by normalized cross-correlation of the
// last 40 ms heard against the last ~0.5 s sent. An echo is a delayed, scaled (and G.711-degraded) copy of what was
// sent, so its correlation at the loop's delay is close to 1 whatever its level; the caller's own voice, or the
// caller talking over the echo, correlates far less and passes. The work, per 20 ms frame and only while the agent
// has been heard recently: a coarse search over every lag at 2 kHz, then a fine one at 8 kHz around the best few
// coarse lags; once the loop's delay is known, only the fine search around it. Allocation-free after construction.

/** The rate the gate compares at: what is sent (G.711 or slin at 8 kHz); 16 kHz inbound is halved. */
const RATE = 8000;
const FRAME = RATE / 50;
/** Heard audio compared each frame: 40 ms, two frames, enough to tell a voice from a copy of another. */
const WINDOW = FRAME * 2;
/** The coarse search works on averages of this many samples (2 kHz). */
const DECIMATE = 4;
const COARSE_WINDOW = WINDOW / DECIMATE;
/** Fine search: ± this many 8 kHz samples around a coarse candidate (a coarse step is 4). */
const REFINE = 3;
const CANDIDATES = 3;
/** Frames quieter than this (RMS of 16-bit samples, about −60 dBFS) are not worth comparing: nothing to hear. */
const QUIET_RMS = 30;

export interface EchoGateOptions {
  /** The longest round trip an echo may take to come back, in ms (the far end's delay plus our jitter buffer). */
  maxDelayMs?: number;
  /**
   * Correlation at or above which a frame is an echo (0.9). A µ-law-degraded echo scores above 0.98; a caller
   * talking over an echo as loud as they are, about 0.7.
   */
  threshold?: number;
}

export interface EchoGateStats {
  /** Frames heard while the agent had spoken within the delay window (the only ones compared). */
  compared: number;
  /** Of those, frames found to be the agent's own audio. */
  echoes: number;
  /** The loop's delay last found, in ms; null before any echo. */
  delayMs: number | null;
}

export class EchoGate {
  readonly stats: EchoGateStats = { compared: 0, echoes: 0, delayMs: null };
  private readonly threshold: number;
  private readonly maxLag: number;
  /**
   * What was sent, at 8 kHz, as a ring written twice (at i and i + size) so that every window is contiguous;
   * `sentAt` counts samples written. Time runs on in silence too: see `sentFrame`.
   */
  private readonly sent: Float32Array;
  private readonly size: number;
  private sentAt = 0;
  private readonly coarse: Float32Array;
  private readonly coarseSize: number;
  /** The last WINDOW samples heard, at 8 kHz, oldest first, and its 2 kHz averages. */
  private readonly heard = new Float32Array(WINDOW);
  private readonly heardCoarse = new Float32Array(COARSE_WINDOW);
  /** When the agent last sent a frame that was not silence, in samples of `sentAt`. */
  private lastVoiceAt = -Infinity;
  /** The outbound slot last accounted for (sent, or found silent), and when. */
  private tick: number | null = null;
  private tickAt = 0;
  private lockedLag = -1;
  private readonly best = new Float64Array(CANDIDATES);
  private readonly bestLag = new Int32Array(CANDIDATES);

  constructor(options: EchoGateOptions = {}) {
    this.threshold = options.threshold ?? 0.9;
    this.maxLag = Math.ceil(((options.maxDelayMs ?? 500) * RATE) / 1000 / DECIMATE) * DECIMATE;
    this.size = this.maxLag + WINDOW + REFINE + FRAME;
    this.size += DECIMATE - (this.size % DECIMATE);
    this.sent = new Float32Array(this.size * 2);
    this.coarseSize = this.size / DECIMATE;
    this.coarse = new Float32Array(this.coarseSize * 2);
  }

  /**
   * A frame the agent sent, at 8 kHz: the `tick`-th 20 ms slot of its outbound clock, at `nowMs`. Frames come only
   * while the agent talks: the slots between are filled with silence, so that lags stay lags in time. Slots, not
   * times: a late timer sends several frames at once, which is no gap.
   */
  sentFrame(pcm: Int16Array, tick: number, nowMs: number): void {
    if (this.tick !== null && tick - this.tick > 1) this.silence(tick - this.tick - 1);
    this.tick = tick;
    this.tickAt = nowMs;
    let energy = 0;
    for (let i = 0; i < pcm.length; i++) {
      const s = pcm[i]!;
      energy += s * s;
      this.push(s);
    }
    if (Math.sqrt(energy / pcm.length) >= QUIET_RMS) this.lastVoiceAt = this.sentAt;
  }

  /**
   * True when `samples` (one inbound frame at `rate`, 8 or 16 kHz) is the agent's own audio coming back. Frames
   * are expected in order; a frame that is not compared still joins the window the next one is compared with.
   */
  isEcho(samples: Int16Array, rate: number, nowMs: number): boolean {
    // Inbound frames come between the sent ones, whenever the network delivers them: only an outbound clock quiet
    // for two slots more than due counts as the agent having stopped, and the slots since then are silence.
    if (this.tick !== null) {
      const quiet = Math.floor((nowMs - this.tickAt) / 20) - 2;
      if (quiet > 0) {
        this.silence(quiet);
        this.tick += quiet;
        this.tickAt += quiet * 20;
      }
    }
    const step = rate / RATE;
    const n = Math.floor(samples.length / step);
    const heard = this.heard;
    heard.copyWithin(0, Math.min(n, WINDOW));
    let energy = 0;
    const start = WINDOW - Math.min(n, WINDOW);
    for (let i = start, j = n - (WINDOW - start); i < WINDOW; i++, j++) {
      // 16 kHz to 8 kHz by averaging pairs: a low-pass good enough to compare with.
      let s = 0;
      for (let k = 0; k < step; k++) s += samples[j * step + k]!;
      s /= step;
      heard[i] = s;
      energy += s * s;
    }
    if (n === 0 || Math.sqrt(energy / (WINDOW - start)) < QUIET_RMS) return false;
    // Nothing the agent said could be coming back now.
    if (this.sentAt - this.lastVoiceAt > this.maxLag + WINDOW) return false;
    this.stats.compared++;
    // The loop's delay holds still, but where a heard frame falls against the sent ones moves by a frame with timing.
    const locked = this.lockedLag;
    let score = 0;
    if (locked >= 0) for (const lag of [locked, locked + FRAME, locked - FRAME]) if (score < this.threshold && lag >= 0) score = this.refine(lag);
    if (score < this.threshold) score = this.search();
    const echo = score >= this.threshold;
    if (echo) {
      this.stats.echoes++;
      this.stats.delayMs = (this.lockedLag * 1000) / RATE;
    }
    return echo;
  }

  /** `frames` slots the agent sent nothing in (at most the whole history). */
  private silence(frames: number): void {
    const missing = Math.min(frames * FRAME, this.size);
    for (let i = 0; i < missing; i++) this.push(0);
  }

  private push(sample: number): void {
    const at = this.sentAt % this.size;
    this.sent[at] = sample;
    this.sent[at + this.size] = sample;
    this.sentAt++;
    if (this.sentAt % DECIMATE === 0) {
      const base = at - (DECIMATE - 1);
      let sum = 0;
      for (let k = 0; k < DECIMATE; k++) sum += this.sent[base + k + (base < 0 ? this.size : 0)]!;
      const c = (this.sentAt / DECIMATE - 1) % this.coarseSize;
      this.coarse[c] = sum / DECIMATE;
      this.coarse[c + this.coarseSize] = sum / DECIMATE;
    }
  }

  /** Best coarse lags at 2 kHz, then the fine score around each; remembers the lag that scored best. */
  private search(): number {
    const heard = this.heard;
    const hc = this.heardCoarse;
    let heardEnergy = 0;
    for (let i = 0; i < COARSE_WINDOW; i++) {
      let s = 0;
      for (let k = 0; k < DECIMATE; k++) s += heard[i * DECIMATE + k]!;
      hc[i] = s / DECIMATE;
      heardEnergy += hc[i]! * hc[i]!;
    }
    this.best.fill(-1);
    this.bestLag.fill(-1);
    const coarse = this.coarse;
    const lags = this.maxLag / DECIMATE;
    // Lag 0 compares the heard window with the newest sent one; lag L with the one L coarse samples older.
    const cs = this.coarseSize;
    const newest = mod(Math.floor(this.sentAt / DECIMATE) - COARSE_WINDOW, cs);
    // Window energy slides with the lag: one sample leaves at the top, one joins at the bottom.
    let sentEnergy = 0;
    for (let i = 0; i < COARSE_WINDOW; i++) sentEnergy += coarse[newest + i]! * coarse[newest + i]!;
    for (let lag = 0, start = newest; lag <= lags; lag++, start = start === 0 ? cs - 1 : start - 1) {
      if (lag > 0) {
        const leaving = coarse[start + COARSE_WINDOW]!;
        const joining = coarse[start]!;
        sentEnergy += joining * joining - leaving * leaving;
      }
      if (sentEnergy <= 1e-3) continue;
      let dot = 0;
      for (let i = 0; i < COARSE_WINDOW; i++) dot += hc[i]! * coarse[start + i]!;
      if (dot <= 0) continue;
      this.keep(dot / Math.sqrt(heardEnergy * sentEnergy), lag * DECIMATE);
    }
    let bestScore = 0;
    let bestLag = -1;
    for (let c = 0; c < CANDIDATES; c++) {
      if (this.bestLag[c]! < 0) continue;
      const score = this.refine(this.bestLag[c]!);
      if (score > bestScore) {
        bestScore = score;
        bestLag = this.lockedLag;
      }
    }
    this.lockedLag = bestScore >= this.threshold ? bestLag : -1;
    return bestScore;
  }

  /** Keeps the CANDIDATES best coarse lags, neighbours of a kept lag counting as that lag. */
  private keep(score: number, lag: number): void {
    let worst = 0;
    for (let c = 0; c < CANDIDATES; c++) {
      if (this.bestLag[c]! >= 0 && Math.abs(this.bestLag[c]! - lag) <= DECIMATE) {
        if (score > this.best[c]!) {
          this.best[c] = score;
          this.bestLag[c] = lag;
        }
        return;
      }
      if (this.best[c]! < this.best[worst]!) worst = c;
    }
    if (score > this.best[worst]!) {
      this.best[worst] = score;
      this.bestLag[worst] = lag;
    }
  }

  /** The best 8 kHz score within ±REFINE of `around`; sets lockedLag to where it was found. */
  private refine(around: number): number {
    const heard = this.heard;
    const sent = this.sent;
    let heardEnergy = 0;
    for (let i = 0; i < WINDOW; i++) heardEnergy += heard[i]! * heard[i]!;
    let best = 0;
    let bestLag = around;
    for (let lag = Math.max(0, around - REFINE); lag <= Math.min(this.maxLag + REFINE, around + REFINE); lag++) {
      const start = mod(this.sentAt - WINDOW - lag, this.size);
      let dot = 0;
      let sentEnergy = 0;
      for (let i = 0; i < WINDOW; i++) {
        const r = sent[start + i]!;
        dot += heard[i]! * r;
        sentEnergy += r * r;
      }
      if (sentEnergy <= 1e-3 || dot <= 0) continue;
      const score = dot / Math.sqrt(heardEnergy * sentEnergy);
      if (score > best) {
        best = score;
        bestLag = lag;
      }
    }
    this.lockedLag = bestLag;
    return best;
  }
}

/** `n` modulo `m`, never negative (the ring's first copy, from which every window is contiguous). */
function mod(n: number, m: number): number {
  return ((n % m) + m) % m;
}
