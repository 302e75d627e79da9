import type { EventEnvelope } from '@eventloom/protocol';
import { sampleEventId } from '@eventloom/protocol/testing';

/** Client `c`'s outbox for hub-ingest: `count` todo events (≈ 450 bytes committed), seq 1… */
export function ingestOutbox(c: number, count: number): EventEnvelope[] {
  const clientId = `client-${c}`;
  return Array.from({ length: count }, (_, i) => {
    const n = c * count + i + 1;
    return {
      id: sampleEventId(n),
      type: 'todo.added',
      version: 1,
      kind: 'domain',
      stream: `list:${n % 100}`,
      data: {
        todoId: `todo-${n}`,
        title: `Buy item number ${n}`,
        done: n % 3 === 0,
        tags: ['home', 'errand'],
      },
      meta: { correlationId: `corr-${n}` },
      clientId,
      clientSeq: i + 1,
      hlc: `${String(1_732_700_000_000 + n).padStart(15, '0')}-0000000000-${clientId}`,
    };
  });
}
