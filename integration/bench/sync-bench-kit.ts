/**
 * What the Node sync benchmarks share: the raw relay server and the peer sockets as child
 * processes, Node clients on their own fake-indexeddb synced with a hub, and a latency probe that
 * measures append on one client → `projection$` emission on another against the raw relay (a bare
 * Socket.IO message from A to B, folded by hand).
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { ErrorCode, type CommittedEvent, type EventEnvelope } from '@eventloom/protocol';
import { sampleEventId } from '@eventloom/protocol/testing';
import { connectToHub, SyncLabError } from '@eventloom/sync-lab';
import { IDBFactory, IDBKeyRange } from 'fake-indexeddb';
import { io, type Socket } from 'socket.io-client';
import { createEventloom, type Eventloom } from '@eventloom/client';
import type { AnyProjection } from '@eventloom/client';
import { createSync } from '@eventloom/client';
import type { Sync, SyncOptions } from '@eventloom/client';
import { BATCH, N, TodoAdded, todoCount, todoInput, todoRegistry } from '@eventloom/client/testing';

export { probeEvent, probePush } from './probe-event.ts';

/**
 * Forks a TypeScript script of this folder (through tsx) and resolves with its first message.
 * `idle`: the child runs under Linux's SCHED_IDLE policy (`chrt --idle`), so that it only gets
 * the CPU no one else wants, as if it ran on a device of its own.
 */
export async function forkScript<T>(
  name: string,
  args: readonly string[],
  options: { readonly idle?: boolean } = {},
): Promise<{ child: ChildProcess; first: T; close(): Promise<void> }> {
  const script = fileURLToPath(new URL(name, import.meta.url));
  const child = options.idle
    ? fork(script, [...args], {
        execPath: 'chrt',
        execArgv: ['--idle', '0', process.execPath, '--import', 'tsx'],
        stdio: 'inherit',
      })
    : fork(script, [...args], { execArgv: ['--import', 'tsx'], stdio: 'inherit' });
  const first = await new Promise<T>((resolve, reject) => {
    child.once('message', (m) => resolve(m as T));
    child.once('exit', (code) => reject(new Error(`${name} exited early (${code})`)));
  });
  return {
    child,
    first,
    close: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGKILL');
      await exited;
    },
  };
}

/**
 * A catch-up during which `sample()` is taken every `gapMs`: a client offline until now
 * (catchup-client.ts, another process, under SCHED_IDLE) goes online to the hub at `hubUrl` and
 * is done once live at `head`. Answers the samples and the catch-up's time (ms); `onStart` runs
 * right before the client goes online.
 */
export async function sampleDuringCatchUp(
  hubUrl: string,
  head: number,
  sample: () => Promise<number>,
  gapMs: number,
  onStart?: () => void,
): Promise<{ samples: number[]; ms: number }> {
  const catching = await forkScript<{ ready: true }>('./catchup-client.ts', [hubUrl, String(head)], {
    idle: true,
  });
  try {
    let done = false;
    const finished = new Promise<number>((resolve) =>
      catching.child.once('message', (m) => resolve((m as { ms: number }).ms)),
    ).then((ms) => {
      done = true;
      return ms;
    });
    onStart?.();
    catching.child.send('go');
    const samples: number[] = [];
    while (!done) {
      samples.push(await sample());
      await pause(gapMs);
    }
    return { samples, ms: await finished };
  } finally {
    await catching.close();
  }
}

/**
 * The bare Socket.IO relay (raw-relay-server.ts) in a child process; with `dbPath`, it also relays
 * through a raw durable commit to that SQLite file (the durable floor, {@link LatencyProbe.floor}).
 */
export async function startRawRelay(
  dbPath?: string,
): Promise<{ url: string; pid: number | undefined; close(): Promise<void> }> {
  const relay = await forkScript<{ port: number }>(
    './raw-relay-server.ts',
    dbPath === undefined ? [] : [dbPath],
  );
  return { url: `http://127.0.0.1:${relay.first.port}`, pid: relay.child.pid, close: () => relay.close() };
}

/** `count` hub subscribers and `count` raw relay sockets (latency-peers.ts) in a child process. */
export async function startPeers(
  hubUrl: string,
  rawUrl: string,
  count: number,
  stream: string,
): Promise<{ close(): Promise<void> }> {
  if (count === 0) return { close: async () => undefined };
  const peers = await forkScript('./latency-peers.ts', [hubUrl, rawUrl, String(count), stream]);
  return { close: () => peers.close() };
}

