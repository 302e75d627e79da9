import { createHlc, DEFAULT_HLC_MAX_DRIFT_MS, type HybridLogicalClock } from '@eventloom/core';
import { type CommittedEvent, HLC_MAX_COUNTER, HLC_MAX_WALL } from '@eventloom/protocol';

/**
 * The largest hlc the clock would merge at physical time `now`: any later one is too far ahead
 * (`hlc-drift`). `~` sorts after every node-id character, so string order is the wall check.
 */
const driftCeiling = (now: number): string => {
  const pt = Math.floor(now);
  const wall = Math.min((pt >= 0 ? pt : 0) + DEFAULT_HLC_MAX_DRIFT_MS, HLC_MAX_WALL);
  return `${String(wall).padStart(15, '0')}-${HLC_MAX_COUNTER}-~`;
};

/**
 * This device's hybrid logical clock: it stamps appended events, starts after whatever another tab
 * persisted, and stays ahead of every event seen from other devices. Invariant: each stamp is
 * after every event seen before it; an event seen is merged into the clock at the next stamp, not
 * as it arrives (a device that mostly receives merges once per append, not once per event).
 * An hlc too far ahead of this device's time (beyond the drift limit when it arrives) is left out
 * as it arrives, so it never hides the valid ones seen with it, in whatever order they come.
 */
export class DeviceClock {
  readonly node: string;
  readonly now: () => number;
  #clock: HybridLogicalClock;
  /** The latest mergeable hlc seen from another device since the last stamp; undefined once merged. */
  #seen: string | undefined;

  constructor(node: string, now: () => number, last: string | undefined) {
    this.node = node;
    this.now = now;
    this.#clock = createHlc({ node, now, maxDriftMs: DEFAULT_HLC_MAX_DRIFT_MS, ...(last ? { last } : {}) });
  }

  /** Another tab may have stamped later: start after the persisted hlc, whatever this clock says. */
  catchUp(persisted: string | undefined): void {
    const last = this.#clock.last();
    if (persisted !== undefined && (last === undefined || persisted > last)) {
      this.#clock = createHlc({
        node: this.node,
        now: this.now,
        maxDriftMs: DEFAULT_HLC_MAX_DRIFT_MS,
        last: persisted,
      });
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
    let ceiling: string | undefined;
    for (const e of fresh) {
      if (e.clientId === this.node || (seen !== undefined && e.hlc <= seen)) continue;
      // Too far ahead (hlc-drift): the event is stored all the same, its time is not merged.
      if (e.hlc > (ceiling ??= driftCeiling(this.now()))) continue;
      seen = e.hlc;
    }
    this.#seen = seen;
  }
}
