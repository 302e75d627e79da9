import { Worker } from 'node:worker_threads';
import { HubError, HubErrorCode } from '../hub/hub-error.ts';
import type { CommittedEvent } from '@eventloom/protocol';
import type { AppendColumns } from './append-columns.ts';
import type { StoreJsonPage } from './event-store.ts';
import type { SqliteLogOptions } from './sqlite-log.ts';
import type { StreamFilter } from './stream-filter.ts';

/** A request to the SQLite thread, without its id: `open` answers a handle, the others name it. */
export type SqliteCall =
  | { readonly op: 'open'; readonly options: SqliteLogOptions }
  | { readonly op: 'append'; readonly handle: number; readonly batch: AppendColumns }
  | {
      readonly op: 'import';
      readonly handle: number;
      readonly events: readonly CommittedEvent[];
      readonly hubId: string | undefined;
    }
  | {
      readonly op: 'read' | 'readJson';
      readonly handle: number;
      readonly from: number;
      readonly limit: number;
      readonly filter: StreamFilter;
      readonly maxJsonChars?: number;
    }
  | { readonly op: 'head' | 'hubId' | 'checkpoint' | 'close'; readonly handle: number }
  | { readonly op: 'streamVersion'; readonly handle: number; readonly stream: string }
  | { readonly op: 'client'; readonly handle: number; readonly clientId: string }
  | {
      readonly op: 'bindClient' | 'claimClient' | 'claimNewClient';
      readonly handle: number;
      readonly clientId: string;
      readonly principal: string;
    };

/** A page's buffer given back to the thread that read it ({@link SqliteThread.spare}); not answered. */
export interface SqliteSpare {
  readonly op: 'spare';
  readonly buffer: ArrayBuffer;
}

/** What a SQLite thread is for: see {@link SqliteThread.shared}. */
export type SqliteThreadRole = 'writer' | 'reader';

/** A {@link SqliteCall} as posted, with the id its reply names. */
export type SqliteRequest = SqliteCall & { readonly id: number };

/** The answer to one {@link SqliteRequest}: its value, or the failure as data. */
export type SqliteReply =
  | { readonly id: number; readonly ok: true; readonly value: unknown }
  | { readonly id: number; readonly ok: false; readonly code: HubErrorCode; readonly message: string };

/**
 * The worker thread every SQLite store of the process runs on, started by the first store that
 * needs it (a file log's commit thread by its first append: see `createSqliteStore`) and kept,
 * idle, for the next. Requests are answered in the order they were made. The thread keeps
 * the process alive only while a request is in flight, like any pending I/O.
 *
 * Invariant: a request resolves with what the worker did; if the worker dies, every request in
 * flight, and every later one, fails with a {@link HubError} `store`.
 */
export class SqliteThread {
  static readonly #shared = new Map<SqliteThreadRole, SqliteThread>();

