import type { PullResult, PushAck } from '@eventloom/protocol';
import type { Socket as ClientSocket } from 'socket.io-client';
import { request, testScope, type startTestHub } from './test-kit.ts';

/**
 * The fixtures the `create-hub.*.test.ts` files share. Call it once at the top of a test file: its
 * scope cleans up after each test of that file.
 */
export function createHubTestKit() {
  const scope = testScope();

  async function setup(options: Parameters<typeof startTestHub>[0] = {}) {
    const hub = await scope.startHub(options);
    const client = (sub: string, clientId: string, subscriptions?: string[]) =>
      scope.client(hub.url, sub, clientId, subscriptions);
    return { ...hub, client };
  }

  return { scope, setup };
}

export const push = (socket: ClientSocket, events: unknown[]) => request<PushAck>(socket, 'push', { events });
export const pull = (socket: ClientSocket, from = 0, limit = 1000, streams?: string[]) =>
  request<PullResult>(socket, 'pull', streams === undefined ? { from, limit } : { from, limit, streams });
