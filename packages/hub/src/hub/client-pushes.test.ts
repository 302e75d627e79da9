import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { ClientPushes } from './client-pushes.ts';

/** A socket that is connected until `disconnect()`. */
class FakeSocket extends EventEmitter {
  disconnected = false;
  disconnect(): void {
    this.disconnected = true;
    this.emit('disconnect');
  }
}

function deferred(): { promise: Promise<unknown>; resolve: () => void; reject: (e: Error) => void } {
  let resolve!: () => void;
  let reject!: (e: Error) => void;
  const promise = new Promise<unknown>((res, rej) => {
    resolve = () => res(undefined);
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** Whether `promise` settled by the time the queued microtasks and one macrotask ran. */
async function isSettled(promise: Promise<unknown>): Promise<boolean> {
  let settled = false;
  void promise.then(() => (settled = true));
  await new Promise((resolve) => setImmediate(resolve));
  return settled;
}

describe('ClientPushes', () => {
  it('settles at once when nothing of the client id is in flight', async () => {
    const pushes = new ClientPushes();
    const other = deferred();
    pushes.track('b', other.promise);
    expect(await isSettled(pushes.settled('a', new FakeSocket()))).toBe(true);
  });

  it('waits for every push of the client id in flight, answered or failed', async () => {
    const pushes = new ClientPushes();
    const first = deferred();
    const second = deferred();
    const settledCalls: string[] = [];
    pushes.track('a', first.promise, () => settledCalls.push('first'));
    pushes.track('a', second.promise, () => settledCalls.push('second'));
    second.promise.catch(() => undefined);
    expect(pushes.inFlight('a')).toBe(2);
    const waited = pushes.settled('a', new FakeSocket());
    first.resolve();
    expect(await isSettled(waited)).toBe(false);
    second.reject(new Error('store down'));
    expect(await isSettled(waited)).toBe(true);
    expect(settledCalls).toEqual(['first', 'second']);
    expect(pushes.inFlight('a')).toBe(0);
  });

  it('does not wait for pushes tracked after the wait began', async () => {
    const pushes = new ClientPushes();
    const first = deferred();
    pushes.track('a', first.promise);
    const waited = pushes.settled('a', new FakeSocket());
    pushes.track('a', deferred().promise);
    first.resolve();
    expect(await isSettled(waited)).toBe(true);
  });

  it('stops waiting when the socket disconnects, and leaves no listener behind', async () => {
    const pushes = new ClientPushes();
    pushes.track('a', deferred().promise);
    const socket = new FakeSocket();
    const waited = pushes.settled('a', socket);
    expect(await isSettled(waited)).toBe(false);
    socket.disconnect();
    expect(await isSettled(waited)).toBe(true);
    expect(socket.listenerCount('disconnect')).toBe(0);
    expect(await isSettled(pushes.settled('a', socket))).toBe(true);
  });

  it('removes its disconnect listener once the pushes settled', async () => {
    const pushes = new ClientPushes();
    const push = deferred();
    pushes.track('a', push.promise);
    const socket = new FakeSocket();
    const waited = pushes.settled('a', socket);
    push.resolve();
    await waited;
    expect(socket.listenerCount('disconnect')).toBe(0);
  });
});
