/**
 * Model-based property test of the sync engine (issue 5, DESIGN.md §11). Each run opens 2–3
 * devices (their own fake-indexeddb) that sync with the real hub, a child process, each through
 * its own TCP fault proxy, and runs a random sequence of commands against them and against a
 * model that only knows what each device appended and which are online:
 *
 * - `append` (add a to-do, or mark one of its own done; the optimistic projection shows it at once),
 *   `goOffline`, `goOnline`;
 * - `sync`: the online devices flush and catch up; the hub then holds every event they appended,
 *   a prefix of each other device's appends in order, and nothing else, and each online device
 *   holds the hub's log and folds it;
 * - `restartHub` (SIGKILL, then a restart on the same port and database: every ack survives),
 *   `crashClient`: the device is killed in place, without `close` (`TestDevice.kill`), with appends
 *   in flight, at a random storage operation or right after a push leaves: the write transaction it
 *   cuts rolls back, one that committed stays, its socket is cut (the hub sees a disconnect) and
 *   its old instance can reach neither storage nor hub again; a new instance opens on the same
 *   IndexedDB with the same clientId. Nothing that resolved is lost or re-issued; of the appends in
 *   flight, those stored (on the device, or only at the hub: pushed while their write ran) are a
 *   prefix, each once;
 * - `duplicateFrame` (the last push sent again on the socket, or the next live message delivered
 *   twice), `dropFrame` (the device's connection blackholed, then reset), `delay` (the proxy delays
 *   and splits its chunks);
 * - `decide`: a guarded append (`execute` of the to-do decider, with `expectedVersion`) on one
 *   list all devices share, adding or completing to-dos several devices may pick at once, so that
 *   the hub refuses some and they are decided again or dead-lettered, across the faults above.
 *   The model knows which ids were added and which completed; the devices decide the rest.
 *
 * After the commands every device goes online and syncs (once what killed instances still had in
 * the network reached the hub: model-converge.node.ts): every appended event is in every log
 * exactly once, the logs are identical and in the hub's order, each device's own events in append
 * order, projections equal to the model's fold, and `checkHistory` finds no anomaly.
 *
 * One hub process serves every run: each run works in streams of its own (`m<run>/…`) and its
 * devices subscribe to those only, so a run sees a fresh log (positions aside) without the second
 * a hub start costs. Runs: 200, `EVENTLOOM_RUNS` for more; a failure prints `EVENTLOOM_SEED=…`,
 * which replays the command sequences and fault decisions. Failures are not shrunk (each run
 * involves real processes); `EVENTLOOM_SHRINK=1` shrinks them.
 */
// oxlint-disable vitest/no-standalone-expect -- the commands' methods assert; fast-check runs them inside the test
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  checkHistory,
  createFaultProxy,
  formatAnomalies,
  readHubLog,
  withReplaySeed,
  startHubProcess,
  type AppendRecord,
  type FaultConnection,
  type FaultProxy,
  type HubProcess,
} from '@eventloom/sync-lab';
import { HUB_BIN } from '@eventloom/hub-server/testing';
import type { CommittedEvent, EventEnvelope } from '@eventloom/protocol';
import fc from 'fast-check';
import { firstValueFrom } from 'rxjs';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { foldOrder, TodoAdded, TodoDone, todoDecider, todoList, type Todo } from '@eventloom/client/testing';
import type { SyncMetrics } from '@eventloom/client';
import { SocketTap } from './socket-tap.node.ts';
import { converge as convergeDevices } from './model-converge.node.ts';
import { openDevice, waitFor, type TestDevice } from './sync-harness.node.ts';
import { syncPortOf } from '@eventloom/client/testing';

const DEFAULT_RUNS = 200;
const MAX_CLIENTS = 3;
const MAX_COMMANDS = 8;
/** A bound on every wait, so that a stuck run fails with a message instead of hanging: generous. */
const WAIT_MS = 30_000;

/** What the model knows: who is online, what each device appended, the to-dos and who owns them. */
interface Model {
  readonly clients: number;
  readonly online: boolean[];
  /**
   * Each device's appends, in order: event ids, and `?<to-do>` for an add that was in flight when
   * its device was killed (the app never heard of it: it may be stored, or not).
   */
  readonly appended: string[][];
  /** Every to-do added: its owner, whether it was marked done, and whether its add was in flight at a kill. */
  readonly todos: Map<string, { readonly owner: number; done: boolean; uncertain?: boolean }>;
  /** The adds in flight at each kill, in the order they were made: those that were stored are a prefix. */
  readonly inFlight: string[][];
  nextTodo: number;
  /** Guarded to-dos (`g<n>`, on the shared guarded list) a device decided to add, or found added. */
  readonly guardedAdded: Set<string>;
  /** Guarded to-dos a device decided to complete (it saw them open). */
  readonly guardedDone: Set<string>;
}

/** One device of a run, with what the test watches of it. */
interface Device {
  readonly index: number;
  readonly test: TestDevice;
  readonly tap: SocketTap;
  readonly proxy: FaultProxy;
  /** Events refused for good (only guarded ones may be: the plain appends cannot conflict). */
  readonly rejected: Set<string>;
  unsubscribe: () => void;
}

