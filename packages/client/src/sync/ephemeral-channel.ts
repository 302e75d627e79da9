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

/** How long a query waits for a reply by default, in ms. */
export const DEFAULT_QUERY_TIMEOUT_MS = 5_000;

/** Options of `sync.notify`. */
export interface NotifyOptions {
  /** Deliver to this client only (its client id), instead of every subscriber of the stream. */
  readonly to?: string;
  readonly meta?: EventMeta;
}

/** A notification another client sent, as `sync.notifications$` emits it. */
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

/** Which notifications `sync.notifications$` emits: a stream (or `prefix*`, `*`), and types. */
export interface NotificationFilter {
  readonly stream?: string;
  readonly type?: string | readonly string[];
}

/** A query as an answerer of `sync.answerQueries` sees it. */
export interface ReceivedQuery {
  readonly id: string;
  readonly type: string;
  readonly stream: string;
  readonly data: JsonValue;
  /** The asking client's id (set by the hub); the reply goes to it. */
  readonly from: string | undefined;
  readonly meta: EventMeta | undefined;
  /** How long the asker waits, in ms. */
  readonly timeoutMs: number | undefined;
}

/** Answers a query: JSON to reply with, or `undefined` to stay silent (another client may answer). */
export type QueryAnswerer = (query: ReceivedQuery) => JsonValue | undefined | Promise<JsonValue | undefined>;

/** Options of `sync.query`. */
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

/** The answer to `sync.query`: the first reply, or the local one. */
export interface QueryResult<A> {
  readonly data: A;
  /** Who answered: a client id, or `undefined` when answered locally. */
  readonly from: string | undefined;
  /** True when `local` answered, without the network. */
  readonly local: boolean;
}

/** What an {@link EphemeralChannel} needs from the sync that holds it. */
export interface EphemeralHost {
  /** Hands a message to the connection (or the leader tab); false when there is none now. */
  send(message: Notify): boolean;
  /** A failure with no caller (an answerer that threw, an unreadable message). */
  report(error: ClientError): void;
}

interface WaitingQuery {
  readonly resolve: (result: QueryResult<unknown>) => void;
  readonly timer: ReturnType<typeof setTimeout>;
  readonly reject: (error: ClientError) => void;
}

/**
 * Notifications, queries and replies (DESIGN.md §7): ephemeral `notify` messages, never stored
 * on either side. A notification goes to whoever is connected now, at most once; when there is no
 * connection it is dropped, not queued. A query waits for its first correlated reply (`replyTo`)
 * until its timeout; replies after that are ignored.
 */
export class EphemeralChannel {
  readonly #host: EphemeralHost;
  readonly #nextId = createUuidV7();
  readonly #notifications = new Subject<ReceivedNotification>();
  readonly #waiting = new Map<string, WaitingQuery>();
  readonly #answerers = new Map<string, QueryAnswerer>();
  #closed = false;

  constructor(host: EphemeralHost) {
    this.#host = host;
  }

  /** Sends a notification now; false (and nothing queued) when not connected. Throws `invalid` or `too-large`. */
  notify(stream: string, type: string, data: JsonValue, options: NotifyOptions = {}): boolean {
    if (this.#closed) return false;
    const message = checked({
      id: this.#nextId(),
      kind: 'notification',
      type,
      stream,
      data,
      ...(options.meta === undefined ? {} : { meta: options.meta }),
      ...(options.to === undefined ? {} : { to: options.to }),
    });
    return this.#host.send(message);
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
    const message = checked({
      id: this.#nextId(),
      kind: 'query',
      type,
      stream,
      data,
      timeoutMs,
      ...(options.meta === undefined ? {} : { meta: options.meta }),
      ...(options.to === undefined ? {} : { to: options.to }),
    });
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
      if (!this.#host.send(message)) {
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

  /** A `notify` message from the hub (or relayed by the leader tab). */
  receive(payload: unknown): void {
    if (this.#closed) return;
    const decoded = decodeNotify(payload);
    if (!decoded.ok) {
      this.#host.report(
        new ClientError(ClientErrorCode.invalid, `notify from the hub: ${decoded.error.message}`),
      );
      return;
    }
    const message = decoded.value;
    switch (message.kind) {
      case 'notification':
        this.#notifications.next({
          id: message.id,
          type: message.type,
          stream: message.stream,
          data: message.data,
          from: message.from,
          meta: message.meta,
        });
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

  /** Stops: queries waiting reject with `closed`, `notifications$` completes. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
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
    const query: ReceivedQuery = {
      id: message.id,
      type: message.type,
      stream: message.stream,
      data: message.data,
      from: to,
      meta: message.meta,
      timeoutMs: message.timeoutMs,
    };
    void (async () => {
      try {
        const data = await answer(query);
        if (data === undefined || this.#closed) return;
        const reply = checked({
          id: this.#nextId(),
          kind: 'reply',
          type: message.type,
          stream: message.stream,
          data,
          to,
          replyTo: message.id,
        });
        this.#host.send(reply);
      } catch (error) {
        const failure = toClientError(error);
        this.#host.report(
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

function closedError(): ClientError {
  return new ClientError(ClientErrorCode.closed, 'the sync is closed');
}
