/**
 * Calls `expired` once the time `expiresAt` (ms since the epoch) has passed, as a session's token
 * expiry does; a timer that keeps the process alive for nothing is never left (it is `unref`ed).
 * Returns what cancels it.
 */
export function whenExpired(expiresAt: number, expired: () => void): () => void {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const arm = (): void => {
    // setTimeout holds at most ~24.8 days; re-armed for longer tokens.
    const delay = Math.min(expiresAt - Date.now(), 2 ** 31 - 1);
    timer = setTimeout(() => (Date.now() >= expiresAt ? expired() : arm()), Math.max(0, delay));
    timer.unref?.();
  };
  arm();
  return () => clearTimeout(timer);
}