/** The system under test in one run. */
interface Real {
  /** The run's stream prefix: `m<run>/`. */
  readonly ns: string;
  readonly hub: HubProcess;
  readonly devices: Device[];
  /** Every append of the run, for `checkHistory`. */
  readonly appends: Map<string, Omit<AppendRecord, 'outcome' | 'position'>>;
  /** The seq each decided event (`execute`) was given, as `appends` keeps those of the appends. */
  readonly decided: Map<string, { readonly clientId: string; readonly clientSeq: number }>;
  /**
   * The connections killed instances held at their kill: what they sent may still be delayed in the
   * proxy (a push that left right before the kill), on its way to the hub.
   */
  readonly killedConnections: FaultConnection[];
}

type SyncCommand = fc.AsyncCommand<Model, Real>;

let dir: string;
let hub: HubProcess;
const proxies: FaultProxy[] = [];
const counts = new Map<string, number>();

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'eventloom-sync-model-'));
  hub = await startHubProcess({ bin: HUB_BIN, dbPath: join(dir, 'events.db') });
}, 60_000);

afterAll(async () => {
  await Promise.all(proxies.map((p) => p.close()));
  await hub?.kill('SIGKILL');
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
});

it(`the sync engine against a model: append, guarded decisions that conflict, offline/online, sync, hub SIGKILL, client crash, duplicated, dropped and delayed frames`, async () => {
  const started = performance.now();
  let runs = 0;
  await withReplaySeed(
    async ({ seed, runs: numRuns }) => {
      for (let i = 0; i < MAX_CLIENTS; i++) {
        proxies.push(
          await createFaultProxy({ target: { host: '127.0.0.1', port: hub.port }, seed: seed + i }),
        );
      }
      const property = fc.asyncProperty(
        fc.integer({ min: 2, max: MAX_CLIENTS }),
        // A few appends first, so that the faults that follow have pushes to act on.
        fc.array(fc.oneof(appendArbitrary(), decideArbitrary()), { minLength: 1, maxLength: 3 }),
        fc.commands(commandArbitraries(), { maxCommands: MAX_COMMANDS, size: 'max' }),
        async (clients, prelude, commands) => {
          const real = await openRun(++runs, clients);
          try {
            const model: Model = {
              clients,
              online: Array.from({ length: clients }, () => true),
              appended: Array.from({ length: clients }, () => []),
              todos: new Map(),
              nextTodo: 0,
              guardedAdded: new Set(),
              guardedDone: new Set(),
              inFlight: [],
            };
            await fc.asyncModelRun(() => ({ model, real }), prelude);
            await fc.asyncModelRun(() => ({ model, real }), commands);
            await finalCheck(model, real);
          } finally {
            await closeRun(real);
          }
        },
      );
      await fc.assert(property, {
        seed,
        numRuns,
        endOnFailure: process.env['EVENTLOOM_SHRINK'] !== '1',
      });
    },
    { defaultRuns: DEFAULT_RUNS, label: 'sync model' },
  );
  const seconds = (performance.now() - started) / 1000;
  console.log(
    `sync model: ${runs} runs in ${seconds.toFixed(1)} s (${((seconds / runs) * 1000).toFixed(0)} ms/run, hub started ${hub.starts}×); commands: ${[
      ...counts,
    ]
      .map(([name, n]) => `${name} ${n}`)
      .join(', ')}`,
  );
}, 3_600_000);

// ---- the commands ----

const clientArbitrary = fc.nat({ max: MAX_CLIENTS - 1 });

function appendArbitrary(): fc.Arbitrary<SyncCommand> {
  return fc
    .tuple(
      clientArbitrary,
      fc.boolean(),
      fc.oneof(
        { weight: 3, arbitrary: fc.constant(undefined) },
        { weight: 1, arbitrary: fc.nat({ max: 9 }) },
      ),
      fc.integer({ min: 1, max: 4 }),
    )
    .map(([c, shared, done, adds]) => new Append(c, shared, done, adds));
}

/** A guarded decision on one of three to-dos: adding weighs two, completing one. */
function decideArbitrary(): fc.Arbitrary<SyncCommand> {
  return fc
    .tuple(clientArbitrary, fc.nat({ max: 2 }), fc.nat({ max: 2 }))
    .map(([c, todo, kind]) => new Decide(c, todo, kind === 2));
}