  /**
   * The process's SQLite thread for `role`, started (again, if the last one died) when needed:
   * `writer` runs appends (and everything of `:memory:` logs), `reader` the reads of file logs on
   * connections of their own, so that a long catch-up read never waits behind commits, nor they
   * behind it (WAL lets readers and the writer run at once).
   */
  static shared(role: SqliteThreadRole = 'writer'): SqliteThread {
    const current = SqliteThread.#shared.get(role);
    if (current !== undefined && current.#dead === undefined) return current;
    const started = new SqliteThread();
    SqliteThread.#shared.set(role, started);
    return started;
  }

  /** Whether the process's thread for `role` is running (started, and not dead). */
  static running(role: SqliteThreadRole): boolean {
    const current = SqliteThread.#shared.get(role);
    return current !== undefined && current.#dead === undefined;
  }

  /** Settles when the thread dies, before the requests in flight fail. */
  readonly died: Promise<void>;

  /** Whether the thread runs still (it has not died): a dead one fails every request. */
  get alive(): boolean {
    return this.#dead === undefined;
  }

  #markDead: () => void = () => undefined;
  readonly #worker: Worker;
  readonly #pending = new Map<number, { resolve(value: unknown): void; reject(error: HubError): void }>();
  #nextId = 1;
  #dead: HubError | undefined;

  private constructor() {
    this.died = new Promise((resolve) => (this.#markDead = resolve));
    this.#worker = startWorker();
    this.#worker.unref();
    this.#worker.on('message', (reply: SqliteReply) => this.#settle(reply));
    this.#worker.on('error', (error) => this.#die(error));
    this.#worker.on('exit', (code) => this.#die(new Error(`exited with code ${code}`)));
  }

  /**
   * Posts `call` and resolves with the worker's answer. A page read as JSON (`readJson`) comes with
   * `release`, which gives its buffer back to this thread for a later page ({@link spare}).
   */
  request<T>(call: SqliteCall): Promise<T> {
    if (this.#dead !== undefined) return Promise.reject(this.#dead);
    const id = this.#nextId++;
    return new Promise<T>((resolve, reject) => {
      if (this.#pending.size === 0) this.#worker.ref();
      const settle =
        call.op === 'readJson'
          ? (page: StoreJsonPage) => resolve({ ...page, release: () => this.spare(page.json.buffer) } as T)
          : resolve;
      this.#pending.set(id, { resolve: settle as (value: unknown) => void, reject });
      try {
        this.#worker.postMessage({ ...call, id });
      } catch (cause) {
        this.#pending.delete(id);
        if (this.#pending.size === 0) this.#worker.unref();
        reject(new HubError(HubErrorCode.store, `event store: cannot post ${call.op}`, { cause }));
      }
    });
  }

  /**
   * Hands a page's buffer back to the thread (moved, not copied: it is gone from this thread, and
   * V8 here no longer counts it, see `spareJsonBuffer`). Nothing waits for it; on a dead thread it
   * is let go.
   */
  spare(buffer: ArrayBufferLike): void {
    if (this.#dead !== undefined || !(buffer instanceof ArrayBuffer) || buffer.byteLength === 0) return;
    const spare: SqliteSpare = { op: 'spare', buffer };
    try {
      this.#worker.postMessage(spare, [buffer]);
    } catch {
      // A thread that cannot take it back: the buffer is collected here as any other.
    }
  }

  #settle(reply: SqliteReply): void {
    const pending = this.#pending.get(reply.id);
    if (pending === undefined) return;
    this.#pending.delete(reply.id);
    if (this.#pending.size === 0) this.#worker.unref();
    if (reply.ok) pending.resolve(reply.value);
    else pending.reject(new HubError(reply.code, reply.message));
  }

  #die(cause: unknown): void {
    if (this.#dead !== undefined) return;
    const why = cause instanceof Error ? cause.message : String(cause);
    this.#dead = new HubError(HubErrorCode.store, `event store: the SQLite thread stopped: ${why}`, {
      cause,
    });
    this.#markDead();
    for (const pending of this.#pending.values()) pending.reject(this.#dead);
    this.#pending.clear();
    void this.#worker.terminate();
  }
}

/**
 * Starts `sqlite-worker`: the `.js` file beside this one once built. From TypeScript source (tests,
 * `tsx`), the worker needs a Node that strips types (22.18 and later) or, on older ones, tsx,
 * registered inside the worker: Node hands a worker neither the parent's loader hooks nor a way
 * to `--import` them.
 */
function startWorker(): Worker {
  const fromSource = import.meta.url.endsWith('.ts');
  const entry = new URL(fromSource ? './sqlite-worker.ts' : './sqlite-worker.js', import.meta.url);
  const features = process.features as { readonly typescript?: string | false };
  if (!fromSource || Boolean(features.typescript)) return new Worker(entry);
  let tsx: string;
  try {
    tsx = import.meta.resolve('tsx/esm/api');
  } catch (cause) {
    throw new HubError(
      HubErrorCode.config,
      'the SQLite store runs on a worker thread, which from TypeScript source needs Node 22.18+ or tsx',
      { cause },
    );
  }
  const boot = `import(${JSON.stringify(tsx)}).then((api) => { api.register(); return import(${JSON.stringify(entry.href)}); });`;
  return new Worker(boot, { eval: true });
}
