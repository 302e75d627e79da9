import type { LiveEvents, PushAck } from '@eventloom/protocol';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import {
  collect,
  connectClient,
  hello,
  makeEvent,
  request,
  signToken,
  startTestHub,
  until,
} from './test-kit.ts';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

interface LogLine {
  readonly level: number;
  readonly msg: string;
  readonly [key: string]: unknown;
}

describe('event flow: the hub times each batch from receipt to commit to broadcast', () => {
  it('observes eventloom_event_flow_seconds by stage and logs each committed batch at debug level', async () => {
    const lines: LogLine[] = [];
    const logger = pino(
      { level: 'debug' },
      { write: (line: string) => lines.push(JSON.parse(line) as LogLine) },
    );
    const test = await startTestHub({ logger });
    cleanups.push(() => test.close());
    const { hub, url } = test;
    const writer = await connectClient(url, { token: await signToken('alice') });
    const reader = await connectClient(url, { token: await signToken('bob') });
    cleanups.push(
      () => void writer.disconnect(),
      () => void reader.disconnect(),
    );
    await hello(writer, 'client-w');
    await hello(reader, 'client-r');
    const live = collect<LiveEvents>(reader, 'events');

    const first = [1, 2, 3].map((seq) => makeEvent('client-w', seq));
    const ack = await request<PushAck>(writer, 'push', { events: first });
    expect(ack.results.map((r) => r.status)).toEqual(['ok', 'ok', 'ok']);
    await request<PushAck>(writer, 'push', { events: [makeEvent('client-w', 4)] });
    await until(() => live.flatMap((m) => m.events).length === 4, 'live events');
    await until(
      () => lines.some((l) => l.msg === 'event flow: broadcast' && l['until'] === 4),
      'broadcast log',
    );

    const committed = lines.filter((l) => l.msg === 'event flow: committed');
    expect(committed).toMatchObject([
      {
        level: 20,
        clientId: 'client-w',
        events: 3,
        stored: 3,
        first: 1,
        last: 3,
        commitMs: expect.any(Number),
      },
      { level: 20, clientId: 'client-w', events: 1, stored: 1, first: 4, last: 4 },
    ]);
    const broadcast = lines.filter((l) => l.msg === 'event flow: broadcast');
    expect(broadcast.at(-1)).toMatchObject({ level: 20, until: 4, broadcastMs: expect.any(Number) });
    // One observation per commit (two pushes, acked one after the other: two commits).
    expect(broadcast.reduce((n, l) => n + (l['commits'] as number), 0)).toBe(2);

    const metric = await hub.metrics.registry.getSingleMetricAsString('eventloom_event_flow_seconds');
    expect(metric).toContain('eventloom_event_flow_seconds_count{stage="commit"} 2');
    expect(metric).toContain('eventloom_event_flow_seconds_count{stage="broadcast"} 2');
  });

  it('times only pushes that stored something, and logs nothing at the default level', async () => {
    const lines: LogLine[] = [];
    const logger = pino(
      { level: 'info' },
      { write: (line: string) => lines.push(JSON.parse(line) as LogLine) },
    );
    const test = await startTestHub({ logger });
    cleanups.push(() => test.close());
    const { hub, url } = test;
    const writer = await connectClient(url, { token: await signToken('alice') });
    cleanups.push(() => void writer.disconnect());
    await hello(writer, 'client-w');
    const event = makeEvent('client-w', 1);
    await request<PushAck>(writer, 'push', { events: [event] });
    // The same event again: a duplicate, nothing stored, nothing timed.
    const again = await request<PushAck>(writer, 'push', { events: [event] });
    expect(again.results[0]!.status).toBe('duplicate');
    expect(lines.filter((l) => String(l.msg).startsWith('event flow'))).toEqual([]);
    const metric = await hub.metrics.registry.getSingleMetricAsString('eventloom_event_flow_seconds');
    expect(metric).toContain('eventloom_event_flow_seconds_count{stage="commit"} 1');
  });
});
