import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ClientErrorCode } from '../client-error.ts';
import { createBackoff } from './backoff.ts';
import type { SessionConfig } from './session-host.ts';
import { SessionLink } from './session-link.ts';
import type { SyncSocket } from './sync-socket.ts';

const TIMEOUT_MS = 1_000;

/** A socket that connects at once and keeps each request's ack for the test to call. */
class FakeSocket implements SyncSocket {
  connected = false;
  readonly acks: ((answer: unknown) => void)[] = [];
  readonly sent: string[] = [];
  readonly #listeners = new Map<string, (...args: unknown[]) => void>();

  connect(): void {
    this.connected = true;
    queueMicrotask(() => this.#listeners.get('connect')?.());
  }

  disconnect(): void {
    this.connected = false;
  }

  on(event: string, listener: (...args: unknown[]) => void): void {
    this.#listeners.set(event, listener);
  }

  /** What the next emit throws, if anything (a payload the socket cannot send). */
  throwOnEmit: Error | undefined;

  emit(event: string, ...args: unknown[]): void {
    const thrown = this.throwOnEmit;
    this.throwOnEmit = undefined;
    if (thrown !== undefined) throw thrown;
    this.sent.push(event);
    const ack = args[1];
    if (typeof ack === 'function') this.acks.push(ack as (answer: unknown) => void);
  }
}

async function openLink(): Promise<{ link: SessionLink; socket: FakeSocket }> {
  const socket = new FakeSocket();
  const config: SessionConfig = {
    url: 'http://hub.test',
    token: undefined,
    io: {},
    socket: () => socket,
    fingerprint: null,
    warnings: { refused: () => undefined, held: () => undefined } as unknown as SessionConfig['warnings'],
    maxEvents: 100,
    maxBytes: 1_000_000,
    inFlight: 4,
    pullLimit: 100,
    requestTimeoutMs: TIMEOUT_MS,
    holdBackoff: createBackoff(),
  };
  const link = new SessionLink(config);
  await link.connect(undefined, { live: () => undefined, notify: () => undefined, report: () => undefined });
  return { link, socket };
}

describe('SessionLink requests', () => {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance', 'Date'] });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('arms one watchdog timer for the requests in flight, not one timer each', async () => {
    const { link, socket } = await openLink();
    const armed = vi.spyOn(globalThis, 'setTimeout');
    const answers = [link.request('push', 1), link.request('push', 2), link.request('push', 3)];
    expect(socket.sent).toEqual(['push', 'push', 'push']);
    expect(armed).toHaveBeenCalledTimes(1);
    socket.acks.forEach((ack, i) => ack(`answer ${i}`));
    await expect(Promise.all(answers)).resolves.toEqual(['answer 0', 'answer 1', 'answer 2']);
    // The next request finds the watchdog armed still: no timer either.
    const next = link.request('push', 4);
    socket.acks[3]!('answer 3');
    await expect(next).resolves.toBe('answer 3');
    expect(armed).toHaveBeenCalledTimes(1);
    expect(link.open).toBe(true);
  });

  it('times out a request its own timeout after it was sent, even when the watchdog was armed for an earlier one', async () => {
    const { link, socket } = await openLink();
    const first = link.request('push', 1);
    socket.acks[0]!('ok');
    await expect(first).resolves.toBe('ok');
    vi.advanceTimersByTime(TIMEOUT_MS / 2);
    const second = link.request('pull', 2);
    const failed = second.catch((error: unknown) => error);
    // The watchdog fires at the first request's deadline: the second has half its time left.
    vi.advanceTimersByTime(TIMEOUT_MS / 2);
    expect(link.open).toBe(true);
    vi.advanceTimersByTime(TIMEOUT_MS / 2 - 1);
    expect(link.open).toBe(true);
    vi.advanceTimersByTime(1);
    expect(link.open).toBe(false);
    const error = await failed;
    expect(error).toMatchObject({ code: ClientErrorCode.timeout });
    expect(String((error as Error).message)).toContain('did not answer pull');
    await expect(link.outcome).resolves.toMatchObject({ error: { code: ClientErrorCode.timeout } });
  });

  it('fails every request waiting when one times out, and ignores an answer that comes after', async () => {
    const { link, socket } = await openLink();
    const first = link.request('push', 1).catch((error: unknown) => error);
    vi.advanceTimersByTime(10);
    const second = link.request('push', 2).catch((error: unknown) => error);
    vi.advanceTimersByTime(TIMEOUT_MS - 10);
    expect(await first).toMatchObject({ code: ClientErrorCode.timeout });
    expect(await second).toMatchObject({ code: ClientErrorCode.timeout });
    socket.acks[1]!('late');
    expect(await second).toMatchObject({ code: ClientErrorCode.timeout });
  });

  it('rejects a request whose emit throws with that error, and does not wait for its answer', async () => {
    const { link, socket } = await openLink();
    socket.throwOnEmit = new Error('cannot encode');
    await expect(link.request('push', 1)).rejects.toThrow('cannot encode');
    vi.advanceTimersByTime(TIMEOUT_MS * 2);
    // Never sent, so never timed out: the session goes on.
    expect(link.open).toBe(true);
    const next = link.request('push', 2);
    socket.acks[0]!('ok');
    await expect(next).resolves.toBe('ok');
  });

  it('fails the requests waiting when the session ends', async () => {
    const { link } = await openLink();
    const waiting = link.request('push', 1).catch((error: unknown) => error);
    link.finish(undefined);
    expect(await waiting).toMatchObject({ code: ClientErrorCode.connectionFailed });
    await expect(link.request('push', 2)).rejects.toMatchObject({ code: ClientErrorCode.connectionFailed });
  });
});
