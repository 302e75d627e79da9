import type { Notify } from '@eventloom/protocol';
import type { ClientErrorCode } from '../client-error.ts';

/** The state of a sync as it crosses tabs: plain data. */
export interface TabStatus {
  readonly state: 'offline' | 'connecting' | 'catching-up' | 'live' | 'error';
  readonly outbox: number;
  readonly acked: number;
  readonly position: number;
  readonly head: number;
  readonly pushedPerSecond: number;
  readonly pulledPerSecond: number;
  readonly pushed: number;
  readonly pulled: number;
  readonly repaired: number;
  readonly lostElsewhere: number;
  readonly lastError: { readonly code: ClientErrorCode; readonly message: string } | undefined;
}

/** A command a follower tab forwards to the leader: the app may call them in any tab. */
export type TabCommand =
  | { readonly op: 'offline' }
  | { readonly op: 'online' }
  | { readonly op: 'subscribe'; readonly subscriptions: readonly string[] };

type TabMessage =
  | { readonly kind: 'status'; readonly from: string; readonly status: TabStatus }
  | { readonly kind: 'ask'; readonly from: string }
  | { readonly kind: 'flush'; readonly from: string; readonly nonce: number }
  | { readonly kind: 'flushed'; readonly to: string; readonly nonce: number }
  | { readonly kind: 'command'; readonly command: TabCommand }
  | { readonly kind: 'notify-out'; readonly message: Notify }
  | { readonly kind: 'notify-in'; readonly message: unknown };

/** The leader posts a status that only moved counts at most once in this many ms. */
export const STATUS_EVERY_MS = 50;

/** What the engine does with what other tabs say. */
export interface TabSyncHandlers {
  /** Whether this tab leads (holds the socket). */
  isLeader(): boolean;
  /** The leader's status, in a follower. */
  status(status: TabStatus): void;
  /** The current status, in the leader, for a tab that asks. */
  currentStatus(): TabStatus;
  /** A follower's `flushed()`: the leader calls `answer` when its outbox is flushed. */
  flush(answer: () => void): void;
  /** A follower's command, in the leader. */
  command(command: TabCommand): void;
  /** A follower's notification, query or reply, in the leader: to be sent over its connection. */
  notifyOut?(message: Notify): void;
  /** A `notify` message the leader received from the hub, in a follower. */
  notifyIn?(message: unknown): void;
}

/**
 * The sync's side of the tabs of one database (DESIGN.md §8): the leader holds the socket and
 * posts its state over a BroadcastChannel; followers mirror it in `syncState$` and `metrics$`,
 * forward `goOffline`/`goOnline`/`setSubscriptions`, and ask the leader for `flushed()`; their
 * notifications, queries and replies go out through the leader, which passes on what it receives.
 */
export class TabSync {
  readonly #id = Math.random().toString(36).slice(2);
  readonly #channel: BroadcastChannel;
  readonly #handlers: TabSyncHandlers;
  /** A follower's `flushed()` calls waiting for the leader. */
  readonly #flushes = new Map<number, () => void>();
  #nonce = 0;
  #leaderId: string | undefined;
  /** The leader's last status posted, the one waiting for the window to end, and the window. */
  #postedState: TabStatus['state'] | undefined;
  #statusDue: TabStatus | undefined;
  #statusTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(name: string, Channel: typeof BroadcastChannel, handlers: TabSyncHandlers) {
    this.#handlers = handlers;
    this.#channel = new Channel(`eventloom:${name}:sync`);
    this.#channel.onmessage = (event: MessageEvent<TabMessage>) => this.#receive(event.data);
  }

  /**
   * In the leader: tells the followers the new status. A change of state goes at once; other
   * changes (counts, rates, position: several per event) at most once every
   * {@link STATUS_EVERY_MS}, the latest one, since a post is not free (about 0.1 ms of a page's
   * main thread in Chromium when the channel has been idle).
   */
  publish(status: TabStatus): void {
    if (this.#statusTimer !== undefined && status.state === this.#postedState) {
      this.#statusDue = status;
      return;
    }
    this.#postStatus(status);
  }

  /** In a follower: asks the leader for its status. */
  ask(): void {
    this.#post({ kind: 'ask', from: this.#id });
  }

  /** In a follower: forwards a command to the leader. */
  command(command: TabCommand): void {
    this.#post({ kind: 'command', command });
  }

  /** In a follower: hands a `notify` message to the leader, to send over its connection. */
  notifyOut(message: Notify): void {
    this.#post({ kind: 'notify-out', message });
  }

  /** In the leader: passes a `notify` message from the hub on to the followers. */
  notifyIn(message: unknown): void {
    this.#post({ kind: 'notify-in', message });
  }

  /** In a follower: resolves once the leader's outbox is flushed. */
  flushed(): Promise<void> {
    const nonce = ++this.#nonce;
    return new Promise((resolve) => {
      this.#flushes.set(nonce, resolve);
      this.#post({ kind: 'flush', from: this.#id, nonce });
    });
  }

  /** The follower's waiting `flushed()` calls, handed over when this tab becomes the leader. */
  takeFlushes(): (() => void)[] {
    const waiting = [...this.#flushes.values()];
    this.#flushes.clear();
    return waiting;
  }

  close(): void {
    this.#flushes.clear();
    clearTimeout(this.#statusTimer);
    this.#statusTimer = undefined;
    this.#statusDue = undefined;
    this.#channel.close();
  }

  /** Posts a status now, and opens a window in which further ones wait. */
  #postStatus(status: TabStatus): void {
    this.#statusDue = undefined;
    this.#postedState = status.state;
    this.#post({ kind: 'status', from: this.#id, status });
    clearTimeout(this.#statusTimer);
    this.#statusTimer = setTimeout(() => {
      this.#statusTimer = undefined;
      const due = this.#statusDue;
      // A tab that lost the lead meanwhile says nothing more.
      if (due !== undefined && this.#handlers.isLeader()) this.#postStatus(due);
    }, STATUS_EVERY_MS);
    (this.#statusTimer as { unref?: () => void }).unref?.();
  }

  #receive(message: TabMessage): void {
    const leader = this.#handlers.isLeader();
    switch (message.kind) {
      case 'status':
        if (leader) return;
        if (this.#leaderId !== message.from) {
          // A new leader knows nothing of what the old one was asked: ask again.
          this.#leaderId = message.from;
          for (const nonce of this.#flushes.keys()) this.#post({ kind: 'flush', from: this.#id, nonce });
        }
        this.#handlers.status(message.status);
        return;
      case 'ask':
        if (leader) this.#postStatus(this.#handlers.currentStatus());
        return;
      case 'flush':
        if (leader) {
          const { from, nonce } = message;
          this.#handlers.flush(() => this.#post({ kind: 'flushed', to: from, nonce }));
        }
        return;
      case 'flushed':
        if (message.to === this.#id) {
          this.#flushes.get(message.nonce)?.();
          this.#flushes.delete(message.nonce);
        }
        return;
      case 'command':
        if (leader) this.#handlers.command(message.command);
        return;
      case 'notify-out':
        if (leader) this.#handlers.notifyOut?.(message.message);
        return;
      case 'notify-in':
        if (!leader) this.#handlers.notifyIn?.(message.message);
        return;
    }
  }

  #post(message: TabMessage): void {
    try {
      this.#channel.postMessage(message);
    } catch {
      // A closed channel: the tab is going away.
    }
  }
}
