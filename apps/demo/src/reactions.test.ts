import { createEventloom, type Eventloom } from '@eventloom/client';
import type { CommittedEvent } from '@eventloom/protocol';
import { IDBKeyRange, indexedDB } from 'fake-indexeddb';
import { filter, firstValueFrom } from 'rxjs';
import { afterEach, describe, expect, it } from 'vitest';
import { BoardCommands } from './board-commands.ts';
import { Conflicts } from './conflicts.ts';
import { boardProjection, boardStream, cardsIn, registry, type BoardState } from './domain/index.ts';
import { startReactions, type BoardReactions } from './reactions.ts';
import { syncPortOf } from '@eventloom/client/testing';

const opened: Eventloom[] = [];
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  for (const loom of opened.splice(0)) await loom.close();
});

/** A device and a stand-in for the hub that confirms whatever the device pushes, in order. */
async function device() {
  const loom = await createEventloom({
    name: `saga-${crypto.randomUUID()}`,
    registry,
    projections: [boardProjection],
    storage: { indexedDB, IDBKeyRange },
  });
  opened.push(loom);
  const conflicts = new Conflicts('team', undefined);
  const commands = new BoardCommands(loom, 'team', (command, rejection) =>
    conflicts.refused(command, rejection),
  );
  let position = 0;
  const versions = new Map<string, number>();
  const hub = {
    /** Confirms every pending event, as the hub would; returns the head. */
    async confirm(): Promise<number> {
      const rows = await syncPortOf(loom).readOutbox();
      const committed = rows.map((row): CommittedEvent => {
        const version = (versions.get(row.event.stream) ?? 0) + 1;
        versions.set(row.event.stream, version);
        return {
          ...row.event,
          position: ++position,
          streamVersion: version,
          recordedAt: new Date().toISOString(),
        };
      });
      if (committed.length > 0) await syncPortOf(loom).insertConfirmed(committed);
      return position;
    },
    /**
     * Confirms until the saga has nothing more to say: each round confirms what is pending and
     * waits until the reactions have handled it (and appended their next step, if any).
     */
    async settle(reactions: BoardReactions): Promise<void> {
      for (let round = 0; round < 50; round++) {
        await reactions.settled(await hub.confirm());
        if ((await syncPortOf(loom).readOutbox()).length === 0) return;
      }
      throw new Error('the saga did not settle');
    },
  };
  /** The board's reactions on this device, stopped after the test. */
  const react = (): BoardReactions => {
    const reactions = startReactions(loom, 'team', commands, conflicts, {
      storage: { indexedDB, IDBKeyRange },
    });
    cleanups.push(() => reactions.close());
    return reactions;
  };
  const board = (): Promise<BoardState> =>
    firstValueFrom(loom.confirmedProjection$(boardProjection, boardStream('team')));
  return { loom, commands, conflicts, hub, board, react };
}

