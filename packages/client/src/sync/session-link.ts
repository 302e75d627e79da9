import { decodeHubError, ErrorCode, MessageName } from '@eventloom/protocol';
import { ClientError, ClientErrorCode } from '../client-error.ts';
import { clientCode, connectError } from './session-errors.ts';
import type { SessionConfig, SessionOutcome } from './session-host.ts';
import type { SyncSocket } from './sync-socket.ts';

/** What the hub sends unasked, for the stages that handle it. */
export interface LinkListeners {
  /** An `events` message (live events): undecoded. */
  readonly live: (payload: unknown) => void;
  /** A `notify` message: undecoded. */
  readonly notify: (payload: unknown) => void;
  /** A failure worth showing: the hub's `error` messages. */
  readonly report: (error: ClientError) => void;
}

/**
 * The connection under a {@link SyncSession}: the socket, requests with their timeouts, timers,
 * and the session's end. Every stage (hello, catch-up, live, push) talks to the hub through it,
 * and any stage may end it; ending it fails the requests waiting and clears the timers.
 */
export class SessionLink {
  readonly #config: SessionConfig;
  /** Requests waiting for their answer, oldest first: one watchdog timer serves them all. */
  readonly #waiting = new Set<WaitingRequest>();
  /** Whether the watchdog timer is armed (for the oldest request's deadline, or earlier). */
  #watching = false;
  readonly #timers = new Set<ReturnType<typeof setTimeout>>();
  readonly #outcome: Promise<SessionOutcome>;
  #resolveOutcome!: (outcome: SessionOutcome) => void;
  #socket: SyncSocket | undefined;
  #open = true;
  #ready = false;
  #live = false;

  constructor(config: SessionConfig) {
    this.#config = config;
    this.#outcome = new Promise((resolve) => (this.#resolveOutcome = resolve));
  }

  /** Whether the session is still connected (or connecting). */
  get open(): boolean {
    return this.#open;
  }

  /** Whether the hub welcomed the session (and it has not ended since). */
  get ready(): boolean {
    return this.#ready;
  }

  /** How the session ended, once it has. */
  get outcome(): Promise<SessionOutcome> {
    return this.#outcome;
  }

  /** The hub welcomed the session: requests of the later stages may go. */
  welcomed(): void {
    this.#ready = true;
  }

  /** The session caught up once: it counts as having been live. */
  wentLive(): void {
    this.#live = true;
  }

  /** The socket is connected and the session not ended: messages without an ack may go. */
  get connected(): boolean {
    return this.#open && this.#socket !== undefined && this.#socket.connected;
  }

  /** Sends a message that has no ack. */
  emit(name: string, payload: unknown): void {
    this.#socket?.emit(name, payload);
  }

