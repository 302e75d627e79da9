import {
  decodeNotify,
  matchesSubscription,
  type EventMeta,
  type JsonValue,
  type Notify,
} from '@eventloom/protocol';
import { filter, Subject, type Observable } from 'rxjs';
import { ClientError, ClientErrorCode, toClientError } from '../client-error.ts';
import { createUuidV7 } from '../uuid-v7.ts';
import type { Sync } from './sync-types.ts';

/** How long a query waits for a reply by default, in ms. */
export const DEFAULT_QUERY_TIMEOUT_MS = 5_000;

/** Options of `messaging.notify`. */
export interface NotifyOptions {
  /** Deliver to this client only (its client id), instead of every subscriber of the stream. */
  readonly to?: string;
  readonly meta?: EventMeta;
}

/** A notification another client sent, as `messaging.notifications$` emits it. */
export interface ReceivedNotification {
  readonly id: string;
  readonly type: string;
  readonly stream: string;
  readonly data: JsonValue;
  /** The sender's client id (set by the hub). */
  readonly from: string | undefined;
  /** The sender's meta; `principal` is written by the hub. */
  readonly meta: EventMeta | undefined;
}

/** Which notifications `messaging.notifications$` emits: a stream (or `prefix*`, `*`), and types. */
export interface NotificationFilter {
  readonly stream?: string;
  readonly type?: string | readonly string[];
}

/** A query as an answerer of `messaging.answerQueries` sees it: `from` is the asker, the reply goes to it. */
export interface ReceivedQuery extends ReceivedNotification {
  /** How long the asker waits, in ms. */
  readonly timeoutMs: number | undefined;
}

/** Answers a query: JSON to reply with, or `undefined` to stay silent (another client may answer). */
export type QueryAnswerer = (query: ReceivedQuery) => JsonValue | undefined | Promise<JsonValue | undefined>;

/** Options of `messaging.query`. */
export interface QueryOptions<A> {
  /** How long to wait for the first reply, in ms (1 to 300,000); default 5,000. */
  readonly timeoutMs?: number;
  /**
   * Answers from this device first (its local projections): an answer other than `undefined`
   * resolves the query without the network.
   */
  readonly local?: () => A | undefined | Promise<A | undefined>;
  /** Ask this client only (its client id), instead of every subscriber of the stream. */
  readonly to?: string;
  readonly meta?: EventMeta;
}

/** The answer to `messaging.query`: the first reply, or the local one. */
export interface QueryResult<A> {
  readonly data: A;
  /** Who answered: a client id, or `undefined` when answered locally. */
  readonly from: string | undefined;
  /** True when `local` answered, without the network. */
  readonly local: boolean;
}

/** Notifications and queries over one sync: see {@link createMessaging}. */
export interface Messaging {
  /**
   * Sends an ephemeral notification (presence, typing) to the subscribers of `stream` connected
   * now (or to client `to`), never stored, at most once. Fire and forget: true if it was handed
   * to the connection; offline it is dropped, not queued (false). Throws `invalid`/`too-large`.
   */
  notify(stream: string, type: string, data: JsonValue, options?: NotifyOptions): boolean;
  /** The notifications other clients send from now on, of a stream (`prefix*`, `*`) or a filter. */
  notifications$(which?: string | NotificationFilter): Observable<ReceivedNotification>;
  /**
   * Asks a question, never stored: `options.local` first (this device's projections); else the
   * subscribers of `stream` (or client `to`) are asked and the first reply wins. Rejects with
   * `timeout` after `timeoutMs` (5 s), `connection-failed` when offline; later replies are ignored.
   */
  query<A = unknown>(
    stream: string,
    type: string,
    data: JsonValue,
    options?: QueryOptions<A>,
  ): Promise<QueryResult<A>>;
  /** Answers the queries of `type` that reach this client (`undefined`: no reply); returns a stop function. */
  answerQueries(type: string, answer: QueryAnswerer): () => void;
  /** Stops (the sync goes on): queries waiting reject with `closed`, `notifications$` completes. Also when the sync closes. */
  close(): void;
}

