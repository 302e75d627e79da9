/**
 * Test support for the sync tests in Node: a real hub in this process (memory or SQLite store,
 * any port, restartable on the same port and file), clients on their own fake-indexeddb (one
 * `IDBFactory` per device, so a device can be closed and opened again from its storage), and
 * waits on observables. Not part of the package (the client's code never imports the hub).
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { EventDefinition, EventRegistry } from '@eventloom/core';
import {
  createHub,
  createMemoryStore,
  createSqliteStore,
  insecureDevAuthenticator,
  type EventStore,
  type Hub,
  type HubOptions,
} from '@eventloom/hub';
import type { CommittedEvent } from '@eventloom/protocol';
import { IDBFactory, IDBKeyRange } from 'fake-indexeddb';
import { filter, firstValueFrom, timeout, type Observable } from 'rxjs';
import { afterEach } from 'vitest';
import {
  createEventloom,
  defaultSocketFactory,
  type Eventloom,
  type EventloomOptions,
} from '@eventloom/client';
import { powerCutDexieStore, todoRegistry, type CutReport } from '@eventloom/client/testing';
import { createSync } from '@eventloom/client';
import type { Sync, SyncOptions } from '@eventloom/client';
import { ProcessDeath } from './process-death.node.ts';

/** A logger that says nothing: the hub's warnings about insecure dev mode would drown the output. */
export const silent = {
  level: 'silent',
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
  debug: () => undefined,
  trace: () => undefined,
  fatal: () => undefined,
  isLevelEnabled: () => false,
  child() {
    return this;
  },
} as unknown as NonNullable<HubOptions['logger']>;

/** A hub in this process that can be stopped and started again on the same port (and SQLite file). */
export interface TestHub {
  readonly url: string;
  readonly port: number;
  /** The SQLite file of the log (a `sqlite` hub): copy it while stopped to back the log up. */
  readonly path: string | undefined;
  hub: Hub;
  store: EventStore;
  /** Closes the hub (and its store unless it is a memory store, which lives on for a restart). */
  stop(): Promise<void>;
  /** Starts it again on the same port, over the same log, with another registry if given. */
  restart(options?: { readonly registry?: HubOptions['registry'] | null }): Promise<void>;
  /** Every committed event, in position order. */
  events(): Promise<CommittedEvent[]>;
  close(): Promise<void>;
}

/** Starts a hub on 127.0.0.1 (insecure dev auth): over memory by default, or a fresh SQLite file. */
export async function startTestHub(
  options: {
    readonly sqlite?: boolean;
    readonly registry?: HubOptions['registry'];
    readonly limits?: HubOptions['limits'];
    readonly auth?: HubOptions['auth'];
    /** What the hub is given instead of its store (a wrapper around it); `events()` reads the store itself. */
    readonly wrapStore?: (store: EventStore) => EventStore;
  } = {},
): Promise<TestHub> {
  const path = options.sqlite ? join(mkdtempSync(join(tmpdir(), 'eventloom-sync-')), 'hub.db') : undefined;
  const openStore = () => (path ? createSqliteStore({ path }) : createMemoryStore());
  let registry = options.registry;
  const start = async (store: EventStore, port: number) =>
    createHub({
      store: options.wrapStore ? options.wrapStore(store) : store,
      auth: options.auth ?? insecureDevAuthenticator(),
      logger: silent,
      port,
      ...(registry ? { registry } : {}),
      ...(options.limits ? { limits: options.limits } : {}),
    });
  let store = await openStore();
  let hub = await start(store, 0);
  let running = true;
  const port = hub.port;
  const test: TestHub = {
    url: `http://127.0.0.1:${port}`,
    port,
    path,
    get hub() {
      return hub;
    },
    get store() {
      return store;
    },
    async stop() {
      if (!running) return;
      running = false;
      await hub.close();
      if (path) await store.close();
    },
    async restart(next = {}) {
      await test.stop();
      if (next.registry !== undefined) registry = next.registry ?? undefined;
      if (path) store = await openStore();
      hub = await start(store, port);
      running = true;
    },
    async events() {
      const out: CommittedEvent[] = [];
      for (let from = 0; ;) {
        const page = await store.read({ from, limit: 5000 });
        out.push(...page.events);
        if (page.until >= page.head) return out;
        from = page.until;
      }
    },
    async close() {
      await test.stop();
      await store.close();
    },
  };
  return test;
}

