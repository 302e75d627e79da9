import type { EventEnvelope } from '@eventloom/protocol';
import { sampleEnvelope } from '@eventloom/protocol/testing';
import { describe, expect, it } from 'vitest';
import type { OutboxRow } from '../client-store.ts';
import { decidedOnLost } from './lost-refusals.ts';
import { RefusalReminders } from './refusal-reminders.ts';

function row(clientSeq: number, over: Partial<EventEnvelope> = {}): OutboxRow {
  return {
    clientSeq,
    event: sampleEnvelope({ clientSeq, stream: 'list:1', expectedVersion: 1, ...over }),
  };
}

const none = () => false;

describe('decidedOnLost', () => {
  it('refuses the guarded rows of the stream decided on the lost refusal, and those after them', () => {
    const refused = row(1);
    const rows = [row(2), row(3, { expectedVersion: undefined }), row(4, { stream: 'list:2' }), row(5)];
    const refuse = decidedOnLost([{ row: refused, upTo: Infinity }], rows, none);
    expect(refuse.map((r) => r.clientSeq)).toEqual([2, 5]);
  });

  it('from the first row decided on it: rows after upTo chain through it', () => {
    // The refused row left the outbox when 2 was there: 2 was decided on it; 3 on 2.
    const refused = row(1);
    const refuse = decidedOnLost([{ row: refused, upTo: 2 }], [row(2), row(3)], none);
    expect(refuse.map((r) => r.clientSeq)).toEqual([2, 3]);
    // Nothing was decided on it: later rows were decided without it.
    expect(decidedOnLost([{ row: refused, upTo: 1 }], [row(2), row(3)], none)).toEqual([]);
  });

  it('leaves out the refused row itself and rows parked for a new decision', () => {
    const refused = row(1);
    const refuse = decidedOnLost(
      [{ row: refused, upTo: Infinity }],
      [refused, row(2), row(3)],
      (seq) => seq === 2,
    );
    expect(refuse.map((r) => r.clientSeq)).toEqual([3]);
  });
});

describe('RefusalReminders.forget', () => {
  it('takes out the refusals of seqs the hub no longer holds, and no others', () => {
    const reminders = new RefusalReminders();
    const kept = row(2, { stream: 'list:2' });
    const lost = row(5);
    reminders.refused(kept);
    reminders.refused(lost);
    expect(reminders.forget(3).map((l) => l.row.event.id)).toEqual([lost.event.id]);
    // No reminder goes for the lost one: the hub would judge it afresh.
    expect(reminders.for(row(6))).toBeUndefined();
    expect(reminders.for(row(6, { stream: 'list:2' }))?.event.id).toBe(kept.event.id);
    expect(reminders.forget(3)).toEqual([]);
  });
});
