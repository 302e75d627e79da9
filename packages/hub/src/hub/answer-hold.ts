import type { Socket } from 'socket.io';
import { engineConnectionOf, tcpSocketOf } from './engine-connection.ts';

/**
 * Holds what is written to one connection while one of its pushes waits for its answer, so that
 * the live message of the pusher's own events (a client is most often subscribed to the streams it
 * writes) and the push's ack leave together: one write to the kernel instead of two. The live
 * feed writes that message in the turn the commit is known, before the ack, which follows in the
 * same turn (a few microtasks later); the other subscribers' messages are not held, and so leave
 * before the pusher's.
 *
 * It corks the connection's TCP socket (Node's `cork`: writes wait in the socket's buffer, in
 * order) from the first live message written while a push is in flight, until the next answer is
 * written ({@link release}) or, at the latest, the next turn of the event loop: nothing is ever held
 * longer, whatever happens to the push. A connection that is not a WebSocket is never held.
 */
export class AnswerHold {
  readonly #socket: Socket;
  /** Pushes of the connection handed to the sequencer and not answered yet. */
  #pushing = 0;
  #held: Corkable | undefined;

  constructor(socket: Socket) {
    this.#socket = socket;
  }

  /** A push of the connection was handed to the sequencer. */
  pushStarted(): void {
    this.#pushing++;
  }

  /** The sequencer answered a push of the connection. */
  pushSettled(): void {
    this.#pushing--;
  }

  /** Before a live message is written to the connection: holds it while a push is in flight. */
  beforeLiveMessage(): void {
    if (this.#pushing === 0 || this.#held !== undefined) return;
    const tcp = tcpSocketOf(engineConnectionOf(this.#socket));
    if (tcp === undefined || tcp.destroyed) return;
    tcp.cork();
    this.#held = tcp;
    setImmediate(releaseHold, this);
  }

  /** Writes what was held (after an answer, or at the next turn of the event loop). */
  release(): void {
    const tcp = this.#held;
    if (tcp === undefined) return;
    this.#held = undefined;
    tcp.uncork();
  }
}

function releaseHold(hold: AnswerHold): void {
  hold.release();
}

/** The parts of Node's `net.Socket` the hold uses. */
interface Corkable {
  readonly destroyed: boolean;
  cork(): void;
  uncork(): void;
}
