/** True when `stream` is covered by one of `subscriptions` (exact name or `prefix*`). */
export function matchesSubscription(stream: string, subscriptions: readonly string[]): boolean {
  for (const s of subscriptions) {
    if (s.endsWith('*') ? stream.startsWith(s.slice(0, -1)) : s === stream) return true;
  }
  return false;
}
