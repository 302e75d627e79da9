/**
 * Test support for the sync fault tests: a {@link SocketFactory} that wraps each connection's
 * socket of one device, records what the hub answered to every pushed event (the `acked` outcomes
 * of `checkHistory`), and injects duplicated frames at the Socket.IO layer, where TCP cannot:
 * the last push sent again, or the next live `events` message delivered twice. Not part of the
 * package.
 */
import { decodePushAck, MessageName, type EventEnvelope } from '@eventloom/protocol';
import { defaultSocketFactory, type SocketFactory, type SyncSocket } from '@eventloom/client';

/** What a re-sent push came to. */
export type ResendOutcome = 'answered' | 'armed' | 'disconnected';

/** Watches the sockets of one device; see the file's docblock. */
export class SocketTap {
  /** Each event the hub acked (`ok` or `duplicate`), by id, with the position it named. */
  readonly acks = new Map<string, number>();
  /** Inconsistent answers seen on the spot (a re-sent push that stored again, a position that moved). */
  readonly violations: string[] = [];
  /** Pushes sent again by {@link resendLastPush}, and live messages delivered twice. */
  readonly injected = { pushes: 0, live: 0 };
  readonly factory: SocketFactory;

  #socket: SyncSocket | undefined;
  #lastPush: { readonly socket: SyncSocket; readonly events: readonly EventEnvelope[] } | undefined;
  #duplicateLive = false;
  #duplicatePush = false;
  #afterPush: (() => void) | undefined;

  constructor(inner: SocketFactory = defaultSocketFactory) {
    this.factory = (url, options) => this.#wrap(inner(url, options));
  }

  /**
   * Sends the last push of the current connection again, as a duplicated frame would, and waits
   * for the hub's answer: each event it had acked must come back `duplicate` at the same position.
   * With no push on this connection yet, the next push is sent twice instead (`armed`).
   */
  async resendLastPush(timeoutMs = 5000): Promise<ResendOutcome> {
    const last = this.#lastPush;
    if (last === undefined || last.socket !== this.#socket || !last.socket.connected) {
      this.#duplicatePush = true;
      return 'armed';
    }
    return this.#resend(last.socket, last.events, timeoutMs);
  }

  /** Calls `fn` right after the next push leaves (on whatever connection), in the same step; undefined disarms. */
  afterNextPush(fn: (() => void) | undefined): void {
    this.#afterPush = fn;
  }

  /** Delivers the next live `events` message to the engine twice. */
  duplicateNextLive(): void {
    this.#duplicateLive = true;
  }

  /** Sends `events` as a push on `socket`, answered to this tap only; checks the answer against the acks. */
  #resend(socket: SyncSocket, events: readonly EventEnvelope[], timeoutMs: number): Promise<ResendOutcome> {
    this.injected.pushes++;
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve('disconnected'), timeoutMs);
      socket.emit(MessageName.push, { events }, (answer: unknown) => {
        clearTimeout(timer);
        // The acks as they stand now: the first copy's answer came before this one's.
        const acked = new Map(events.map((e) => [e.id, this.acks.get(e.id)]));
        for (const result of this.#record(answer)) {
          const before = acked.get(result.id);
          if (before === undefined) continue;
          if (result.status !== 'duplicate' || result.position !== before) {
            this.violations.push(
              `re-sent push of ${result.id} (acked at ${before}) answered ${JSON.stringify(result)}`,
            );
          }
        }
        resolve('answered');
      });
    });
  }

  #wrap(socket: SyncSocket): SyncSocket {
    this.#socket = socket;
    const emit = socket.emit.bind(socket);
    const on = socket.on.bind(socket);
    // The engine's own socket object, with two methods replaced: it keeps `io` (the engine.io
    // connection the sync engine watches while opening) and everything else.
    return Object.assign(socket, {
      emit: (event: string, ...args: unknown[]) => {
        if (event !== MessageName.push) return emit(event, ...args);
        const [payload, ack] = args as [{ events: EventEnvelope[] }, (answer: unknown) => void];
        this.#lastPush = { socket, events: payload.events };
        const sent = emit(event, payload, (answer: unknown) => {
          this.#record(answer);
          ack(answer);
        });
        if (this.#duplicatePush) {
          this.#duplicatePush = false;
          void this.#resend(socket, payload.events, 5000);
        }
        const after = this.#afterPush;
        this.#afterPush = undefined;
        after?.();
        return sent;
      },
      // oxlint-disable-next-line no-explicit-any -- Socket.IO listeners take whatever the peer sent
      on: (event: string, listener: (...args: any[]) => void) => {
        if (event !== MessageName.events) return on(event, listener);
        return on(event, (payload: unknown) => {
          listener(payload);
          if (this.#duplicateLive) {
            this.#duplicateLive = false;
            this.injected.live++;
            listener(payload);
          }
        });
      },
    });
  }

  /** Records the acks of a push answer; returns its results (none if it was not an ack). */
  #record(answer: unknown) {
    const decoded = decodePushAck(answer);
    if (!decoded.ok) return [];
    for (const result of decoded.value.results) {
      if (result.status === 'rejected') continue;
      const before = this.acks.get(result.id);
      if (before !== undefined && before !== result.position) {
        this.violations.push(`${result.id} was acked at ${before}, then at ${result.position}`);
      }
      this.acks.set(result.id, result.position);
    }
    return decoded.value.results;
  }
}
