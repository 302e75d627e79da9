import { ErrorCode } from '@eventloom/protocol';
import { describe, expect, it } from 'vitest';
import { noneFenced, toPushResult } from './push-results.ts';

describe('toPushResult', () => {
  const used = {
    status: 'rejected',
    id: 'e-1',
    code: ErrorCode.seqUsed,
    message: 'clientSeq 2 of client c was already used by another event',
  } as const;

  it('says seq-used to a client of protocol 5, and invalid to older ones', () => {
    expect(toPushResult(used, 5)).toEqual(used);
    expect(toPushResult(used, 4)).toEqual({ ...used, code: ErrorCode.invalid });
  });

  it('passes other refusals as they are, whatever the protocol', () => {
    const refused = { ...used, code: ErrorCode.unauthorized };
    expect(toPushResult(refused, 4)).toEqual(refused);
  });
});

describe('noneFenced', () => {
  it('is false as soon as one event of the push was fenced (its session is superseded, not answered)', () => {
    const ok = { status: 'ok', id: 'e-1', position: 1, streamVersion: 1 } as const;
    expect(noneFenced([ok, { status: 'gap', id: 'e-2', expectedSeq: 1 }])).toBe(true);
    expect(noneFenced([ok, { status: 'fenced', id: 'e-2', epoch: 3 }])).toBe(false);
  });
});
