import type { CommittedEvent, EventMeta, StoredEventKind } from '@eventloom/protocol';
import type { ConfirmedEvent } from '../confirmed-event.ts';
import type { EventFeed } from '../event-feed.ts';
import type { OutboxMessage, OutboxRelay } from '../outbox-message.ts';

/** An event to commit to a {@link MemoryEventLog}. */
export interface LogDraft {
  readonly type: string;
  readonly data: unknown;
  readonly stream: string;
  readonly kind?: StoredEventKind;
  readonly meta?: EventMeta;
}

/**
 * A hub's log in memory, for tests of reactions: it commits events with gapless positions, feeds
 * them to runners (stored ones, then live ones), and takes runners' outboxes through its relay,
 * skipping message ids it has seen — as a hub dedupes by event id.
 */
export interface MemoryEventLog {
  readonly events: readonly CommittedEvent[];
  /** The last position (0 when empty). */
  readonly head: number;
  /** Pages of at most `pageSize` events. */
  readonly feed: EventFeed;
  readonly relay: OutboxRelay;
  /** Commits events, in order, after the head. */
  append(...drafts: readonly LogDraft[]): CommittedEvent[];
  /** The events that came from the outbox message with this id, if any. */
  fromMessage(id: string): CommittedEvent | undefined;
}

/**
 * Creates an empty log.
 *
 * @example
 * const log = createMemoryEventLog();
 * const runner = createReactionRunner({ store, feed: log.feed, scheduler, handlers, outbox: log.relay });
 * log.append({ type: 'order.placed', data: { orderId: 'o1' }, stream: 'order:o1' });
 */
export function createMemoryEventLog(options: { readonly pageSize?: number } = {}): MemoryEventLog {
  return new Log(options.pageSize ?? 1000);
}

let ids = 0;

class Log implements MemoryEventLog {
  readonly #events: CommittedEvent[] = [];
  readonly #byMessage = new Map<string, CommittedEvent>();
  readonly #pageSize: number;
  #waiters: (() => void)[] = [];
  readonly feed: EventFeed;
  readonly relay: OutboxRelay;

  constructor(pageSize: number) {
    this.#pageSize = pageSize;
    this.feed = { read: (after) => new Pages(this, after) };
    this.relay = {
      deliver: async (messages) => {
        for (const message of messages) this.#deliver(message);
      },
    };
  }

  get events(): readonly CommittedEvent[] {
    return this.#events;
  }

  get head(): number {
    return this.#events.length;
  }

  append(...drafts: readonly LogDraft[]): CommittedEvent[] {
    const out = drafts.map((draft) => this.#commit(draft));
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const wake of waiters) wake();
    return out;
  }

  fromMessage(id: string): CommittedEvent | undefined {
    return this.#byMessage.get(id);
  }

  /** Events after `after`, at most a page; waits while there are none (or until `stop` resolves). */
  async page(after: number, stop: Promise<void>): Promise<ConfirmedEvent[] | undefined> {
    let stopped = false;
    void stop.then(() => {
      stopped = true;
    });
    while (this.#events.length <= after) {
      await Promise.race([new Promise<void>((resolve) => this.#waiters.push(resolve)), stop]);
      if (stopped) return undefined;
    }
    return this.#events.slice(after, after + this.#pageSize);
  }

  #deliver(message: OutboxMessage): void {
    if (this.#byMessage.has(message.id)) return;
    const [event] = this.append(message.draft);
    this.#byMessage.set(message.id, event!);
  }

  #commit(draft: LogDraft): CommittedEvent {
    const position = this.#events.length + 1;
    const n = ++ids;
    const event: CommittedEvent = {
      id: `0190a1b2-c3d4-7e5f-8a6b-${n.toString(16).padStart(12, '0')}`,
      type: draft.type,
      version: 1,
      kind: draft.kind ?? 'domain',
      stream: draft.stream,
      data: draft.data as CommittedEvent['data'],
      meta: draft.meta ?? {},
      clientId: 'memory-log',
      clientSeq: position,
      hlc: `${String(1_732_700_000_000 + position).padStart(15, '0')}-0000000000-memory-log`,
      position,
      streamVersion: this.#events.filter((e) => e.stream === draft.stream).length + 1,
      recordedAt: '2026-11-27T10:00:00.000Z',
    };
    this.#events.push(event);
    return event;
  }
}

class Pages implements AsyncIterableIterator<readonly ConfirmedEvent[]> {
  readonly #log: Log;
  #after: number;
  #stop: () => void = () => undefined;
  readonly #stopped: Promise<void>;
  #done = false;

  constructor(log: Log, after: number) {
    this.#log = log;
    this.#after = after;
    this.#stopped = new Promise((resolve) => {
      this.#stop = resolve;
    });
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<readonly ConfirmedEvent[]> {
    return this;
  }

  async next(): Promise<IteratorResult<readonly ConfirmedEvent[]>> {
    if (this.#done) return { done: true, value: undefined };
    const page = await this.#log.page(this.#after, this.#stopped);
    if (page === undefined || this.#done) return { done: true, value: undefined };
    this.#after = page[page.length - 1]!.position;
    return { done: false, value: page };
  }

  async return(): Promise<IteratorResult<readonly ConfirmedEvent[]>> {
    this.#done = true;
    this.#stop();
    return { done: true, value: undefined };
  }
}
