import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { Link } from './fault-link.ts';
import { NO_FAULTS, mergeFaultSettings, type FaultSettings, type FaultSettingsInput } from './fault-plan.ts';
import { seededRandom, type SeededRandom } from './seeded-random.ts';

/** `up`: client → target (the hub); `down`: target → client. */
export type FaultDirection = 'up' | 'down';

/** Options of {@link createFaultProxy}. */
export interface FaultProxyOptions {
  /** Where connections are forwarded to, e.g. the hub. */
  readonly target: { readonly host: string; readonly port: number };
  /** The port to listen on; 0 or absent picks a free one (see {@link FaultProxy.port}). */
  readonly listenPort?: number;
  /** The address to listen on (default 127.0.0.1). */
  readonly host?: string;
  /** Seeds every fault decision (default 0): connection n, direction d draws from `fork(n, d)`. */
  readonly seed?: number;
  /** Faults from the start, both directions (default none). */
  readonly faults?: FaultSettingsInput;
}

/** Byte and chunk counts of one direction, over all connections. */
export interface DirectionStats {
  /** Chunks read from the source. */
  readonly chunks: number;
  /** Bytes read from the source. */
  readonly bytesIn: number;
  /** Bytes handed to the destination socket. */
  readonly bytesOut: number;
  /** Bytes swallowed: by a blackhole, cut off by a reset, or queued when a connection ended. */
  readonly bytesDropped: number;
  /** Chunks that were written as several pieces. */
  readonly splitChunks: number;
  /** Writes made to the destination (one per piece). */
  readonly writes: number;
  /** Chunks held for a delay above 0 ms. */
  readonly delayedChunks: number;
}

/** What the proxy did so far. Bytes in = bytes out + dropped + still queued. */
export interface FaultProxyStats {
  /** Connections accepted from clients. */
  readonly accepted: number;
  /** Connections open now. */
  readonly open: number;
  /** Connections the proxy reset (faults, blackholes ending, `resetAll`, `reset`). */
  readonly resets: number;
  /** Blackholes started. */
  readonly blackholes: number;
  /** Connections closed because the target refused or failed (e.g. the hub was down). */
  readonly targetFailures: number;
  readonly up: DirectionStats;
  readonly down: DirectionStats;
}

/** One proxied connection, for faults aimed at it alone. */
export interface FaultConnection {
  /** Its index in accept order, from 0; the fault stream of its direction `d` is `fork(id, d)`. */
  readonly id: number;
  /** Resets it now (RST both sides). */
  reset(): void;
  /** Silences it in both directions for `ms`, then resets it. */
  blackhole(ms: number): void;
  /**
   * Resolves once nothing its client sent so far waits in the proxy: handed to the target socket
   * (`write()`; it may still sit in Node's socket buffer), or dropped by a fault, a reset or the
   * proxy's close (at once when nothing waits). A client that
   * died with bytes still delayed or held here has not finished talking to the target until then.
   */
  flushed(): Promise<void>;
}

/** A TCP proxy that injects faults into the connections it forwards. */
export interface FaultProxy {
  /** The port it listens on. */
  readonly port: number;
  /** `http://host:port`, for socket.io-client. */
  readonly url: string;
  /** A snapshot of the counts. */
  readonly stats: FaultProxyStats;
  /** The settings of a direction now. */
  faults(direction: FaultDirection): FaultSettings;
  /**
   * Changes the given settings, for one direction or both (default); the others keep their values.
   * Applies to chunks read from now on, on every connection, open or future.
   */
  setFaults(faults: FaultSettingsInput, direction?: FaultDirection | 'both'): void;
  /** Back to a clean pipe in both directions. Paused traffic stays paused. */
  clearFaults(): void;
  /** The connections open now. */
  connections(): readonly FaultConnection[];
  /** Resets every open connection. */
  resetAll(): void;
  /** Holds all traffic (nothing is dropped; sources are paused once a backlog builds up). */
  pause(): void;
  /** Delivers what was held, in order, and lets traffic flow again. */
  resume(): void;
  /** Stops listening and destroys every connection; resolves once the port is free. */
  close(): Promise<void>;
}

/**
 * Starts a TCP proxy in front of `target` (e.g. the hub) that delays, splits, blackholes and
 * resets traffic, per connection and direction, as a seeded PRNG decides. Bytes are never dropped
 * from inside a live stream (that would corrupt WebSocket framing and test nothing real): a lost
 * frame is a blackhole followed by a reset, which the Socket.IO layer must recover from.
 *
 * @example
 * const proxy = await createFaultProxy({ target: { host: '127.0.0.1', port: hub.port }, seed });
 * proxy.setFaults({ delayMs: [0, 20], splitProbability: 0.3, resetProbability: 0.01 });
 * const socket = io(proxy.url, { transports: ['websocket'] });
 */
export async function createFaultProxy(options: FaultProxyOptions): Promise<FaultProxy> {
  const proxy = new TcpFaultProxy(options);
  await proxy.listen(options.listenPort ?? 0, options.host ?? '127.0.0.1');
  return proxy;
}

type MutableDirectionStats = { -readonly [K in keyof DirectionStats]: DirectionStats[K] };

function emptyDirectionStats(): MutableDirectionStats {
  return { chunks: 0, bytesIn: 0, bytesOut: 0, bytesDropped: 0, splitChunks: 0, writes: 0, delayedChunks: 0 };
}

