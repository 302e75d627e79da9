import type { EventEnvelope } from '@eventloom/protocol';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { OutboxRow } from '../client-store.ts';
import { cutAtBoundaries, cutBatch, rowBytes, type BatchInput } from './cut-batch.ts';
import { RefusalReminders } from './refusal-reminders.ts';

const STREAMS = ['s:a', 's:b', 's:c'] as const;

interface Spec {
  readonly stream: number;
  readonly guarded: boolean;
  /** Starts a new decision (or is no decision at all, when `decided` is false). */
  readonly newDecision: boolean;
  readonly decided: boolean;
  readonly size: number;
  readonly parked: boolean;
  readonly refused: boolean;
}

const spec = fc.record<Spec>({
  stream: fc.integer({ min: 0, max: STREAMS.length - 1 }),
  guarded: fc.boolean(),
  newDecision: fc.boolean(),
  decided: fc.boolean(),
  size: fc.integer({ min: 0, max: 300 }),
  parked: fc.boolean(),
  refused: fc.boolean(),
});

/** An outbox (clientSeq 1..n) and what the engine knows of it: parked rows, refusal reminders. */
function scenario(specs: readonly Spec[], inFlight: readonly number[], limit: number, maxBytes: number) {
  // A decision's events are appended in one transaction: consecutive clientSeqs.
  let first = 0;
  const rows: OutboxRow[] = specs.map((s, i) => {
    const clientSeq = i + 1;
    if (!s.decided) first = 0;
    else if (s.newDecision || first === 0) first = clientSeq;
    const event: EventEnvelope = {
      id: `id-${clientSeq}`,
      type: 'thing.done',
      version: 1,
      kind: 'domain',
      stream: STREAMS[s.stream]!,
      data: { pad: 'é'.repeat(s.size) },
      meta: {},
      clientId: 'c1',
      clientSeq,
      hlc: `hlc-${clientSeq}`,
      ...(s.guarded ? { expectedVersion: i } : {}),
    };
    return {
      clientSeq,
      event,
      ...(s.decided ? { command: { decider: 'd', command: null, first, attempt: 0 } } : {}),
    };
  });
  const parked = new Set(rows.filter((_, i) => specs[i]!.parked).map((r) => r.clientSeq));
  const reminders = new RefusalReminders();
  // Refused guarded events are parked, waiting for a new decision.
  for (const [i, row] of rows.entries()) {
    if (specs[i]!.refused && specs[i]!.parked) reminders.refused(row);
  }
  const input: BatchInput = {
    rows,
    limit,
    maxBytes,
    parked: (seq) => parked.has(seq),
    guardedInFlight: new Set(inFlight.map((i) => STREAMS[i]!)),
    reminder: (row) => reminders.for(row),
  };
  return { rows, parked, input };
}

const arbitrary = fc.record({
  specs: fc.array(spec, { maxLength: 30 }),
  inFlight: fc.uniqueArray(fc.integer({ min: 0, max: STREAMS.length - 1 }), { maxLength: 2 }),
  limit: fc.integer({ min: 1, max: 8 }),
  maxBytes: fc.integer({ min: 300, max: 3000 }),
});

