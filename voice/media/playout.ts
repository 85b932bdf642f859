// Outbound speech for one call, whatever carries it (RTP to Asterisk, a browser's WebSocket): a queue of utterances
// taken out 20 ms at a time on a clock measured from its start, so errors never add up, and cut off at once by
// `clear()` (barge-in). Each utterance's promise resolves when its last frame's 20 ms has elapsed.
import { systemClock, type Clock, type Timer } from "../clock.ts";

/** Frame duration of outbound audio on every transport. */
export const FRAME_MS = 20;
/** After a stall longer than this many frames, the clock skips ahead instead of bursting the backlog. */
const MAX_BURST = 5;

export interface PlaybackResult {
  /** False when `clear()` or `close()` cut it off. */
  finished: boolean;
  playedMs: number;
}

export interface PlayoutOptions {
  sampleRate: number;
  /**
   * Sends one frame (reused between calls: copy it to keep it). `talkspurt` is true on the first frame after
   * silence or a clock jump; `tick` counts frames since the start, for RTP timestamps.
   */
  send(frame: Int16Array, talkspurt: boolean, tick: number): void;
  /** Runs on every clock tick after sending, e.g. to drain a jitter buffer on the same clock. */
  onTick?(now: number): void;
  /** False holds the queue (an RTP peer not yet known): nothing is lost before there is somewhere to send. */
  canSend?(): boolean;
  /** What paces the frames (the system's timers unless a test drives time itself). */
  clock?: Clock;
  /** How late each sent frame left after its 20 ms slot, in ms (for the pacing metric). */
  onLateness?(ms: number): void;
}

interface Playback {
  samples: Int16Array;
  offset: number;
  resolve: (result: PlaybackResult) => void;
  started?: () => void;
}

export class Playout {
  private readonly samplesPerFrame: number;
  private readonly frame: Int16Array;
  private readonly queue: Playback[] = [];
  /** Fully sent playbacks, resolved once their last frame's 20 ms has elapsed. */
  private finishing: Playback[] = [];
  private talking = false;
  private readonly clock: Clock;
  private clockStart: number;
  private ticks = 0;
  private timer: Timer | null = null;
  private closed = false;

  constructor(private readonly o: PlayoutOptions) {
    this.clock = o.clock ?? systemClock;
    this.clockStart = this.clock.now();
    this.samplesPerFrame = (o.sampleRate * FRAME_MS) / 1000;
    this.frame = new Int16Array(this.samplesPerFrame);
    this.schedule();
  }

  /**
   * Queue audio behind what is already playing. Resolves when its last frame has played, or early when cut off.
   * `started` runs as its first frame is sent.
   */
  play(samples: Int16Array, started?: () => void): Promise<PlaybackResult> {
    if (this.closed) return Promise.resolve({ finished: false, playedMs: 0 });
    const played = new Promise<PlaybackResult>((resolve) => this.queue.push({ samples, offset: 0, resolve, started }));
    if (!this.talking && this.queue.length === 1) this.startTalkspurt();
    return played;
  }

  /** Stop now: nothing queued is sent after this call. */
  clear(): void {
    for (const p of this.finishing) p.resolve({ finished: true, playedMs: this.ms(p.samples.length) });
    for (const p of this.queue) p.resolve({ finished: false, playedMs: this.ms(p.offset) });
    this.finishing = [];
    this.queue.length = 0;
  }

  get playing(): boolean {
    return this.queue.length > 0;
  }

  /** Audio queued and not yet sent, in ms. */
  get queuedMs(): number {
    let samples = 0;
    for (const p of this.queue) samples += p.samples.length - p.offset;
    return this.ms(samples);
  }

  close(): void {
    if (this.closed) return;
    this.clear();
    this.closed = true;
    this.clock.clearTimeout(this.timer);
  }

  private ms(samples: number): number {
    return Math.round((samples * 1000) / this.o.sampleRate);
  }

  /**
   * Speech after silence goes out now rather than at the next 20 ms boundary (up to a frame sooner): the clock is
   * re-phased to this instant. Frames keep counting, so timestamps stay continuous; the talkspurt's marker tells the
   * far end's jitter buffer to re-sync.
   */
  private startTalkspurt(): void {
    this.clock.clearTimeout(this.timer);
    this.clockStart = this.clock.now() - this.ticks * FRAME_MS;
    this.tick();
  }

  /** Wake at the next 20 ms boundary of this clock. */
  private schedule(): void {
    if (this.closed) return;
    const delay = this.clockStart + this.ticks * FRAME_MS - this.clock.now();
    this.timer = this.clock.setTimeout(() => this.tick(), Math.max(0, delay));
  }

  private tick(): void {
    const now = this.clock.now();
    const due = Math.floor((now - this.clockStart) / FRAME_MS) + 1 - this.ticks;
    if (due > MAX_BURST) {
      this.ticks += due - 1;
      this.talking = false; // the timeline jumps: a new talkspurt
    }
    for (let i = Math.min(due, MAX_BURST); i > 0; i--) {
      if (this.sendFrame()) this.o.onLateness?.(now - (this.clockStart + this.ticks * FRAME_MS));
      this.ticks++;
    }
    this.o.onTick?.(now);
    this.schedule();
  }

  /** False when there was nothing to send (or nowhere to send it yet). */
  private sendFrame(): boolean {
    for (const p of this.finishing) p.resolve({ finished: true, playedMs: this.ms(p.samples.length) });
    this.finishing.length = 0;
    if (!this.queue.length || this.o.canSend?.() === false) {
      this.talking = false;
      return false;
    }
    const pcm = this.frame;
    let filled = 0;
    while (filled < pcm.length && this.queue.length) {
      const p = this.queue[0]!;
      if (p.offset === 0) p.started?.();
      const n = Math.min(pcm.length - filled, p.samples.length - p.offset);
      pcm.set(p.samples.subarray(p.offset, p.offset + n), filled);
      filled += n;
      p.offset += n;
      if (p.offset >= p.samples.length) this.finishing.push(this.queue.shift()!);
    }
    pcm.fill(0, filled); // the last frame of an utterance is padded with silence, keeping 20 ms frames
    const talkspurt = !this.talking;
    this.talking = true;
    this.o.send(pcm, talkspurt, this.ticks);
    return true;
  }
}
