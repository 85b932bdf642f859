// A small adaptive jitter buffer for inbound call audio, ordering RTP packets by sequence number.
// Its consumer is VAD and speech recognition, not a loudspeaker, so there is no playout clock: a packet
// that is next in sequence leaves at once, and only a packet behind a hole waits — up to `delayMs` —
// for the missing ones. Packets arriving after their hole was given up raise that wait; a long run of
// clean deliveries lowers it again. Timestamps are carried, never trusted for ordering: Asterisk jumps
// them when a bridge changes technology, pauses 100–330 ms, and sends short last frames, none of which
// may stall the stream.

export interface JitterFrame {
  readonly sequence: number;
  readonly timestamp: number;
  readonly marker: boolean;
  /** Valid until the next `push` or `pop`. */
  readonly payload: Uint8Array;
  /** Packets given up as lost just before this one. */
  readonly lost: number;
}

export interface JitterBufferOptions {
  /** Initial wait for a missing packet, in ms. */
  initialDelayMs?: number;
  minDelayMs?: number;
  maxDelayMs?: number;
  /** Packets held at most; when full, the oldest leaves whatever it waits for. */
  capacity?: number;
  /** Nominal packet duration, the step by which the wait grows. */
  frameMs?: number;
}

export interface JitterStats {
  received: number;
  delivered: number;
  lost: number;
  /** Arrived after their hole was given up, or duplicates of delivered packets. */
  late: number;
  duplicates: number;
  /** Sequence discontinuities treated as a new stream. */
  resyncs: number;
}

interface Slot {
  ext: number;
  sequence: number;
  timestamp: number;
  marker: boolean;
  arrivedAt: number;
  data: Uint8Array;
  payload: Uint8Array;
  lost: number;
}

/** A jump this large (≈ 5 s of 20 ms packets) is a restarted stream, not loss. */
const RESYNC_GAP = 256;
/** Clean deliveries (≈ 5 s) after which the wait shrinks by one step. */
const DECAY_AFTER = 250;

/** Signed distance a − b between two 16-bit sequence numbers. */
export const sequenceDistance = (a: number, b: number) => ((a - b + 0x18000) & 0xffff) - 0x8000;

export class JitterBuffer {
  readonly stats: JitterStats = { received: 0, delivered: 0, lost: 0, late: 0, duplicates: 0, resyncs: 0 };
  private readonly minDelay: number;
  private readonly maxDelay: number;
  private readonly capacity: number;
  private readonly frameMs: number;
  private delay: number;
  private started = false;
  /** Extended (unwrapped) sequence number of the next packet to deliver. */
  private expected = 0;
  private readonly pending: Slot[] = [];
  private readonly free: Slot[] = [];
  private released: Slot | null = null;
  private cleanRun = 0;

  constructor(options: JitterBufferOptions = {}) {
    this.minDelay = options.minDelayMs ?? 20;
    this.maxDelay = options.maxDelayMs ?? 200;
    this.capacity = options.capacity ?? 64;
    this.frameMs = options.frameMs ?? 20;
    this.delay = Math.min(this.maxDelay, Math.max(this.minDelay, options.initialDelayMs ?? 40));
  }

  /** Current wait for a missing packet, in ms. */
  get delayMs(): number {
    return this.delay;
  }

  get size(): number {
    return this.pending.length;
  }

  push(sequence: number, timestamp: number, marker: boolean, payload: Uint8Array, nowMs: number): void {
    this.recycleReleased();
    this.stats.received++;
    if (!this.started) {
      this.started = true;
      this.expected = sequence;
    }
    let ext = this.expected + sequenceDistance(sequence, this.expected & 0xffff);
    if (Math.abs(ext - this.expected) > RESYNC_GAP) {
      this.restart(sequence);
      ext = sequence;
    } else if (ext < this.expected) {
      this.stats.late++;
      this.delay = Math.min(this.maxDelay, this.delay + this.frameMs);
      this.cleanRun = 0;
      return;
    }
    for (const slot of this.pending) {
      if (slot.ext === ext) {
        this.stats.duplicates++;
        return;
      }
    }
    const slot = this.take(payload.length);
    slot.ext = ext;
    slot.sequence = sequence & 0xffff;
    slot.timestamp = timestamp;
    slot.marker = marker;
    slot.arrivedAt = nowMs;
    slot.payload = slot.data.subarray(0, payload.length);
    slot.payload.set(payload);
    // Insertion from the back: packets nearly always arrive in order.
    const pending = this.pending;
    pending.push(slot);
    for (let i = pending.length - 1; i > 0 && pending[i - 1]!.ext > ext; i--) {
      pending[i] = pending[i - 1]!;
      pending[i - 1] = slot;
    }
  }

  /** The next packet due at `nowMs`, or null. Call until null after each push and on a timer. */
  pop(nowMs: number): JitterFrame | null {
    this.recycleReleased();
    const head = this.pending[0];
    if (!head) return null;
    const inOrder = head.ext === this.expected;
    if (!inOrder && this.pending.length < this.capacity && nowMs - head.arrivedAt < this.delay) return null;
    this.pending.shift();
    head.lost = head.ext - this.expected;
    this.stats.lost += head.lost;
    this.stats.delivered++;
    this.expected = head.ext + 1;
    if (inOrder && ++this.cleanRun >= DECAY_AFTER) {
      this.cleanRun = 0;
      this.delay = Math.max(this.minDelay, this.delay - this.frameMs / 4);
    } else if (!inOrder) this.cleanRun = 0;
    this.released = head;
    return head;
  }

  /** Drop everything held and start over with the next packet (e.g. a new SSRC). */
  reset(): void {
    this.recycleReleased();
    for (const slot of this.pending) this.free.push(slot);
    this.pending.length = 0;
    this.started = false;
  }

  private restart(sequence: number): void {
    this.stats.resyncs++;
    this.reset();
    this.started = true;
    this.expected = sequence;
  }

  private take(size: number): Slot {
    const slot = this.free.pop() ?? { ext: 0, sequence: 0, timestamp: 0, marker: false, arrivedAt: 0, data: new Uint8Array(0), payload: new Uint8Array(0), lost: 0 };
    if (slot.data.length < size) slot.data = new Uint8Array(Math.max(size, 320));
    return slot;
  }

  private recycleReleased(): void {
    if (this.released) {
      this.free.push(this.released);
      this.released = null;
    }
  }
}