describe('cutBatch', () => {
  it('keeps every rule of the push pipeline, for any outbox', () => {
    fc.assert(
      fc.property(arbitrary, ({ specs, inFlight, limit, maxBytes }) => {
        const { rows, parked, input } = scenario(specs, inFlight, limit, maxBytes);
        const { batch, reminders, blocked } = cutBatch(input);
        const own = batch.filter((r) => !reminders.has(r.clientSeq));
        const bySeq = new Map(rows.map((r) => [r.clientSeq, r]));

        // The rows themselves: a run of the outbox in order, after the parked rows it starts with.
        const start = rows.findIndex((r) => !parked.has(r.clientSeq));
        if (own.length > 0) {
          expect(rows.slice(start, start + own.length)).toEqual(own);
        }
        // Nothing parked is pushed as a row; reminders are refused events, once each, never last.
        for (const row of own) expect(parked.has(row.clientSeq)).toBe(false);
        expect(new Set(batch.map((r) => r.clientSeq)).size).toBe(batch.length);
        if (batch.length > 0) expect(reminders.has(batch.at(-1)!.clientSeq)).toBe(false);
        // A reminder stands just ahead of a row decided on it.
        batch.forEach((row, i) => {
          if (!reminders.has(row.clientSeq)) return;
          const next = batch[i + 1]!;
          expect(input.reminder(next)?.clientSeq).toBe(row.clientSeq);
        });
        // Every row decided on a refused event has that event ahead of it in the batch.
        for (const row of own) {
          const refused = input.reminder(row);
          if (refused === undefined) continue;
          expect(batch.indexOf(refused)).toBeGreaterThanOrEqual(0);
          expect(batch.indexOf(refused)).toBeLessThan(batch.indexOf(row));
        }
        // No guarded event of a stream with guarded events in flight.
        for (const row of own) {
          if (row.event.expectedVersion !== undefined) {
            expect(input.guardedInFlight.has(row.event.stream)).toBe(false);
          }
        }
        // Within the limits, unless one row (with its reminder) alone is more.
        const bytes = 64 + batch.reduce((sum, r) => sum + rowBytes(r), 0);
        if (own.length > 1) {
          expect(batch.length).toBeLessThanOrEqual(limit);
          expect(bytes).toBeLessThanOrEqual(maxBytes);
        }
        // What comes next explains where it stopped.
        const following = start < 0 ? undefined : rows[start + own.length];
        if (blocked) {
          expect(following?.event.expectedVersion).toBeDefined();
          expect(input.guardedInFlight.has(following!.event.stream)).toBe(true);
        }
        // Progress: the first pushable row goes, unless its stream is blocked.
        const firstRow = start < 0 ? undefined : rows[start];
        if (
          firstRow !== undefined &&
          !(firstRow.event.expectedVersion !== undefined && input.guardedInFlight.has(firstRow.event.stream))
        ) {
          expect(own[0]).toBe(firstRow);
        }
        // A decision is not split by the limits, unless it alone fills the batch.
        const last = own.at(-1);
        const cutForSize = following !== undefined && !blocked && !parked.has(following.clientSeq);
        if (cutForSize && last?.command !== undefined) {
          if (following.command?.first === last.command.first) {
            expect(own.every((r) => r.command?.first === last.command!.first)).toBe(true);
          }
        }
        for (const row of batch) expect(bySeq.get(row.clientSeq)).toBe(row);
      }),
      {
        numRuns: 1000,
        examples: [
          [
            {
              specs: [
                {
                  stream: 0,
                  guarded: true,
                  newDecision: false,
                  decided: false,
                  size: 0,
                  parked: true,
                  refused: true,
                },
                {
                  stream: 0,
                  guarded: true,
                  newDecision: false,
                  decided: true,
                  size: 0,
                  parked: false,
                  refused: false,
                },
                {
                  stream: 0,
                  guarded: false,
                  newDecision: false,
                  decided: true,
                  size: 0,
                  parked: false,
                  refused: false,
                },
              ],
              inFlight: [],
              limit: 1,
              maxBytes: 300,
            },
          ],
        ],
      },
    );
  });

  it('sends a refused event again ahead of the events decided on it, and not after it was settled', () => {
    const { rows, input } = scenario(
      [
        { stream: 0, guarded: true, newDecision: true, decided: true, size: 1, parked: true, refused: true },
        {
          stream: 0,
          guarded: true,
          newDecision: true,
          decided: true,
          size: 1,
          parked: false,
          refused: false,
        },
        {
          stream: 0,
          guarded: false,
          newDecision: true,
          decided: false,
          size: 1,
          parked: false,
          refused: false,
        },
        {
          stream: 0,
          guarded: true,
          newDecision: true,
          decided: true,
          size: 1,
          parked: false,
          refused: false,
        },
      ],
      [],
      10,
      10_000,
    );
    const { batch, reminders } = cutBatch(input);
    // Once per batch: ahead of the first row decided on it.
    expect(batch.map((r) => r.clientSeq)).toEqual([1, 2, 3, 4]);
    expect([...reminders]).toEqual([1]);
    expect(batch[0]).toBe(rows[0]);
  });

  it('makes no JSON of a row that goes alone: only once another row may join it', () => {
    const { rows, input } = scenario(
      Array.from({ length: 3 }, () => ({
        stream: 0,
        guarded: false,
        newDecision: false,
        decided: false,
        size: 10,
        parked: false,
        refused: false,
      })),
      [],
      8,
      3000,
    );
    let serialised = 0;
    const counted = rows.map((row) => ({
      ...row,
      event: { ...row.event, data: { toJSON: () => (serialised++, row.event.data) } },
    })) as unknown as OutboxRow[];
    expect(cutBatch({ ...input, rows: counted.slice(0, 1) }).batch).toEqual(counted.slice(0, 1));
    expect(serialised).toBe(0);
    expect(cutBatch({ ...input, rows: counted }).batch).toEqual(counted);
    // Each row once, the last one with them.
    expect(serialised).toBe(3);
  });
});

