import type { LiveEvents, PushAck } from '@eventloom/protocol';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { collect, makeEvent, request, testScope, until } from './test-kit.ts';

const scope = testScope();

interface LogLine {
  readonly level: number;
  readonly msg: string;
  readonly [key: string]: unknown;
}

/** A test hub whose log lines at `level` and above are kept in `lines`. */
async function loggingHub(level: string) {
  const lines: LogLine[] = [];
  const logger = pino({ level }, { write: (line: string) => lines.push(JSON.parse(line) as LogLine) });
  return { lines, ...(await scope.startHub({ logger })) };
}

describe('event flow: the hub times each batch from receipt to commit to broadcast', () => {
  it('observes eventloom_event_flow_seconds by stage and logs each committed batch at debug level', async () => {
    const { lines, hub, url } = await loggingHub('debug');
    const { socket: writer } = await scope.client(url, 'alice', 'client-w');
    const { socket: reader } = await scope.client(url, 'bob', 'client-r');
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
    const { lines, hub, url } = await loggingHub('info');
    const { socket: writer } = await scope.client(url, 'alice', 'client-w');
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
