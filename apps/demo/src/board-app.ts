import { createEventloom, type Eventloom } from '@eventloom/client';
import type { FoldableEvent } from '@eventloom/core';
import type { EventMeta } from '@eventloom/protocol';
import {
  combineLatest,
  filter,
  firstValueFrom,
  map,
  of,
  scan,
  shareReplay,
  startWith,
  timeout,
  type Observable,
} from 'rxjs';
import { BoardCommands } from './board-commands.ts';
import { Conflicts } from './conflicts.ts';
import { boardProjection, boardStream, memberOf, registry, type BoardState } from './domain/index.ts';
import { explainConflict, type ConflictOutcome } from './explain-conflict.ts';
import { deferredReactions, deferredSync } from './deferred.ts';
import type { BoardReactions } from './reactions.ts';
import type { BoardSync, HubRejection } from './sync.ts';
import { newMemberLook } from './member-look.ts';

/** How long a device that is not a member yet waits to catch up before it picks its name, in ms. */
const JOIN_WAIT_MS = 2_000;

/** One line of the event timeline: a confirmed event (with its position) or a pending one. */
export interface TimelineEntry {
  readonly id: string;
  readonly type: string;
  readonly data: unknown;
  readonly meta: EventMeta;
  readonly clientId: string;
  readonly clientSeq: number;
  readonly hlc: string;
  readonly status: 'confirmed' | 'pending';
  readonly position: number | undefined;
  readonly streamVersion: number | undefined;
  readonly expectedVersion: number | undefined;
}

/** Everything the screen needs, opened once per page. */
export interface BoardApp {
  readonly loom: Eventloom;
  readonly boardId: string;
  readonly stream: string;
  /**
   * This device (its client id). The member it acts as is `memberIdOf(board, clientId)`: its own
   * id, unless the person said they are another member (a second browser of theirs).
   */
  readonly clientId: string;
  readonly commands: BoardCommands;
  readonly conflicts: Conflicts;
  readonly sync: BoardSync;
  readonly reactions: BoardReactions;
  /** The optimistic board: confirmed events, then this device's pending ones on top. */
  readonly board$: Observable<BoardState>;
  /** Newest first: pending events, then the last confirmed ones. */
  readonly timeline$: Observable<readonly TimelineEntry[]>;
  /**
   * Loads and starts the sync with the hub and the reactions. The board is readable and writable
   * before (offline-first); the page calls it once the board is on screen, so that the first
   * paint does not wait for their code. Resolves once they have started (or failed to, logged).
   */
  connect(): Promise<void>;
  close(): Promise<void>;
}

const TIMELINE_LENGTH = 150;

/**
 * Opens the board of `boardId` on this device: the Eventloom database (IndexedDB), the sync with
 * the hub at `hubUrl`, the conflicts log and the reactions; and makes sure this device is a
 * member of the board.
 */
