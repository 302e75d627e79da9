/**
 * Test support for the sync model test (sync-model.test.ts): the step where every device flushes
 * and catches up, after which the model compares the hub's log with every device's. Not part of
 * the package.
 */
import type { CommittedEvent } from '@eventloom/protocol';
import type { Sync } from '@eventloom/client';
import { waitFor } from './sync-harness.node.ts';

/** What {@link converge} waits on. */
export interface ConvergeInput {
  /** Every device's sync (each device's current instance). */
  readonly syncs: readonly Sync[];
  /** The hub's log, as far as the caller compares it (e.g. the run's streams). */
  readonly readLog: () => Promise<readonly CommittedEvent[]>;
  /**
   * Resolves once the hub has what killed instances sent before they died: their last pushes may
   * still be in the network (delayed, held) when the devices have flushed.
   */
  readonly lastBytes: () => Promise<unknown>;
  /** A bound on each wait, so that a stuck run fails with a message instead of hanging: generous. */
  readonly waitMs: number;
  /** What a timeout says of the devices and the hub. */
  readonly describe: () => string;
}

/**
 * Waits until the hub's log is final and every device holds it: first what killed instances still
 * had in the network reaches the hub (`lastBytes`), then the devices flush (their outboxes empty),
 * then each is live at the hub's head or past it. The log is read again after that, and the step
 * repeats while it moved (an event the hub had received and was still judging, a device's late
 * re-push). Resolves with the log the devices hold.
 */
export async function converge(input: ConvergeInput): Promise<readonly CommittedEvent[]> {
  const { syncs, readLog, waitMs, describe } = input;
  await within(
    input.lastBytes(),
    waitMs,
    () => `the killed instances' last bytes reached the hub:\n${describe()}`,
  );
  for (;;) {
    await within(Promise.all(syncs.map((s) => s.flushed())), waitMs, () => `flushed:\n${describe()}`);
    const last = (await readLog()).at(-1)?.position ?? 0;
    await within(
      Promise.all(
        syncs.map((s) =>
          waitFor(
            s.metrics$,
            (x) => x.position >= last && x.outbox === 0 && x.state === 'live',
            waitMs + 1000,
          ),
        ),
      ),
      waitMs,
      () => `caught up to ${last}:\n${describe()}`,
    );
    const log = await readLog();
    if ((log.at(-1)?.position ?? 0) === last) return log;
  }
}

/** `promise`, or a rejection with `message()` after `ms`. */
export async function within<T>(promise: Promise<T>, ms: number, message: () => string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting until ${message()}`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