function commandArbitraries(): fc.Arbitrary<SyncCommand>[] {
  const client = clientArbitrary;
  const append = appendArbitrary();
  return [
    // Appends weigh three: the faults need something to lose.
    append,
    append,
    append,
    client.map((c) => new GoOffline(c)),
    client.map((k) => new GoOnline(k)),
    fc.constant(new Sync()),
    fc.oneof(
      { weight: 1, arbitrary: fc.constant(new RestartHub()) },
      {
        weight: 3,
        arbitrary: fc
          .tuple(
            client,
            fc.nat({ max: 3 }),
            fc.oneof(fc.nat({ max: 40 }), fc.constant('push' as const)),
            fc.nat({ max: 30 }),
          )
          .map(([c, adds, at, ms]) => new CrashClient(c, adds, at, ms)),
      },
    ),
    // Guarded decisions weigh two: conflicts need two devices deciding on the same to-dos.
    decideArbitrary(),
    decideArbitrary(),
    fc.tuple(client, fc.constantFrom('push', 'live')).map(([c, what]) => new DuplicateFrame(c, what)),
    fc.tuple(client, fc.integer({ min: 5, max: 60 })).map(([c, ms]) => new DropFrame(c, ms)),
    fc
      .tuple(client, fc.integer({ min: 0, max: 15 }), fc.boolean())
      .map(([c, ms, split]) => new Delay(c, ms, split)),
  ];
}

/**
 * Appends `adds` to-dos one after the other (`done` undefined), or marks one of this device's open
 * to-dos done.
 */
class Append implements SyncCommand {
  readonly client: number;
  readonly shared: boolean;
  readonly done: number | undefined;
  readonly adds: number;

  constructor(client: number, shared: boolean, done: number | undefined, adds: number) {
    this.client = client;
    this.shared = shared;
    this.done = done;
    this.adds = adds;
  }

  check(m: Readonly<Model>): boolean {
    return this.client < m.clients && (this.done === undefined || openTodos(m, this.client).length > 0);
  }

  async run(m: Model, r: Real): Promise<void> {
    count('append');
    const loom = r.devices[this.client]!.test.loom;
    const stream = this.shared ? `${r.ns}shared` : `${r.ns}c${this.client}`;
    const record = (event: EventEnvelope) => {
      m.appended[this.client]!.push(event.id);
      recordAppend(r, event);
    };
    const ids: string[] = [];
    if (this.done === undefined) {
      for (let i = 0; i < this.adds; i++) {
        const id = `t${m.nextTodo++}`;
        ids.push(id);
        m.todos.set(id, { owner: this.client, done: false });
        record(await loom.append(stream, TodoAdded.create({ id, title: id, tags: [] })));
      }
    } else {
      const open = openTodos(m, this.client);
      const id = open[this.done % open.length]!;
      ids.push(id);
      m.todos.get(id)!.done = true;
      record(await loom.append(stream, TodoDone.create({ id })));
    }
    // Optimistic: the device shows its own writes at once, online or not.
    const todos = await firstValueFrom(loom.projection$(todoList));
    for (const id of ids) {
      expect(todos.get(id)).toEqual({ title: id, done: this.done !== undefined, tags: [] });
    }
  }

  toString(): string {
    const what = this.done === undefined ? `add ×${this.adds}` : `done#${this.done}`;
    return `append(c${this.client}, ${this.shared ? 'shared' : 'own'}, ${what})`;
  }
}

/**
 * A guarded append: the device runs the to-do decider on the shared guarded list (add `g<todo>`,
 * or complete it), on the state it holds. Devices pick the same few ids, so decisions conflict at
 * the hub: the loser's events are refused, decided again on fresh state, or dead-lettered.
 */
class Decide implements SyncCommand {
  readonly client: number;
  readonly todo: number;
  readonly complete: boolean;

  constructor(client: number, todo: number, complete: boolean) {
    this.client = client;
    this.todo = todo;
    this.complete = complete;
  }

  check(m: Readonly<Model>): boolean {
    return this.client < m.clients;
  }

  async run(m: Model, r: Real): Promise<void> {
    count(this.complete ? 'decide.complete' : 'decide.add');
    const loom = r.devices[this.client]!.test.loom;
    const list = guardedList(r);
    const id = `g${this.todo}`;
    const result = await loom.execute(
      todoDecider,
      this.complete ? { type: 'complete', list, id } : { type: 'add', list, id, title: id },
    );
    if (result.ok) {
      // Added (or completed) on the state the device held: it ends in the log, by this device's
      // decision or, if another device's came first, by that one.
      if (this.complete) m.guardedDone.add(id);
      else m.guardedAdded.add(id);
      expect(result.events.map((e) => e.expectedVersion)).not.toContain(undefined);
      for (const e of result.events) r.decided.set(e.id, { clientId: e.clientId, clientSeq: e.clientSeq });
    } else {
      // Refused here: the device holds it added (confirmed or pending), or completed already.
      const codes = this.complete ? ['missing', 'already-done'] : ['exists'];
      expect(codes).toContain(result.rejection.code);
      if (!this.complete) m.guardedAdded.add(id);
    }
  }

  toString(): string {
    return `decide(c${this.client}, ${this.complete ? 'complete' : 'add'} g${this.todo})`;
  }
}

