import { TokenBucket } from './token-bucket.ts';

/** The bounds {@link PeerLimits} keeps; the hub takes them from its `HubLimits`. */
export interface PeerLimitsOptions {
  /** Token bucket per principal across all its sockets: each message costs 1, each pushed event 1 more. */
  readonly principalRateBurst: number;
  readonly principalRatePerSecond: number;
  /** The same per remote address. */
  readonly addressRateBurst: number;
  readonly addressRatePerSecond: number;
  /** Sockets one principal, or one address, may have open at once. */
  readonly maxConnectionsPerPrincipal: number;
  readonly maxConnectionsPerAddress: number;
  /** New client ids one principal, or one address, may bind: a burst, then so many an hour. */
  readonly newClientIdsBurst: number;
  readonly newClientIdsPerHour: number;
  /** The clock (tests). */
  readonly now?: () => number;
}

/** What one principal, or one address, shares across its sockets. */
export class Peer {
  /** Sockets open now. */
  connections = 0;
  /** Hub memory its sockets hold now (pulls and pushes in flight). */
  memory = 0;
  /** Messages and pushed events, across its sockets. */
  readonly rate: TokenBucket;
  /** Client ids bound for the first time. */
  readonly newClientIds: TokenBucket;

  constructor(burst: number, perSecond: number, options: PeerLimitsOptions) {
    const now = options.now === undefined ? {} : { now: options.now };
    this.rate = new TokenBucket({ capacity: burst, refillPerSecond: perSecond, ...now });
    this.newClientIds = new TokenBucket({
      capacity: options.newClientIdsBurst,
      refillPerSecond: options.newClientIdsPerHour / 3600,
      ...now,
    });
  }

  /** Nothing open and every bucket full: forgetting it changes nothing. */
  idle(): boolean {
    return this.connections === 0 && this.memory === 0 && this.rate.full() && this.newClientIds.full();
  }
}

/** A connection let in: the principal's and the address's shares it counts against. */
export interface PeerPair {
  readonly principal: Peer;
  readonly address: Peer;
}

/** Peers remembered before idle ones are forgotten. */
const SWEEP_AT = 10_000;

/**
 * Limits shared by all the sockets of one principal, and of one remote address: how many may be
 * open, how fast they may send, how many new client ids they may bind. A peer stays remembered
 * while it has a socket open or a bucket not yet refilled, so reconnecting does not reset its limits.
 *
 * @example
 * const admitted = peers.connect(principalKey(principal), socket.handshake.address);
 * if (!admitted.ok) refuse(admitted.message);
 */
export class PeerLimits {
  readonly #options: PeerLimitsOptions;
  readonly #principals = new Map<string, Peer>();
  readonly #addresses = new Map<string, Peer>();

  constructor(options: PeerLimitsOptions) {
    this.#options = options;
  }

  /** Counts a new socket of `principal` from `address`, or says why it may not open. */
  connect(
    principal: string,
    address: string,
  ): { readonly ok: true; readonly peers: PeerPair } | { readonly ok: false; readonly message: string } {
    const o = this.#options;
    const p = this.#peer(this.#principals, principal, o.principalRateBurst, o.principalRatePerSecond);
    const a = this.#peer(this.#addresses, address, o.addressRateBurst, o.addressRatePerSecond);
    if (p.connections >= o.maxConnectionsPerPrincipal) {
      return {
        ok: false,
        message: `too many connections of this principal (${o.maxConnectionsPerPrincipal})`,
      };
    }
    if (a.connections >= o.maxConnectionsPerAddress) {
      return { ok: false, message: `too many connections from this address (${o.maxConnectionsPerAddress})` };
    }
    p.connections++;
    a.connections++;
    return { ok: true, peers: { principal: p, address: a } };
  }

  /** The socket counted by {@link connect} closed. */
  disconnect(peers: PeerPair): void {
    peers.principal.connections = Math.max(0, peers.principal.connections - 1);
    peers.address.connections = Math.max(0, peers.address.connections - 1);
  }

  /** Forgets the peers that are idle (see {@link Peer.idle}). */
  sweep(): void {
    for (const map of [this.#principals, this.#addresses]) {
      for (const [key, peer] of map) if (peer.idle()) map.delete(key);
    }
  }

  /** Principals and addresses remembered now. */
  get size(): number {
    return this.#principals.size + this.#addresses.size;
  }

  #peer(map: Map<string, Peer>, key: string, burst: number, perSecond: number): Peer {
    let peer = map.get(key);
    if (peer === undefined) {
      if (map.size >= SWEEP_AT) this.sweep();
      peer = new Peer(burst, perSecond, this.#options);
      map.set(key, peer);
    }
    return peer;
  }
}
