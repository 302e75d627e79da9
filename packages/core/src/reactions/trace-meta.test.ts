import { describe, expect, it } from 'vitest';
import { traceOf, withTrace } from './trace-meta.ts';

const TRACEPARENT = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';

describe('traceOf', () => {
  it('starts a conversation at an event without one, and carries on the one it belongs to', () => {
    expect(traceOf({ id: 'e1', meta: {} })).toEqual({ correlationId: 'e1', causationId: 'e1' });
    expect(
      traceOf({ id: 'e2', meta: { correlationId: 'c', causationId: 'e1', traceparent: TRACEPARENT } }),
    ).toEqual({
      correlationId: 'c',
      causationId: 'e2',
      traceparent: TRACEPARENT,
    });
  });
});

describe('withTrace', () => {
  it('stamps a draft, keeping the meta it sets itself', () => {
    const trace = { correlationId: 'c', causationId: 'e1' };
    expect(withTrace({ type: 't', data: 1, meta: { note: 'x' } }, trace)).toEqual({
      type: 't',
      data: 1,
      meta: { correlationId: 'c', causationId: 'e1', note: 'x' },
    });
    expect(withTrace({ type: 't', data: 1, meta: { correlationId: 'new' } }, trace).meta.correlationId).toBe(
      'new',
    );
  });
});