class GoOffline implements SyncCommand {
  readonly client: number;
  constructor(client: number) {
    this.client = client;
  }
  check(m: Readonly<Model>): boolean {
    return this.client < m.clients && m.online[this.client] === true;
  }
  async run(m: Model, r: Real): Promise<void> {
    count('goOffline');
    r.devices[this.client]!.test.sync.goOffline();
    m.online[this.client] = false;
    await waitFor(r.devices[this.client]!.test.sync.syncState$, (s) => s === 'offline', WAIT_MS);
  }
  toString(): string {
    return `goOffline(c${this.client})`;
  }
}

/** Brings back the `k`-th offline device (counted round), if one is offline. */
class GoOnline implements SyncCommand {
  readonly k: number;
  constructor(k: number) {
    this.k = k;
  }
  check(m: Readonly<Model>): boolean {
    return m.online.includes(false);
  }
  async run(m: Model, r: Real): Promise<void> {
    count('goOnline');
    const offline = m.online.flatMap((on, i) => (on ? [] : [i]));
    const client = offline[this.k % offline.length]!;
    r.devices[client]!.test.sync.goOnline();
    m.online[client] = true;
  }
  toString(): string {
    return `goOnline(offline #${this.k})`;
  }
}

/** The online devices flush and catch up; then the hub and they are compared with the model. */
class Sync implements SyncCommand {
  check(): boolean {
    return true;
  }
  async run(m: Model, r: Real): Promise<void> {
    count('sync');
    const online = r.devices.filter((d) => m.online[d.index]);
    await converge(online, r);
    const whole = runLog(r, await readHubLog(r.hub.url));
    const log = plainLog(r, whole);
    const ids = new Set(log.map((e) => e.id));
    // The hub holds everything online devices appended, and of the others a prefix of what they
    // appended (what they pushed before going offline), in their order; nothing else.
    // (An add in flight at a kill counts where the hub holds it.)
    let held = 0;
    for (const d of r.devices) {
      const appended = resolveAppended(m, d, log);
      const stored = log.filter((e) => e.clientId === d.test.loom.clientId).map((e) => e.id);
      expect(stored).toEqual(appended.slice(0, stored.length));
      if (m.online[d.index]) expect(stored).toEqual(appended);
      held += appended.filter((id) => ids.has(id)).length;
    }
    expect(log.length).toBe(held);
    // Each online device holds the hub's log up to there, and folds it.
    const expected = foldTodos(log);
    for (const d of online) {
      const held = await d.test.loom.readEvents();
      const last = whole.at(-1)?.position ?? 0;
      expect(held.filter((e) => (e.position ?? 0) <= last)).toEqual(whole);
      if (held.length === whole.length) {
        expect(plainTodos(await firstValueFrom(d.test.loom.projection$(todoList)))).toEqual(expected);
      }
    }
    expectGuardedLog(whole, r);
    // Offline devices still show their own writes.
    for (const d of r.devices) await expectOwnTodos(m, d);
  }
  toString(): string {
    return 'sync';
  }
}

/** SIGKILL of the hub, then a restart on the same port and database: every ack survives. */
class RestartHub implements SyncCommand {
  check(): boolean {
    return true;
  }
  async run(_m: Model, r: Real): Promise<void> {
    count('restartHub');
    // The acks given before the kill. Devices push again as soon as the hub is back, and the acks
    // of those may come in while the log is read below: they are not what this checks.
    const acked = r.devices.map((d) => new Map(d.tap.acks));
    expect(await r.hub.kill('SIGKILL')).toBe('SIGKILL');
    await r.hub.restart();
    const stored = new Map((await readHubLog(r.hub.url)).map((e) => [e.id, e.position]));
    for (const acks of acked) {
      for (const [id, position] of acks) expect(stored.get(id), `acked ${id}`).toBe(position);
    }
  }
  toString(): string {
    return 'restartHub';
  }
}

/**
 * The device is killed where it stands, without `close` (`TestDevice.kill`): `adds` appends are
 * started and not awaited, and the kill falls as the `at`-th storage operation from then is
 * issued — in an append's write, an ack's, a pull's, a re-decide's, or between them — or, with
 * `at` = `push`, right after the device's next push leaves (an append's rows are pushed while
 * their write is in flight: the kill then cuts that write); after `ms` if neither came. The transaction it cuts is rolled back, its socket is cut (the hub sees a
 * disconnect), and a new instance opens on the same IndexedDB with the same clientId: every append
 * that resolved is there, confirmed or pending, under its id, in its order; of the adds in flight,
 * those stored are a prefix, and the others may still be at the hub (pushed while their write ran).
 */
class CrashClient implements SyncCommand {
  readonly client: number;
  readonly adds: number;
  readonly at: number | 'push';
  readonly ms: number;

