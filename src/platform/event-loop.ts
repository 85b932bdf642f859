// Long work on the main thread (ingestion, re-embedding) gives way between steps, so requests, timers and, on the
// embedded store, other queries get their turn. A resolved promise would not do: microtasks run before any I/O.

/** Resolves after the I/O and timers already waiting have run. */
export function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
