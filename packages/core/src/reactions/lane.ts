import { CoreError, CoreErrorCode, toCoreError } from '../core-error.ts';
import type { ConfirmedEvent } from './confirmed-event.ts';
import type { EventFeed } from './event-feed.ts';
import { IdWindow } from './id-window.ts';
import type { Checkpoint } from './reaction-store.ts';
import { backoffDelay, type BackoffPolicy } from './retry-policy.ts';
import type { Runtime } from './runtime.ts';
import { MAX_TIMER_DELAY_MS } from './scheduler.ts';

/** How long a lane waits before reading again after its feed or its store failed. */
const LANE_BACKOFF: BackoffPolicy = { initialMs: 200, factor: 2, maxMs: 30_000 };

const STOPPED = Symbol('stopped');

interface Waiter {
  readonly position: number;
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
}

/**
 * One handler's or saga's reading of the feed: from its checkpoint, page by page, in position
 * order. On a feed or store failure it drops what it had not committed and reads again from the
 * stored checkpoint, after a backoff: so what it committed is all that ever counts.
 *
 * Invariant: `committed ≤ position`; every event at or below `position` is done in memory, every
 * event at or below `committed` is done in the store.
 */
export abstract class Lane {
  readonly name: string;
  protected readonly rt: Runtime;
  /** The last event done in memory. */
  protected position = 0;
  /** The checkpoint as stored. */
  protected committed = 0;
  protected window: IdWindow;
  readonly #feed: EventFeed;
  #loaded = false;
  #stopped = false;
  #ended = false;
  #dead: unknown = undefined;
  #waiters: Waiter[] = [];
  /** Sleeps in progress (a saga's timeout may back off while its page loop does). */
  readonly #sleeps = new Set<() => void>();
  #stopSignal: Promise<typeof STOPPED>;
  #signalStop: () => void = () => undefined;
  #run: Promise<void> | undefined;

  constructor(name: string, feed: EventFeed, rt: Runtime) {
    this.name = name;
    this.#feed = feed;
    this.rt = rt;
    this.window = new IdWindow(rt.dedupeWindow);
    this.#stopSignal = new Promise((resolve) => {
      this.#signalStop = () => resolve(STOPPED);
    });
  }

  get stopped(): boolean {
    return this.#stopped;
  }

  /** The stored checkpoint position. */
  get checkpoint(): number {
    return this.committed;
  }

  /** Loads the checkpoint, then reads the feed in the background. */
  async start(): Promise<void> {
    await this.#load();
    this.#run = this.#loop();
  }

  /** Stops reading, lets the event in progress finish (not its backoff) and stores the progress. */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#signalStop();
    for (const cancel of this.#sleeps) cancel();
    await this.#run;
    this.#rejectWaiters(new CoreError(CoreErrorCode.invalidState, `${this.name} stopped`));
  }

  /** Resolves once the stored checkpoint reaches `position` (or the feed ended). */
  settled(position: number): Promise<void> {
    if (this.committed >= position || this.#ended) return Promise.resolve();
    if (this.#dead !== undefined) return Promise.reject(this.#dead);
    if (this.#stopped)
      return Promise.reject(new CoreError(CoreErrorCode.invalidState, `${this.name} stopped`));
    return new Promise((resolve, reject) => this.#waiters.push({ position, resolve, reject }));
  }

  /**
   * Waits `ms` on the scheduler; `false` if the lane stopped meanwhile (the caller then gives up
   * what it was doing, uncommitted).
   */
  sleep(ms: number): Promise<boolean> {
    if (this.#stopped) return Promise.resolve(false);
    return new Promise((resolve) => {
      let cancelTimer: () => void = () => undefined;
      const done = (ok: boolean) => {
        this.#sleeps.delete(cancel);
        cancelTimer();
        resolve(ok);
      };
      const cancel = () => done(false);
      this.#sleeps.add(cancel);
      cancelTimer = this.rt.scheduler.schedule(Math.min(ms, MAX_TIMER_DELAY_MS), () => done(!this.#stopped));
    });
  }

  /** Handles one page of the feed, then commits. */
  protected abstract processPage(page: readonly ConfirmedEvent[]): Promise<void>;
  /** Stores the progress made in memory. */
  protected abstract flush(): Promise<void>;
  /** Drops what was not committed (before a reload from the store). */
  protected abstract reset(): void;
  /** Runs after each (re)load of the checkpoint. */
  protected afterLoad(): Promise<void> {
    return Promise.resolve();
  }

  /** Records a commit of the checkpoint. */
  protected committedTo(checkpoint: Checkpoint): void {
    this.committed = checkpoint.position;
    if (this.#waiters.length === 0) return;
    const waiting: Waiter[] = [];
    for (const waiter of this.#waiters) {
      if (waiter.position <= this.committed) waiter.resolve();
      else waiting.push(waiter);
    }
    this.#waiters = waiting;
  }

  /** The checkpoint of what is done in memory. */
  protected progress(): Checkpoint {
    return { position: this.position, recentIds: this.window.toArray() };
  }

  async #load(): Promise<void> {
    const checkpoint = await this.rt.store.transaction((tx) => tx.getCheckpoint(this.name));
    this.reset();
    this.position = checkpoint?.position ?? 0;
    this.committed = this.position;
    this.window = new IdWindow(this.rt.dedupeWindow, checkpoint?.recentIds ?? []);
    this.#loaded = true;
    await this.afterLoad();
  }

  async #loop(): Promise<void> {
    let failures = 0;
    for (;;) {
      if (this.#stopped) break;
      try {
        if (!this.#loaded) await this.#load();
        const iterator = this.#feed.read(this.position)[Symbol.asyncIterator]();
        try {
          for (;;) {
            const next = await Promise.race([iterator.next(), this.#stopSignal]);
            if (next === STOPPED || next.done === true) break;
            await this.processPage(next.value);
            failures = 0;
            if (this.#stopped) break;
          }
        } finally {
          ignore(iterator.return?.());
        }
        await this.flush();
        if (!this.#stopped) {
          this.#ended = true;
          for (const waiter of this.#waiters) waiter.resolve();
          this.#waiters = [];
        }
        return;
      } catch (error) {
        if (error instanceof CoreError && error.code === CoreErrorCode.storeClosed) {
          this.#die(error);
          return;
        }
        this.rt.report(toCoreError(error));
        this.#loaded = false;
        failures++;
        if (!(await this.sleep(backoffDelay(LANE_BACKOFF, failures, this.rt.random)))) break;
      }
    }
  }

  /** The store is gone (the process is, as far as this lane knows): stop without writing. */
  #die(error: CoreError): void {
    this.#stopped = true;
    this.#dead = error;
    this.#signalStop();
    this.#rejectWaiters(error);
  }

  #rejectWaiters(error: unknown): void {
    const waiting = this.#waiters;
    this.#waiters = [];
    for (const waiter of waiting) waiter.reject(error);
  }
}

/** Drops a promise's outcome, rejections included, on purpose. */
export function ignore(promise: Promise<unknown> | undefined): void {
  promise?.then(
    () => undefined,
    () => undefined,
  );
}

export { STOPPED };
