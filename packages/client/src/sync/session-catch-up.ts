import {
  decodePullResult,
  decodeSubscribeAck,
  ErrorCode,
  MessageName,
  type PullResult,
} from '@eventloom/protocol';
import { issueError } from './session-errors.ts';
import type { SessionHost } from './session-host.ts';
import type { SessionLink } from './session-link.ts';
import type { LiveCatchUp, LiveFeed } from './session-live.ts';
import type { SessionLog } from './session-log.ts';

/**
 * A log recorded to hold no stream settles its acked rows (`markAcked`). One that is to hold some
 * is recorded as not known (`null`) until the history of its streams is in: its acked rows wait
 * for their events to come back confirmed, so that none leaves the pending view before. Called
 * before a session pushes, and when the subscriptions change.
 */
export async function openCoverage(
  host: SessionHost,
  covered: readonly string[] | undefined,
  desired: readonly string[],
): Promise<void> {
  if (covered?.length === 0 && desired.length > 0) await host.port.writeSyncRecord({ subscriptions: null });
}

/**
 * The catch-up stage of a session: brings the log up to the hub's head. Subscriptions first
 * (with the history of streams added), then pull pages until `more` is false, then the live
 * messages held meanwhile. Runs one round at a time; a call while one runs makes it go round
 * once more.
 */
export class CatchUp implements LiveCatchUp {
  readonly #host: SessionHost;
  readonly #link: SessionLink;
  readonly #log: SessionLog;
  readonly #live: LiveFeed;
  /** The subscriptions the hub holds for this socket; undefined until `hello`. */
  #subscribed: readonly string[] | undefined;
  /** Whether the log's coverage was checked against the subscriptions after `hello`. */
  #reconciled = false;
  #looping: Promise<void> | undefined;
  #loopAgain = false;

  constructor(host: SessionHost, link: SessionLink, log: SessionLog, live: LiveFeed) {
    this.#host = host;
    this.#link = link;
    this.#log = log;
    this.#live = live;
  }

  /** `hello` told the hub these subscriptions. */
  hubHolds(subscriptions: readonly string[]): void {
    this.#subscribed = subscriptions;
  }

  running(): boolean {
    return this.#looping !== undefined;
  }

  again(): void {
    this.#loopAgain = true;
  }

  loop(): Promise<void> {
    if (this.#looping) {
      this.#loopAgain = true;
      return this.#looping;
    }
    this.#looping = (async () => {
      try {
        do {
          this.#loopAgain = false;
          await this.#round();
          while (!this.#loopAgain && this.#live.holding && this.#link.open) await this.#live.applyHeld();
        } while (this.#loopAgain && this.#link.open);
      } finally {
        this.#looping = undefined;
      }
    })();
    return this.#looping;
  }

  async #round(): Promise<void> {
    const desired = this.#host.desiredSubscriptions();
    // After `hello` the hub holds what it said; tell it only of a change since.
    const changed = !sameList(desired, this.#subscribed ?? []);
    if (!this.#reconciled || changed) {
      await this.#applySubscriptions(desired, changed);
      this.#reconciled = true;
    }
    await this.#pullPages();
  }

  /**
   * Makes the log cover `desired`: tells the hub (unless `hello` just did), then pulls the history
   * of the streams the log did not cover, from position 0 up to the position the log has reached
   * (`insertHistory`), and records the new coverage with the last page. Events of those streams
   * after that position come with the pull that follows, under the new subscriptions.
   */
  async #applySubscriptions(desired: readonly string[], send: boolean): Promise<void> {
    if (send) {
      const ack = decodeSubscribeAck(
        await this.#link.request(MessageName.subscribe, { subscriptions: [...desired] }),
      );
      if (!ack.ok) throw issueError(ack.error, 'subscribe');
      this.#log.head = Math.max(this.#log.head, ack.value.head);
    }
    this.#subscribed = desired;
    // Everything held or queued was sent under the old subscriptions: the bound is after it.
    const bound = await this.#log.inbound.run(() => Promise.resolve(this.#log.position));
    const record = await this.#host.port.readSyncRecord();
    const covered = record.subscriptions ?? [];
    const added = desired.filter((s) => !covered.some((c) => covers(c, s)));
    if (bound === 0 || added.length === 0) {
      // Recorded even when empty: a log known to hold no stream settles its acked rows (`markAcked`).
      if (record.subscriptions === undefined || !sameList(covered, desired)) {
        await this.#host.port.writeSyncRecord({ subscriptions: desired });
      }
      return;
    }
    await openCoverage(this.#host, record.subscriptions, desired);
    let from = 0;
    for (;;) {
      const answer = decodePullResult(
        await this.#link.request(MessageName.pull, {
          from,
          limit: this.#host.config.pullLimit,
          streams: [...added],
        }),
      );
      if (!answer.ok) {
        // A stream the principal may not pull has no history to fetch here; the rest carries on.
        if (answer.error.code === ErrorCode.unauthorized) {
          this.#host.report(issueError(answer.error, 'pull'));
          await this.#host.port.writeSyncRecord({ subscriptions: desired });
          return;
        }
        throw issueError(answer.error, 'pull');
      }
      const page = answer.value;
      const last = !page.more || page.until >= bound;
      const older = page.events.filter((e) => e.position <= bound);
      await this.#log.inbound.run(async () => {
        const result = await this.#host.port.insertHistory(older, last ? { subscriptions: desired } : {});
        this.#host.received(result.inserted);
        this.#host.positionChanged(this.#log.position, this.#log.head);
      });
      if (last) return;
      from = page.until;
    }
  }

  /** Pulls pages from the log's position until the hub says there is no more; the next page is asked for while one is stored. */
  async #pullPages(): Promise<void> {
    let next = this.#pull(this.#log.position);
    for (;;) {
      const page = await next;
      if (page.more) {
        next = this.#pull(page.until);
        next.catch(() => undefined);
      }
      await this.#log.inbound.run(() => this.#log.store(page.events, page.until, page.head));
      if (!page.more || !this.#link.open) return;
    }
  }

  async #pull(from: number): Promise<PullResult> {
    const answer = decodePullResult(
      await this.#link.request(MessageName.pull, { from, limit: this.#host.config.pullLimit }),
    );
    if (!answer.ok) throw issueError(answer.error, 'pull');
    return answer.value;
  }
}

/** Whether subscription `c` covers every stream `s` covers. */
export function covers(c: string, s: string): boolean {
  if (c === s) return true;
  if (!c.endsWith('*')) return false;
  return s.startsWith(c.slice(0, -1));
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  const set = new Set(a);
  return b.every((s) => set.has(s));
}
