import { PROTOCOL_VERSION, type LiveEvents, type PushAck } from '@eventloom/protocol';
import { describe, expect, it } from 'vitest';
import { createHubTestKit, pull, push } from './create-hub.test-kit.ts';
import { collect, makeEvent, request, until } from './test-kit.ts';

const { setup } = createHubTestKit();

describe('createHub: push, ack, pull, broadcast', () => {
  it('commits pushed events in order, acks them, and serves them by pull and live broadcast', async () => {
    const { client } = await setup();
    const a = await client('alice', 'client-a', ['list:*']);
    const b = await client('bob', 'client-b', ['list:*']);
    const c = await client('carol', 'client-c', ['other']);
    expect(a.welcome).toMatchObject({
      protocol: PROTOCOL_VERSION,
      minProtocol: 1,
      head: 0,
      lastClientSeq: 0,
    });
    const live = collect<LiveEvents>(b.socket, 'events');
    const notForC = collect<LiveEvents>(c.socket, 'events');

    const events = [1, 2, 3].map((seq) =>
      makeEvent('client-a', seq, { meta: { principal: { sub: 'mallory' } } }),
    );
    const ack = await push(a.socket, events);
    expect(ack.results).toEqual(
      events.map((e, i) => ({ status: 'ok', id: e.id, position: i + 1, streamVersion: i + 1 })),
    );

    const page = await pull(b.socket);
    expect(page).toMatchObject({ head: 3, until: 3, more: false });
    expect(page.events.map((e) => e.id)).toEqual(events.map((e) => e.id));
    // The hub writes the authenticated principal, whatever the client claimed.
    expect(page.events.map((e) => e.meta.principal)).toEqual(
      Array(3).fill({ sub: 'alice', iss: 'eventloom-test' }),
    );

    await until(() => live.flatMap((m) => m.events).length === 3, 'live events');
    expect(live[0]!.prev).toBe(0);
    expect(live.flatMap((m) => m.events.map((e) => e.position))).toEqual([1, 2, 3]);
    const again = await pull(c.socket);
    expect(again.events).toEqual([]);
    expect(notForC).toEqual([]);
  });

  it('pages a pull with until and more, and filters it by the socket subscriptions', async () => {
    const { client } = await setup();
    const a = await client('alice', 'client-a');
    const b = await client('bob', 'client-b', ['list:2']);
    const events = Array.from({ length: 10 }, (_, i) =>
      makeEvent('client-a', i + 1, { stream: i % 2 === 0 ? 'list:1' : 'list:2' }),
    );
    await push(a.socket, events);
    const first = await pull(a.socket, 0, 4);
    expect(first).toMatchObject({ until: 4, head: 10, more: true });
    const second = await pull(a.socket, first.until, 100);
    expect(second.events.map((e) => e.position)).toEqual([5, 6, 7, 8, 9, 10]);
    expect(second.more).toBe(false);
    const filtered = await pull(b.socket);
    expect(filtered.events.map((e) => e.stream)).toEqual(Array(5).fill('list:2'));
    const intersected = await pull(b.socket, 0, 100, ['list:1']);
    expect(intersected.events).toEqual([]);
  });

  it('sends live events in position order with prev, so a client can detect what it missed', async () => {
    const { client } = await setup();
    const a = await client('alice', 'client-a');
    const b = await client('bob', 'client-b');
    const watcher = await client('watcher', 'client-w', ['*']);
    const live = collect<LiveEvents>(watcher.socket, 'events');
    const pushes: Promise<PushAck>[] = [];
    for (let i = 1; i <= 20; i++) {
      pushes.push(push(a.socket, [makeEvent('client-a', i)]));
      pushes.push(push(b.socket, [makeEvent('client-b', i)]));
    }
    await Promise.all(pushes);
    await until(() => live.flatMap((m) => m.events).length === 40, 'all live events');
    let last = 0;
    for (const message of live) {
      expect(message.prev).toBe(last);
      for (const event of message.events) expect(event.position).toBe(++last);
    }
  });
});

