/**
 * Commands end to end (DESIGN.md §7): a real hub with its reaction runner, and two clients online,
 * each with its own reaction runtime. A command goes to exactly one handler — the hub's decider,
 * or the named client — and is answered by correlated events or a rejection event.
 */
import {
  awaitReply,
  commandRejectedEvent,
  commandTo,
  createMemoryReactionStore,
  createRegistry,
  defineCommandHandler,
  defineDecider,
  defineEvent,
  reject,
  routeCommands,
  type FoldableEvent,
} from '@eventloom/core';
import { createHubReactions } from '@eventloom/hub/reactions';
import { firstValueFrom } from 'rxjs';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { openDevice, startTestHub, type TestDevice, type TestHub } from '../sync/sync-harness.node.ts';
import { NoteWritten, TodoAdded, todoDecider, TodoDone, type TodoCommand } from '@eventloom/client/testing';
import { createReactions } from '@eventloom/client';

const todoCommand = z.discriminatedUnion('type', [
  z.object({ type: z.literal('add'), list: z.string(), id: z.string(), title: z.string() }),
  z.object({ type: z.literal('complete'), list: z.string(), id: z.string() }),
]);
/** A command for the hub's to-do decider. */
const TodoCommandSent = defineEvent('todo.command', { 1: todoCommand }, { kind: 'command' });
/** A command for one device: answer with a pong. */
const Ping = defineEvent('device.ping', { 1: z.object({ n: z.number() }) }, { kind: 'command' });
const Pong = defineEvent('device.pong', { 1: z.object({ n: z.number(), by: z.string() }) });
const registry = createRegistry([
  TodoAdded,
  TodoDone,
  NoteWritten,
  TodoCommandSent,
  commandRejectedEvent('todo.command'),
  Ping,
  commandRejectedEvent('device.ping'),
  Pong,
]);

const cleanup: (() => unknown)[] = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

/** A hub whose runner decides `todo.command`s, counting the decisions. */
async function hubWithDecider(): Promise<{ h: TestHub; decided: TodoCommand[] }> {
  const h = await startTestHub({ registry });
  cleanup.push(() => h.close());
  const decided: TodoCommand[] = [];
  const counting = defineDecider({
    ...todoDecider,
    decide: (command: TodoCommand, state: ReadonlyMap<string, boolean>) => {
      decided.push(command);
      return todoDecider.decide(command, state);
    },
  });
  const reactions = await createHubReactions({
    hub: h.hub,
    reactionStore: createMemoryReactionStore(),
    registry,
    handlers: routeCommands([
      defineCommandHandler({
        name: 'todos',
        command: 'todo.command',
        decider: counting,
        load: async (stream) => (await h.store.read({ from: 0, limit: 5_000, streams: [stream] })).events,
      }),
    ]),
  });
  cleanup.push(() => reactions.stop());
  return { h, decided };
}

/** A device that answers the pings addressed to it, counting them. */
async function pingable(h: TestHub): Promise<{ device: TestDevice; pinged: number[] }> {
  const device = await openDevice(h, { registry: registry as never, sync: { subscriptions: ['*'] } });
  cleanup.push(() => device.close());
  const pinged: number[] = [];
  const me = device.loom.clientId;
  const pongs = defineDecider({
    name: `pongs-${me}`,
    initial: 0,
    evolve: (n: number) => n,
    decide: (ping: { n: number }) => {
      pinged.push(ping.n);
      return ping.n < 0
        ? reject('negative', 'no pong for a negative ping')
        : [Pong.create({ n: ping.n, by: me })];
    },
  });
  const reactions = createReactions(device.loom, {
    handlers: routeCommands([
      defineCommandHandler({
        name: 'pong',
        command: 'device.ping',
        target: me,
        decider: pongs,
        load: (stream) => device.loom.readEvents({ stream }),
      }),
    ]),
  });
  cleanup.push(() => reactions.stop());
  return { device, pinged };
}

async function reply(device: TestDevice, stream: string, commandId: string) {
  return firstValueFrom(
    awaitReply(device.loom.events$({ stream }), commandId, {
      timeoutMs: 15_000,
    }),
  );
}

const typesOf = (events: readonly FoldableEvent[]) => events.map((e) => e.type);

describe('commands, with a hub and two clients online', () => {
  it('sends a command to the hub’s decider only, answered by correlated events or a rejection event', async () => {
    const { h, decided } = await hubWithDecider();
    const [a, b] = await Promise.all([pingable(h), pingable(h)]);
    await a.device.loom.append('list:1', TodoAdded.create({ id: 't', title: 't', tags: [] }));

    const complete = TodoCommandSent.create({ type: 'complete', list: 'list:1', id: 't' });
    const first = await a.device.loom.append('list:1', commandTo('hub', complete));
    const answered = await reply(a.device, 'list:1', first.id);
    expect(answered.ok && typesOf(answered.events)).toEqual(['todo.done']);
    expect(answered.ok && answered.events[0]!.meta).toMatchObject({
      correlationId: first.id,
      causationId: first.id,
    });

    // The same command again: the hub's decider refuses it, and says so with an event.
    const again = await b.device.loom.append('list:1', commandTo('hub', complete));
    const refused = await reply(b.device, 'list:1', again.id);
    expect(refused.ok).toBe(false);
    expect(!refused.ok && refused.rejection).toMatchObject({ code: 'already-done' });
    expect(!refused.ok && refused.event.type).toBe('todo.command.rejected');

    // Decided once each, on the hub; no client handler took them.
    expect(decided.map((c) => c.type)).toEqual(['complete', 'complete']);
    expect([a.pinged, b.pinged]).toEqual([[], []]);
    // Both clients hold the same log, the commands and their answers in it once.
    await Promise.all([a.device.sync.flushed(), b.device.sync.flushed()]);
    const log = await h.events();
    expect(log.filter((e) => e.type === 'todo.done')).toHaveLength(1);
    expect(log.filter((e) => e.type === 'todo.command')).toHaveLength(2);
    expect(log.filter((e) => e.type === 'todo.command.rejected')).toHaveLength(1);
  });

  it('sends a command to the named client only, whichever client sends it', async () => {
    const { h } = await hubWithDecider();
    const [a, b] = await Promise.all([pingable(h), pingable(h)]);
    const stream = `device:${b.device.loom.clientId}`;

    const ping = await a.device.loom.append(stream, commandTo(b.device.loom.clientId, Ping.create({ n: 7 })));
    const answered = await reply(a.device, stream, ping.id);
    expect(answered.ok && answered.events.map((e) => e.data)).toEqual([{ n: 7, by: b.device.loom.clientId }]);
    const refused = await reply(
      a.device,
      stream,
      (await a.device.loom.append(stream, commandTo(b.device.loom.clientId, Ping.create({ n: -1 })))).id,
    );
    expect(!refused.ok && refused.rejection.code).toBe('negative');

    // b sends one to itself as well; a never handles b's pings.
    const own = await b.device.loom.append(stream, commandTo(b.device.loom.clientId, Ping.create({ n: 8 })));
    expect((await reply(b.device, stream, own.id)).ok).toBe(true);
    expect([a.pinged, b.pinged]).toEqual([[], [7, -1, 8]]);
    await Promise.all([a.device.sync.flushed(), b.device.sync.flushed()]);
    expect((await h.events()).filter((e) => e.type === 'device.pong')).toHaveLength(2);
  });
});