/** What {@link syncFixtures} gives a test file. */
export interface SyncFixtures {
  /** Runs `fns` after the current test, before what was deferred earlier. */
  readonly defer: (...fns: (() => unknown)[]) => void;
  /** A hub ({@link startTestHub}: memory unless `options` say otherwise), closed after the test. */
  readonly hub: (options?: Parameters<typeof startTestHub>[0]) => Promise<TestHub>;
  /** A device ({@link openDevice}), live before it is returned, closed after the test. */
  readonly device: <D extends EventDefinition = (typeof todoRegistry.definitions)[number]>(
    ...args: Parameters<typeof openDevice<D>>
  ) => Promise<TestDevice<D>>;
  /** A device ({@link openDevice}) as it opens, not waited on (offline, connecting…), closed after the test. */
  readonly open: <D extends EventDefinition = (typeof todoRegistry.definitions)[number]>(
    ...args: Parameters<typeof openDevice<D>>
  ) => Promise<TestDevice<D>>;
}

/**
 * Hubs and devices for the tests of one file, closed after each test (the last opened first).
 * Call it at the top level of the file: it registers the `afterEach` that closes them.
 *
 * @example
 * const { hub, device } = syncFixtures();
 * it('syncs', async () => { const a = await device(await hub()); ... });
 */
export function syncFixtures(): SyncFixtures {
  const cleanup: (() => unknown)[] = [];
  afterEach(async () => {
    for (const fn of cleanup.splice(0).reverse()) await fn();
  });
  const open: SyncFixtures['open'] = async (...args) => {
    const device = await openDevice(...args);
    cleanup.push(() => device.close());
    return device;
  };
  return {
    defer: (...fns) => {
      cleanup.push(...fns);
    },
    hub: async (options) => {
      const hub = await startTestHub(options);
      cleanup.push(() => hub.close());
      return hub;
    },
    device: async (...args) => {
      const device = await open(...args);
      await live(device.sync);
      return device;
    },
    open,
  };
}

/** One device: its own IndexedDB, an Eventloom on it, and its sync (once started). */
export interface TestDevice<D extends EventDefinition = EventDefinition> {
  readonly name: string;
  readonly indexedDB: IDBFactory;
  loom: Eventloom<D>;
  sync: Sync;
  /** Closes the sync and the Eventloom: a graceful end, what was queued finishes first. */
  crash(): Promise<void>;
  /**
   * Kills the instance where it stands, without `close`: its storage's power is cut now (a write
   * transaction not over is rolled back, one whose body had finished lands; every call on storage
   * from it never settles), its socket is cut (the hub sees a disconnect; nothing more leaves), its
   * BroadcastChannels close. Its timers and promises still run in this process, but reach nothing.
   * `reopen` then opens a new instance on the same IndexedDB.
   */
  kill(): CutReport;
  /**
   * Kills the instance (see {@link kill}) as the `ops`-th storage operation from now is issued,
   * inside whatever transaction issues it, or after `ms` if it was not killed before (by that, or
   * by a `kill` from elsewhere); resolves with what it cut.
   */
  killAfter(at: { readonly ops?: number; readonly ms: number }): Promise<CutReport>;
  /** Opens the Eventloom again from the same storage, and a new sync. */
  reopen(options?: Partial<EventloomOptions<D>> & { readonly sync?: Partial<SyncOptions> }): Promise<void>;
  close(): Promise<void>;
}

let devices = 0;

