import { describe, expect, it, vi } from 'vitest';
import type { Authorize } from './hub-options.ts';
import { SessionDecisions } from './session-decisions.ts';
import { silentLogger } from './test-kit.ts';

const principal = { sub: 'alice' };
const decisions = (authorize: Authorize) => new SessionDecisions(authorize, principal, {}, silentLogger);

describe('SessionDecisions', () => {
  it('asks the hook once per action, event kind and stream, an empty kind apart from none', () => {
    const authorize = vi.fn<Authorize>(
      (_p, action, stream, context) => action === 'notify' || stream === 'a' || context.kind === '',
    );
    const d = decisions(authorize);
    for (let round = 0; round < 3; round++) {
      expect(d.allowed('subscribe', 'a')).toBe(true);
      expect(d.allowed('subscribe', 'b')).toBe(false);
      expect(d.allowed('pull', 'b')).toBe(false);
      expect(d.allowed('notify', 'b', 'ping')).toBe(true);
      expect(d.allowed('push', 'b', '')).toBe(true);
      expect(d.allowed('push', 'b')).toBe(false);
    }
    expect(authorize.mock.calls.map(([, action, stream, context]) => [action, stream, context])).toEqual([
      ['subscribe', 'a', { claims: {} }],
      ['subscribe', 'b', { claims: {} }],
      ['pull', 'b', { claims: {} }],
      ['notify', 'b', { claims: {}, kind: 'ping' }],
      ['push', 'b', { claims: {}, kind: '' }],
      ['push', 'b', { claims: {} }],
    ]);
  });

  it('asks once while an answer is pending, then answers with what it settled to', async () => {
    let settle: (allowed: boolean) => void = () => undefined;
    const authorize = vi.fn<Authorize>(() => new Promise<boolean>((resolve) => (settle = resolve)));
    const d = decisions(authorize);
    const first = d.allowed('subscribe', 'a');
    expect(d.allowed('subscribe', 'a')).toBe(first);
    settle(true);
    expect(await first).toBe(true);
    expect(d.allowed('subscribe', 'a')).toBe(true);
    expect(authorize).toHaveBeenCalledTimes(1);
  });

  it('denies when the hook throws or rejects, and asks again next time', async () => {
    const authorize = vi
      .fn<Authorize>()
      .mockImplementationOnce(() => {
        throw new Error('down');
      })
      .mockImplementationOnce(() => Promise.reject(new Error('down')))
      .mockImplementation(() => true);
    const d = decisions(authorize);
    expect(d.allowed('subscribe', 'a')).toBe(false);
    expect(await d.allowed('subscribe', 'a')).toBe(false);
    expect(d.allowed('subscribe', 'a')).toBe(true);
    expect(d.allowed('subscribe', 'a')).toBe(true);
    expect(authorize).toHaveBeenCalledTimes(3);
  });

  it('holds at most 10,000 decisions: past that it starts over, and asks again', () => {
    const authorize = vi.fn<Authorize>(() => true);
    const d = decisions(authorize);
    for (let i = 0; i < 10_000; i++)
      expect(d.allowed(i % 2 === 0 ? 'pull' : 'subscribe', `s${i}`)).toBe(true);
    expect(d.allowed('pull', 's0')).toBe(true);
    expect(authorize).toHaveBeenCalledTimes(10_000);
    expect(d.allowed('pull', 'one more')).toBe(true);
    expect(d.allowed('pull', 's0')).toBe(true);
    expect(authorize).toHaveBeenCalledTimes(10_002);
  });

  it('lets every decision go once the connection closed', () => {
    const authorize = vi.fn<Authorize>(() => true);
    const d = decisions(authorize);
    expect(d.allowed('subscribe', 'a')).toBe(true);
    d.forget();
    expect(d.allowed('subscribe', 'a')).toBe(true);
    expect(authorize).toHaveBeenCalledTimes(2);
  });
});
