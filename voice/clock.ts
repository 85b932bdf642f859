// Time as the voice code sees it: RTP pacing, endpointing, reply holds, keypad and idle timers all read and wait
// through one `Clock` handed in as a dependency, so tests drive that logic with a fake clock instead of sleeping and
// measuring a machine that may be busy. The server uses `systemClock`.

/** A pending timer, as the clock that set it hands it out. */
export type Timer = unknown;

export interface Clock {
  /** Milliseconds on a monotonic scale (differences are what count). */
  now(): number;
  setTimeout(callback: () => void, ms: number): Timer;
  clearTimeout(timer: Timer | null): void;
  setInterval(callback: () => void, ms: number): Timer;
  clearInterval(timer: Timer | null): void;
}

type SystemTimer = ReturnType<typeof setTimeout>;

/** The process's own timers and `performance.now()`. */
export const systemClock: Clock = {
  now: () => performance.now(),
  setTimeout: (callback, ms) => setTimeout(callback, ms),
  clearTimeout: (timer) => clearTimeout(timer as SystemTimer),
  setInterval: (callback, ms) => setInterval(callback, ms),
  clearInterval: (timer) => clearInterval(timer as SystemTimer),
};
