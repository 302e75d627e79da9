import { setTimeout as sleep } from 'node:timers/promises';

/** Options of {@link waitUntil}. */
export interface WaitUntilOptions {
  /** Give up after this long (default 10 s): a bound so a broken run fails instead of hanging. */
  readonly timeoutMs?: number;
  /** Time between checks (default 5 ms). */
  readonly intervalMs?: number;
  /** Says what was awaited, in the error; a function is called only then (e.g. to print stats). */
  readonly message?: string | (() => string);
}

/**
 * Resolves once `condition` holds (it may be async); rejects after the timeout, naming what was
 * awaited. For waiting on a state, never for asserting how long something took.
 *
 * @example
 * await waitUntil(() => proxy.stats.open === 0, { message: () => JSON.stringify(proxy.stats) });
 */
export async function waitUntil(
  condition: () => boolean | Promise<boolean>,
  options: WaitUntilOptions = {},
): Promise<void> {
  const deadline = Date.now() + (options.timeoutMs ?? 10_000);
  for (;;) {
    if (await condition()) return;
    if (Date.now() >= deadline) {
      const what = typeof options.message === 'function' ? options.message() : options.message;
      throw new Error(
        `timed out after ${options.timeoutMs ?? 10_000} ms waiting for ${what ?? 'a condition'}`,
      );
    }
    await sleep(options.intervalMs ?? 5);
  }
}