  /**
   * Opens the socket (no reconnection or buffering of Socket.IO's own: each connection is a new
   * session) and resolves once it is connected. A failure to connect ends the session, and then
   * this never resolves.
   */
  async connect(token: string | undefined, listeners: LinkListeners): Promise<void> {
    const io = this.#config.io;
    const socket = this.#config.socket(this.#config.url, {
      // WebSocket first; long polling where a proxy lets no WebSocket through.
      transports: ['websocket', 'polling'],
      tryAllTransports: true,
      timeout: this.#config.requestTimeoutMs,
      ...io,
      reconnection: false,
      forceNew: true,
      autoConnect: false,
      ...(token === undefined ? {} : { auth: { ...(isRecord(io.auth) ? io.auth : {}), token } }),
    });
    this.#socket = socket;
    const connected = new Promise<void>((resolve) => {
      socket.on('connect', () => resolve());
    });
    socket.on('connect_error', (error: unknown) => this.finish(connectError(error)));
    socket.on('disconnect', (reason: unknown) =>
      this.finish(new ClientError(ClientErrorCode.connectionFailed, `disconnected: ${String(reason)}`)),
    );
    socket.on(MessageName.events, (payload: unknown) => listeners.live(payload));
    socket.on(MessageName.hubError, (payload: unknown) => {
      const decoded = decodeHubError(payload);
      if (!decoded.ok) return;
      const { code, message } = decoded.value;
      const error = new ClientError(clientCode(code), `hub: ${message}`);
      // A later hello of this client id took over (protocol 6): this session ends, and says why.
      if (code === ErrorCode.superseded) this.finish(error);
      else listeners.report(error);
    });
    socket.on(MessageName.notify, (payload: unknown) => listeners.notify(payload));
    socket.connect();
    // socket.io-client does not notice a transport that closes while it opens (it waits for its
    // own timeout): watch the engine where there is one, and bound the wait in any case.
    let opened = false;
    const engine = (
      socket as { io?: { engine?: { once?(event: 'close', fn: (reason: unknown) => void): void } } }
    ).io?.engine;
    engine?.once?.('close', (reason) => {
      // A refusal (connect_error, with the hub's code) closes the engine first: let it speak.
      this.later(0, () => {
        if (!opened) {
          const message = `closed while opening: ${String(reason)}`;
          this.finish(new ClientError(ClientErrorCode.connectionFailed, message));
        }
      });
    });
    this.later(this.#config.requestTimeoutMs, () => {
      if (!opened) {
        const message = `no connection within ${this.#config.requestTimeoutMs} ms`;
        this.finish(new ClientError(ClientErrorCode.timeout, message));
      }
    });
    await connected;
    opened = true;
  }

  /** Ends the session (once): fails the requests waiting, clears the timers, drops the socket. */
  finish(error: ClientError | undefined, fatal = false): void {
    if (!this.#open) return;
    this.#open = false;
    this.#ready = false;
    const failure = error ?? new ClientError(ClientErrorCode.connectionFailed, 'the session ended');
    for (const waiting of this.#waiting) waiting.reject(failure);
    this.#waiting.clear();
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
    this.#socket?.disconnect();
    this.#resolveOutcome({ error, fatal, live: this.#live });
  }

  /**
   * Sends a request and resolves with the hub's answer; rejects on timeout (which drops the
   * connection) or disconnect. The message leaves first; the requests in flight share one
   * watchdog timer (armed for the oldest one's deadline), not one timer each.
   */
  request(name: string, payload: unknown): Promise<unknown> {
    return new Promise((resolve, reject) => {
      const socket = this.#socket;
      if (!this.#open || socket === undefined || !socket.connected) {
        reject(new ClientError(ClientErrorCode.connectionFailed, 'not connected'));
        return;
      }
      const waiting: WaitingRequest = {
        name,
        deadline: performance.now() + this.#config.requestTimeoutMs,
        reject,
      };
      this.#waiting.add(waiting);
      try {
        socket.emit(name, payload, (answer: unknown) => {
          // An answer after the timeout (or the end) finds the request gone: it was failed already.
          if (this.#waiting.delete(waiting)) resolve(answer);
        });
      } catch (thrown) {
        // Never sent: nothing to wait for (else the watchdog would end the session as a timeout).
        this.#waiting.delete(waiting);
        throw thrown;
      } finally {
        if (!this.#watching) this.#watch(this.#config.requestTimeoutMs);
      }
    });
  }

  /** Arms the watchdog: after `ms`, the oldest request waiting times out if its deadline passed. */
  #watch(ms: number): void {
    this.#watching = true;
    this.later(ms, () => {
      this.#watching = false;
      const oldest = this.#waiting.values().next().value;
      if (oldest === undefined) return;
      const left = oldest.deadline - performance.now();
      if (left > 0) {
        this.#watch(left);
        return;
      }
      const timeout = this.#config.requestTimeoutMs;
      this.finish(
        new ClientError(
          ClientErrorCode.timeout,
          `the hub did not answer ${oldest.name} within ${timeout} ms`,
        ),
      );
    });
  }

  /** Runs `fn` after `ms`, unless the session ends first. */
  later(ms: number, fn: () => void): void {
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      fn();
    }, ms);
    this.#timers.add(timer);
  }
}

/** The token to connect with: a token function is called for each connection. */
export async function resolveToken(token: SessionConfig['token']): Promise<string | undefined> {
  if (typeof token !== 'function') return token;
  try {
    return await token();
  } catch (cause) {
    throw new ClientError(ClientErrorCode.unauthenticated, 'the token function failed', { cause });
  }
}

/** A request sent and not answered yet: its deadline (`performance.now()` ms) and how to fail it. */
interface WaitingRequest {
  readonly name: string;
  readonly deadline: number;
  readonly reject: (error: ClientError) => void;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}
