import type { CommittedEvent } from '@eventloom/protocol';
import { SerialQueue } from '../serial-queue.ts';
import type { SessionHost } from './session-host.ts';

/**
 * The session's view of the confirmed log: its position, the hub's head as last heard, and the
 * queue every confirmed event goes through. Invariant: confirmed events are stored one task at a
 * time inside `inbound`, so `position` is the log's (what catch-up and live events build on).
 */
export class SessionLog {
  readonly inbound = new SerialQueue();
  position = 0;
  head = 0;
  readonly #host: SessionHost;

  constructor(host: SessionHost) {
    this.#host = host;
  }

  /** Stores confirmed events (call it inside `inbound`). */
  async store(events: readonly CommittedEvent[], until: number | undefined, head: number): Promise<void> {
    // Every caller checked that the log covers what comes before these events.
    const from = this.position;
    const result = await this.#host.port.insertConfirmed(
      events,
      until === undefined ? { from } : { until, from },
    );
    this.#host.stored(events, result.inserted);
    this.position = result.position;
    this.head = Math.max(this.head, head, result.position);
    this.#host.received(result.inserted);
    this.#host.positionChanged(this.position, this.head);
  }
}