  constructor(client: number, adds: number, at: number | 'push', ms: number) {
    this.client = client;
    this.adds = adds;
    this.at = at;
    this.ms = ms;
  }
  check(m: Readonly<Model>): boolean {
    return this.client < m.clients;
  }
  async run(m: Model, r: Real): Promise<void> {
    count('crashClient');
    const device = r.devices[this.client]!;
    const loom = device.test.loom;
    const stream = `${r.ns}c${this.client}`;
    const appended = m.appended[this.client]!;
    const inFlight: string[] = [];
    if (this.at === 'push') device.tap.afterNextPush(() => device.test.kill());
    for (let i = 0; i < this.adds; i++) {
      const todo = `t${m.nextTodo++}`;
      inFlight.push(todo);
      m.todos.set(todo, { owner: this.client, done: false, uncertain: true });
      appended.push(`?${todo}`);
      // Nothing of it settles after the kill: what settles, the app heard before it.
      loom.append(stream, TodoAdded.create({ id: todo, title: todo, tags: [] })).then(
        (event) => settleAdd(m, r, appended, appended.indexOf(`?${todo}`), event),
        () => {
          // Refused before the kill: stored nothing (issue 16 §8).
          appended.splice(appended.indexOf(`?${todo}`), 1);
          m.todos.delete(todo);
        },
      );
    }
    if (inFlight.length > 0) m.inFlight.push(inFlight);
    device.unsubscribe();
    const cut = await device.test.killAfter(
      this.at === 'push' ? { ms: this.ms } : { ops: this.at, ms: this.ms },
    );
    device.tap.afterNextPush(undefined);
    // Its connections (the device's proxy serves no other instance of it yet): what it pushed last
    // reaches the hub whenever the network delivers it, maybe after the new instance's hello.
    r.killedConnections.push(...device.proxy.connections());
    count(
      cut.writesRolledBack > 0
        ? 'crashClient.midWrite'
        : cut.writesCommitting > 0
          ? 'crashClient.midCommit'
          : 'crashClient.between',
    );
    await device.test.reopen({ sync: { startOffline: !m.online[this.client] } });
    watch(device);
    expect(device.test.loom.clientId).toBe(loom.clientId);
    // Every event it appended is still there, confirmed or pending, under its id, in its order.
    const guarded = guardedList(r);
    const own = (await device.test.loom.readEvents()).filter(
      (e) => e.clientId === loom.clientId && e.stream !== guarded,
    );
    const ownIds = new Set(own.map((e) => e.id));
    const pending = (await syncPortOf(device.test.loom).readOutbox())
      .map((row) => row.event)
      .filter((e) => e.stream !== guarded && !ownIds.has(e.id));
    const local = [...own, ...pending];
    // What is stored here of the adds in flight is stored for good: it is certain now.
    settleInFlight(m, device, r, local, false);
    expect(local.map((e) => e.id)).toEqual(resolveAppended(m, device, local));
    await expectOwnTodos(m, device);
  }
  toString(): string {
    const at = this.at === 'push' ? 'the next push' : `op ${this.at}`;
    return `crashClient(c${this.client}, ${this.adds} adds in flight, kill at ${at} or ${this.ms} ms)`;
  }
}

/** A frame twice at the Socket.IO layer: the last push sent again, or the next live message. */
class DuplicateFrame implements SyncCommand {
  readonly client: number;
  readonly what: 'push' | 'live';

  constructor(client: number, what: 'push' | 'live') {
    this.client = client;
    this.what = what;
  }
  check(m: Readonly<Model>): boolean {
    return this.client < m.clients;
  }
  async run(_m: Model, r: Real): Promise<void> {
    count(`duplicateFrame.${this.what}`);
    const tap = r.devices[this.client]!.tap;
    if (this.what === 'push') await tap.resendLastPush();
    else tap.duplicateNextLive();
    expect(tap.violations).toEqual([]);
  }
  toString(): string {
    return `duplicateFrame(c${this.client}, ${this.what})`;
  }
}

/** The device's connection goes silent for `ms`, then is reset: whatever was in flight is lost. */
class DropFrame implements SyncCommand {
  readonly client: number;
  readonly ms: number;

  constructor(client: number, ms: number) {
    this.client = client;
    this.ms = ms;
  }
  check(m: Readonly<Model>): boolean {
    return this.client < m.clients;
  }
  async run(_m: Model, r: Real): Promise<void> {
    count('dropFrame');
    for (const connection of r.devices[this.client]!.proxy.connections()) connection.blackhole(this.ms);
  }
  toString(): string {
    return `dropFrame(c${this.client}, ${this.ms} ms)`;
  }
}

/** The device's proxy delays each chunk by up to `ms`, and splits some. */
class Delay implements SyncCommand {
  readonly client: number;
  readonly ms: number;
  readonly split: boolean;

  constructor(client: number, ms: number, split: boolean) {
    this.client = client;
    this.ms = ms;
    this.split = split;
  }
  check(m: Readonly<Model>): boolean {
    return this.client < m.clients;
  }
  async run(_m: Model, r: Real): Promise<void> {
    count('delay');
    r.devices[this.client]!.proxy.setFaults({
      delayMs: [0, this.ms],
      splitProbability: this.split ? 0.3 : 0,
    });
  }
  toString(): string {
    return `delay(c${this.client}, 0–${this.ms} ms${this.split ? ', split' : ''})`;
  }
}

// ---- a run ----

