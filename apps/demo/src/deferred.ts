import { from, shareReplay, switchMap } from 'rxjs';
import type { BoardReactions } from './reactions.ts';
import type { BoardSync } from './sync.ts';

/**
 * The board's sync and reactions before their code has loaded: the first paint does not wait for
 * the sync engine, Socket.IO and the reaction runtime (`main.tsx` loads them once the board is on
 * screen). Calls made meanwhile wait for them; their streams start when they are there.
 */
export function deferredSync(loading: Promise<BoardSync>): BoardSync {
  const status$ = from(loading).pipe(
    switchMap((sync) => sync.status$),
    shareReplay({ bufferSize: 1, refCount: true }),
  );
  return {
    status$,
    goOffline: () => void loading.then((sync) => sync.goOffline()),
    goOnline: () => void loading.then((sync) => sync.goOnline()),
    flushed: () => loading.then((sync) => sync.flushed()),
    close: () => loading.then((sync) => sync.close()),
  };
}

/** {@link deferredSync} for the reactions. */
export function deferredReactions(loading: Promise<BoardReactions>): BoardReactions {
  return {
    deadLetters$: from(loading).pipe(
      switchMap((reactions) => reactions.deadLetters$),
      shareReplay({ bufferSize: 1, refCount: true }),
    ),
    retry: (id) => loading.then((reactions) => reactions.retry(id)),
    discard: (id) => loading.then((reactions) => reactions.discard(id)),
    settled: (position) => loading.then((reactions) => reactions.settled(position)),
    close: () => loading.then((reactions) => reactions.close()),
  };
}