/**
 * Notifications, queries and replies over a sync (DESIGN.md §7): ephemeral `notify` messages,
 * never stored on either side, sent over the sync's connection (from another tab, through the
 * leader tab's). One per sync: each one answers the queries it is given answerers for.
 *
 * @example
 * const messaging = createMessaging(sync);
 * messaging.notify('room:1', 'user.typing', { user: 'ann' });
 * messaging.notifications$('room:*').subscribe((n) => showTyping(n.from, n.data));
 * const { data } = await messaging.query<number>('list:1', 'todo.count', null);
 */
export function createMessaging(sync: Sync): Messaging {
  return new MessagingChannel(sync);
}

interface WaitingQuery {
  readonly resolve: (result: QueryResult<unknown>) => void;
  readonly timer: ReturnType<typeof setTimeout>;
  readonly reject: (error: ClientError) => void;
}

/**
 * A notification goes to whoever is connected now, at most once; when there is no connection it
 * is dropped, not queued. A query waits for its first correlated reply (`replyTo`) until its
 * timeout; replies after that are ignored.
 */
class MessagingChannel implements Messaging {
  readonly #sync: Sync;
  /** Unset while `attach` runs: a sync closed already calls `closed` from inside it. */
  #detach: (() => void) | undefined;
  readonly #nextId = createUuidV7();
  readonly #notifications = new Subject<ReceivedNotification>();
  readonly #waiting = new Map<string, WaitingQuery>();
  readonly #answerers = new Map<string, QueryAnswerer>();
  #closed = false;

  constructor(sync: Sync) {
    this.#sync = sync;
    this.#detach = sync.attach({ notified: (payload) => this.#receive(payload), closed: () => this.close() });
  }

  /** Sends a notification now; false (and nothing queued) when not connected. Throws `invalid` or `too-large`. */
  notify(stream: string, type: string, data: JsonValue, options: NotifyOptions = {}): boolean {
    if (this.#closed) return false;
    return this.#sync.sendNotify(this.#outgoing({ kind: 'notification', type, stream, data }, options));
  }

  /** The notifications received from now on that pass `which` (a stream pattern, or a filter). */
  notifications$(which: string | NotificationFilter = {}): Observable<ReceivedNotification> {
    const { stream, type } = typeof which === 'string' ? { stream: which, type: undefined } : which;
    const patterns = stream === undefined ? undefined : [stream];
    const types = type === undefined ? undefined : new Set(typeof type === 'string' ? [type] : type);
    return this.#notifications.pipe(
      filter(
        (n) =>
          (patterns === undefined || matchesSubscription(n.stream, patterns)) &&
          (types === undefined || types.has(n.type)),
      ),
    );
  }