class TcpFaultProxy implements FaultProxy {
  readonly target: { readonly host: string; readonly port: number };
  readonly random: SeededRandom;
  readonly settings: Record<FaultDirection, FaultSettings>;
  readonly counts = {
    accepted: 0,
    resets: 0,
    blackholes: 0,
    targetFailures: 0,
    up: emptyDirectionStats(),
    down: emptyDirectionStats(),
  };
  readonly open = new Set<Connection>();
  paused = false;
  readonly #server: Server;
  #host = '127.0.0.1';
  #port = 0;
  #closing: Promise<void> | undefined;

  constructor(options: FaultProxyOptions) {
    this.target = options.target;
    this.random = seededRandom(options.seed ?? 0);
    const initial = mergeFaultSettings(NO_FAULTS, options.faults ?? {});
    this.settings = { up: initial, down: initial };
    this.#server = createServer({ allowHalfOpen: true, noDelay: true }, (socket) => this.#accept(socket));
  }

  get port(): number {
    return this.#port;
  }

  get url(): string {
    return `http://${this.#host}:${this.#port}`;
  }

  get stats(): FaultProxyStats {
    const { up, down, ...counts } = this.counts;
    return { ...counts, open: this.open.size, up: { ...up }, down: { ...down } };
  }

  listen(port: number, host: string): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(port, host, () => {
        this.#server.off('error', reject);
        const address = this.#server.address();
        if (address === null || typeof address === 'string') {
          reject(new Error('the fault proxy did not get a TCP address'));
          return;
        }
        this.#host = host;
        this.#port = address.port;
        resolve();
      });
    });
  }

  faults(direction: FaultDirection): FaultSettings {
    return this.settings[direction];
  }

  setFaults(faults: FaultSettingsInput, direction: FaultDirection | 'both' = 'both'): void {
    for (const d of direction === 'both' ? (['up', 'down'] as const) : [direction]) {
      this.settings[d] = mergeFaultSettings(this.settings[d], faults);
    }
  }

  clearFaults(): void {
    this.settings.up = NO_FAULTS;
    this.settings.down = NO_FAULTS;
  }

  connections(): readonly FaultConnection[] {
    return [...this.open].map((c) => c.handle);
  }

  resetAll(): void {
    // Deleting the element being visited is safe while iterating a Set.
    for (const connection of this.open) connection.reset();
  }

  pause(): void {
    this.paused = true;
  }

  resume(): void {
    this.paused = false;
    for (const connection of this.open) connection.pump();
  }

  close(): Promise<void> {
    this.#closing ??= new Promise<void>((resolve) => {
      this.#server.close(() => resolve());
      for (const connection of this.open) connection.destroy();
    });
    return this.#closing;
  }

  #accept(client: Socket): void {
    if (this.#closing !== undefined) {
      client.destroy();
      return;
    }
    const id = this.counts.accepted++;
    this.open.add(new Connection(this, id, client));
  }
}

class Connection {
  readonly proxy: TcpFaultProxy;
  readonly id: number;
  readonly client: Socket;
  readonly target: Socket;
  readonly handle: FaultConnection;
  readonly up: Link;
  readonly down: Link;
  /** False once blackholed, reset or torn down: nothing more is delivered. */
  flowing = true;
  #closed = 0;
  #blackholeTimer: ReturnType<typeof setTimeout> | undefined;
  #done = false;

  constructor(proxy: TcpFaultProxy, id: number, client: Socket) {
    this.proxy = proxy;
    this.id = id;
    this.client = client;
    const target = createConnection({
      host: proxy.target.host,
      port: proxy.target.port,
      allowHalfOpen: true,
      noDelay: true,
    });
    this.target = target;
    this.up = new Link(this, 'up', client, target);
    this.down = new Link(this, 'down', target, client);
    let connected = false;
    target.once('connect', () => (connected = true));
    for (const socket of [client, target]) {
      // Errors end the connection; they are a fault being tested, not a failure of the proxy.
      socket.on('error', () => {
        if (socket === target && !connected) {
          // The target refused (e.g. the hub is down): the client sees a reset, as without a proxy.
          this.proxy.counts.targetFailures++;
          resetSocket(this.client);
        }
        this.destroy();
      });
      socket.once('close', () => {
        if (++this.#closed === 2) this.#finish();
        // A side that closed without a clean end (FIN both ways) takes the other with it.
        else if (!(socket.readableEnded && socket.writableFinished)) this.destroy();
      });
    }
    this.handle = {
      id,
      reset: () => this.reset(),
      blackhole: (ms: number) => this.blackhole(ms),
      flushed: () => this.up.emptied(),
    };
  }

  pump(): void {
    this.up.pump();
    this.down.pump();
  }

  /** RST both sides; what was queued is dropped. */
  reset(): void {
    if (this.#done) return;
    this.proxy.counts.resets++;
    this.#stop();
    for (const socket of [this.client, this.target]) resetSocket(socket);
    this.#finish();
  }

  blackhole(ms: number): void {
    if (!this.flowing) return;
    this.proxy.counts.blackholes++;
    this.#stop();
    this.#blackholeTimer = setTimeout(() => this.reset(), ms);
  }

  /** Ends the connection after a socket error or the proxy's close: destroy both sides. */
  destroy(): void {
    if (this.#done) return;
    this.#stop();
    this.client.destroy();
    this.target.destroy();
    this.#finish();
  }

  #stop(): void {
    this.flowing = false;
    this.up.discard();
    this.down.discard();
  }

  #finish(): void {
    if (this.#done) return;
    this.#done = true;
    this.flowing = false;
    clearTimeout(this.#blackholeTimer);
    this.up.discard();
    this.down.discard();
    this.proxy.open.delete(this);
  }
}

function resetSocket(socket: Socket): void {
  if (socket.destroyed) return;
  try {
    socket.resetAndDestroy();
  } catch {
    socket.destroy();
  }
}
