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

  constructor(name: string, Channel: typeof BroadcastChannel, handlers: TabSyncHandlers) {
    this.#handlers = handlers;
    this.#channel = new Channel(`eventloom:${name}:sync`);
    this.#channel.onmessage = (event: MessageEvent<TabMessage>) => this.#receive(event.data);
  }

  /** In the leader: tells the followers the new status. */
  publish(status: TabStatus): void {
    this.#post({ kind: 'status', from: this.#id, status });
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
    this.#channel.close();
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
        if (leader) this.publish(this.#handlers.currentStatus());
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
