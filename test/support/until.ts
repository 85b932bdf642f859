// Waiting in tests for what the app does, not for a fixed time: a machine whose cores are busy with something else
// may take much longer than usual, so waits are for events and the timeout only bounds them.

/** Polls `check` until it answers something truthy, which it returns; throws after `timeoutMs`. */
export async function until<T>(check: () => T | undefined | null | false | Promise<T | undefined | null | false>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() > deadline) throw new Error("timed out");
    await Bun.sleep(10);
  }
}
