import type { PushResult } from '@eventloom/protocol';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { createHubTestKit, push } from './create-hub.test-kit.ts';
import { collect, connectClient, hello, makeEvent, request, signToken, until } from './test-kit.ts';

const { scope, setup } = createHubTestKit();

describe('createHub: protocol', () => {
  it('answers not-ready to a message before hello', async () => {
    const { url } = await setup();
    const socket = await connectClient(url, { token: await signToken('alice') });
    scope.defer(() => socket.disconnect());
    const answer = await request<{ error: { code: string } }>(socket, 'push', {
      events: [makeEvent('x', 1)],
    });
    expect(answer.error.code).toBe('not-ready');
    expect(
      (await request<{ error: { code: string } }>(socket, 'pull', { from: 0, limit: 1 })).error.code,
    ).toBe('not-ready');
  });

  it('refuses a protocol too old or too new, and a second hello', async () => {
    const { url } = await setup();
    const socket = await connectClient(url, { token: await signToken('alice') });
    scope.defer(() => socket.disconnect());
    expect((await hello(socket, 'client-a', [], 0)).error?.code).toBe('protocol-too-old');
    expect((await hello(socket, 'client-a', [], 99)).error?.code).toBe('protocol-too-new');
    expect((await hello(socket, 'client-a', [])).lastClientSeq).toBe(0);
    expect((await hello(socket, 'client-a', [])).error?.code).toBe('invalid');
  });

  it('answers malformed messages with a coded error and keeps serving the socket', async () => {
    const { client } = await setup();
    const a = await client('alice', 'client-a');
    const errors = collect<{ code: string }>(a.socket, 'hub-error');
    expect(
      (await request<{ error: { code: string } }>(a.socket, 'push', { events: 'nope' })).error.code,
    ).toBe('invalid');
    expect((await request<{ error: { code: string } }>(a.socket, 'push', { events: [] })).error.code).toBe(
      'invalid',
    );
    expect((await request<{ error: { code: string } }>(a.socket, 'launch', {})).error.code).toBe('invalid');
    a.socket.emit('push', { events: [] });
    a.socket.emit('whatever', 1, 2, 3);
    await until(() => errors.length === 2, 'hub-error messages');
    expect(errors.map((e) => e.code)).toEqual(['invalid', 'invalid']);
    const ack = await push(a.socket, [makeEvent('client-a', 1), { id: 'not-an-envelope' }]);
    expect(ack.results.map((r) => r.status)).toEqual(['ok', 'rejected']);
  });

  it('records an undecodable event of the connection itself so its sequence moves on', async () => {
    const { client, store } = await setup();
    const a = await client('alice', 'client-a');
    const bad = { ...makeEvent('client-a', 1), data: undefined, extra: true };
    const ack = await push(a.socket, [bad, makeEvent('client-a', 2)]);
    expect(ack.results.map((r) => r.status)).toEqual(['rejected', 'ok']);
    expect(ack.results[0]).toMatchObject({ code: 'invalid', id: bad.id });
    expect((await store.client('client-a')).lastClientSeq).toBe(2);
    expect((await push(a.socket, [bad])).results[0]).toMatchObject({ status: 'rejected', code: 'invalid' });
  });

  it('relays notify to the stream subscribers or to one client, and never stores it', async () => {
    const { client, store } = await setup();
    const a = await client('alice', 'client-a', ['room:1']);
    const b = await client('bob', 'client-b', ['room:1']);
    const c = await client('carol', 'client-c', ['room:2']);
    const toB = collect<Record<string, unknown>>(b.socket, 'notify');
    const toC = collect<Record<string, unknown>>(c.socket, 'notify');
    const toA = collect<Record<string, unknown>>(a.socket, 'notify');
    a.socket.emit('notify', {
      id: makeEvent('x', 1).id,
      kind: 'notification',
      type: 'presence.typing',
      stream: 'room:1',
      data: { typing: true },
    });
    await until(() => toB.length === 1, 'notify to b');
    expect(toB[0]).toMatchObject({
      from: 'client-a',
      type: 'presence.typing',
      meta: { principal: { sub: 'alice' } },
    });
    c.socket.emit('notify', {
      id: makeEvent('x', 1).id,
      kind: 'reply',
      type: 'q.reply',
      stream: 'room:1',
      data: 1,
      to: 'client-a',
    });
    await until(() => toA.length === 1, 'directed notify');
    expect(toB).toHaveLength(1);
    expect(toC).toEqual([]);
    expect(await store.head()).toBe(0);
  });
});

