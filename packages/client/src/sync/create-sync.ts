import { SyncEngine } from './sync-engine.ts';
import type { Sync, SyncOptions, SyncTarget } from './sync-types.ts';

/**
 * Syncs an Eventloom with a hub: the leader tab holds one Socket.IO connection,
 * pushes the outbox in bounded batches with acks as credit, catches up by pull pages and then
 * follows live events, reconnects with backoff, and applies the conflict policy to refused events.
 * Everything goes on offline: the outbox in IndexedDB is the source of truth. Runs in the browser
 * and in Node alike.
 *
 * @example
 * const loom = await createEventloom({ name: 'kanban', registry, projections: [board] });
 * const sync = createSync(loom, {
 *   url: 'https://sync.example.com',
 *   token: () => auth.freshToken(),
 *   subscriptions: ['board:1'],
 *   deciders: [cardDecider],
 * });
 * sync.syncState$.subscribe((state) => (badge.textContent = state));
 * await loom.execute(cardDecider, { type: 'move', card: 'c1', to: 'done' });
 * await sync.flushed(); // the hub has it
 */
export function createSync(loom: SyncTarget, options: SyncOptions): Sync {
  return new SyncEngine(loom, options);
}
