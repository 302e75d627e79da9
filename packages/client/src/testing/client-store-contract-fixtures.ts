import type { CommittedEvent, EventEnvelope } from '@eventloom/protocol';
import { sampleCommitted, sampleEnvelope } from '@eventloom/protocol/testing';
import type { ClientMeta, ClientStore } from '../client-store.ts';

/** Opens a store for a contract test: a new database, or `name`'s again. */
export type FreshStore = (name?: string) => Promise<{ store: ClientStore; meta: ClientMeta; name: string }>;

export function hlcOf(seq: number): string {
  return `${String(1_800_000_000_000 + seq).padStart(15, '0')}-0000000000-store`;
}

export function envelope(meta: ClientMeta, clientSeq: number): EventEnvelope {
  return sampleEnvelope({
    clientId: meta.clientId,
    clientSeq,
    hlc: hlcOf(clientSeq),
    stream: `list:${clientSeq % 2}`,
  });
}

export function build(meta: ClientMeta, count: number): { events: EventEnvelope[]; hlc: string } {
  const events = Array.from({ length: count }, (_, i) => envelope(meta, meta.clientSeq + i + 1));
  return { events, hlc: events.at(-1)!.hlc };
}

export function confirmed(event: EventEnvelope, position: number): CommittedEvent {
  return { ...event, position, streamVersion: position, recordedAt: '2026-11-27T10:00:00.000Z' };
}

export function positions(from: number, to: number): CommittedEvent[] {
  return Array.from({ length: to - from + 1 }, (_, i) =>
    sampleCommitted({ position: from + i, stream: `list:${i % 3}` }),
  );
}
