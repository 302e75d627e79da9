import { ErrorCode } from '@eventloom/protocol';
import type { EventStore, StoreAppend, StoreAppendResult } from '../store/event-store.ts';
import { undefinedSlots } from '../store/slots.ts';
import { HubError, HubErrorCode } from './hub-error.ts';

/** Bounds and hooks of a {@link Sequencer}. */
export interface SequencerOptions {
  /** Most events handed to one `store.append` (one transaction). */
  readonly maxTransactionEvents: number;
  /** How long an event above its client's next `clientSeq` waits for the gap to fill, in ms. */
  readonly gapTimeoutMs: number;
  /** Most events held for one client at once; more are answered `sequence-gap` at once. */
  readonly maxHeldPerClient: number;
  /** Called after every durable commit that stored at least one event, with the highest position. */
  readonly onCommitted: (head: number, appended: number) => void;
  /** Called when a transaction fails (the events in it are answered `internal`). */
  readonly onStoreError: (error: unknown) => void;
}

/**
 * Transactions handed to the store at once, at most. A second one is handed over only when a
 * full one is queued: the store (the SQLite thread) then starts it the moment the first commits,
 * while this thread goes on reading sockets, instead of waiting for it to be serialised.
 */
const MAX_TRANSACTIONS_IN_FLIGHT = 2;

/**
 * The hub's single writer. Every pushed event goes through here: the events queued while a
 * transaction runs (from any number of sockets) go into the next transaction together (group
 * commit); a second transaction is handed to the store before the first has committed only when
 * it is full (the store commits appends in call order). An event whose `clientSeq` is ahead of
 * its client's is held until the events before it are recorded (then appended again) or until
 * `gapTimeoutMs` passes (then `sequence-gap`).
 *
 * Invariant: `submit` resolves only with results of durable transactions, or with rejections that
 * stored nothing (`sequence-gap`, `internal`, `unavailable`).
 */
export class Sequencer {
  readonly #store: EventStore;
  readonly #options: SequencerOptions;
  readonly #queue: Group[] = [];
  /** Events in `#queue`. */
  #queued = 0;
  readonly #held = new Map<string, Map<number, Held[]>>();
  #heldCount = 0;
  /** Transactions handed to the store and not answered yet. */
  #running = 0;
  #scheduled = false;
  #closed = false;
  #idle: (() => void)[] = [];

  constructor(store: EventStore, options: SequencerOptions) {
    this.#store = store;
    this.#options = options;
  }

  /** Events held for a gap right now, across all clients. */
  get heldCount(): number {
    return this.#heldCount;
  }