/** A Node client: an Eventloom on its own fake-indexeddb and its sync. */
export interface NodeClient {
  readonly loom: Eventloom;
  readonly sync: Sync;
  close(): Promise<void>;
}

let opened = 0;

/** Opens a Node client synced with the hub at `url`. */
export async function openNodeClient(
  url: string,
  options: { readonly projections?: readonly AnyProjection[]; readonly sync?: Partial<SyncOptions> } = {},
): Promise<NodeClient> {
  const loom = (await createEventloom({
    name: `bench-${process.pid}-${++opened}`,
    registry: todoRegistry,
    projections: options.projections ?? [],
    storage: { indexedDB: new IDBFactory(), IDBKeyRange },
    tabs: { locks: null, BroadcastChannel: null },
  })) as unknown as Eventloom;
  const sync = createSync(loom, {
    url,
    subscriptions: ['*'],
    tabs: { BroadcastChannel: null },
    ...options.sync,
  });
  return {
    loom,
    sync,
    async close() {
      await sync.close();
      await loom.close();
    },
  };
}

/**
 * The writers' side of a probe (latency-writer.ts, client-hop-writer.ts): appends the n-th probe
 * event to `stream` on `client`, then calls `then`; a failed append ends the process. Ends the
 * process too once its parent goes, closing `socket` and the client.
 */
export function writerOf(
  client: NodeClient,
  socket: Socket,
): (stream: string, n: number, then: () => void) => void {
  process.on('disconnect', () => {
    socket.disconnect();
    void client.close().finally(() => process.exit(0));
  });
  return (stream, n, then) => {
    client.loom
      .append(stream, TodoAdded.create({ id: `p${n}`, title: `probe ${n}`, tags: ['bench'] }))
      .then(then, (error: unknown) => {
        console.error(error);
        process.exit(1);
      });
  };
}

/** Resolves once `sync` is live and its outbox empty. */
export function whenLive(sync: Sync): Promise<void> {
  return new Promise((resolve) => {
    const subscription = sync.metrics$.subscribe((m) => {
      if (m.state === 'live' && m.outbox === 0) {
        queueMicrotask(() => subscription.unsubscribe());
        resolve();
      }
    });
  });
}

/**
 * Measures one-way latency from client A (latency-writer.ts, in a process of its own: another
 * device) to client B (here), through the hub (append → B's `projection$` emission of a count) and
 * through the raw relay (emit → B folds the message by hand), one sample at a time. Times are
 * `performance.timeOrigin + performance.now()` on both sides.
 */
export class LatencyProbe {
  readonly #writer: Awaited<ReturnType<typeof forkScript>>;
  readonly #b: NodeClient;
  readonly #rawB: Socket;
  #seen = 0;
  #rawCount = 0;
  #sent = 0;
  #waiter: { readonly target: number; readonly resolve: (at: number) => void } | undefined;
  #rawWaiter: ((at: number) => void) | undefined;

  private constructor(writer: Awaited<ReturnType<typeof forkScript>>, b: NodeClient, rawB: Socket) {
    this.#writer = writer;
    this.#b = b;
    this.#rawB = rawB;
    b.loom.projection$(todoCount).subscribe((count) => {
      this.#seen = count;
      const waiter = this.#waiter;
      if (waiter !== undefined && count >= waiter.target) {
        this.#waiter = undefined;
        waiter.resolve(now());
      }
    });
    rawB.on('relay', (message: { events: CommittedEvent[] }) => {
      // The raw fold: the same count, by hand.
      for (const event of message.events) if (event.type === 'todo.added') this.#rawCount++;
      const waiter = this.#rawWaiter;
      this.#rawWaiter = undefined;
      waiter?.(now());
    });
  }

  /** Starts A and opens B (folding a count) on the hub and on the raw relay, subscribed to `stream`. */
  static async open(hubUrl: string, rawUrl: string, stream: string): Promise<LatencyProbe> {
    const b = await openNodeClient(hubUrl, { projections: [todoCount], sync: { subscriptions: [stream] } });
    await whenLive(b.sync);
    const rawB = await connectRaw(rawUrl);
    const writer = await forkScript('./latency-writer.ts', [hubUrl, rawUrl, stream]);
    return new LatencyProbe(writer, b, rawB);
  }