describe('createHub: registry', () => {
  const registry = {
    fingerprint: 'fp-1',
    validate(event: { type: string; version: number; data: unknown }) {
      if (event.type !== 'todo.added' || event.version !== 1) {
        return {
          ok: false as const,
          error: { code: 'unknown-event-version' as const, message: 'unknown', path: 'type' },
        };
      }
      const title = (event.data as { title?: unknown } | null)?.title;
      return typeof title === 'string'
        ? { ok: true as const, value: event }
        : {
            ok: false as const,
            error: { code: 'invalid' as const, message: 'data.title: expected string', path: 'data.title' },
          };
    },
  };

  it('tells clients of protocol 2 its fingerprint, and warns in its log of another fingerprint and of refusals, with the fields', async () => {
    const lines: string[] = [];
    const logger = pino({ level: 'info' }, { write: (line: string) => lines.push(line) });
    const { url } = await setup({ registry, logger });
    const socket = await connectClient(url, { token: await signToken('alice') });
    scope.defer(() => socket.disconnect());
    expect(await hello(socket, 'client-a')).toMatchObject({ schemaFingerprint: 'fp-1' });
    const old = await connectClient(url, { token: await signToken('bob') });
    scope.defer(() => old.disconnect());
    expect(await hello(old, 'client-b', ['*'], 1)).not.toHaveProperty('schemaFingerprint');
    await push(socket, [
      makeEvent('client-a', 1, { data: { title: 3 } }),
      makeEvent('client-a', 2, { data: {} }),
    ]);
    const warnings = lines
      .map((l) => JSON.parse(l) as { level: number; msg: string; code?: string; count?: number })
      .filter((l) => l.level === 40);
    expect(warnings.filter((w) => /fingerprint differs/.test(w.msg))).toHaveLength(2);
    expect(warnings.find((w) => w.code === 'invalid')).toMatchObject({
      count: 2,
      msg: '2 pushed events refused (invalid): data.title: expected string',
    });
  });

  it('rejects invalid data (recorded) and, for a client of protocol 3, unknown versions (not recorded, later events wait)', async () => {
    const { url, store } = await setup({ registry });
    const socket = await connectClient(url, { token: await signToken('alice') });
    scope.defer(() => socket.disconnect());
    await hello(socket, 'client-a', ['*'], 3);
    const a = { socket };
    const invalid = makeEvent('client-a', 1, { data: { title: 3 } });
    const unknown = makeEvent('client-a', 2, { version: 2 });
    const after = makeEvent('client-a', 3);
    const ack = await push(a.socket, [invalid, unknown, after]);
    expect(ack.results).toMatchObject([
      { status: 'rejected', code: 'invalid' },
      { status: 'rejected', code: 'unknown-event-version' },
      { status: 'rejected', code: 'sequence-gap' },
    ]);
    expect((await store.client('client-a')).lastClientSeq).toBe(1);
    expect(await store.head()).toBe(0);
    // Once the client sends a version the hub knows for seq 2, the sequence goes on.
    const fixed = await push(a.socket, [{ ...unknown, version: 1 }, after]);
    expect(fixed.results.map((r: PushResult) => r.status)).toEqual(['ok', 'ok']);
  });

  it('records the unknown-version refusal of a client of protocol 4, so that its later events go on', async () => {
    const { client, store } = await setup({ registry });
    const a = await client('alice', 'client-a');
    const unknown = makeEvent('client-a', 1, { version: 2 });
    const after = makeEvent('client-a', 2);
    const ack = await push(a.socket, [unknown, after]);
    expect(ack.results).toMatchObject([
      { status: 'rejected', code: 'unknown-event-version' },
      { status: 'ok', position: 1 },
    ]);
    expect((await store.client('client-a')).lastClientSeq).toBe(2);
    // Sent again by the client, same id under a new seq, once the hub knows it: committed.
    const again = await push(a.socket, [{ ...unknown, clientSeq: 3, version: 1 }]);
    expect(again.results).toMatchObject([{ status: 'ok', id: unknown.id, position: 2 }]);
    // The old seq still answers its recorded refusal.
    expect((await push(a.socket, [unknown])).results).toMatchObject([
      { status: 'rejected', code: 'unknown-event-version' },
    ]);
  });
});
