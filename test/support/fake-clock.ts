// A `Clock` (voice/clock.ts) whose time moves only when a test says: timing logic (RTP pacing, endpointing, reply
// holds, keypad and idle timers) is checked against exact virtual times, whatever else the machine is doing.
import type { Clock, Timer } from "../../voice/clock.ts";

interface Pending {
  id: number;
  at: number;
  callback: () => void;
  every: number | null;
}

/** Lets promise chains started by a timer run to their next real wait (a few turns of the event loop). */
export async function settle(turns = 10): Promise<void> {
  for (let i = 0; i < turns; i++) await new Promise((resolve) => setImmediate(resolve));
}

export class FakeClock implements Clock {
  private time: number;
  private nextId = 1;
  private readonly timers = new Map<number, Pending>();

  constructor(start = 1000) {
    this.time = start;
  }

  now(): number {
    return this.time;
  }

  setTimeout(callback: () => void, ms: number): Timer {
    return this.add(callback, ms, null);
  }

  setInterval(callback: () => void, ms: number): Timer {
    return this.add(callback, ms, Math.max(1, ms));
  }

  clearTimeout(timer: Timer | null): void {
    this.timers.delete(timer as number);
  }

  clearInterval(timer: Timer | null): void {
    this.timers.delete(timer as number);
  }

  /** Resolves after `ms` of this clock's time (for test doubles that take time: a slow runtime, a recognizer). */
  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => this.setTimeout(resolve, ms));
  }

  /** Time passes without any timer firing, as when the event loop is held up; the next `advance` catches up. */
  stall(ms: number): void {
    this.time += ms;
  }

  /** Timers still pending. */
  get pending(): number {
    return this.timers.size;
  }

  /**
   * Moves time forward by `ms`, firing each timer due on the way at its own time, in order, and letting what it
   * started settle before the next one fires.
   */
  async advance(ms: number): Promise<void> {
    const end = this.time + ms;
    await settle();
    for (;;) {
      let next: Pending | null = null;
      for (const t of this.timers.values()) if (t.at <= end && (!next || t.at < next.at || (t.at === next.at && t.id < next.id))) next = t;
      if (!next) break;
      this.time = Math.max(this.time, next.at);
      if (next.every === null) this.timers.delete(next.id);
      else next.at += next.every;
      next.callback();
      await settle();
    }
    this.time = end;
  }

  private add(callback: () => void, ms: number, every: number | null): number {
    const id = this.nextId++;
    this.timers.set(id, { id, at: this.time + Math.max(0, ms || 0), callback, every });
    return id;
  }
}
