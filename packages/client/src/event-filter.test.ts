import type { CommittedEvent } from '@eventloom/protocol';
import { describe, expect, it } from 'vitest';
import { confirmedQuery, eventMatcher } from './event-filter.ts';

const event = (stream: string, type: string) => ({ stream, type }) as CommittedEvent;

describe('confirmedQuery', () => {
  it('reads from the filter’s position (0 by default) up to the given one, with only the keys given', () => {
    expect(confirmedQuery({}, 7)).toEqual({ from: 0, until: 7 });
    expect(Object.keys(confirmedQuery({}, 7))).toEqual(['from', 'until']);
    expect(confirmedQuery({ from: 3, stream: 'list:1' }, 9)).toEqual({ from: 3, until: 9, stream: 'list:1' });
  });

  it('takes one type or several as a list', () => {
    expect(confirmedQuery({ type: 'TodoAdded' }, 1).types).toEqual(['TodoAdded']);
    expect(confirmedQuery({ type: ['A', 'B'] }, 1).types).toEqual(['A', 'B']);
  });
});

describe('eventMatcher', () => {
  it('selects by stream and by type, one or several; an empty filter selects every event', () => {
    expect(eventMatcher({})(event('s', 'A'))).toBe(true);
    const inStream = eventMatcher({ stream: 's' });
    expect([inStream(event('s', 'A')), inStream(event('t', 'A'))]).toEqual([true, false]);
    const oneType = eventMatcher({ type: 'A' });
    expect([oneType(event('s', 'A')), oneType(event('s', 'B'))]).toEqual([true, false]);
    const both = eventMatcher({ stream: 's', type: ['A', 'B'] });
    expect([both(event('s', 'B')), both(event('s', 'C')), both(event('t', 'A'))]).toEqual([
      true,
      false,
      false,
    ]);
  });
});
