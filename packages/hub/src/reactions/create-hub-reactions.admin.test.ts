import { defineHandler, type DeadLetter, type Handler, type Scheduler } from '@eventloom/core';
import { describe, expect, it } from 'vitest';
import { signToken } from '../hub/test-kit.ts';
import { adminToken, call, hubReactionsTestKit } from './create-hub-reactions.test-kit.ts';

const { rig } = hubReactionsTestKit();

describe('hub reactions: retries, dead letters and the admin endpoints', () => {
  /** A handler that fails while `failing` is true, and counts its successful runs per event. */
  function flaky(name: string, state: { failing: boolean; applied: string[] }): Handler {
    return defineHandler({
      name,
      on: 'order.placed',
      retry: { attempts: 3, backoff: { initialMs: 5, factor: 2, maxMs: 100 } },
      handle(event, ctx) {
        if (state.failing) throw new Error(`${name} is down (attempt ${ctx.attempt})`);
        state.applied.push(event.id);
        ctx.emit({
          type: 'invoice.sent',
          data: { by: name, orderId: (event.data as { orderId: string }).orderId },
        });
      },
    });
  }

  /** Real timers that also note each delay asked for. */
  function recordingScheduler(delays: number[]): Scheduler {
    return {
      now: () => Date.now(),
      schedule(delayMs, task) {
        delays.push(delayMs);
        const timer = setTimeout(task, delayMs);
        return () => clearTimeout(timer);
      },
    };
  }

  it('retries with backoff, dead-letters, shows it; a retry applies once; a replay never applies twice', async () => {
    const invoice = { failing: true, applied: [] as string[] };
    const audit = { failing: true, applied: [] as string[] };
    const delays: number[] = [];
    const r = await rig('sqlite', {
      handlers: [flaky('send-invoice', invoice), flaky('audit', audit)],
      scheduler: recordingScheduler(delays),
    });
    const ack = await r.push('order.placed', { orderId: 'o3' });
    const eventId = (ack.results[0] as { id: string }).id;
    await r.reactions.settled();
    // Three attempts each, 5 then 10 ms apart.
    expect(delays.filter((d) => d === 5)).toHaveLength(2);
    expect(delays.filter((d) => d === 10)).toHaveLength(2);

    const listed = await call(r.hub, 'GET', '/admin/dead-letters');
    expect(listed.status).toBe(200);
    const letters = listed.body['deadLetters'] as DeadLetter[];
    expect(letters.map((l) => l.id).sort()).toEqual([`audit/${eventId}`, `send-invoice/${eventId}`]);
    const letter = letters.find((l) => l.handler === 'send-invoice')!;
    expect(letter).toMatchObject({
      attempts: 3,
      error: { name: 'Error', message: 'send-invoice is down (attempt 3)', stack: expect.any(String) },
      event: { id: eventId, position: 1 },
    });
    expect(Date.parse(letter.lastFailedAt)).toBeGreaterThanOrEqual(Date.parse(letter.firstFailedAt));
    const one = await call(r.hub, 'GET', `/admin/dead-letters/${encodeURIComponent(letter.id)}`);
    expect(one).toMatchObject({ status: 200, body: { deadLetter: { id: letter.id } } });

    // Still failing: the retry fails again, counted.
    const again = await call(r.hub, 'POST', `/admin/dead-letters/${encodeURIComponent(letter.id)}/retry`);
    expect(again).toMatchObject({ status: 200, body: { outcome: { status: 'failed' } } });
    expect(await r.reactions.deadLetters.list()).toContainEqual(
      expect.objectContaining({ id: letter.id, attempts: 4 }),
    );

    invoice.failing = false;
    const retried = await call(r.hub, 'POST', `/admin/dead-letters/${encodeURIComponent(letter.id)}/retry`);
    expect(retried).toMatchObject({ status: 200, body: { outcome: { id: letter.id, status: 'applied' } } });
    await r.reactions.settled();
    expect(invoice.applied).toEqual([eventId]);
    expect((await r.log()).filter((e) => e.type === 'invoice.sent')).toHaveLength(1);

    // Replaying audit's letter into send-invoice, which applied the event already: nothing runs.
    const replayed = await call(
      r.hub,
      'POST',
      `/admin/dead-letters/${encodeURIComponent(`audit/${eventId}`)}/replay`,
      {
        body: JSON.stringify({ handler: 'send-invoice' }),
      },
    );
    expect(replayed).toMatchObject({ status: 200, body: { outcome: { status: 'duplicate' } } });
    expect(invoice.applied).toEqual([eventId]);
    // The retried letter is gone: retrying it again is 404, and applies nothing.
    const gone = await call(r.hub, 'POST', `/admin/dead-letters/${encodeURIComponent(letter.id)}/retry`);
    expect(gone).toMatchObject({ status: 404, body: { error: { code: 'not-found' } } });
    await r.reactions.settled();
    expect((await r.log()).filter((e) => e.type === 'invoice.sent')).toHaveLength(1);
    expect(await r.reactions.deadLetters.size()).toBe(0);
  });

  it('runs two replays of one letter sent at once only once, and retry-all and discard work', async () => {
    const invoice = { failing: true, applied: [] as string[] };
    const fallback = { failing: false, applied: [] as string[] };
    const r = await rig('sqlite', {
      handlers: [flaky('send-invoice', invoice)],
      replayHandlers: [flaky('send-invoice-v2', fallback)],
    });
    for (const orderId of ['a', 'b', 'c']) await r.push('order.placed', { orderId });
    await r.reactions.settled();
    const letters = await r.reactions.deadLetters.list();
    expect(letters).toHaveLength(3);
    const [first, second, third] = letters.map((l) => encodeURIComponent(l.id));
    const body = JSON.stringify({ handler: 'send-invoice-v2' });
    const both = await Promise.all([
      call(r.hub, 'POST', `/admin/dead-letters/${first}/replay`, { body }),
      call(r.hub, 'POST', `/admin/dead-letters/${first}/replay`, { body }),
    ]);
    expect(both.map((b) => b.status).sort((a, b) => a - b)).toEqual([200, 404]);
    expect(fallback.applied).toEqual([letters[0]!.event!.id]);

    const discarded = await call(r.hub, 'DELETE', `/admin/dead-letters/${second}`);
    expect(discarded).toMatchObject({ status: 200, body: { discarded: letters[1]!.id } });
    expect(await call(r.hub, 'DELETE', `/admin/dead-letters/${second}`)).toMatchObject({ status: 404 });

    invoice.failing = false;
    const all = await call(r.hub, 'POST', '/admin/dead-letters/retry');
    expect(all).toMatchObject({
      status: 200,
      body: { outcomes: [{ id: decodeURIComponent(third!), status: 'applied' }] },
    });
    await r.reactions.settled();
    expect(invoice.applied).toEqual([letters[2]!.event!.id]);
    expect(
      (await r.log()).filter((e) => e.type === 'invoice.sent').map((e) => (e.data as { by: string }).by),
    ).toEqual(['send-invoice-v2', 'send-invoice']);
  });

  it('answers bad admin input with 400, 404 or 405 and a coded error', async () => {
    const r = await rig('memory', { handlers: [flaky('send-invoice', { failing: true, applied: [] })] });
    await r.push('order.placed', { orderId: 'x' });
    await r.reactions.settled();
    const [letter] = await r.reactions.deadLetters.list();
    const path = `/admin/dead-letters/${encodeURIComponent(letter!.id)}`;
    expect(await call(r.hub, 'POST', `${path}/replay`)).toMatchObject({
      status: 400,
      body: { error: { code: 'invalid' } },
    });
    expect(await call(r.hub, 'POST', `${path}/replay`, { body: '{"handler":' })).toMatchObject({
      status: 400,
      body: { error: { code: 'invalid', message: 'the body is not JSON' } },
    });
    expect(await call(r.hub, 'POST', `${path}/replay`, { body: '{"handler":"nope"}' })).toMatchObject({
      status: 400,
      body: { error: { code: 'invalid', message: expect.stringContaining('no handler "nope"') } },
    });
    expect(await call(r.hub, 'POST', '/admin/dead-letters/%E0%A4%A/retry')).toMatchObject({ status: 400 });
    expect(await call(r.hub, 'PUT', path)).toMatchObject({
      status: 405,
      body: { error: { code: 'method-not-allowed' } },
    });
    expect(await call(r.hub, 'GET', '/admin/dead-letters/nope')).toMatchObject({ status: 404 });
    expect(await call(r.hub, 'GET', `${path}/frobnicate`)).toMatchObject({ status: 404 });
    expect(await r.reactions.deadLetters.size()).toBe(1);
  });

  it('refuses requests without a token, with a bad or expired one (401), and of non-admins (403)', async () => {
    const r = await rig('memory');
    const list = (token: string | null, header?: string) =>
      header === undefined
        ? call(r.hub, 'GET', '/admin/dead-letters', { token })
        : fetch(`${r.hub.url}/admin/dead-letters`, { headers: { authorization: header } }).then(
            async (res) => ({
              status: res.status,
              body: (await res.json()) as Record<string, unknown>,
            }),
          );
    const unauthenticated = { status: 401, body: { error: { code: 'unauthenticated' } } };
    expect(await list(null)).toMatchObject(unauthenticated);
    expect(await list(null, 'Basic b3BzOm9wcw==')).toMatchObject(unauthenticated);
    expect(
      await list(await adminToken('ops', ['admin'], 'another-secret-that-is-at-least-32-bytes!')),
    ).toMatchObject({
      ...unauthenticated,
      body: { error: { message: 'token signature invalid' } },
    });
    expect(
      await list(await signToken('ops', { expiresAt: Math.floor(Date.now() / 1000) - 60 })),
    ).toMatchObject(unauthenticated);
    const response = await fetch(`${r.hub.url}/admin/dead-letters`);
    expect(response.headers.get('www-authenticate')).toBe('Bearer');
    await response.body?.cancel();
    expect(await list(await adminToken('alice', ['user']))).toMatchObject({
      status: 403,
      body: { error: { code: 'forbidden' } },
    });
    expect(await list(await signToken('alice'))).toMatchObject({ status: 403 });
    expect(await list(await adminToken())).toMatchObject({ status: 200, body: { deadLetters: [] } });
    // Retry, replay and discard are guarded the same way.
    expect(await call(r.hub, 'POST', '/admin/dead-letters/retry', { token: null })).toMatchObject({
      status: 401,
    });
    expect(
      await call(r.hub, 'DELETE', '/admin/dead-letters/x', { token: await signToken('alice') }),
    ).toMatchObject({
      status: 403,
    });
  });
});
