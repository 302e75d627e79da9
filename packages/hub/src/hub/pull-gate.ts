import { ErrorCode } from '@eventloom/protocol';
import type { Socket } from 'socket.io';
import type { HubContext } from './hub-context.ts';
import { outgoingBytes } from './outgoing-buffer.ts';
import type { Peer } from './peer-limits.ts';
import { releasePrincipalMemory, reservePrincipalMemory } from './principal-memory.ts';

/** Heap a pull takes, per byte of its page budget (the text on the store's side, the parsed events, the ack). */
const PULL_HEAP_FACTOR = 4;

/**
 * Why a pull may not start now: a coded refusal, or `busy` when the hub's memory (or its
 * principal's share of it) cannot hold another page. Every one is worth retrying.
 */
export type PullRefusal = { readonly code: ErrorCode; readonly message: string } | 'busy';

/**
 * The pulls of one socket, within the memory they may take: a few at a time per socket, none
 * while the socket has not read what it was sent, and each page's read budgeted and reserved from
 * the hub's memory, within its principal's share.
 *
 * @example
 * const refusal = gate.admit();
 * if (refusal !== undefined) return refuse(refusal);
 * try { return await readPage(); } finally { gate.done(); }
 */
export class PullGate {
  readonly #ctx: Pick<HubContext, 'limits' | 'memory'>;
  readonly #socket: Socket;
  readonly #principal: Peer;
  /** The memory each pull let in and not yet done reserved: as many as there are such pulls. */
  readonly #reserved: number[] = [];

  constructor(ctx: Pick<HubContext, 'limits' | 'memory'>, socket: Socket, principal: Peer) {
    this.#ctx = ctx;
    this.#socket = socket;
    this.#principal = principal;
  }

  /** Lets one pull in (counted, its memory reserved: end it with {@link done}), or says why not. */
  admit(): PullRefusal | undefined {
    const limits = this.#ctx.limits;
    if (this.#reserved.length >= limits.maxPullsPerSocket) {
      return { code: ErrorCode.rateLimited, message: 'too many pulls in flight: wait for their answers' };
    }
    if (outgoingBytes(this.#socket, limits.maxMessageBytes + 1) > limits.maxMessageBytes) {
      return { code: ErrorCode.rateLimited, message: 'read what you were sent before pulling more' };
    }
    const bytes = PULL_HEAP_FACTOR * limits.maxMessageBytes;
    if (!reservePrincipalMemory(this.#ctx.memory, this.#principal, bytes)) return 'busy';
    this.#reserved.push(bytes);
    return undefined;
  }

  /**
   * Ends a pull {@link admit} let in: uncounts it and gives back a reservation the gate holds (the
   * latest: the same as the pull's unless the limits changed meanwhile; all of them once every pull
   * is done). Throws, changing nothing, when no pull is in: a `done` without its `admit` is a bug.
   */
  done(): void {
    const bytes = this.#reserved.pop();
    if (bytes === undefined) throw new Error('PullGate.done() without a pull admitted');
    releasePrincipalMemory(this.#ctx.memory, this.#principal, bytes);
  }
}
