import { sampleEnvelope } from '@eventloom/protocol/testing';
import { describe, expect, it } from 'vitest';
import { describeEventStore } from './describe-event-store.ts';
import { createMemoryStore } from './memory-store.ts';

describeEventStore('memory', () => createMemoryStore(), { propertyRuns: 100 });

describe('createMemoryStore', () => {
  it('uses the hub id it is given', async () => {
    const store = await createMemoryStore({ hubId: 'hub-1' });
    expect(await store.hubId()).toBe('hub-1');
  });

  it('scans at most scanWindow positions per filtered read, and says how far it got', async () => {
    const store = await createMemoryStore({ scanWindow: 4 });
    const streams = ['a', 'b', 'b', 'b', 'b', 'b', 'a', 'b'];
    await store.append(streams.map((stream, i) => ({ event: sampleEnvelope({ stream, clientSeq: i + 1 }) })));
    const first = await store.read({ from: 0, limit: 10, streams: ['a'] });
    expect([first.events.map((e) => e.position), first.until, first.head]).toEqual([[1], 4, 8]);
    const second = await store.read({ from: 4, limit: 10, streams: ['a'] });
    expect([second.events.map((e) => e.position), second.until]).toEqual([[7], 8]);
  });

  it('refuses a scanWindow that would never let a filtered read move on', async () => {
    await expect(createMemoryStore({ scanWindow: 0 })).rejects.toMatchObject({ code: 'config' });
  });

  it('hands out events that a reader cannot change', async () => {
    const store = await createMemoryStore();
    await store.append([{ event: sampleEnvelope({ data: { n: 1 } }) }]);
    const [event] = (await store.read({ from: 0, limit: 1 })).events;
    expect(() => {
      (event!.data as { n: number }).n = 2;
    }).toThrow(/read only/);
  });
});