  /** Queues events (in the order given) and resolves with one final result per event. */
  submit(items: readonly StoreAppend[]): Promise<StoreAppendResult[]> {
    return new Promise((resolve) => {
      const request: Request = {
        results: undefinedSlots<StoreAppendResult>(items.length) as StoreAppendResult[],
        remaining: items.length,
        resolve,
      };
      if (items.length === 0) {
        resolve([]);
        return;
      }
      if (this.#closed) {
        for (let i = 0; i < items.length; i++)
          settle({ request, index: i, item: items[i]! }, unavailable(items[i]!));
        return;
      }
      if (this.#heldCount > 0) this.#fenceOlderOf(items);
      this.#queue.push({ slots: items.map((item, index) => ({ request, index, item })) });
      this.#queued += items.length;
      this.#schedule();
    });
  }

  /**
   * Stops taking new events, lets queued and running transactions finish, and answers every held
   * event `unavailable`. Resolves when nothing is in flight.
   */
  async close(): Promise<void> {
    this.#closed = true;
    const all = [...this.#held.values()].flatMap((bySeq) => [...bySeq.values()].flat());
    for (const held of all) this.#expire(held, unavailable(held.slot.item));
    await this.#whenIdle();
  }

  #whenIdle(): Promise<void> {
    if (this.#running === 0 && !this.#scheduled && this.#queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }

  /**
   * Starts the next transaction after the current I/O phase, so that pushes read from several
   * sockets in the same phase share one transaction (one fsync) instead of each paying for one.
   */
  #schedule(): void {
    if (this.#scheduled || !this.#mayStart()) return;
    this.#scheduled = true;
    setImmediate(() => {
      this.#scheduled = false;
      this.#pump();
    });
  }

  /** Whether a transaction may start now: the first whenever events wait, a second only when full. */
  #mayStart(): boolean {
    if (this.#running === 0) return true;
    return this.#running < MAX_TRANSACTIONS_IN_FLIGHT && this.#queued >= this.#options.maxTransactionEvents;
  }

  #pump(): void {
    if (!this.#mayStart()) return;
    if (this.#queue.length === 0) {
      if (this.#running === 0) for (const resolve of this.#idle.splice(0)) resolve();
      return;
    }
    this.#running++;
    const groups: Group[] = [];
    let count = 0;
    while (this.#queue.length > 0) {
      const next = this.#queue[0]!;
      if (groups.length > 0 && count + next.slots.length > this.#options.maxTransactionEvents) break;
      this.#queue.shift();
      groups.push(next);
      count += next.slots.length;
    }
    this.#queued -= count;
    // Callbacks passed inline, not closures held in named constants: run from source (tsx keeps
    // names), each of those costs a `defineProperty` per transaction.
    const transaction: Transaction = { answered: false };
    this.#commit(groups, () => {
      this.#free(transaction);
      // Before this transaction's pushes are answered (their acks, the live feed), so that the
      // store does not wait on them. Not when events are held: those the answers release go first.
      if (this.#heldCount === 0 && this.#queue.length > 0) this.#pump();
    }).then(
      () => {
        this.#free(transaction);
        this.#schedule();
      },
      (error: unknown) => {
        this.#options.onStoreError(error);
        this.#free(transaction);
        this.#schedule();
      },
    );
    // A full transaction may be waiting already.
    this.#schedule();
  }

  /** Counts `transaction` out of those running, once (when the store answered it, or it failed). */
  #free(transaction: Transaction): void {
    if (transaction.answered) return;
    transaction.answered = true;
    this.#running--;
  }

  /** Commits `groups` in one transaction and answers their slots; `answered` runs once the store has. */
  async #commit(groups: readonly Group[], answered?: () => void): Promise<void> {
    const slots = groups.length === 1 ? groups[0]!.slots : groups.flatMap((g) => g.slots);
    let results: StoreAppendResult[];
    try {
      results = await this.#store.append(slots.map((s) => s.item));
      if (results.length !== slots.length) throw new Error('store answered the wrong number of results');
      answered?.();
    } catch (error) {
      this.#options.onStoreError(error);
      if (groups.length > 1) {
        // The transaction rolled back whole: try each group alone, so one bad group cannot fail others.
        for (const group of groups) await this.#commit([group]);
      } else {
        for (const slot of slots) settle(slot, internal(slot.item, error));
      }
      return;
    }
    let head = 0;
    let appended = 0;
    const advanced = new Map<string, number>();
    for (let i = 0; i < slots.length; i++) {
      const slot = slots[i]!;
      const result = results[i]!;
      if (result.status === 'gap') {
        this.#hold(slot);
        continue;
      }
      if (result.status === 'fenced') {
        // Its session was superseded: nothing stored, and the client's seq did not move.
        settle(slot, result);
        this.#fenceOlder(slot.item.event.clientId, result.epoch);
        continue;
      }
      if (result.status === 'ok') {
        appended++;
        if (result.position > head) head = result.position;
      }
      const { clientId, clientSeq } = slot.item.event;
      if (clientSeq > (advanced.get(clientId) ?? 0)) advanced.set(clientId, clientSeq);
      settle(slot, result);
    }
    if (appended > 0) this.#options.onCommitted(head, appended);
    for (const [clientId, seq] of advanced) this.#release(clientId, seq);
  }

  #hold(slot: Slot): void {
    const { clientId, clientSeq } = slot.item.event;
    let bySeq = this.#held.get(clientId);
    let held = slot.held;
    if (held === undefined) {
      const size = bySeq === undefined ? 0 : countHeld(bySeq);
      if (this.#closed || size >= this.#options.maxHeldPerClient) {
        settle(slot, sequenceGap(slot.item, this.#closed ? 'the hub is closing' : 'too many events held'));
        return;
      }
      held = { slot, deadline: Date.now() + this.#options.gapTimeoutMs, timer: undefined };
      slot.held = held;
    }
    // A released event that met a gap again (another event came in between) keeps its deadline.
    const waiting = held;
    waiting.timer = setTimeout(
      () => this.#expire(waiting, sequenceGap(slot.item, 'the gap was not filled in time')),
      Math.max(0, waiting.deadline - Date.now()),
    );
    waiting.timer.unref?.();
    if (bySeq === undefined) this.#held.set(clientId, (bySeq = new Map()));
    const list = bySeq.get(clientSeq);
    if (list === undefined) bySeq.set(clientSeq, [waiting]);
    else list.push(waiting);
    this.#heldCount++;
  }

  /**
   * A push carries the epoch its session claimed (`EventStore.claimClient`, durable before the
   * welcome): the sessions of its client with older epochs are superseded, so the events they left
   * held are `fenced` now, not at their gap timeout, and no longer count against `maxHeldPerClient`
   * for the new session.
   */
  #fenceOlderOf(items: readonly StoreAppend[]): void {
    let last: StoreAppend | undefined;
    for (const item of items) {
      if (item.epoch === undefined) continue;
      if (last?.epoch !== item.epoch || last.event.clientId !== item.event.clientId)
        this.#fenceOlder(item.event.clientId, item.epoch);
      last = item;
    }
  }

  /** Answers `fenced` (`epoch`: the newest known) every held event of `clientId` older than `epoch`. */
  #fenceOlder(clientId: string, epoch: number): void {
    const bySeq = this.#held.get(clientId);
    if (bySeq === undefined) return;
    const older: Held[] = [];
    for (const list of bySeq.values()) {
      for (const held of list) {
        const before = held.slot.item.epoch;
        if (before !== undefined && before < epoch) older.push(held);
      }
    }
    // Not while iterating: expiring one takes it out of `bySeq`.
    for (const held of older) this.#expire(held, { status: 'fenced', id: held.slot.item.event.id, epoch });
  }

  #expire(held: Held, result: StoreAppendResult): void {
    const { clientId, clientSeq } = held.slot.item.event;
    const bySeq = this.#held.get(clientId);
    const list = bySeq?.get(clientSeq);
    const at = list?.indexOf(held) ?? -1;
    if (at >= 0) {
      list!.splice(at, 1);
      this.#heldCount--;
      if (list!.length === 0) bySeq!.delete(clientSeq);
      if (bySeq!.size === 0) this.#held.delete(clientId);
    }
    clearTimeout(held.timer);
    settle(held.slot, result);
  }

  /** Queues, ahead of everything else, the held events that directly follow `lastSeq`. */
  #release(clientId: string, lastSeq: number): void {
    const bySeq = this.#held.get(clientId);
    if (bySeq === undefined) return;
    const slots: Slot[] = [];
    for (let seq = lastSeq + 1; bySeq.has(seq); seq++) {
      for (const held of bySeq.get(seq)!) {
        clearTimeout(held.timer);
        slots.push(held.slot);
      }
      this.#heldCount -= bySeq.get(seq)!.length;
      bySeq.delete(seq);
    }
    if (bySeq.size === 0) this.#held.delete(clientId);
    if (slots.length > 0) {
      this.#queue.unshift({ slots });
      this.#queued += slots.length;
    }
  }
}

