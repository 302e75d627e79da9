import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import type { HubOptions } from './hub-options.ts';
import { collect, newEventId, silentLogger, testScope, until } from './test-kit.ts';

const scope = testScope();

async function setup(queries: NonNullable<HubOptions['queries']>, logger = silentLogger) {
  const test = await scope.startHub({ queries, logger });
  const client = async (sub: string, clientId: string, subscriptions: string[]) => {
    const { socket } = await scope.client(test.url, sub, clientId, subscriptions);
    return { socket, notified: collect<Record<string, unknown>>(socket, 'notify') };
  };
  return { ...test, client };
}

const query = (type: string, data: unknown = null) => ({
  id: newEventId(),
  kind: 'query',
  type,
  stream: 'room:1',
  data,
  timeoutMs: 5000,
});

describe('createHub({ queries }): the hub answers some queries itself', () => {
  it('replies to the asker only, and does not relay a query it answered', async () => {
    const { client, store } = await setup({
      'hub.echo': (q, principal) => ({ echo: q.data, sub: principal.sub, from: q.from ?? null }),
    });
    const a = await client('alice', 'client-a', ['room:1']);
    const b = await client('bob', 'client-b', ['room:1']);
    const asked = query('hub.echo', { n: 1 });
    a.socket.emit('notify', asked);
    await until(() => a.notified.length === 1, 'the reply');
    expect(a.notified[0]).toEqual({
      id: expect.any(String),
      kind: 'reply',
      type: 'hub.echo',
      stream: 'room:1',
      data: { echo: { n: 1 }, sub: 'alice', from: 'client-a' },
      from: await store.hubId(),
      to: 'client-a',
      replyTo: asked.id,
    });
    // A barrier after it: b hears the next message, and nothing before.
    a.socket.emit('notify', { ...query('user.typing'), kind: 'notification', timeoutMs: undefined });
    await until(() => b.notified.length === 1, 'the barrier');
    expect(b.notified[0]).toMatchObject({ kind: 'notification', type: 'user.typing' });
    expect(await store.head()).toBe(0);
  });

  it('leaves a query to the clients when it has no handler for it, no answer, or the handler throws', async () => {
    const lines: string[] = [];
    const logger = pino({ level: 'warn' }, { write: (line: string) => lines.push(line) });
    const { client } = await setup(
      {
        'hub.silent': () => undefined,
        'hub.broken': () => {
          throw new Error('boom');
        },
      },
      logger,
    );
    const a = await client('alice', 'client-a', ['room:1']);
    const b = await client('bob', 'client-b', ['room:1']);
    for (const type of ['other.query', 'hub.silent', 'hub.broken', 'constructor']) {
      a.socket.emit('notify', query(type));
    }
    await until(() => b.notified.length === 4, 'the relayed queries');
    // Handlers are awaited: the relayed queries may come in another order.
    const relayed = b.notified.map((m) => [m['kind'], m['type'], m['from']].join(' '));
    expect(relayed.sort((x, y) => x.localeCompare(y))).toEqual([
      'query constructor client-a',
      'query hub.broken client-a',
      'query hub.silent client-a',
      'query other.query client-a',
    ]);
    expect(a.notified).toEqual([]);
    expect(lines.some((l) => l.includes('query handler threw'))).toBe(true);
  });
});
