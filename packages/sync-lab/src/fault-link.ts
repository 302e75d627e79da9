import type { Socket } from 'node:net';
import { planChunk, type ChunkPlan, type FaultSettings } from './fault-plan.ts';
import type { SeededRandom } from './seeded-random.ts';

/** `up`: client → target; `down`: target → client (the proxy's `FaultDirection`). */
type LinkDirection = 'up' | 'down';

/** A direction's counters (the proxy's `DirectionStats`), as a link adds to them. */
interface LinkStats {
  chunks: number;
  bytesIn: number;
  bytesOut: number;
  bytesDropped: number;
  splitChunks: number;
  writes: number;
  delayedChunks: number;
}

/** What a {@link Link} needs of its connection, and of the proxy that accepted it. */
export interface LinkConnection {
  readonly id: number;
  /** False once blackholed, reset or torn down: nothing more is delivered. */
  readonly flowing: boolean;
  readonly proxy: {
    readonly random: SeededRandom;
    readonly settings: Record<LinkDirection, FaultSettings>;
    readonly counts: Record<LinkDirection, LinkStats>;
    /** True while the proxy holds all traffic. */
    readonly paused: boolean;
  };
  blackhole(ms: number): void;
  reset(): void;
}

/** Above this many queued bytes in a direction, the proxy stops reading its source. */
const HIGH_WATER = 1 << 20;

/** One queued chunk of a direction, or the end of its stream. */
interface Pending {
  due: number;
  /** What is left to write, in pieces; empty for an end-of-stream marker. */
  pieces: Buffer[];
  readonly plan: ChunkPlan | undefined;
  written: number;
}

/** One direction of a connection: reads `source`, writes `destination`, in order, with faults. */
export class Link {
  readonly connection: LinkConnection;
  readonly direction: LinkDirection;
  readonly source: Socket;
  readonly destination: Socket;
  readonly random: SeededRandom;
  readonly stats: LinkStats;
  readonly queue: Pending[] = [];
  queuedBytes = 0;
  #lastDue = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #immediate: ReturnType<typeof setImmediate> | undefined;
  #waitingForDrain = false;
  /** Called once the queue is empty. */
  #onEmpty: (() => void)[] = [];

  constructor(connection: LinkConnection, direction: LinkDirection, source: Socket, destination: Socket) {
    this.connection = connection;
    this.direction = direction;
    this.source = source;
    this.destination = destination;
    this.random = connection.proxy.random.fork(connection.id, direction);
    this.stats = connection.proxy.counts[direction];
    source.on('data', (chunk: Buffer) => this.#read(chunk));
    source.on('end', () => this.#enqueueEnd());
    destination.on('drain', () => {
      if (!this.#waitingForDrain) return;
      this.#waitingForDrain = false;
      this.pump();
    });
  }

  #read(chunk: Buffer): void {
    this.stats.chunks++;
    this.stats.bytesIn += chunk.length;
    if (!this.connection.flowing) {
      this.stats.bytesDropped += chunk.length;
      return;
    }
    const plan = planChunk(this.random, this.connection.proxy.settings[this.direction], chunk.length);
    if (plan.delayMs > 0) this.stats.delayedChunks++;
    // Never before the chunk ahead of it: the byte order of a TCP stream is kept.
    const due = Math.max(Date.now() + plan.delayMs, this.#lastDue);
    this.#lastDue = due;
    const pieces: Buffer[] = [];
    let offset = 0;
    for (const length of plan.pieces) {
      pieces.push(chunk.subarray(offset, offset + length));
      offset += length;
    }
    if (pieces.length > 1) this.stats.splitChunks++;
    this.queue.push({ due, pieces, plan, written: 0 });
    this.queuedBytes += chunk.length;
    if (this.queuedBytes > HIGH_WATER) this.source.pause();
    this.pump();
  }

  #enqueueEnd(): void {
    if (!this.connection.flowing) return;
    this.queue.push({ due: this.#lastDue, pieces: [], plan: undefined, written: 0 });
    this.pump();
  }

  /** Resolves once nothing read from the source waits here: handed to `destination.write()`, or dropped. */
  emptied(): Promise<void> {
    if (this.queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.#onEmpty.push(resolve));
  }

  #emptied(): void {
    if (this.queue.length > 0 || this.#onEmpty.length === 0) return;
    for (const resolve of this.#onEmpty.splice(0)) resolve();
  }

  /** Delivers whatever is due; schedules itself again for what is not due yet. */
  pump(): void {
    if (this.#timer !== undefined || this.#immediate !== undefined || this.#waitingForDrain) return;
    this.#deliver();
    this.#emptied();
  }

  #deliver(): void {
    while (this.queue.length > 0) {
      if (!this.connection.flowing || this.connection.proxy.paused) return;
      const head = this.queue[0]!;
      const wait = head.due - Date.now();
      if (wait > 0) {
        this.#timer = setTimeout(() => {
          this.#timer = undefined;
          this.pump();
        }, wait);
        return;
      }
      if (head.plan === undefined) {
        this.queue.shift();
        this.destination.end();
        continue;
      }
      if (head.written === 0 && head.plan.blackholeMs !== undefined) {
        this.connection.blackhole(head.plan.blackholeMs);
        return;
      }
      const piece = head.pieces.shift()!;
      let toWrite = piece;
      const resetAfter = head.plan.resetAfter;
      if (resetAfter !== undefined && head.written + piece.length >= resetAfter) {
        toWrite = piece.subarray(0, resetAfter - head.written);
      }
      const flushed = toWrite.length === 0 ? true : this.#write(toWrite);
      head.written += toWrite.length;
      this.queuedBytes -= toWrite.length;
      if (resetAfter !== undefined && head.written >= resetAfter) {
        this.connection.reset();
        return;
      }
      if (head.pieces.length === 0) {
        this.queue.shift();
        if (this.queuedBytes <= HIGH_WATER && this.source.isPaused()) this.source.resume();
      } else {
        // A turn of the event loop between pieces, so that they leave as separate segments.
        this.#immediate = setImmediate(() => {
          this.#immediate = undefined;
          this.pump();
        });
        return;
      }
      if (!flushed) {
        this.#waitingForDrain = true;
        return;
      }
    }
  }

  #write(bytes: Buffer): boolean {
    this.stats.writes++;
    this.stats.bytesOut += bytes.length;
    return this.destination.write(bytes);
  }

  /** Throws away what is queued (counted as dropped) and every pending wake-up. */
  discard(): void {
    clearTimeout(this.#timer);
    clearImmediate(this.#immediate);
    this.#timer = undefined;
    this.#immediate = undefined;
    this.#waitingForDrain = false;
    this.stats.bytesDropped += this.queuedBytes;
    this.queuedBytes = 0;
    this.queue.length = 0;
    this.#emptied();
  }
}