async function openRun(run: number, clients: number): Promise<Real> {
  const ns = `m${run}/`;
  const devices: Device[] = [];
  for (let index = 0; index < clients; index++) {
    const proxy = proxies[index]!;
    proxy.clearFaults();
    const tap = new SocketTap();
    const test = await openDevice(
      { url: proxy.url },
      {
        killable: true,
        projections: [todoList, foldOrder],
        sync: {
          subscriptions: [`${ns}*`],
          socket: tap.factory,
          backoff: { initialMs: 10, maxMs: 200, seed: run * MAX_CLIENTS + index },
          requestTimeoutMs: 5_000,
          push: { maxEvents: 3, inFlight: 2 },
          deciders: [todoDecider],
        },
      },
    );
    const device: Device = { index, test, tap, proxy, rejected: new Set(), unsubscribe: () => undefined };
    watch(device);
    devices.push(device);
  }
  return { ns, hub, devices, appends: new Map(), decided: new Map(), killedConnections: [] };
}

function watch(device: Device): void {
  const subscription = device.test.sync.rejections$.subscribe((r) => device.rejected.add(r.event.id));
  device.unsubscribe = () => subscription.unsubscribe();
}

async function closeRun(real: Real): Promise<void> {
  for (const d of real.devices) {
    count('injected.push', d.tap.injected.pushes);
    count('injected.live', d.tap.injected.live);
    count('refused.guarded', d.rejected.size);
    d.unsubscribe();
    await d.test.close();
    d.proxy.clearFaults();
  }
}

/** Everything online, flushed and caught up: the strict comparison with the model. */
async function finalCheck(m: Model, r: Real): Promise<void> {
  for (const d of r.devices) {
    d.proxy.clearFaults();
    if (!m.online[d.index]) d.test.sync.goOnline();
    m.online[d.index] = true;
  }
  await converge(r.devices, r);
  const hubLog = await readHubLog(r.hub.url);
  const whole = runLog(r, hubLog);
  const log = plainLog(r, whole);

  // The adds in flight at a kill: each is in the log now, or was lost with the device's process
  // before anyone heard of it (then nowhere); of each kill's, those stored are a prefix.
  for (const group of m.inFlight) {
    const stored = group.map((todo) => log.some((e) => e.type === 'todo.added' && todoOf(e) === todo));
    const kept = stored.filter(Boolean).length;
    expect(stored, `adds in flight at a kill: ${group.join(', ')}`).toEqual(stored.map((_, i) => i < kept));
  }
  for (const d of r.devices) settleInFlight(m, d, r, log, true);

  // Every appended event is stored exactly once; each device's own in the order it appended them.
  const appended = m.appended.flat();
  expect(log.map((e) => e.id).sort()).toEqual([...appended].sort());
  const plainIds = new Set(appended);
  for (const d of r.devices) {
    const own = log.filter((e) => e.clientId === d.test.loom.clientId).map((e) => e.id);
    expect(own).toEqual(m.appended[d.index]);
    expect([...d.rejected].filter((id) => plainIds.has(id))).toEqual([]);
    expect(d.tap.violations).toEqual([]);
  }

  // The guarded list: the decider's rules hold in the log, every to-do decided added is there
  // once, and every one decided done is done; what lost a conflict left no event in any outbox.
  // A decision that lost `maxRedecides` conflicts in a row is parked in its device's dead letters
  // (the documented policy, and how often depends on timing): that one may be missing from the
  // log, and only that one. Nothing decided vanishes without a dead letter that says so.
  const guarded = expectGuardedLog(whole, r);
  const parked = await parkedGuarded(r);
  count('parked.guarded', parked.added.size + parked.done.size);
  expect([...guarded.added].sort()).toEqual(
    [...m.guardedAdded].filter((id) => guarded.added.has(id) || !parked.added.has(id)).sort(),
  );
  for (const id of m.guardedDone) {
    // Completed on this device's own pending add, which was parked: the complete then finds nothing to complete.
    const addParked = parked.added.has(id) && !guarded.added.has(id);
    expect(guarded.done.has(id) || parked.done.has(id) || addParked, `${id} done`).toBe(true);
  }

  // Identical logs, the hub's; projections equal to the model's fold, folded in position order.
  const model = [...m.todos]
    .map(([id, t]): [string, Todo] => [id, { title: id, done: t.done, tags: [] }])
    .sort(byId);
  const clients = [];
  for (const d of r.devices) {
    const held = await d.test.loom.readEvents();
    expect(held).toEqual(whole);
    expect(plainTodos(await firstValueFrom(d.test.loom.projection$(todoList)))).toEqual(model);
    expect(plainTodos(await firstValueFrom(d.test.loom.confirmedProjection$(todoList)))).toEqual(model);
    expect(await firstValueFrom(d.test.loom.confirmedProjection$(foldOrder))).toEqual(
      whole.map((e) => `${e.type}:${e.id}`),
    );
    expect(await syncPortOf(d.test.loom).readOutbox()).toEqual([]);
    clients.push({
      clientId: d.test.loom.clientId,
      confirmed: held as CommittedEvent[],
      flushed: true,
      caughtUp: true,
      subscriptions: [`${r.ns}*`],
    });
  }

  // A device killed after a push left, before the write of it landed, cannot know that the hub
  // holds that seq: it may give it again, to an append made before its next hello. The hub refuses
  // that one (`seq-used`) and the device moves it, and every later pending event, above: a seq may
  // be given twice only where an add in flight at a kill, or an event moved so, holds it, and the
  // event then stands at a higher seq, once.
  const killedAdds = new Set(m.inFlight.flat());
  const stored = new Map(whole.map((e) => [e.id, e]));
  const bySeq = new Map(whole.map((e) => [`${e.clientId}#${e.clientSeq}`, e]));
  const recorded = new Map([...r.appends, ...r.decided].map(([id, a]) => [id, a.clientSeq]));
  const moved = (id: string) => recorded.has(id) && stored.get(id)?.clientSeq !== recorded.get(id);
  for (const [id, a] of [...r.appends, ...r.decided]) {
    const event = stored.get(id);
    if (event === undefined || event.clientSeq === a.clientSeq) continue;
    const holder = bySeq.get(`${a.clientId}#${a.clientSeq}`);
    const taken =
      holder !== undefined &&
      ((holder.type === 'todo.added' && killedAdds.has(todoOf(holder))) || moved(holder.id));
    expect(taken, `${id} moved from seq ${a.clientSeq}, held by ${holder?.id}`).toBe(true);
    expect(event.clientSeq).toBeGreaterThan(a.clientSeq);
    count('seqMoved');
    const appended = r.appends.get(id);
    if (appended !== undefined) r.appends.set(id, { ...appended, clientSeq: event.clientSeq });
    else r.decided.set(id, { ...a, clientSeq: event.clientSeq });
  }

  const acks = new Map(r.devices.flatMap((d) => [...d.tap.acks]));
  const appends: AppendRecord[] = [...r.appends.values()].map((a) => {
    const position = acks.get(a.id);
    return position === undefined ? { ...a, outcome: 'pending' } : { ...a, outcome: 'acked', position };
  });
  // Each anomaly's message in full, should there be any.
  const anomalies = checkHistory({ appends, clients, hub: hubLog });
  expect(anomalies.map((a) => `[${a.kind}] ${a.where}: ${a.message}`)).toEqual([]);
  expect(formatAnomalies(anomalies)).toBe('no anomalies');
}

