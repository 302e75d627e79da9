import type { ReactionRunner } from '../reaction-runner.ts';

/**
 * Waits until a runner has caught up with a log that its own reactions append to: settles at the
 * head, and again while the head moved meanwhile (what the outbox delivered is read in turn).
 *
 * @example await settle(runner, () => log.head);
 */
export async function settle(runner: ReactionRunner, head: () => number): Promise<void> {
  for (;;) {
    const position = head();
    await runner.settled(position);
    if (head() === position) return;
  }
}
