import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decidedOnRefused, RefusedInBatch, type RefusalRuleEvent } from './refusal-rule.ts';

const event = fc.record<RefusalRuleEvent>({
  clientId: fc.constantFrom('c1', 'c2'),
  clientSeq: fc.integer({ min: 1, max: 20 }),
  stream: fc.constantFrom('s:a', 's:b'),
  expectedVersion: fc.option(fc.nat(5), { nil: undefined }),
});

describe('the refusal rule', () => {
  it('refuses exactly the later guarded events of the same client and stream, up to the settled seq', () => {
    fc.assert(
      fc.property(
        event,
        event,
        fc.option(fc.integer({ min: 0, max: 20 }), { nil: undefined }),
        (refused, later, upTo) => {
          const expected =
            later.expectedVersion !== undefined &&
            later.clientId === refused.clientId &&
            later.stream === refused.stream &&
            later.clientSeq > refused.clientSeq &&
            (upTo === undefined || later.clientSeq <= upTo);
          expect(decidedOnRefused(refused, later, upTo)).toBe(expected);
          // Never the refused event itself, nor anything before it.
          if (later.clientSeq <= refused.clientSeq)
            expect(decidedOnRefused(refused, later, upTo)).toBe(false);
        },
      ),
    );
  });

  it('in a batch: a guarded event is refused when its client was refused earlier on its stream', () => {
    // A batch as the hub sees one: each client's events in clientSeq order, some refused.
    const batch = fc
      .array(fc.record({ e: event, refusedOnItsOwn: fc.boolean() }), { maxLength: 30 })
      .map((items) => {
        const seqs = new Map<string, number>();
        return items.map(({ e, refusedOnItsOwn }) => {
          const clientSeq = (seqs.get(e.clientId) ?? 0) + 1;
          seqs.set(e.clientId, clientSeq);
          return { e: { ...e, clientSeq }, refusedOnItsOwn };
        });
      });
    fc.assert(
      fc.property(batch, (items) => {
        const rule = new RefusedInBatch();
        const refusedSoFar: RefusalRuleEvent[] = [];
        for (const { e, refusedOnItsOwn } of items) {
          const dependent = rule.decidedOn(e);
          const earlier = refusedSoFar.find((r) => r.clientId === e.clientId && r.stream === e.stream);
          expect(dependent).toEqual(e.expectedVersion === undefined ? undefined : earlier);
          if (refusedOnItsOwn || dependent !== undefined) {
            rule.refused(e);
            refusedSoFar.push(e);
          }
        }
      }),
    );
  });
});
