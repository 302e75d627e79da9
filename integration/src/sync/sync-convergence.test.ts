import { firstValueFrom } from 'rxjs';
import { expect, it } from 'vitest';
import { TodoAdded, todoCount, todoDecider, TodoDone, todoList } from '@eventloom/client/testing';
import { seededRandom } from '@eventloom/client';
import type { RejectionReport } from '@eventloom/client';
import { reached, syncFixtures, waitFor, type TestDevice, type TestHub } from './sync-harness.node.ts';

const SEED = Number(process.env['EVENTLOOM_SYNC_SEED'] ?? 20261127);
const CLIENTS = 5;
const OPS_PER_CLIENT = 40;

const { hub: startHub, open } = syncFixtures();

it(`converges: ${CLIENTS} clients append to shared and private streams, going offline and online at random (seed ${SEED})`, async () => {
  const random = seededRandom(SEED);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  const hub: TestHub = await startHub();
  const devices: TestDevice[] = [];
  for (let i = 0; i < CLIENTS; i++) {
    const device = await open(hub, {
      projections: [todoList],
      sync: {
        deciders: [todoDecider],
        // Five clients on three shared streams: a command may meet several conflicts in a row.
        maxRedecides: 50,
        backoff: { initialMs: 5, maxMs: 100, seed: SEED + i },
        push: { maxEvents: 7 },
      },
    });
    devices.push(device);
  }
  const appended = new Set<string>();
  const replaced = new Set<string>();
  const reports: RejectionReport[] = [];
  for (const d of devices) d.sync.rejections$.subscribe((r) => reports.push(r));

  // Each client runs its own schedule, drawn from the seed up front, concurrently with the others.
  const schedules = devices.map((_, i) =>
    Array.from({ length: OPS_PER_CLIENT }, (__, n) => {
      const roll = random();
      const stream = roll < 0.5 ? `shared:${Math.floor(random() * 3)}` : `private:${i}`;
      const kind = roll < 0.1 ? 'toggle' : roll < 0.2 ? 'execute' : roll < 0.25 ? 'done' : 'append';
      return { kind, stream, id: `c${i}-${n}`, pause: Math.floor(random() * 4) };
    }),
  );
  const run = async (device: TestDevice, schedule: (typeof schedules)[number]) => {
    let online = true;
    for (const op of schedule) {
      if (op.kind === 'toggle') {
        online = !online;
        if (online) device.sync.goOnline();
        else device.sync.goOffline();
      } else if (op.kind === 'execute') {
        const result = await device.loom.execute(todoDecider, {
          type: 'add',
          list: op.stream,
          id: op.id,
          title: op.id,
        });
        if (result.ok) for (const e of result.events) appended.add(e.id);
      } else if (op.kind === 'done') {
        const todos = [...(await firstValueFrom(device.loom.projection$(todoList))).keys()];
        if (todos.length > 0) {
          const e = await device.loom.append(op.stream, TodoDone.create({ id: pick(todos) }));
          appended.add(e.id);
        }
      } else {
        const e = await device.loom.append(
          op.stream,
          TodoAdded.create({ id: op.id, title: op.id, tags: [] }),
        );
        appended.add(e.id);
      }
      await new Promise((resolve) => setTimeout(resolve, op.pause));
    }
    device.sync.goOnline();
  };
  await Promise.all(devices.map((d, i) => run(d, schedules[i]!)));

  // All online: every outbox drains, every log reaches the head.
  await Promise.all(devices.map((d) => d.sync.flushed()));
  const log = await hub.events();
  await Promise.all(devices.map((d) => reached(d, log.length, 60_000)));
  for (const d of devices) await waitFor(d.sync.metrics$, (m) => m.outbox === 0);

  // One order everywhere: every confirmed log is the hub's, position by position.
  expect(log.map((e) => e.position)).toEqual(log.map((_, i) => i + 1));
  const reference = await devices[0]!.loom.readEvents();
  expect(reference.map((e) => e.id)).toEqual(log.map((e) => e.id));
  for (const d of devices.slice(1)) expect(await d.loom.readEvents()).toEqual(reference);

  // Equal projections, optimistic and confirmed alike (nothing is pending any more).
  const states = await Promise.all(devices.map((d) => firstValueFrom(d.loom.projection$(todoList))));
  const counts = await Promise.all(
    devices.map((d) => firstValueFrom(d.loom.confirmedProjection$(todoCount))),
  );
  for (const state of states.slice(1)) expect(state).toEqual(states[0]);
  expect(new Set(counts).size).toBe(1);

  // Nothing lost, nothing twice: each event appended is in the log once, unless the conflict
  // policy replaced it (a decision made again), and each replacement is in the log once.
  for (const r of reports) {
    expect(r.action).toBe('redecided');
    replaced.add(r.event.id);
    for (const e of r.events ?? []) appended.add(e.id);
  }
  const ids = log.map((e) => e.id);
  expect(new Set(ids).size).toBe(ids.length);
  expect(new Set(ids)).toEqual(new Set([...appended].filter((id) => !replaced.has(id))));
  // Every executed command is in the log once (first decision or a later one), by its to-do id.
  const executed = schedules.flatMap((s) => s.filter((op) => op.kind === 'execute').map((op) => op.id));
  const added = log.filter((e) => e.type === 'todo.added').map((e) => (e.data as { id: string }).id);
  for (const id of executed) expect(added.filter((a) => a === id)).toHaveLength(1);
}, 120_000);
