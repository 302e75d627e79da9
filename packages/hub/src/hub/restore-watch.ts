import type { Logger } from 'pino';
import type { HubMetrics } from './hub-metrics.ts';

/**
 * What the hub learns of a log restored from an older backup, from the devices that come back to
 * it (DESIGN "The hub's word on a client is checked at every hello"): a device that holds
 * positions past the log's head saw a newer log. The hub logs each such device, and counts the
 * events devices send again (`push` with `repair`). What no device has sent back yet is reported
 * as a lower bound: the highest position any device held, minus the head when the first one
 * came back, minus the events repaired since. Kept in memory: a hub restart starts it afresh.
 *
 * A repair push counts every event it commits (`eventloom_hub_repaired_events_total`), and a
 * device's repair push also carries the rest of a decision that starts among its lost events,
 * past the last of them (the client's `cutAtBoundaries`). Counting those is right: a decision is
 * stored whole or not at all, so one whose start the restored log lost had lost the rest too.
 *
 * Invariant: `missing()` never goes below 0 and only falls as repairs arrive (or rises as a device
 * reports having held more).
 */
export class RestoreWatch {
  readonly #metrics: HubMetrics;
  readonly #logger: Logger;
  /** The log's head when the first device ahead of it came back; undefined until one did. */
  #restoredHead: number | undefined;
  /** The highest position a device said it held. */
  #claimedHead = 0;
  #repaired = 0;

  constructor(metrics: HubMetrics, logger: Logger) {
    this.#metrics = metrics;
    this.#logger = logger;
  }

  /**
   * A device said hello holding positions up to `lastPosition` while the log's head is `head`.
   * True when it is ahead of the log (the log lost what it held past `head`).
   */
  hello(clientId: string, lastPosition: number, head: number): boolean {
    if (lastPosition <= head) return false;
    this.#restoredHead ??= head;
    this.#claimedHead = Math.max(this.#claimedHead, lastPosition);
    this.#metrics.restoreDetections.inc();
    this.#update();
    this.#logger.warn(
      { clientId, lastPosition, head, missingAtLeast: this.missing() },
      'a device holds positions past the head of this log: the log was restored from an older backup; devices send their own lost events again',
    );
    return true;
  }

  /** A `repair` push of `clientId` committed `count` events again. */
  repaired(clientId: string, count: number): void {
    if (count === 0) return;
    this.#repaired += count;
    this.#metrics.repairedEvents.inc(count);
    this.#update();
    const missing = this.missing();
    this.#logger.warn(
      { clientId, repaired: count, repairedInAll: this.#repaired, missingAtLeast: missing },
      missing > 0
        ? 'events a restored log lost came back from their device; others are still missing (their devices have not come back)'
        : 'events a restored log lost came back from their device',
    );
  }

  /** At least this many events of the log before the restore are still missing. */
  missing(): number {
    if (this.#restoredHead === undefined) return 0;
    return Math.max(0, this.#claimedHead - this.#restoredHead - this.#repaired);
  }

  #update(): void {
    this.#metrics.restoreMissingEvents.set(this.missing());
  }
}