/** The run's log at the hub is final and `devices` hold it ({@link convergeDevices}). */
async function converge(devices: readonly Device[], r: Real): Promise<void> {
  const describe = () =>
    devices
      .map((d) => {
        const { lastError, ...m } = lastMetrics(d);
        return `c${d.index} ${JSON.stringify(m)} ${lastError?.code ?? ''} ${lastError?.message ?? ''}`;
      })
      .join('\n') + `\n${r.hub.describe(10)}`;
  await convergeDevices({
    syncs: devices.map((d) => d.test.sync),
    readLog: async () => runLog(r, await readHubLog(r.hub.url)),
    lastBytes: () => Promise.all(r.killedConnections.map((c) => c.flushed())),
    waitMs: WAIT_MS,
    describe,
  });
}

function lastMetrics(d: Device): SyncMetrics {
  let metrics!: SyncMetrics;
  d.test.sync.metrics$.subscribe((m) => (metrics = m)).unsubscribe();
  return metrics;
}

// ---- the model's side ----

function openTodos(m: Readonly<Model>, client: number): string[] {
  return [...m.todos].filter(([, t]) => t.owner === client && !t.done && !t.uncertain).map(([id]) => id);
}

/** What the model reads of an event, appended or confirmed. */
type Stamped = Pick<EventEnvelope, 'id' | 'clientId' | 'clientSeq' | 'type' | 'stream'> & {
  readonly data: unknown;
};

function todoOf(event: { readonly data: unknown }): string {
  return (event.data as { id: string }).id;
}

/**
 * A device's appends as event ids: each add in flight at a kill (`?<to-do>`) as the event of `events`
 * that added it, or left out where `events` has none.
 */
function resolveAppended(m: Readonly<Model>, d: Device, events: readonly Stamped[]): string[] {
  const added = ownAdds(d, events);
  return m.appended[d.index]!.flatMap((id) => {
    if (!id.startsWith('?')) return [id];
    const event = added.get(id.slice(1));
    return event === undefined ? [] : [event.id];
  });
}

/** The to-dos `d` added among `events`, each with the event that added it. */
function ownAdds(d: Device, events: readonly Stamped[]): Map<string, Stamped> {
  return new Map(
    events
      .filter((e) => e.clientId === d.test.loom.clientId && e.type === 'todo.added')
      .map((e) => [todoOf(e), e]),
  );
}

/** Records `event` among the run's appends, for `checkHistory`. */
function recordAppend(r: Real, event: Omit<Stamped, 'type' | 'data'>): void {
  const { id, clientId, clientSeq, stream } = event;
  r.appends.set(id, { id, clientId, clientSeq, stream });
}

