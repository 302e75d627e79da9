import { EPHEMERAL_EVENT_KINDS, EVENT_KINDS, STORED_EVENT_KINDS } from '@eventloom/protocol';
import { describe, expect, it } from 'vitest';
import { EventKinds, isEphemeralKind, isEventKind, isStoredKind } from './event-kinds.ts';

describe('event kinds', () => {
  it('names every kind of the protocol', () => {
    expect(Object.values(EventKinds).sort()).toEqual([...EVENT_KINDS].sort());
  });

  it('splits the kinds into stored and ephemeral, each kind in exactly one', () => {
    for (const kind of EVENT_KINDS) expect(isStoredKind(kind)).toBe(!isEphemeralKind(kind));
    expect(EVENT_KINDS.filter(isStoredKind)).toEqual([...STORED_EVENT_KINDS]);
    expect(EVENT_KINDS.filter(isEphemeralKind)).toEqual([...EPHEMERAL_EVENT_KINDS]);
    expect(isStoredKind(EventKinds.domain)).toBe(true);
    expect(isStoredKind(EventKinds.notification)).toBe(false);
  });

  it('recognises kind names only', () => {
    expect(isEventKind('command')).toBe(true);
    expect(isEventKind('Command')).toBe(false);
    expect(isEventKind(1)).toBe(false);
    expect(isEventKind(undefined)).toBe(false);
  });
});