interface Request {
  readonly results: StoreAppendResult[];
  remaining: number;
  readonly resolve: (results: StoreAppendResult[]) => void;
}

interface Slot {
  readonly request: Request;
  readonly index: number;
  readonly item: StoreAppend;
  held?: Held;
}

interface Held {
  readonly slot: Slot;
  readonly deadline: number;
  timer: ReturnType<typeof setTimeout> | undefined;
}

interface Group {
  readonly slots: Slot[];
}

/** A transaction handed to the store: whether it was counted out of those running. */
interface Transaction {
  answered: boolean;
}

function settle(slot: Slot, result: StoreAppendResult): void {
  if (slot.held !== undefined) {
    clearTimeout(slot.held.timer);
  }
  const { request } = slot;
  if (request.results[slot.index] !== undefined) return;
  request.results[slot.index] = result;
  if (--request.remaining === 0) request.resolve(request.results);
}

function countHeld(bySeq: Map<number, Held[]>): number {
  let n = 0;
  for (const list of bySeq.values()) n += list.length;
  return n;
}

function sequenceGap(item: StoreAppend, why: string): StoreAppendResult {
  return {
    status: 'rejected',
    id: item.event.id,
    code: ErrorCode.sequenceGap,
    message: `clientSeq ${item.event.clientSeq} is ahead of the client's last accepted seq: ${why}`,
  };
}

function unavailable(item: StoreAppend): StoreAppendResult {
  return {
    status: 'rejected',
    id: item.event.id,
    code: ErrorCode.unavailable,
    message: 'the hub is shutting down',
  };
}

/** A failed transaction's answer: `unavailable` (retry later) when the store cannot be reached, else `internal`. */
function internal(item: StoreAppend, error: unknown): StoreAppendResult {
  const why = error instanceof Error ? error.message : String(error);
  const unreachable = error instanceof HubError && error.code === HubErrorCode.unavailable;
  return {
    status: 'rejected',
    id: item.event.id,
    code: unreachable ? ErrorCode.unavailable : ErrorCode.internal,
    message: `store failure: ${why}`.slice(0, 1024),
  };
}