/** The add in flight at a kill at `appended[i]` (`?<to-do>`) is `event`: certain now, and recorded. */
function settleAdd(m: Model, r: Real, appended: string[], i: number, event: Stamped): void {
  appended[i] = event.id;
  m.todos.get(todoOf(event))!.uncertain = false;
  recordAppend(r, event);
}

/**
 * The device's adds in flight at a kill that `events` holds become certain (their ids in the model,
 * their records for `checkHistory`); with `final`, those it does not hold are lost: out of the model.
 */
function settleInFlight(m: Model, d: Device, r: Real, events: readonly Stamped[], final: boolean): void {
  const appended = m.appended[d.index]!;
  const added = ownAdds(d, events);
  for (let i = appended.length - 1; i >= 0; i--) {
    const id = appended[i]!;
    if (!id.startsWith('?')) continue;
    const todo = id.slice(1);
    const event = added.get(todo);
    if (event !== undefined) {
      count(final ? 'inFlight.fromHub' : 'inFlight.stored');
      settleAdd(m, r, appended, i, event);
    } else if (final) {
      count('inFlight.lost');
      appended.splice(i, 1);
      m.todos.delete(todo);
    }
  }
}

/** The device shows every to-do it added, in the state it left them, whatever it is synced with. */
async function expectOwnTodos(m: Readonly<Model>, d: Device): Promise<void> {
  const todos = await firstValueFrom(d.test.loom.projection$(todoList));
  for (const [id, t] of m.todos) {
    if (t.owner === d.index && !t.uncertain)
      expect(todos.get(id)).toEqual({ title: id, done: t.done, tags: [] });
  }
}

/** The run's events in the hub's log. */
function runLog(r: Real, log: readonly CommittedEvent[]): CommittedEvent[] {
  return log.filter((e) => e.stream.startsWith(r.ns));
}

/** The run's list of guarded to-dos, which every device shares. */
function guardedList(r: Real): string {
  return `${r.ns}guarded`;
}

/** The run's plain appends (the model's): every stream but the guarded list. */
function plainLog(r: Real, log: readonly CommittedEvent[]): CommittedEvent[] {
  const guarded = guardedList(r);
  return log.filter((e) => e.stream !== guarded);
}

/**
 * The guarded to-dos whose add or complete some device parked in its dead letters: refused for good
 * (`wrong-expected-version` after `maxRedecides` decisions), told to the app, not in the log.
 */
async function parkedGuarded(r: Real): Promise<{ readonly added: Set<string>; readonly done: Set<string> }> {
  const added = new Set<string>();
  const done = new Set<string>();
  for (const d of r.devices) {
    for (const letter of await d.test.loom.readDeadLetters()) {
      if (letter.event.stream !== guardedList(r)) continue;
      expect(letter.error.code).toBe('wrong-expected-version');
      const { id } = letter.event.data as { id: string };
      (letter.event.type === 'todo.added' ? added : done).add(id);
    }
  }
  return { added, done };
}

/**
 * The guarded list in the hub's log keeps the decider's rules whatever the conflicts: stream
 * versions 1, 2, 3…; each to-do added once; done only once, and only after it was added.
 */
function expectGuardedLog(
  log: readonly CommittedEvent[],
  r: Real,
): { readonly added: Set<string>; readonly done: Set<string> } {
  const guarded = log.filter((e) => e.stream === guardedList(r));
  expect(guarded.map((e) => e.streamVersion)).toEqual(guarded.map((_, i) => i + 1));
  const added = new Set<string>();
  const done = new Set<string>();
  for (const e of guarded) {
    const { id } = e.data as { id: string };
    if (e.type === 'todo.added') {
      expect(added.has(id), `${id} added twice`).toBe(false);
      added.add(id);
    } else {
      expect(added.has(id), `${id} done before it was added`).toBe(true);
      expect(done.has(id), `${id} done twice`).toBe(false);
      done.add(id);
    }
  }
  return { added, done };
}

/** The to-dos of the plain appends (the guarded ones, `g<n>`, are checked on the log). */
function plainTodos(todos: ReadonlyMap<string, Todo>): [string, Todo][] {
  return sortedTodos(todos).filter(([id]) => !id.startsWith('g'));
}

/** The to-do list a log folds to, by a reducer written out here. */
function foldTodos(log: readonly CommittedEvent[]): [string, Todo][] {
  const todos = new Map<string, Todo>();
  for (const e of log) {
    const { id } = e.data as { id: string };
    if (e.type === 'todo.added') todos.set(id, { title: id, done: false, tags: [] });
    else if (e.type === 'todo.done' && todos.has(id)) todos.set(id, { ...todos.get(id)!, done: true });
  }
  return [...todos].sort(byId);
}

function sortedTodos(todos: ReadonlyMap<string, Todo>): [string, Todo][] {
  return [...todos].sort(byId);
}

function byId(a: [string, unknown], b: [string, unknown]): number {
  return a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0;
}

function count(name: string, n = 1): void {
  counts.set(name, (counts.get(name) ?? 0) + n);
}
