import type { CommittedEvent, EventEnvelope } from '../envelope.ts';

let counter = 0;

/** A fresh, valid UUIDv7 built from a counter: deterministic, for tests only. */
export function sampleEventId(n: number = ++counter): string {
  const hex = n.toString(16).padStart(12, '0').slice(-12);
  return `0190a1b2-c3d4-7e5f-8a6b-${hex}`;
}

/** A valid client-written envelope, with any field overridden. */
export function sampleEnvelope(overrides: Partial<EventEnvelope> = {}): EventEnvelope {
  const clientSeq = overrides.clientSeq ?? 1;
  return {
    id: sampleEventId(),
    type: 'todo.added',
    version: 1,
    kind: 'domain',
    stream: 'list:1',
    data: { title: 'milk' },
    meta: {},
    clientId: 'client-a',
    clientSeq,
    hlc: `${String(1_732_700_000_000 + clientSeq).padStart(15, '0')}-0000000000-client-a`,
    ...overrides,
  };
}

/** A valid committed event, with any field overridden. */
export function sampleCommitted(overrides: Partial<CommittedEvent> = {}): CommittedEvent {
  const position = overrides.position ?? 1;
  return {
    ...sampleEnvelope({ clientSeq: position }),
    position,
    streamVersion: position,
    recordedAt: '2026-11-27T10:00:00.000Z',
    ...overrides,
  };
}
