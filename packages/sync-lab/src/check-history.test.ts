import type { CommittedEvent } from '@eventloom/protocol';
import { sampleCommitted, sampleEventId } from '@eventloom/protocol/testing';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  checkHistory,
  formatAnomalies,
  type AnomalyKind,
  type AppendRecord,
  type ClientHistory,
  type History,
} from './check-history.ts';
import { withReplaySeed } from './replay-seed.ts';
import { seededRandom, type SeededRandom } from './seeded-random.ts';

const ID = (n: number) => sampleEventId(n);

/** A stored event; `n` names its id. */
function stored(
  n: number,
  position: number,
  clientId: string,
  clientSeq: number,
  stream = 'list:1',
  streamVersion = position,
) {
  return sampleCommitted({ id: ID(n), position, streamVersion, clientId, clientSeq, stream });
}

const append = (e: CommittedEvent, outcome: AppendRecord['outcome'] = 'acked'): AppendRecord => ({
  id: e.id,
  clientId: e.clientId,
  clientSeq: e.clientSeq,
  stream: e.stream,
  outcome,
  ...(outcome === 'acked' ? { position: e.position } : {}),
});

/** Two clients, a and b, each appended two events, all acked, both hold the whole log. */
function clean(): { hub: CommittedEvent[]; appends: AppendRecord[]; clients: ClientHistory[] } {
  const hub = [stored(1, 1, 'a', 1), stored(2, 2, 'b', 1), stored(3, 3, 'a', 2), stored(4, 4, 'b', 2)];
  return {
    hub,
    appends: hub.map((e) => append(e)),
    clients: [
      { clientId: 'a', confirmed: [...hub], flushed: true, caughtUp: true },
      { clientId: 'b', confirmed: [...hub], flushed: true, caughtUp: true },
    ],
  };
}

const kinds = (history: History) => checkHistory(history).map((a) => a.kind);

describe('checkHistory on clean histories', () => {
  it('finds nothing in a clean, converged run', () => {
    expect(checkHistory(clean())).toEqual([]);
  });

  it('accepts clients that are behind, pending events of unflushed clients, and known rejections', () => {
    const { hub, appends } = clean();
    const rejected: AppendRecord = {
      id: ID(9),
      clientId: 'a',
      clientSeq: 3,
      stream: 'list:1',
      outcome: 'rejected',
    };
    const unsent: AppendRecord = {
      id: ID(10),
      clientId: 'b',
      clientSeq: 3,
      stream: 'list:1',
      outcome: 'pending',
    };
    const history: History = {
      hub,
      appends: [...appends.slice(0, 3), append(hub[3]!, 'pending'), rejected, unsent],
      clients: [
        { clientId: 'a', confirmed: hub.slice(0, 4), flushed: true },
        { clientId: 'b', confirmed: hub.slice(0, 2) },
      ],
    };
    expect(checkHistory(history)).toEqual([]);
  });

  it('accepts a partial client that holds only the streams it subscribes to', () => {
    const hub = [
      stored(1, 1, 'a', 1, 'list:1', 1),
      stored(2, 2, 'b', 1, 'private:b', 1),
      stored(3, 3, 'a', 2, 'list:1', 2),
    ];
    const history: History = {
      hub,
      appends: hub.map((e) => append(e)),
      clients: [
        {
          clientId: 'a',
          confirmed: [hub[0]!, hub[2]!],
          subscriptions: ['list:*'],
          caughtUp: true,
          flushed: true,
        },
      ],
    };
    expect(checkHistory(history)).toEqual([]);
  });

  it('ignores key order when comparing copies', () => {
    const { hub, appends } = clean();
    const reordered = hub.map((e) => Object.fromEntries(Object.entries(e).reverse()) as CommittedEvent);
    expect(checkHistory({ hub, appends, clients: [{ clientId: 'a', confirmed: reordered }] })).toEqual([]);
  });
});

