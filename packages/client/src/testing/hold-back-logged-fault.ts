import { vi } from 'vitest';

/**
 * For a test that injects a storage fault on purpose: Dexie (in debug mode, on localhost) traces an error thrown in a table hook
 * (with its stack) before the transaction fails, which makes a green run look red. This keeps the
 * console lines that mention `name` out of the output and lets every other line through; the
 * function returned restores the console and says how many such lines were held back.
 *
 * @example
 * const quiet = holdBackLoggedFault('QuotaExceededError');
 * await expect(write()).rejects.toMatchObject({ code: 'quota-exceeded' });
 * quiet();
 */
export function holdBackLoggedFault(name: string): () => number {
  let held = 0;
  const spies = (['error', 'warn', 'trace'] as const).map((method) => {
    const original = console[method].bind(console);
    return vi.spyOn(console, method).mockImplementation((...args: unknown[]) => {
      if (args.some((arg) => String(arg).includes(name) || (arg instanceof Error && arg.name === name))) {
        held++;
        return;
      }
      original(...args);
    });
  });
  return () => {
    for (const spy of spies) spy.mockRestore();
    return held;
  };
}
