import { ClientError, ClientErrorCode } from '../client-error.ts';
import type { ClientRows } from '../client-tables.ts';
import { BackedClientStore } from '../backed-client-store.ts';
import { dexieBackendOf, type DexieClientStoreOptions } from '../dexie-client-store.ts';
import type { ReadTx, StoreBackend, WriteTx } from '../store-backend.ts';

/** What a {@link PowerCut} cut off when it fell. */
export interface CutReport {
  /** Write transactions whose body was running: rolled back, nothing of them stored. */
  readonly writesRolledBack: number;
  /** Write transactions whose body had finished, not yet reported committed: they land, unheard of. */
  readonly writesCommitting: number;
  /** Storage operations issued before the cut (since the backend was made). */
  readonly operations: number;
}

/**
 * A fault switch on a real {@link StoreBackend}, for a crash inside one process: {@link cut} is
 * the instant the process dies. It keeps what the backend's own transactions guarantee, and only
 * decides where the process stops:
 * - a write transaction whose body is still running at the cut fails at its next operation (or at
 *   its end), so the backend rolls it back: nothing of it is stored;
 * - one whose body had finished commits (it is the backend's now), but nobody hears of it;
 * - every call waiting on the backend, and every later call, never settles: the instance that used
 *   it stops at its next await on storage, and no later write of it reaches the storage.
 *
 * The backend's connection closes once what it had begun is over (as the browser closes a dead
 * tab's). A new instance opens the same database with a backend of its own.
 */
export class PowerCut<R> implements StoreBackend<R> {
  readonly #inner: StoreBackend<R>;
  #cut: CutReport | undefined;
  #operations = 0;
  #cutAt: number | undefined;
  readonly #onCut: (() => void)[] = [];
  /** Calls on the backend not settled yet. */
  #calls = 0;
  /** Write transactions whose body runs. */
  #running = 0;
  /** Write transactions whose body finished, whose commit the backend has not reported yet. */
  #committing = 0;

  constructor(inner: StoreBackend<R>) {
    this.#inner = inner;
  }

  /** What the cut cut off; undefined while the power is on. */
  get report(): CutReport | undefined {
    return this.#cut;
  }

  /** Storage operations issued so far. */
  get operations(): number {
    return this.#operations;
  }

  /** Cuts the power now (once). */
  cut(): CutReport {
    if (this.#cut) return this.#cut;
    this.#cut = {
      writesRolledBack: this.#running,
      writesCommitting: this.#committing,
      operations: this.#operations,
    };
    this.#closeWhenIdle();
    for (const fn of this.#onCut.splice(0)) fn();
    return this.#cut;
  }

  /**
   * Cuts the power as the `n`-th storage operation from now is about to be issued (0: the next),
   * inside whatever transaction issues it. Resolves with what it cut off once it fell (by this or
   * by another {@link cut}).
   */
  cutAfter(n: number): Promise<CutReport> {
    if (!this.#cut) this.#cutAt = this.#operations + n + 1;
    return this.cutDone();
  }

  /**
   * Resolves once the power is cut, in a task of its own: a cut that falls inside a transaction
   * must not carry the waiter into it (Dexie follows its transaction along promise chains).
   */
  cutDone(): Promise<CutReport> {
    return new Promise((resolve) => this.onCut((report) => setTimeout(() => resolve(report), 0)));
  }

  /** Calls `fn` at the cut, in the same step (at once if the power is cut already). */
  onCut(fn: (report: CutReport) => void): void {
    if (this.#cut) fn(this.#cut);
    else this.#onCut.push(() => fn(this.#cut!));
  }

  open(): Promise<void> {
    return this.#call(() => this.#inner.open());
  }

  close(): void {
    if (!this.#cut) this.#inner.close();
  }

  read<T>(tables: readonly (keyof R & string)[], body: (tx: ReadTx<R>) => Promise<T>): Promise<T> {
    return this.#call(() => this.#inner.read(tables, (tx) => this.#body(tx as WriteTx<R>, body)));
  }

  write<T>(tables: readonly (keyof R & string)[], body: (tx: WriteTx<R>) => Promise<T>): Promise<T> {
    let finished = false;
    return this.#call(
      () =>
        this.#inner.write(tables, async (tx) => {
          this.#running++;
          try {
            const result = await this.#body(tx, body);
            finished = true;
            this.#committing++;
            return result;
          } finally {
            this.#running--;
          }
        }),
      () => {
        if (finished) this.#committing--;
      },
    );
  }

  /** Runs a call on the backend; after the cut, what it comes to is never heard. */
  #call<T>(call: () => Promise<T>, settled?: () => void): Promise<T> {
    if (this.#cut) return never();
    this.#calls++;
    const over = () => {
      settled?.();
      this.#calls--;
      if (this.#cut) this.#closeWhenIdle();
    };
    return call().then(
      (value) => {
        over();
        return this.#cut ? never<T>() : value;
      },
      (error: unknown) => {
        over();
        return this.#cut ? never<T>() : Promise.reject(error);
      },
    );
  }

  async #body<T>(tx: WriteTx<R>, body: (tx: WriteTx<R>) => Promise<T>): Promise<T> {
    const result = await body(this.#wrap(tx));
    // A body that swallowed the cut's failure must not commit either.
    this.#alive();
    return result;
  }

  #wrap(tx: WriteTx<R>): WriteTx<R> {
    const step = async <T>(call: () => Promise<T>): Promise<T> => {
      this.#operations++;
      // Outside the transaction: what the cut sets going (its waiters) must not run inside it.
      if (this.#cutAt !== undefined && this.#operations >= this.#cutAt) tx.outside(() => this.cut());
      this.#alive();
      const result = await call();
      this.#alive();
      return result;
    };
    return {
      get: (table, key) => step(() => tx.get(table, key)),
      getMany: (table, keys) => step(() => tx.getMany(table, keys)),
      scan: (table, range) => step(() => tx.scan(table, range)),
      scanKeys: (table, range) => step(() => tx.scanKeys(table, range)),
      count: (table, range) => step(() => tx.count(table, range)),
      scanIndex: (table, index, range) => step(() => tx.scanIndex(table, index, range)),
      put: (table, rows) => step(() => tx.put(table, rows)),
      delete: (table, keys) => step(() => tx.delete(table, keys)),
      clear: (table) => step(() => tx.clear(table)),
      outside: (fn) => tx.outside(fn),
    };
  }

  #alive(): void {
    if (this.#cut) throw new ClientError(ClientErrorCode.databaseClosed, 'the power was cut');
  }

  /** The connection closes once what it had begun is over (rolled back or committed). */
  #closeWhenIdle(): void {
    if (this.#calls > 0) return;
    try {
      this.#inner.close();
    } catch {
      // Nobody hears of it: the process is gone.
    }
  }
}

/** A Dexie client store (the real one, on the IndexedDB given) behind a {@link PowerCut}. */
export function powerCutDexieStore(options: DexieClientStoreOptions): {
  readonly store: BackedClientStore;
  readonly power: PowerCut<ClientRows>;
} {
  const power = new PowerCut(dexieBackendOf(options).backend);
  return {
    store: new BackedClientStore(power, options.newClientId ? { newClientId: options.newClientId } : {}),
    power,
  };
}

function never<T>(): Promise<T> {
  return new Promise<T>(() => undefined);
}