  /** Append on A → B's projection shows it, in ms. */
  async hub(): Promise<number> {
    const arrived = new Promise<number>((resolve) => (this.#waiter = { target: this.#seen + 1, resolve }));
    const start = await this.#ask('hub');
    return (await arrived) - start;
  }

  /** The same event, as the hub would relay it, emitted by A → folded by B, in ms. */
  async raw(): Promise<number> {
    const arrived = new Promise<number>((resolve) => (this.#rawWaiter = resolve));
    const start = await this.#ask('raw');
    return (await arrived) - start;
  }

  /**
   * The durable floor: the same event emitted by A → committed durably by the relay (a raw SQLite
   * transaction, the hub's settings) → folded by B, in ms. Needs a relay started with a database.
   */
  async floor(): Promise<number> {
    const arrived = new Promise<number>((resolve) => (this.#rawWaiter = resolve));
    const start = await this.#ask('durable');
    return (await arrived) - start;
  }

  /** B's count through the raw relay (for a sanity check). */
  get rawCount(): number {
    return this.#rawCount;
  }

  async close(): Promise<void> {
    this.#rawB.disconnect();
    await this.#writer.close();
    await this.#b.close();
  }

  #ask(op: 'hub' | 'raw' | 'durable'): Promise<number> {
    const { child } = this.#writer;
    return new Promise((resolve) => {
      child.once('message', (m) => resolve((m as { start: number }).start));
      child.send({ op, n: ++this.#sent });
    });
  }
}

/** Milliseconds since the epoch, sub-millisecond, comparable across processes of this machine. */
export function now(): number {
  return performance.timeOrigin + performance.now();
}

/** A socket.io-client socket of `url` (WebSocket, no reconnection), once connected: for the raw relay. */
export function connectRaw(url: string): Promise<Socket> {
  const socket = io(url, { transports: ['websocket'], reconnection: false, forceNew: true });
  return new Promise((resolve, reject) => {
    socket.once('connect', () => resolve(socket));
    socket.once('connect_error', reject);
  });
}

/** Sleeps `ms` (between samples: the probe is a steady trickle, not a flood). */
export function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Pushes one batch, and again after a pause each time the hub answers `rate-limited`, as a real
 * client backs off: the writers share one principal and one address, whose default rates (10k
 * events/s) the backlog's 100k exceed. The writing is not timed; only the catch-up is.
 */
async function pushPaced(
  client: Awaited<ReturnType<typeof connectToHub>>,
  batch: EventEnvelope[],
): ReturnType<Awaited<ReturnType<typeof connectToHub>>['push']> {
  for (;;) {
    try {
      return await client.push(batch);
    } catch (error) {
      if (!(error instanceof SyncLabError) || error.hubError?.code !== ErrorCode.rateLimited) throw error;
      await pause(250);
    }
  }
}

/**
 * The backlog of the catch-up benchmarks (sync-catchup, catchup-threads.ts): `N` (100k) events
 * from `writers` clients, pushed in batches of `BATCH` (1,000), the writers side by side; fails
 * unless the hub commits every one.
 */
export async function writeBacklog(url: string, writers = 5): Promise<void> {
  const perWriter = N / writers;
  await Promise.all(
    Array.from({ length: writers }, async (_, w) => {
      const clientId = `writer-${w}`;
      const client = await connectToHub(url, { clientId, subscriptions: [] });
      try {
        for (let from = 0; from < perWriter; from += BATCH) {
          const batch: EventEnvelope[] = [];
          for (let k = from; k < from + BATCH; k++) {
            const input = todoInput(w * perWriter + k);
            batch.push({
              id: sampleEventId(w * perWriter + k + 1),
              type: input.type,
              version: input.version,
              kind: input.kind,
              stream: input.stream,
              data: input.data,
              meta: {},
              clientId,
              clientSeq: k + 1,
              hlc: `${String(1_800_000_000_000 + k).padStart(15, '0')}-0000000000-${clientId}`,
            });
          }
          const ack = await pushPaced(client, batch);
          if (!ack.results.every((r) => r.status === 'ok')) {
            throw new Error(`${clientId}: the hub refused events of the backlog: ${JSON.stringify(ack)}`);
          }
        }
      } finally {
        client.close();
      }
    }),
  );
}