/** What {@link openDevice} takes: the Eventloom's options, the sync's, and whether it can be killed. */
export type DeviceOptions<D extends EventDefinition> = Partial<EventloomOptions<D>> & {
  readonly sync?: Partial<SyncOptions>;
  /**
   * Open the store behind a power switch (`PowerCut`), so that `kill` can cut it. The store is
   * then given to the Eventloom directly (`storage: { store }`), and `loom.indexedDb` is undefined:
   * what opens the database through it (`createReactions`) does not work on such a device.
   */
  readonly killable?: boolean;
};

/** Opens a device on a fresh fake-indexeddb and syncs it with `hub` (fast, seeded backoff). */
export async function openDevice<D extends EventDefinition = (typeof todoRegistry.definitions)[number]>(
  hub: { readonly url: string },
  options: DeviceOptions<D> = {},
): Promise<TestDevice<D>> {
  const indexedDB = new IDBFactory();
  // Unique across test files: BroadcastChannel reaches every worker thread of the process.
  const name = options.name ?? `device-${++devices}-${Math.random().toString(36).slice(2, 8)}`;
  const open = async (opts: DeviceOptions<D>) => {
    const { sync: syncOptions, killable, ...loomOptions } = opts;
    // The real Dexie store on this device's IndexedDB (behind a power switch if killable), and the
    // sockets and channels of this instance: what a kill cuts.
    const cut = killable ? powerCutDexieStore({ name, indexedDB: { indexedDB, IDBKeyRange } }) : undefined;
    const death = new ProcessDeath();
    const loom = await createEventloom<D>({
      registry: todoRegistry as unknown as EventRegistry<D>,
      tabs: { BroadcastChannel: death.BroadcastChannel },
      ...loomOptions,
      name,
      storage: cut ? { store: cut.store } : { indexedDB, IDBKeyRange },
    });
    const sync = createSync(loom, {
      url: hub.url,
      subscriptions: ['*'],
      backoff: { initialMs: 20, maxMs: 300, seed: devices },
      requestTimeoutMs: 10_000,
      // Tests refuse events on purpose: the developer's console warnings are asked for by those that check them.
      warn: false,
      tabs: { BroadcastChannel: death.BroadcastChannel },
      ...syncOptions,
      socket: death.socketFactory(syncOptions?.socket ?? defaultSocketFactory),
    });
    // The sockets and channels die with the power, in the same step, whoever cuts it.
    const power = cut?.power;
    power?.onCut(() => death.kill());
    const powered = () => {
      if (power === undefined) throw new Error(`device ${name} was not opened killable`);
      return power;
    };
    return { loom, sync, power, powered };
  };
  let current = await open(options);
  let closed = false;
  const device: TestDevice<D> = {
    name,
    indexedDB,
    loom: current.loom,
    sync: current.sync,
    async crash() {
      await device.sync.close();
      await device.loom.close();
    },
    kill: () => current.powered().cut(),
    async killAfter({ ops, ms }) {
      const power = current.powered();
      const timer = setTimeout(() => power.cut(), ms);
      try {
        return await (ops === undefined ? power.cutDone() : power.cutAfter(ops));
      } finally {
        clearTimeout(timer);
      }
    },
    async reopen(next = {}) {
      current = await open({ ...options, ...next, sync: { ...options.sync, ...next.sync } });
      device.loom = current.loom;
      device.sync = current.sync;
    },
    async close() {
      if (closed) return;
      closed = true;
      // A killed instance is gone already; a live one closes.
      if (current.power?.report === undefined) await device.crash();
    },
  };
  return device;
}

/** The first value of `source` that passes `predicate`; fails after `ms` (generous: no timing is asserted). */
export function waitFor<T>(source: Observable<T>, predicate: (value: T) => boolean, ms = 20_000): Promise<T> {
  return firstValueFrom(source.pipe(filter(predicate), timeout({ first: ms })));
}

/** Resolves once the device holds every event up to `position` (its log reached it). */
export function reached(device: TestDevice, position: number, ms = 20_000): Promise<unknown> {
  return waitFor(device.sync.metrics$, (m) => m.position >= position, ms);
}

/** Resolves once `sync` is live. */
export function live(sync: Sync, ms = 20_000): Promise<unknown> {
  return waitFor(sync.syncState$, (s) => s === 'live', ms);
}