describe('createHub: idempotency and ordering', () => {
  it('stores the same batch sent twice once, and answers the second with duplicates', async () => {
    const { client, store } = await setup();
    const a = await client('alice', 'client-a');
    const batch = [1, 2, 3].map((seq) => makeEvent('client-a', seq));
    const first = await push(a.socket, batch);
    const second = await push(a.socket, batch);
    expect(second.results).toEqual(
      first.results.map((r) => ({
        status: 'duplicate',
        id: r.id,
        position: (r as { position: number }).position,
      })),
    );
    expect(await store.head()).toBe(3);
  });

  it('stores an event sent in two different batches once', async () => {
    const { client, store } = await setup();
    const a = await client('alice', 'client-a');
    const [e1, e2, e3] = [1, 2, 3].map((seq) => makeEvent('client-a', seq));
    await push(a.socket, [e1, e2]);
    const ack = await push(a.socket, [e2, e3]);
    expect(ack.results.map((r) => r.status)).toEqual(['duplicate', 'ok']);
    const page = await pull(a.socket);
    expect(page.events.map((e) => e.id)).toEqual([e1!.id, e2!.id, e3!.id]);
    expect(await store.head()).toBe(3);
  });

  it('answers id-conflict when an id comes back with other content', async () => {
    const { client } = await setup();
    const a = await client('alice', 'client-a');
    const original = makeEvent('client-a', 1);
    await push(a.socket, [original]);
    const ack = await push(a.socket, [{ ...original, clientSeq: 2, data: { title: 'changed' } }]);
    expect(ack.results[0]).toMatchObject({ status: 'rejected', id: original.id, code: 'id-conflict' });
  });

  it('accepts exactly one of 50 concurrent pushes that expect the same stream version', async () => {
    const { client, store } = await setup();
    const clients = await Promise.all(
      Array.from({ length: 50 }, (_, i) => client(`user-${i}`, `client-${i}`)),
    );
    const acks = await Promise.all(
      clients.map((c, i) =>
        push(c.socket, [makeEvent(`client-${i}`, 1, { stream: 'seat:1A', expectedVersion: 0 })]),
      ),
    );
    const results = acks.map((a) => a.results[0]!);
    expect(results.filter((r) => r.status === 'ok')).toHaveLength(1);
    const refused = results.filter((r) => r.status === 'rejected');
    expect(refused).toHaveLength(49);
    for (const r of refused) expect(r).toMatchObject({ code: 'wrong-expected-version', currentVersion: 1 });
    expect(await store.streamVersion('seat:1A')).toBe(1);
  });

  it('holds an event whose clientSeq skips ahead until the gap is filled', async () => {
    const { client } = await setup();
    const a = await client('alice', 'client-a');
    const [e1, e2, e3] = [1, 2, 3].map((seq) => makeEvent('client-a', seq));
    const answered: string[] = [];
    const late = push(a.socket, [e3!]).then((ack) => (answered.push('e3'), ack));
    const middle = push(a.socket, [e2!]).then((ack) => (answered.push('e2'), ack));
    // A pull answered after both pushes arrived: they are held, not answered.
    await pull(a.socket);
    expect(answered).toEqual([]);
    const first = await push(a.socket, [e1!]);
    expect(first.results[0]).toMatchObject({ status: 'ok', position: 1 });
    expect((await middle).results[0]).toMatchObject({ status: 'ok', position: 2 });
    expect((await late).results[0]).toMatchObject({ status: 'ok', position: 3 });
    expect((await pull(a.socket)).events.map((e) => e.clientSeq)).toEqual([1, 2, 3]);
  });

  it('answers sequence-gap when the gap is not filled in time, and stores nothing', async () => {
    const { client, store } = await setup({ limits: { gapTimeoutMs: 20 } });
    const a = await client('alice', 'client-a');
    const ack = await push(a.socket, [makeEvent('client-a', 5)]);
    expect(ack.results[0]).toMatchObject({ status: 'rejected', code: 'sequence-gap' });
    expect(await store.head()).toBe(0);
    expect((await store.client('client-a')).lastClientSeq).toBe(0);
  });

  it('changes nothing when a captured push frame is replayed', async () => {
    const { client, store } = await setup();
    const a = await client('alice', 'client-a');
    const frame = { events: [1, 2].map((seq) => makeEvent('client-a', seq)) };
    const original = await request<PushAck>(a.socket, 'push', frame);
    const before = await pull(a.socket);
    // The replay comes from the same principal on a new connection, long after.
    const replayer = await client('alice', 'client-a');
    const replay = await request<PushAck>(replayer.socket, 'push', structuredClone(frame));
    expect(replay.results.map((r) => r.status)).toEqual(['duplicate', 'duplicate']);
    expect(replay.results.map((r) => (r as { position: number }).position)).toEqual(
      original.results.map((r) => (r as { position: number }).position),
    );
    expect(await pull(a.socket)).toEqual(before);
    expect(await store.head()).toBe(2);
  });
});
