import { createHlc, type HybridLogicalClock } from '@eventloom/core';
import type { CommittedEvent } from '@eventloom/protocol';

/**
 * This device's hybrid logical clock: it stamps appended events, starts after whatever another tab
 * persisted, and stays ahead of every event seen from other devices. Invariant: each stamp is
 * after every event seen before it; an event seen is merged into the clock at the next stamp, not
 * as it arrives (a device that mostly receives merges once per append, not once per event).
 */
export class DeviceClock {
  readonly node: string;
  readonly now: () => number;
  #clock: HybridLogicalClock;
  /** The latest hlc seen from another device since the last stamp; undefined once merged. */
  #seen: string | undefined;

  constructor(node: string, now: () => number, last: string | undefined) {
    this.node = node;
    this.now = now;
    this.#clock = createHlc({ node, now, ...(last ? { last } : {}) });
  }

  /** Another tab may have stamped later: start after the persisted hlc, whatever this clock says. */
  catchUp(persisted: string | undefined): void {
    const last = this.#clock.last();
    if (persisted !== undefined && (last === undefined || persisted > last)) {
      this.#clock = createHlc({ node: this.node, now: this.now, last: persisted });
    }
  }

  /** The next timestamp: after this clock's last one and after every event seen. */
  stamp(): string {
    const seen = this.#seen;
    this.#seen = undefined;
    const last = this.#clock.last();
    if (seen !== undefined && (last === undefined || seen > last)) {
      try {
        return this.#clock.receive(seen);
      } catch {
        // A remote clock too far ahead: keep ours (hlc-drift), the event is stored all the same.
      }
    }
    return this.#clock.now();
  }

  /** The hub's order is not the clock's, but the clock must stay ahead of every event seen. */
  observe(fresh: readonly CommittedEvent[]): void {
    let seen = this.#seen;
    for (const e of fresh) if (e.clientId !== this.node && (seen === undefined || e.hlc > seen)) seen = e.hlc;
    this.#seen = seen;
  }
}
