/**
 * The pushes this node received and has not answered yet, by client id, across all its sessions.
 * A `hello` waits for those of its client id before it reads the client's record, so that the
 * welcome's `lastClientSeq` counts a push of an older connection of the same device (one that was
 * killed while its push was in the sequencer): the new instance then never gives those seqs again.
 *
 * Only this node's pushes: an older connection on another node of a cluster is not waited for.
 */
export class ClientPushes {
  readonly #pending = new Map<string, Set<Promise<unknown>>>();

  /**
   * Counts `answered` as in flight for `clientId` until it settles (resolved or rejected), then
   * calls `onSettled`. A rejection is left to whoever awaits `answered`.
   */
  track(clientId: string, answered: Promise<unknown>, onSettled?: () => void): void {
    let pending = this.#pending.get(clientId);
    if (pending === undefined) {
      pending = new Set();
      this.#pending.set(clientId, pending);
    }
    pending.add(answered);
    // Callbacks inline, not a named closure: run from source (tsx keeps names), that cost a
    // `defineProperty` per push.
    answered.then(
      () => this.#untrack(clientId, pending, answered, onSettled),
      () => this.#untrack(clientId, pending, answered, onSettled),
    );
  }

  #untrack(
    clientId: string,
    pending: Set<Promise<unknown>>,
    answered: Promise<unknown>,
    onSettled?: () => void,
  ) {
    pending.delete(answered);
    if (pending.size === 0 && this.#pending.get(clientId) === pending) this.#pending.delete(clientId);
    onSettled?.();
  }

  /** How many pushes of `clientId` are in flight. */
  inFlight(clientId: string): number {
    return this.#pending.get(clientId)?.size ?? 0;
  }

  /**
   * Settles once every push of `clientId` in flight now has settled (pushes tracked later are not
   * waited for), or once `socket` disconnects, whichever comes first. Never rejects. It cannot
   * hang: the sequencer answers every push (one held for a gap by the gap timeout at the latest).
   */
  async settled(clientId: string, socket: Disconnectable): Promise<void> {
    const pending = this.#pending.get(clientId);
    if (pending === undefined || socket.disconnected) return;
    let stop: (() => void) | undefined;
    const disconnected = new Promise<void>((resolve) => {
      stop = resolve;
      socket.once('disconnect', resolve);
    });
    await Promise.race([Promise.allSettled(pending), disconnected]);
    socket.off('disconnect', stop!);
  }
}

/** What {@link ClientPushes.settled} needs of a socket (socket.io's `Socket` has it). */
export interface Disconnectable {
  readonly disconnected: boolean;
  once(event: 'disconnect', listener: () => void): unknown;
  off(event: 'disconnect', listener: () => void): unknown;
}