export async function openBoardApp(options: {
  readonly boardId: string;
  readonly hubUrl: string;
}): Promise<BoardApp> {
  const { boardId } = options;
  const stream = boardStream(boardId);
  const loom = await createEventloom({
    name: `eventloom-demo-${boardId}`,
    registry,
    projections: [boardProjection],
  });
  const conflicts = new Conflicts(boardId);
  const commands = new BoardCommands(loom, boardId, (command, rejection) =>
    conflicts.refused(command, rejection),
  );
  // The sync engine (and Socket.IO) and the reaction runtime load after the first paint: see `connect`.
  let connect!: () => void;
  const connecting = new Promise<void>((resolve) => (connect = resolve));
  const loadingSync = connecting
    .then(() => import('./sync.ts'))
    .then(({ startSync }) =>
      startSync(loom, {
        url: options.hubUrl,
        streams: [stream],
        onRejection: (rejection) => {
          tellRejection(rejection).catch((error: unknown) => {
            console.warn('telling the story of a conflict failed', error);
            conflicts.hubRejected(rejection);
          });
        },
      }),
    );
  // After the sync has started, in a task of its own: starting both at once makes one long task.
  const loadingReactions = loadingSync
    .catch(() => undefined)
    .then(() => new Promise((resolve) => setTimeout(resolve, 0)))
    .then(() => import('./reactions.ts'))
    .then(({ startReactions }) => startReactions(loom, boardId, commands, conflicts));
  const started = Promise.all([loadingSync, loadingReactions]).then(
    () => undefined,
    (error: unknown) => console.error('the sync or the reactions could not start', error),
  );
  const sync = deferredSync(loadingSync);
  const reactions = deferredReactions(loadingReactions);

  const board$ = loom
    .projection$(boardProjection, stream)
    .pipe(shareReplay({ bufferSize: 1, refCount: true }));
  const confirmed$ = loom.events$({ stream }).pipe(
    scan((tail: FoldableEvent[], event) => [...tail.slice(-(TIMELINE_LENGTH - 1)), event], []),
    startWith([] as FoldableEvent[]),
  );
  const timeline$ = combineLatest([confirmed$, loom.pending$]).pipe(
    map(([confirmed, pending]) => [
      ...pending
        .filter((e) => e.stream === stream)
        .map((e) => timelineEntry(e, 'pending'))
        .reverse(),
      ...confirmed.map((e) => timelineEntry(e, 'confirmed')).reverse(),
    ]),
    shareReplay({ bufferSize: 1, refCount: true }),
  );

  /** Records a rejected push; a lost conflict with the story of who changed the board first. */
  async function tellRejection(rejection: HubRejection): Promise<void> {
    if (rejection.code !== 'wrong-expected-version') return conflicts.hubRejected(rejection);
    // The engine decides a conflict again once it has caught up: the changes that came first are here.
    const [confirmed, board] = await Promise.all([loom.readEvents({ stream }), firstValueFrom(board$)]);
    const story = explainConflict({
      rejected: { type: rejection.eventType, data: rejection.event.data },
      expectedVersion: rejection.event.expectedVersion,
      confirmed,
      outcome: outcomeOf(rejection),
      board,
      me: loom.clientId,
    });
    conflicts.hubRejected(rejection, story);
  }

  const clientId = loom.clientId;
  // In the background: the board opens at once, offline too.
  joinBoard(clientId, board$, sync, commands).catch((error: unknown) =>
    console.warn('joining the board failed; it is tried again at the next start', error),
  );

  return {
    loom,
    boardId,
    stream,
    clientId,
    commands,
    conflicts,
    sync,
    reactions,
    board$,
    timeline$,
    connect: () => {
      connect();
      return started;
    },
    async close() {
      connect();
      await reactions.close();
      await sync.close();
      conflicts.close();
      await loom.close();
    },
  };
}

/**
 * Makes this device a member of the board, once: after catching up with the hub (or
 * {@link JOIN_WAIT_MS}, offline), so that the name it picks is not one a member already has.
 */
async function joinBoard(
  clientId: string,
  board$: Observable<BoardState>,
  sync: BoardSync,
  commands: BoardCommands,
): Promise<void> {
  if (memberOf(await firstValueFrom(board$), clientId) !== undefined) return;
  await firstValueFrom(
    sync.status$.pipe(
      filter((s) => s.state === 'live' || s.state === 'error' || s.manualOffline),
      timeout({ first: JOIN_WAIT_MS, with: () => of(undefined) }),
    ),
    { defaultValue: undefined },
  );
  const board = await firstValueFrom(board$);
  if (memberOf(board, clientId) !== undefined) return;
  const { name, color } = newMemberLook(clientId, Object.values(board.members));
  await commands.join(clientId, name, color);
}

/** What became of a refused change, from the sync engine's action. */
function outcomeOf(rejection: HubRejection): ConflictOutcome {
  switch (rejection.action) {
    case 'dead-lettered': {
      // The dead letter says "decided again and refused: <code>: <the board's words>": the words.
      const reason = rejection.deadLetter?.reason ?? rejection.message;
      return { kind: 'undone', reason: reason.replace(/^decided again and refused: [\w-]+: /, '') };
    }
    case 'dropped':
      // The policy decides conflicts again; what it drops is a decision with nothing left to do.
      return { kind: 'nothing-left' };
    case 'redecided':
      return rejection.appended === 0 ? { kind: 'nothing-left' } : { kind: 'reapplied' };
  }
}

/** A timeline row; a pending event (an envelope from the outbox) has no position or streamVersion yet. */
function timelineEntry(e: FoldableEvent, status: TimelineEntry['status']): TimelineEntry {
  return {
    id: e.id,
    type: e.type,
    data: e.data,
    meta: e.meta,
    clientId: e.clientId,
    clientSeq: e.clientSeq,
    hlc: e.hlc,
    status,
    position: e.position,
    streamVersion: e.streamVersion,
    expectedVersion: e.expectedVersion,
  };
}
