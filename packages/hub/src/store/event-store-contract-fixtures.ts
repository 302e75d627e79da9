import fc from 'fast-check';
import { ErrorCode, type CommittedEvent, type EventEnvelope } from '@eventloom/protocol';
import { sampleEnvelope } from '@eventloom/protocol/testing';
import { expect } from 'vitest';
import type { EventStore, StoreAppend, StoreAppendResult, StoreReadResult } from './event-store.ts';

/** Options of `describeEventStore`. */
export interface EventStoreSuiteOptions {
  /**
   * For persistent stores: closes `store` and opens the same log again. When given, the suite
   * also checks that the log, the clients and the hub id survive a reopen.
   */
  readonly reopen?: (store: EventStore) => Promise<EventStore>;
  /** Runs of the property test (default 50). */
  readonly propertyRuns?: number;
}

/** What each group of the contract gets from `describeEventStore`. */
export interface ContractContext {
  /** A fresh, empty log, closed after the test. */
  readonly fresh: () => Promise<EventStore>;
  /** The implementation's own `create` (what a test closes itself). */
  readonly create: () => Promise<EventStore>;
  /** The stores the suite closes after each test (a test adds those it opens itself). */
  readonly opened: EventStore[];
  readonly options: EventStoreSuiteOptions;
}

// ---- building events

let seqBase = 0;

/** A valid envelope of `clientId` at `clientSeq`, with a fresh id. */
export function event(
  clientId: string,
  clientSeq: number,
  overrides: Partial<EventEnvelope> = {},
): EventEnvelope {
  seqBase += 1;
  return sampleEnvelope({
    data: { title: `item ${seqBase}` },
    clientId,
    clientSeq,
    hlc: `${String(1_732_700_000_000 + clientSeq).padStart(15, '0')}-0000000000-${clientId}`,
    ...overrides,
  });
}

/** `count` events of `clientId` from seq `first` on. */
export function events(
  clientId: string,
  first: number,
  count: number,
  overrides: Partial<EventEnvelope> = {},
): EventEnvelope[] {
  return Array.from({ length: count }, (_, i) => event(clientId, first + i, overrides));
}

export function pushes(sent: readonly EventEnvelope[]): StoreAppend[] {
  return sent.map((e) => ({ event: e }));
}

export function okOf(e: EventEnvelope, position: number, streamVersion: number): StoreAppendResult {
  return { status: 'ok', id: e.id, position, streamVersion };
}

export function positionOf(result: StoreAppendResult): number {
  return result.status === 'ok' || result.status === 'duplicate' ? result.position : -1;
}

export function positionsOf(list: readonly CommittedEvent[]): number[] {
  return list.map((e) => e.position);
}

/** What a re-push of an event is answered once it was decided. */
export function repeatAnswer(first: StoreAppendResult): StoreAppendResult {
  return first.status === 'ok' ? { status: 'duplicate', id: first.id, position: first.position } : first;
}

export async function readAll(store: EventStore): Promise<CommittedEvent[]> {
  const all: CommittedEvent[] = [];
  let from = 0;
  for (;;) {
    const page = await store.read({ from, limit: 1000 });
    all.push(...page.events);
    if (page.until >= page.head) return all;
    from = page.until;
  }
}

// ---- the property test

/** What one client means to push: its events by seq (index 0 is seq 1). */
interface ClientPlan {
  readonly events: readonly {
    readonly stream: number;
    readonly expectedVersion: number | undefined;
    /** When set, the event reuses the id of this [client, seq index] (if it was made before). */
    readonly reuse: readonly [number, number] | undefined;
  }[];
}

interface Scenario {
  readonly clients: readonly ClientPlan[];
  /** Batches of [client, seq index] picks, pushed in order: out of order, repeated, with gaps. */
  readonly batches: readonly (readonly (readonly [number, number])[])[];
}

const CLIENTS = 3;
const STREAMS = ['seat:0', 'seat:1', 'seat:2'];

export const scenarioArbitrary: fc.Arbitrary<Scenario> = fc.record({
  clients: fc.array(
    fc.record({
      events: fc.array(
        fc.record({
          stream: fc.nat({ max: STREAMS.length - 1 }),
          expectedVersion: fc.option(fc.nat({ max: 4 }), { nil: undefined, freq: 2 }),
          reuse: fc.option(fc.tuple(fc.nat({ max: CLIENTS - 1 }), fc.nat({ max: 7 })), {
            nil: undefined,
            freq: 8,
          }),
        }),
        { minLength: 1, maxLength: 8 },
      ),
    }),
    { minLength: CLIENTS, maxLength: CLIENTS },
  ),
  batches: fc.array(
    fc.array(fc.tuple(fc.nat({ max: CLIENTS - 1 }), fc.nat({ max: 8 })), { minLength: 1, maxLength: 8 }),
    {
      maxLength: 8,
    },
  ),
});

