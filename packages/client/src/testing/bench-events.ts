import type { CommittedEvent } from '@eventloom/protocol';
import { sampleEventId } from '@eventloom/protocol/testing';
import { TodoAdded, TodoDone } from './todo-model.ts';

/** 100k: the size every client benchmark works on. */
export const N = 100_000;
/** Events per appendMany and per confirmed page. */
export const BATCH = 1000;
/** Distinct streams the events fall into. */
export const STREAMS = 1000;

/** The i-th to-do event to append: mostly additions, every third one a completion. */
export function todoInput(i: number) {
  return i % 3 === 2
    ? { ...TodoDone.create({ id: `t${i - 1}` }), stream: `list:${i % STREAMS}` }
    : {
        ...TodoAdded.create({ id: `t${i}`, title: `to-do number ${i}`, tags: ['bench'] }),
        stream: `list:${i % STREAMS}`,
      };
}

/** `n` confirmed events from other clients, positions 1 … n, as a pull would bring them. */
export function committedEvents(n: number): CommittedEvent[] {
  const recordedAt = '2026-11-27T10:00:00.000Z';
  return Array.from({ length: n }, (_, i) => {
    const input = todoInput(i);
    return {
      id: sampleEventId(i + 1),
      type: input.type,
      version: input.version,
      kind: input.kind,
      stream: input.stream,
      data: input.data,
      meta: {},
      clientId: `client-${i % 7}`,
      clientSeq: Math.floor(i / 7) + 1,
      hlc: `${String(1_800_000_000_000 + i).padStart(15, '0')}-0000000000-client-${i % 7}`,
      position: i + 1,
      streamVersion: Math.floor(i / STREAMS) + 1,
      recordedAt,
    };
  });
}

/** A fresh database name. */
export function dbName(label: string): string {
  return `bench-${label}-${Date.now()}-${Math.random().toString(36).slice(2)}`;
}
