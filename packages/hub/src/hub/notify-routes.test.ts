import { describe, expect, it } from 'vitest';
import { globEscaped, notifyChannel } from './redis-cluster.ts';
import {
  NotifyRoutes,
  routeOfMessage,
  routesOfSession,
  type NotifyBus,
  type NotifyRoute,
} from './notify-routes.ts';

/** A bus that records what it was told. */
function recordingBus(): NotifyBus & { log: string[] } {
  const log: string[] = [];
  const name = (r: NotifyRoute) => `${r.kind}:${r.name}`;
  return {
    log,
    open: (route) => {
      log.push(`open ${name(route)}`);
      return Promise.resolve();
    },
    close: (route) => void log.push(`close ${name(route)}`),
    publish: (route, payload) => void log.push(`publish ${name(route)} ${payload}`),
  };
}

describe('notify routes', () => {
  it('routes a notification by its addressee, else by its stream', () => {
    expect(routeOfMessage({ stream: 'room:1' })).toEqual({ kind: 'stream', name: 'room:1' });
    expect(routeOfMessage({ stream: 'room:1', to: 'c-2' })).toEqual({ kind: 'client', name: 'c-2' });
    expect(routesOfSession('c-1', ['room:1', 'list:*', '*'])).toEqual([
      { kind: 'client', name: 'c-1' },
      { kind: 'stream', name: 'room:1' },
      { kind: 'prefix', name: 'list:' },
      { kind: 'prefix', name: '' },
    ]);
  });

  it('opens a route for its first session and closes it after its last', async () => {
    const bus = recordingBus();
    const routes = new NotifyRoutes(bus);
    const [a, b] = [{}, {}];
    await routes.track(a, 'a', ['room:1', 'room:*', 'room:1']);
    await routes.track(b, 'b', ['room:1']);
    expect(bus.log).toEqual(['open client:a', 'open stream:room:1', 'open prefix:room:', 'open client:b']);
    bus.log.length = 0;
    routes.untrack(a);
    expect(bus.log).toEqual(['close client:a', 'close prefix:room:']);
    bus.log.length = 0;
    // New subscriptions: the kept route stays open throughout, the dropped one closes.
    await routes.track(b, 'b', ['list:*']);
    expect(bus.log).toEqual(['open prefix:list:', 'close stream:room:1']);
    routes.untrack(b);
    routes.untrack(b);
    expect(routes.size).toBe(0);
  });

  it('names Redis channels per stream and client, and escapes prefixes as glob patterns', () => {
    expect(notifyChannel('eventloom#h', 'stream', 'room:1')).toBe('eventloom#h#notify#stream#room:1');
    expect(notifyChannel('eventloom#h', 'client', 'c-1')).toBe('eventloom#h#notify#client#c-1');
    expect(globEscaped('a?b[c]*d\\e')).toBe('a\\?b\\[c\\]\\*d\\\\e');
  });
});