describe('the archive-column saga on a device', () => {
  it('waits for the request to be confirmed, then archives each card and the column', async () => {
    const { loom, commands, hub, board, react } = await device();
    for (const title of ['a', 'b', 'c'])
      await commands.createCard({ columnId: 'done', title, createdBy: null });
    const head = await hub.confirm();
    const reactions = react();
    await commands.archiveColumn('done', null);
    // Offline (nothing confirmed): the saga does not start on a pending request.
    await reactions.settled(head);
    expect((await syncPortOf(loom).readOutbox()).map((r) => r.event.type)).toEqual([
      'column.archive-requested',
    ]);

    await hub.settle(reactions);
    const after = await board();
    expect(after.columns['done']).toMatchObject({ archived: true, archiving: null });
    expect(Object.values(after.cards).every((c) => c.archived)).toBe(true);
    // One step at a time, each caused by the previous one, all correlated to the request.
    const events = await loom.readEvents({ stream: boardStream('team') });
    const run = events.filter((e) => e.meta.correlationId !== undefined);
    expect(run.map((e) => e.type)).toEqual([
      'column.archive-requested',
      'card.archived',
      'card.archived',
      'card.archived',
      'column.archived',
    ]);
    for (let i = 1; i < run.length; i++) expect(run[i]!.meta.causationId).toBe(run[i - 1]!.id);
  });

  it('compensates when a card is blocked: restores what it archived, keeps the column, says why', async () => {
    const { commands, conflicts, hub, board, react } = await device();
    for (const title of ['a', 'b', 'c'])
      await commands.createCard({ columnId: 'done', title, createdBy: null });
    await hub.confirm();
    const blocked = cardsIn(await board(), 'done')[2]!;
    await commands.blockCard(blocked.id, true, 'waiting for legal');
    await hub.confirm();
    const reactions = react();
    await commands.archiveColumn('done', null);
    await hub.settle(reactions);

    const after = await board();
    expect(after.columns['done']).toMatchObject({ archived: false, archiving: null });
    expect(cardsIn(after, 'done').map((c) => c.title)).toEqual(['a', 'b', 'c']);
    const [run] = Object.values(after.archives);
    expect(run).toMatchObject({
      status: 'failed',
      reason: '“c” is blocked: waiting for legal',
      restored: expect.any(Array),
    });
    expect([...run!.restored].sort()).toEqual(
      cardsIn(after, 'done')
        .slice(0, 2)
        .map((c) => c.id)
        .sort(),
    );
    const entries = await firstValueFrom(conflicts.entries$.pipe(filter((list) => list.length > 0)));
    expect(entries[0]).toMatchObject({ code: 'card-blocked', status: 'resolved' });
    expect(entries[0]!.resolution).toContain('2 cards restored');
  });

  it('resumes a run after a restart, from its events', async () => {
    const { loom, commands, hub, board, react } = await device();
    for (const title of ['a', 'b']) await commands.createCard({ columnId: 'done', title, createdBy: null });
    await commands.archiveColumn('done', null);
    const head = await hub.confirm();
    // A first runtime takes one step, then the app closes before it is confirmed.
    const first = react();
    await first.settled(head);
    await first.close();
    expect((await syncPortOf(loom).readOutbox()).map((r) => r.event.type)).toEqual(['card.archived']);
    const second = react();
    await hub.settle(second);
    expect((await board()).columns['done']?.archived).toBe(true);
    const archived = (await loom.readEvents({ type: 'card.archived' })).length;
    expect(archived).toBe(2);
  });
});

describe('the dead-letter queue on a device', () => {
  it('lists a push the hub refused, retries it by deciding it again, and discards', async () => {
    const { loom, commands, hub, react } = await device();
    await hub.confirm();
    const reactions = react();
    const first = await commands.createCard({ columnId: 'done', title: 'refused', createdBy: null });
    const second = await commands.createCard({ columnId: 'done', title: 'dropped', createdBy: null });
    if (!first.ok || !second.ok) throw new Error('the board refused the cards');
    await syncPortOf(loom).markRejected([
      { id: first.eventIds[0]!, code: 'wrong-expected-version', message: 'the board moved' },
      { id: second.eventIds[0]!, code: 'invalid', message: 'no' },
    ]);
    const letters = await firstValueFrom(reactions.deadLetters$.pipe(filter((list) => list.length === 2)));
    expect(letters.map((l) => [l.handler, l.eventType, l.error])).toEqual([
      ['sync (rejected by the hub)', 'card.created', 'wrong-expected-version: the board moved'],
      ['sync (rejected by the hub)', 'card.created', 'invalid: no'],
    ]);

    await reactions.retry(letters[0]!.id);
    await reactions.discard(letters[1]!.id);
    await firstValueFrom(reactions.deadLetters$.pipe(filter((list) => list.length === 0)));
    // Decided again on the current board: a new event for the same card, the other one is gone.
    const pending = (await syncPortOf(loom).readOutbox()).map((r) => r.event);
    expect(pending.map((e) => [e.type, (e.data as { title: string }).title])).toEqual([
      ['card.created', 'refused'],
    ]);
    expect(pending[0]!.id).not.toBe(first.eventIds[0]);
  });
});
