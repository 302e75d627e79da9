import { createHlc, type HybridLogicalClock } from '@eventloom/core';
import type { CommittedEvent } from '@eventloom/protocol';

/**
 * This device's hybrid logical clock: it stamps appended events, starts after whatever another tab
 * persisted, and stays ahead of every event seen from other devices.
 */
export class DeviceClock {
  readonly node: string;
  readonly now: () => number;
  #clock: HybridLogicalClock;

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

  /** The next timestamp. */
  stamp(): string {
    return this.#clock.now();
  }

  /** The hub's order is not the clock's, but the clock must stay ahead of every event seen. */
  observe(fresh: readonly CommittedEvent[]): void {
    let max: string | undefined;
    for (const e of fresh) if (e.clientId !== this.node && (max === undefined || e.hlc > max)) max = e.hlc;
    const last = this.#clock.last();
    if (max === undefined || (last !== undefined && max <= last)) return;
    try {
      this.#clock.receive(max);
    } catch {
      // A remote clock too far ahead: keep ours (hlc-drift), the event is stored all the same.
    }
  }
}