describe('checkHistory finds', () => {
  it('an acked event missing from the hub', () => {
    const { hub, appends, clients } = clean();
    const history = {
      hub: hub.slice(0, 3),
      appends,
      clients: clients.map((c) => ({ ...c, confirmed: hub.slice(0, 3) })),
    };
    const anomalies = checkHistory(history);
    expect(anomalies).toEqual([
      {
        kind: 'lost',
        where: 'hub',
        id: ID(4),
        message: `${ID(4)} (b #2 in list:1) was acked at position 4 but is not in the hub's log`,
      },
    ]);
  });

  it('an event pending at the end of a flushed client that the hub does not have', () => {
    const { hub, appends, clients } = clean();
    const pending: AppendRecord = {
      id: ID(5),
      clientId: 'a',
      clientSeq: 3,
      stream: 'list:1',
      outcome: 'pending',
    };
    const anomalies = checkHistory({ hub, appends: [...appends, pending], clients });
    expect(anomalies.map((a) => [a.kind, a.where, a.id])).toEqual([['lost', 'hub', ID(5)]]);
    expect(anomalies[0]!.message).toMatch(/pending when a ended flushed/);
  });

  it('a confirmed event the hub never stored, and a caught-up client missing the tail', () => {
    const { hub, appends } = clean();
    const phantom = stored(7, 5, 'c', 1);
    const anomalies = checkHistory({
      hub,
      appends,
      clients: [
        { clientId: 'a', confirmed: [...hub, phantom] },
        { clientId: 'b', confirmed: hub.slice(0, 2), caughtUp: true },
      ],
    });
    expect(anomalies.map((a) => [a.kind, a.where, a.position])).toEqual([
      ['lost', 'client a', 5],
      ['lost', 'client b', 3],
      ['lost', 'client b', 4],
    ]);
  });

  it('a flushed client whose log lacks its own acked event', () => {
    const { hub, appends } = clean();
    const anomalies = checkHistory({
      hub,
      appends,
      clients: [{ clientId: 'a', confirmed: hub.slice(0, 1), flushed: true, subscriptions: ['other'] }],
    });
    expect(anomalies.map((a) => [a.kind, a.where, a.id])).toEqual([['lost', 'client a', ID(3)]]);
  });

  it('an id twice in a log, and one (clientId, clientSeq) stored twice', () => {
    const { hub, appends } = clean();
    const again = { ...hub[1]!, position: 5, streamVersion: 5 };
    const sameSeq = stored(8, 6, 'a', 2, 'list:1', 6);
    const anomalies = checkHistory({ hub: [...hub, again, sameSeq], appends, clients: [] });
    expect(anomalies.map((a) => [a.kind, a.where, a.position])).toEqual([
      ['duplicate', 'hub', 5],
      ['duplicate', 'hub', 6],
      ['duplicate', 'hub', 6],
    ]);
    expect(anomalies[0]!.message).toBe(`${ID(2)} (b #1 in list:1) is held twice, at positions 2 and 5`);
    expect(anomalies[1]!.message).toMatch(/^a#2 is stored twice/);
    expect(anomalies[2]!.message).toMatch(/re-issued with a new id/);
  });

  it('an event re-issued by its client with a new id', () => {
    const { hub, appends } = clean();
    const reissued: AppendRecord = {
      id: ID(9),
      clientId: 'a',
      clientSeq: 2,
      stream: 'list:1',
      outcome: 'pending',
    };
    const anomalies = checkHistory({ hub, appends: [...appends, reissued], clients: [] });
    expect(anomalies.map((a) => [a.kind, a.where])).toEqual([['duplicate', 'appends']]);
    expect(anomalies[0]!.message).toBe(
      `a#2 was issued 2 times, with ids ${ID(3)}, ${ID(9)}: re-issued with a new id`,
    );
  });

  it('positions with a gap or out of order in the hub log', () => {
    const { appends } = clean();
    const hub = [stored(1, 1, 'a', 1), stored(2, 3, 'b', 1, 'list:1', 2), stored(3, 2, 'a', 2, 'list:1', 3)];
    const anomalies = checkHistory({
      hub,
      appends: appends.slice(0, 3).map(({ position: _acked, ...r }) => r),
      clients: [],
    });
    expect(anomalies.map((a) => [a.kind, a.position])).toEqual([
      ['reordering', 3],
      ['reordering', 2],
    ]);
    expect(anomalies[0]!.message).toMatch(/position 3 .* follows position 1: positions must be gapless/);
  });

  it("a client's events out of clientSeq order, and streamVersions out of step", () => {
    const hub = [stored(1, 1, 'a', 2, 'list:1', 1), stored(2, 2, 'a', 1, 'list:1', 3)];
    const anomalies = checkHistory({ hub, appends: [], clients: [] });
    expect(anomalies.map((a) => a.message)).toEqual([
      `a's clientSeq 1 (position 2) comes after its clientSeq 2 (position 1)`,
      `${ID(2)} (a #1 in list:1) at position 2 has streamVersion 3, expected 2`,
    ]);
  });

  it('an ack whose position is not where the event is stored', () => {
    const { hub, appends, clients } = clean();
    const lying = appends.map((r, i) => (i === 0 ? { ...r, position: 2 } : r));
    const anomalies = checkHistory({ hub, appends: lying, clients });
    expect(anomalies.map((a) => [a.kind, a.message])).toEqual([
      ['reordering', `${ID(1)} (a #1 in list:1) was acked at position 2 but is stored at 1`],
    ]);
  });

  it("a client's log in another order than the hub's, or skipping a position", () => {
    const { hub, appends } = clean();
    const swapped = [hub[0]!, { ...hub[2]!, position: 2 }, { ...hub[1]!, position: 3 }, hub[3]!];
    const anomalies = checkHistory({
      hub,
      appends,
      clients: [
        { clientId: 'a', confirmed: swapped },
        { clientId: 'b', confirmed: [hub[0]!, hub[2]!] },
      ],
    });
    expect(anomalies.map((a) => [a.kind, a.where, a.position])).toEqual([
      ['reordering', 'client a', 2],
      ['reordering', 'client a', 3],
      ['reordering', 'client b', 2],
      // a and b also disagree about position 3 (the checker says so once per pair and position).
      ['divergence', 'client b', 3],
    ]);
    expect(anomalies[2]!.message).toMatch(/skips position 2 .* though it holds up to 3/);
  });

  it('a rejected write that is stored after all', () => {
    const { hub, appends, clients } = clean();
    const told = appends.map((r, i) => (i === 1 ? { ...r, outcome: 'rejected' as const } : r));
    const anomalies = checkHistory({ hub, appends: told, clients });
    expect(anomalies).toEqual([
      {
        kind: 'failed-write-appears',
        where: 'hub',
        id: ID(2),
        position: 2,
        message: `${ID(2)} (b #1 in list:1) was rejected, yet is in the hub's log at position 2 and a's confirmed log and b's confirmed log`,
      },
    ]);
  });

  it('an append reported both rejected and acked', () => {
    const { hub, appends, clients } = clean();
    const both = [...appends, { ...appends[0]!, outcome: 'rejected' as const }];
    expect(kinds({ hub, appends: both, clients })).toEqual(['failed-write-appears']);
  });

  it('two clients holding different events, or different copies, at one position', () => {
    const { hub, appends } = clean();
    const other = stored(6, 4, 'c', 1);
    const changed = { ...hub[2]!, data: { title: 'changed' } };
    const anomalies = checkHistory({
      hub,
      appends,
      clients: [
        { clientId: 'a', confirmed: hub },
        { clientId: 'b', confirmed: [hub[0]!, hub[1]!, changed, other] },
      ],
    });
    expect(anomalies.map((a) => [a.kind, a.where, a.position])).toEqual([
      ['divergence', 'client b', 3],
      ['divergence', 'client b', 4],
      ['divergence', 'client b', 3],
      ['divergence', 'client b', 4],
    ]);
    expect(anomalies[0]!.message).toMatch(/differs from the hub's in data$/);
    expect(anomalies[1]!.message).toMatch(/the hub has no /);
    expect(anomalies[2]!.message).toMatch(/differs from a's in data$/);
    expect(anomalies[3]!.message).toMatch(/where a holds /);
  });

  it('formats anomalies for an assertion message', () => {
    const { hub, appends } = clean();
    const anomalies = checkHistory({ hub: [], appends, clients: [] });
    expect(formatAnomalies([])).toBe('no anomalies');
    expect(formatAnomalies(anomalies, 2).split('\n')).toEqual([
      '4 anomalies:',
      `- [lost] hub: ${ID(1)} (a #1 in list:1) was acked at position 1 but is not in the hub's log`,
      `- [lost] hub: ${ID(2)} (b #1 in list:1) was acked at position 2 but is not in the hub's log`,
      '… and 2 more',
    ]);
    expect(hub).toHaveLength(4);
  });
});

/**
 * A random clean run: clients append to shared and private streams, the hub interleaves them in
 * clientSeq order, some appends are rejected, some acks are lost, clients end at random points.
 */
function cleanRun(random: SeededRandom): History {
  const clientIds = Array.from({ length: random.int(1, 4) }, (_, i) => `c${i}`);
  const queues = new Map(
    clientIds.map((clientId) => [
      clientId,
      Array.from({ length: random.int(0, 8) }, (_, i) => ({
        id: sampleEventId(),
        clientSeq: i + 1,
        stream: random.pick(['list:1', 'list:2', `private:${clientId}`]),
        rejected: random.chance(0.1),
      })),
    ]),
  );
  const hub: CommittedEvent[] = [];
  const appends: AppendRecord[] = [];
  const versions = new Map<string, number>();
  for (;;) {
    const ready = clientIds.filter((c) => queues.get(c)!.length > 0);
    if (ready.length === 0) break;
    const clientId = random.pick(ready);
    const next = queues.get(clientId)!.shift()!;
    if (next.rejected) {
      appends.push({
        id: next.id,
        clientId,
        clientSeq: next.clientSeq,
        stream: next.stream,
        outcome: 'rejected',
      });
      continue;
    }
    const streamVersion = (versions.get(next.stream) ?? 0) + 1;
    versions.set(next.stream, streamVersion);
    const { rejected: _no, ...fields } = next;
    const event = sampleCommitted({ ...fields, clientId, position: hub.length + 1, streamVersion });
    hub.push(event);
    appends.push(random.chance(0.2) ? append(event, 'pending') : append(event));
  }
  const clients = clientIds.map((clientId): ClientHistory => {
    const partial = random.chance(0.3);
    const subscriptions = partial ? ['list:*'] : ['*'];
    const top = random.chance(0.5) ? hub.length : random.int(0, hub.length);
    const covered = hub
      .slice(0, top)
      .filter((e) => e.stream.startsWith('list:') || !partial || e.clientId === clientId);
    const ownAll = hub.every((e) => e.clientId !== clientId || covered.includes(e));
    return {
      clientId,
      confirmed: covered,
      subscriptions,
      flushed: ownAll,
      caughtUp: top === hub.length,
    };
  });
  return { appends, clients, hub };
}

/** Breaks a clean run in one way; returns the kind of anomaly it must produce, or undefined if it cannot. */
function breakRun(
  history: History,
  how: number,
  random: SeededRandom,
): { broken: History; kind: AnomalyKind } | undefined {
  const { hub, appends, clients } = history;
  if (hub.length === 0) return undefined;
  const victim = random.pick(hub);
  const ackedVictim = appends.find((r) => r.id === victim.id && r.outcome === 'acked');
  switch (how % 5) {
    case 0: {
      // The hub loses an acked event (and so does everyone else).
      if (ackedVictim === undefined) return undefined;
      const without = (log: readonly CommittedEvent[]) => log.filter((e) => e.id !== victim.id);
      return {
        broken: {
          appends,
          hub: without(hub),
          clients: clients.map((c) => ({ ...c, confirmed: without(c.confirmed) })),
        },
        kind: 'lost',
      };
    }
    case 1:
      // The hub stores an event a second time.
      return {
        broken: {
          appends,
          clients,
          hub: [...hub, { ...victim, position: hub.length + 1, streamVersion: 999 }],
        },
        kind: 'duplicate',
      };
    case 2: {
      // A client holds an event at another position than the hub.
      const holder = clients.find((c) => c.confirmed.length >= 2);
      if (holder === undefined) return undefined;
      const [x, y] = holder.confirmed as [CommittedEvent, CommittedEvent];
      const swapped = [
        { ...y, position: x.position },
        { ...x, position: y.position },
        ...holder.confirmed.slice(2),
      ];
      return {
        broken: {
          appends,
          hub,
          clients: clients.map((c) => (c === holder ? { ...c, confirmed: swapped } : c)),
        },
        kind: 'reordering',
      };
    }
    case 3:
      // The client was told the event was rejected.
      return {
        broken: {
          hub,
          clients,
          appends: appends.map((r) => (r.id === victim.id ? { ...r, outcome: 'rejected' as const } : r)),
        },
        kind: 'failed-write-appears',
      };
    default: {
      // A client's copy of an event differs.
      const holder = clients.find((c) => c.confirmed.length > 0);
      if (holder === undefined) return undefined;
      const confirmed = holder.confirmed.map((e, i) => (i === 0 ? { ...e, data: { changed: true } } : e));
      return {
        broken: { appends, hub, clients: clients.map((c) => (c === holder ? { ...c, confirmed } : c)) },
        kind: 'divergence',
      };
    }
  }
}

describe('checkHistory on random runs', () => {
  it('finds nothing in any clean run', async () => {
    await withReplaySeed(
      ({ seed, runs }) =>
        fc.assert(
          fc.property(fc.integer(), (runSeed) => {
            const history = cleanRun(seededRandom(runSeed));
            expect(formatAnomalies(checkHistory(history))).toBe('no anomalies');
          }),
          { seed, numRuns: runs },
        ),
      { defaultRuns: 300, label: 'clean runs' },
    );
  });

  it('finds the anomaly of each way a run can be broken', () => {
    const seen = new Set<AnomalyKind>();
    fc.assert(
      fc.property(fc.integer(), fc.nat(), (seed, how) => {
        const random = seededRandom(seed);
        const result = breakRun(cleanRun(random), how, random);
        if (result === undefined) return;
        seen.add(result.kind);
        expect(kinds(result.broken)).toContain(result.kind);
      }),
      { numRuns: 500 },
    );
    expect(seen.size).toBe(5);
  });
});