describe('cutAtBoundaries', () => {
  /** A batch of rows by clientSeq, the seqs in `reminders` sent again ahead of a row. */
  const cut = (seqs: readonly number[], reminders: readonly number[] = []) => ({
    batch: seqs.map((clientSeq) => ({ clientSeq }) as OutboxRow),
    reminders: new Set(reminders),
    blocked: false,
  });
  const seqs = (batch: readonly OutboxRow[]) => batch.map((r) => r.clientSeq);
  /** The same, with the rows of each decision in `decisions` (their seqs, the first one first). */
  const decided = (
    seqs: readonly number[],
    decisions: readonly (readonly number[])[],
    reminders: number[] = [],
  ) => {
    const first = new Map(decisions.flatMap((d) => d.map((seq) => [seq, d[0]!] as const)));
    return {
      ...cut(seqs, reminders),
      batch: seqs.map((clientSeq) => {
        const of = first.get(clientSeq);
        return (
          of === undefined
            ? { clientSeq }
            : { clientSeq, command: { decider: 'd', command: null, first: of, attempt: 0 } }
        ) as OutboxRow;
      }),
    };
  };

  it('takes a reminder ahead of a row past the welcome’s seq for a normal batch, not a settle batch', () => {
    const { batch, settle, repair } = cutAtBoundaries(cut([2, 5], [2]), { repairUpTo: 0, settleUpTo: 3 });
    expect([seqs(batch), settle, repair]).toEqual([[2, 5], false, false]);
  });

  it('ends a settle batch on a row, not on the reminder of the row cut off (the push cursor never goes back)', () => {
    const { batch, settle } = cutAtBoundaries(cut([3, 2, 5], [2]), { repairUpTo: 0, settleUpTo: 3 });
    expect([seqs(batch), settle]).toEqual([[3], true]);
    const rows = cutAtBoundaries(cut([1, 2, 7, 3, 4], [7]), { repairUpTo: 0, settleUpTo: 3 });
    expect([seqs(rows.batch), rows.settle]).toEqual([[1, 2, 7, 3], true]);
  });

  it('ends a repair batch on a row too, and cuts the settle boundary inside it', () => {
    const repaired = cutAtBoundaries(cut([3, 2, 5], [2]), { repairUpTo: 3, settleUpTo: 0 });
    expect([seqs(repaired.batch), repaired.repair, repaired.settle]).toEqual([[3], true, false]);
    const normal = cutAtBoundaries(cut([2, 5], [2]), { repairUpTo: 3, settleUpTo: 0 });
    expect([seqs(normal.batch), normal.repair]).toEqual([[2, 5], false]);
    const both = cutAtBoundaries(cut([1, 3, 4, 6]), { repairUpTo: 2, settleUpTo: 4 });
    expect([seqs(both.batch), both.repair, both.settle]).toEqual([[1], true, true]);
    const after = cutAtBoundaries(cut([3, 4, 6]), { repairUpTo: 2, settleUpTo: 4 });
    expect([seqs(after.batch), after.repair, after.settle]).toEqual([[3, 4], false, true]);
  });

  it('splits a decision at the welcome’s seq: its rows there settle alone (refused `seq-used` if the hub holds others there, before the rest goes)', () => {
    const batch = decided([3, 4, 5, 6], [[4, 5]]);
    const settling = cutAtBoundaries(batch, { repairUpTo: 0, settleUpTo: 4 });
    expect([seqs(settling.batch), settling.settle]).toEqual([[3, 4], true]);
    const rest = cutAtBoundaries(decided([5, 6], [[4, 5]]), { repairUpTo: 0, settleUpTo: 4 });
    expect([seqs(rest.batch), rest.settle]).toEqual([[5, 6], false]);
  });

  it('takes the rest of a decision across the repair boundary into the repair batch, and stops there', () => {
    const across = cutAtBoundaries(decided([1, 2, 3, 4, 5], [[2, 3, 4]]), { repairUpTo: 2, settleUpTo: 0 });
    expect([seqs(across.batch), across.repair]).toEqual([[1, 2, 3, 4], true]);
    // A reminder among the decision's rows goes with them; one ahead of the next decision does not.
    const reminded = cutAtBoundaries(decided([2, 3, 1, 4, 1, 5], [[2, 3, 4], [5]], [1]), {
      repairUpTo: 2,
      settleUpTo: 0,
    });
    expect([seqs(reminded.batch), reminded.repair]).toEqual([[2, 3, 1, 4], true]);
    // A decision that starts past the boundary, or rows of no decision, are left for the next batch.
    const after = cutAtBoundaries(
      decided(
        [1, 2, 3, 4],
        [
          [1, 2],
          [3, 4],
        ],
      ),
      { repairUpTo: 2, settleUpTo: 0 },
    );
    expect(seqs(after.batch)).toEqual([1, 2]);
    const none = cutAtBoundaries(decided([1, 2, 3], [[1, 2]]), { repairUpTo: 1, settleUpTo: 0 });
    expect(seqs(none.batch)).toEqual([1, 2]);
    const plain = cutAtBoundaries(decided([1, 2, 3], []), { repairUpTo: 1, settleUpTo: 0 });
    expect(seqs(plain.batch)).toEqual([1]);
    // The decision's events that came back from the log keep no command: its rest goes with them.
    const returned = decided([1, 2, 3, 4], [[1, 2, 3]]);
    returned.batch[0] = { clientSeq: 1 } as OutboxRow;
    const back = cutAtBoundaries(returned, { repairUpTo: 1, settleUpTo: 0 });
    expect([seqs(back.batch), back.repair]).toEqual([[1, 2, 3], true]);
    // The rows past the boundary go in a normal batch, the decision's first (cut before) or not.
    const normal = cutAtBoundaries(decided([3, 4, 5], [[2, 3]]), { repairUpTo: 2, settleUpTo: 0 });
    expect([seqs(normal.batch), normal.repair]).toEqual([[3, 4, 5], false]);
  });

  it('splits a decision only at the welcome’s seq, or where cutBatch did, for any outbox and boundaries', () => {
    fc.assert(
      fc.property(
        arbitrary,
        fc.integer({ min: 0, max: 30 }),
        fc.integer({ min: 0, max: 30 }),
        ({ specs, inFlight, limit, maxBytes }, repairUpTo, settleUpTo) => {
          const whole = cutBatch(scenario(specs, inFlight, limit, maxBytes).input);
          if (whole.batch.length === 0) return;
          const { batch, repair, settle } = cutAtBoundaries(whole, { repairUpTo, settleUpTo });
          const own = batch.filter((r) => !whole.reminders.has(r.clientSeq));
          const wholeOwn = whole.batch.filter((r) => !whole.reminders.has(r.clientSeq));
          // A prefix of cutBatch's batch, ending on a row.
          expect(whole.batch.slice(0, batch.length)).toEqual(batch);
          expect(whole.reminders.has(batch.at(-1)!.clientSeq)).toBe(false);
          // Every row on the lead's side of the settle boundary.
          for (const r of own) expect(r.clientSeq <= settleUpTo).toBe(settle);
          // Repair rows: at or below the boundary, or of a decision that starts there.
          for (const r of own) {
            if (!repair) expect(r.clientSeq > repairUpTo || repairUpTo === 0).toBe(true);
            else if (r.clientSeq > repairUpTo) expect(r.command!.first).toBeLessThanOrEqual(repairUpTo);
          }
          // Where it ends inside a decision that goes on in cutBatch's batch: at the settle boundary.
          const next = wholeOwn[own.length];
          const last = own.at(-1)!;
          if (
            next !== undefined &&
            last.command !== undefined &&
            next.command?.first === last.command.first
          ) {
            expect(last.clientSeq <= settleUpTo && next.clientSeq > settleUpTo).toBe(true);
          }
        },
      ),
      { numRuns: 1000 },
    );
  });
});