/**
 * Pushes the scenario's batches, then every client's events in order, and checks each answer
 * against a simple model and the final log against the invariants.
 */
export async function checkScenario(store: EventStore, scenario: Scenario): Promise<void> {
  const envelopes = buildEnvelopes(scenario);
  const model = {
    head: 0,
    streams: new Map<string, number>(),
    lastSeq: new Map<string, number>(),
    committed: new Map<string, EventEnvelope>(),
  };
  const finalAnswers = new Map<EventEnvelope, StoreAppendResult>();

  const push = async (batch: readonly EventEnvelope[]) => {
    const results = await store.append(pushes(batch));
    expect(results).toHaveLength(batch.length);
    // (clientId, stream) where one of the client's events was refused in this push.
    const refused = new Set<string>();
    batch.forEach((e, i) => {
      const r = results[i]!;
      expect(r.id).toBe(e.id);
      const last = model.lastSeq.get(e.clientId) ?? 0;
      if (e.clientSeq > last + 1) {
        expect(r).toEqual({ status: 'gap', id: e.id, expectedSeq: last + 1 });
        return;
      }
      if (e.clientSeq <= last) {
        expect(r.status).not.toBe('ok');
        expect(r.status).not.toBe('gap');
        if (finalAnswers.has(e)) expect(r).toEqual(repeatAnswer(finalAnswers.get(e)!));
        if (r.status === 'rejected' && e.expectedVersion !== undefined)
          refused.add(`${e.clientId}\u0000${e.stream}`);
        return;
      }
      model.lastSeq.set(e.clientId, e.clientSeq);
      finalAnswers.set(e, r);
      const version = model.streams.get(e.stream) ?? 0;
      const key = `${e.clientId}\u0000${e.stream}`;
      if (model.committed.has(e.id)) {
        refused.add(key);
        expect(r).toMatchObject({ status: 'rejected', code: ErrorCode.idConflict });
      } else if (e.expectedVersion !== undefined && (e.expectedVersion !== version || refused.has(key))) {
        refused.add(key);
        expect(r).toMatchObject({
          status: 'rejected',
          code: ErrorCode.wrongExpectedVersion,
          currentVersion: version,
        });
      } else {
        model.head += 1;
        model.streams.set(e.stream, version + 1);
        model.committed.set(e.id, e);
        expect(r).toEqual({ status: 'ok', id: e.id, position: model.head, streamVersion: version + 1 });
      }
    });
  };

  for (const batch of scenario.batches) {
    await push(batch.flatMap(([c, s]) => (envelopes[c]?.[s] ? [envelopes[c][s]] : [])));
  }
  await push(envelopes.flat());
  // Every event is decided now; pushing them all again changes nothing.
  const headBefore = await store.head();
  await push(envelopes.flat());
  expect(await store.head()).toBe(headBefore);

  const log = await readAll(store);
  expect(positionsOf(log)).toEqual(Array.from({ length: model.head }, (_, i) => i + 1));
  expect(new Set(log.map((e) => e.id)).size).toBe(log.length);
  for (const stream of STREAMS) {
    const versions = log.filter((e) => e.stream === stream).map((e) => e.streamVersion);
    expect(versions).toEqual(versions.map((_, i) => i + 1));
    expect(await store.streamVersion(stream)).toBe(versions.length);
  }
  for (const [c, list] of envelopes.entries()) {
    const clientId = `client-${c}`;
    const seqs = log.filter((e) => e.clientId === clientId).map((e) => e.clientSeq);
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    expect(new Set(seqs).size).toBe(seqs.length);
    expect(await store.client(clientId)).toEqual({ lastClientSeq: list.length, principal: undefined });
  }
  for (const e of log) {
    const { position: _p, streamVersion: _v, recordedAt: _r, ...sent } = e;
    expect(sent).toEqual(model.committed.get(e.id));
  }
}

/** The envelopes of the scenario: client c's event at seq index s is `[c][s]`. */
function buildEnvelopes(scenario: Scenario): EventEnvelope[][] {
  const made: EventEnvelope[][] = [];
  scenario.clients.forEach((plan, c) => {
    const list: EventEnvelope[] = [];
    made.push(list);
    plan.events.forEach((spec, s) => {
      const reused = spec.reuse && made[spec.reuse[0]]?.[spec.reuse[1]];
      list.push(
        event(`client-${c}`, s + 1, {
          stream: STREAMS[spec.stream]!,
          ...(spec.expectedVersion === undefined ? {} : { expectedVersion: spec.expectedVersion }),
          ...(reused ? { id: reused.id } : {}),
        }),
      );
    });
  });
  return made;
}

/** A page without what a store may tell besides (`jsonChars`), to compare with plain pages. */
export function pageOf(page: StoreReadResult): Omit<StoreReadResult, 'jsonChars'> {
  const { jsonChars: _, ...rest } = page;
  return rest;
}
