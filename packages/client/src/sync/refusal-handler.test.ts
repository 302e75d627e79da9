import type { EventEnvelope } from '@eventloom/protocol';
import { sampleEnvelope } from '@eventloom/protocol/testing';
import { describe, expect, it } from 'vitest';
import type { OutboxRow, PendingCommand } from '../client-store.ts';
import type { SyncPort } from '../sync-port.ts';
import { RefusalHandler } from './refusal-handler.ts';
import { RefusalReminders } from './refusal-reminders.ts';
import type { AnyDecider } from './sync-types.ts';

const decider = { name: 'add' } as AnyDecider;

function row(clientSeq: number, over: Partial<EventEnvelope> = {}, first?: number): OutboxRow {
  const command: PendingCommand | undefined =
    first === undefined ? undefined : { decider: 'add', command: {}, first, attempt: 0 };
  return {
    clientSeq,
    event: sampleEnvelope({ clientSeq, stream: 'list:1', expectedVersion: 1, ...over }),
    ...(command === undefined ? {} : { command }),
  };
}

function handler(): RefusalHandler {
  return new RefusalHandler({
    port: {} as SyncPort,
    conflicts: undefined,
    deciders: [decider],
    maxRedecides: undefined,
    // No session: decisions stay queued, as while the device is offline.
    session: () => undefined,
    rejections: () => {},
    report: (error) => {
      throw error;
    },
    progressed: () => {},
  });
}

const refusal = (r: OutboxRow) => ({
  row: r,
  result: {
    status: 'rejected' as const,
    id: r.event.id,
    code: 'wrong-expected-version' as const,
    message: 'no',
    currentVersion: 2,
  },
});

describe('RefusalHandler after the outbox is numbered anew', () => {
  it('parks, queues and reminds with the refused rows under their new seqs', async () => {
    // A decision of two guarded events at 5 and 6, an unguarded row at 7; the first is refused.
    const first = row(5, {}, 5);
    const second = row(6, {}, 5);
    const h = handler();
    await h.refused([refusal(first)]);
    expect(h.parked(5)).toBe(true);
    expect(h.reminder(second)?.event.id).toBe(first.event.id);

    // A restored hub holds this device's seqs up to 2: the undecided rows go to 3, 4, 5.
    h.renumbered(
      new Map([
        [5, 3],
        [6, 4],
        [7, 5],
      ]),
    );
    // Seq 5 is now the unguarded row, which is not waiting for anything; the refused one is 3.
    expect(h.parked(5)).toBe(false);
    expect(h.parked(3)).toBe(true);
    const moved = { ...second, clientSeq: 4, event: { ...second.event, clientSeq: 4 } };
    const reminder = h.reminder(moved);
    expect([reminder?.clientSeq, reminder?.event.clientSeq, reminder?.event.id]).toEqual([
      3,
      3,
      first.event.id,
    ]);

    // The second event, refused with it under its new seq, joins the same decision.
    await h.refused([refusal({ ...moved, command: { ...moved.command!, first: 3 } })]);
    expect(h.waiting).toBe(1);
    expect(h.parked(4)).toBe(true);
  });
});

describe('RefusalReminders after the outbox is numbered anew', () => {
  it('keeps reminding exactly the rows decided on the refused event', () => {
    const reminders = new RefusalReminders();
    const refused = row(5);
    reminders.refused(refused);
    // It left the outbox (dead-lettered) while rows up to 7 were there: 6 and 7 were decided on it.
    reminders.settled(5, 7);
    // A `seq-used` refusal from 6: the hub holds this device's seqs up to 8, the rows go past it.
    reminders.renumbered(
      new Map([
        [6, 9],
        [7, 10],
        [8, 11],
      ]),
    );
    expect(reminders.for(row(9))?.event.id).toBe(refused.event.id);
    expect(reminders.for(row(10))?.event.id).toBe(refused.event.id);
    expect(reminders.for(row(11))).toBeUndefined();
    expect(reminders.for(row(12))).toBeUndefined();
  });
});