  /** Asks: `local` first, else the subscribers of `stream`; the first reply wins. */
  async query<A = unknown>(
    stream: string,
    type: string,
    data: JsonValue,
    options: QueryOptions<A> = {},
  ): Promise<QueryResult<A>> {
    if (this.#closed) throw closedError();
    const timeoutMs = options.timeoutMs ?? DEFAULT_QUERY_TIMEOUT_MS;
    const message = this.#outgoing({ kind: 'query', type, stream, data, timeoutMs }, options);
    if (options.local !== undefined) {
      let answer: A | undefined;
      try {
        answer = await options.local();
      } catch (error) {
        throw toClientError(error);
      }
      if (answer !== undefined) return { data: answer, from: undefined, local: true };
    }
    if (this.#closed) throw closedError();
    return new Promise<QueryResult<A>>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiting.delete(message.id);
        reject(
          new ClientError(
            ClientErrorCode.timeout,
            `query ${type} on ${stream}: no reply within ${timeoutMs} ms`,
          ),
        );
      }, timeoutMs);
      this.#waiting.set(message.id, {
        resolve: resolve as (result: QueryResult<unknown>) => void,
        reject,
        timer,
      });
      if (!this.#sync.sendNotify(message)) {
        clearTimeout(timer);
        this.#waiting.delete(message.id);
        reject(
          new ClientError(
            ClientErrorCode.connectionFailed,
            `query ${type} on ${stream}: not connected, and no local answer`,
          ),
        );
      }
    });
  }

  /** Answers the queries of `type` that reach this client; returns a function that stops it. */
  answerQueries(type: string, answer: QueryAnswerer): () => void {
    if (this.#answerers.has(type)) {
      throw new ClientError(ClientErrorCode.invalid, `queries of type ${type} already have an answerer here`);
    }
    this.#answerers.set(type, answer);
    return () => {
      if (this.#answerers.get(type) === answer) this.#answerers.delete(type);
    };
  }

  /** A message from this client: a new id, `fields`, the caller's `meta` and `to`; checked as the hub reads it. */
  #outgoing(fields: Omit<Notify, 'id' | 'meta' | 'to' | 'from'>, options: NotifyOptions): Notify {
    return checked({
      id: this.#nextId(),
      ...fields,
      ...(options.meta === undefined ? {} : { meta: options.meta }),
      ...(options.to === undefined ? {} : { to: options.to }),
    });
  }

  /** A `notify` message from the hub (or relayed by the leader tab). */
  #receive(payload: unknown): void {
    if (this.#closed) return;
    const decoded = decodeNotify(payload);
    if (!decoded.ok) {
      this.#sync.report(
        new ClientError(ClientErrorCode.invalid, `notify from the hub: ${decoded.error.message}`),
      );
      return;
    }
    const message = decoded.value;
    switch (message.kind) {
      case 'notification':
        this.#notifications.next(received(message));
        return;
      case 'reply': {
        const waiting = message.replyTo === undefined ? undefined : this.#waiting.get(message.replyTo);
        if (waiting === undefined) return; // answered already, timed out, or another tab's
        this.#waiting.delete(message.replyTo!);
        clearTimeout(waiting.timer);
        waiting.resolve({ data: message.data, from: message.from, local: false });
        return;
      }
      case 'query':
        this.#answer(message);
        return;
    }
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#detach?.();
    for (const waiting of this.#waiting.values()) {
      clearTimeout(waiting.timer);
      waiting.reject(closedError());
    }
    this.#waiting.clear();
    this.#answerers.clear();
    this.#notifications.complete();
  }

  #answer(message: Notify): void {
    const answer = this.#answerers.get(message.type);
    const to = message.from;
    if (answer === undefined || to === undefined) return;
    const query: ReceivedQuery = { ...received(message), timeoutMs: message.timeoutMs };
    void (async () => {
      try {
        const data = await answer(query);
        if (data === undefined || this.#closed) return;
        const reply = this.#outgoing(
          { kind: 'reply', type: message.type, stream: message.stream, data, replyTo: message.id },
          { to },
        );
        this.#sync.sendNotify(reply);
      } catch (error) {
        const failure = toClientError(error);
        this.#sync.report(
          new ClientError(failure.code, `answering query ${message.type}: ${failure.message}`, {
            cause: error,
          }),
        );
      }
    })();
  }
}

/** The message as the hub will read it; throws `invalid` or `too-large` (the caller's mistake). */
function checked(message: Notify): Notify {
  const decoded = decodeNotify(message);
  if (!decoded.ok) {
    const code =
      decoded.error.code === ClientErrorCode.tooLarge ? ClientErrorCode.tooLarge : ClientErrorCode.invalid;
    throw new ClientError(code, `${message.kind}: ${decoded.error.message}`);
  }
  return decoded.value;
}

/** What a receiver sees of a notification or a query (not its routing: `kind`, `to`, `replyTo`). */
function received(message: Notify): ReceivedNotification {
  const { id, type, stream, data, from, meta } = message;
  return { id, type, stream, data, from, meta };
}

function closedError(): ClientError {
  return new ClientError(ClientErrorCode.closed, 'the messaging (or its sync) is closed');
}
