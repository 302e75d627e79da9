import { useEffect, useState } from 'preact/hooks';
import type { BoardApp } from '../board-app.ts';
import { EMPTY_BOARD } from '../domain/index.ts';
import { BoardView } from './board-view.tsx';
import { CardDialog } from './card-dialog.tsx';
import { Header } from './header.tsx';
import { AppContext, useApp, useObservable } from './hooks.ts';
import type { ConflictEntry } from '../conflicts.ts';
import { ConflictText } from './conflict-text.tsx';
import { ConflictActions, SidePanel } from './side-panel.tsx';

/** The whole screen. */
export function App({ app }: { readonly app: BoardApp }) {
  return (
    <AppContext.Provider value={app}>
      <Screen />
    </AppContext.Provider>
  );
}

function Screen() {
  const app = useApp();
  const board = useObservable(app.board$, EMPTY_BOARD);
  const [openCard, setOpenCard] = useState<string | undefined>(undefined);
  const sideShown = useAfterFirstPaint();
  return (
    <div class="layout">
      <Header board={board} />
      <main class="main">
        <BoardView board={board} onOpenCard={setOpenCard} />
        {sideShown ? (
          <SidePanel board={board} />
        ) : (
          <aside class="side side-pending" aria-label="Event flow" aria-busy="true" />
        )}
      </main>
      <Toast board={board} />
      {openCard !== undefined && (
        <CardDialog key={openCard} board={board} cardId={openCard} onClose={() => setOpenCard(undefined)} />
      )}
    </div>
  );
}

/**
 * False for the first render, true a task after it has been painted: the side panel (timeline,
 * conflicts, sagas…) comes then, so the board's first paint does not wait for it. Its place is
 * kept meanwhile (`.side-pending`), so nothing moves when it comes.
 */
function useAfterFirstPaint(): boolean {
  const [shown, setShown] = useState(false);
  useEffect(() => {
    // Preact runs effects after the frame is painted; the timeout makes the render a task of its own.
    const timer = setTimeout(() => setShown(true), 0);
    return () => clearTimeout(timer);
  }, []);
  return shown;
}

/** How long a notice that needs nothing from the person stays, in ms. */
const NOTICE_MS = 15_000;

/**
 * The latest thing that happened to a change of mine, with the ways out of it: a refusal on this
 * device, or a conflict this device lost at the hub. A lost change (undone) stays until the person
 * closes it or resolves it; the others go after {@link NOTICE_MS}.
 */
function Toast({ board }: { readonly board: typeof EMPTY_BOARD }) {
  const app = useApp();
  const entries = useObservable(app.conflicts.entries$, []);
  const [hidden, setHidden] = useState<string | undefined>(undefined);
  const [, tick] = useState(0);
  const shown = entries.filter((e) => noticeShown(e, Date.now()));
  const latest = shown[0];
  const lasts = latest !== undefined && !(latest.story?.undone === true && latest.status === 'open');
  useEffect(() => {
    if (latest === undefined || !lasts) return undefined;
    const timer = setTimeout(() => tick((n) => n + 1), NOTICE_MS - (Date.now() - latest.at) + 50);
    return () => clearTimeout(timer);
  }, [latest, lasts]);
  if (latest === undefined || hidden === latest.id) return null;
  const close = () => {
    setHidden(latest.id);
    if (latest.source === 'hub') app.conflicts.markSeen(latest.id);
  };
  const story = latest.story;
  const undone = story === undefined || story.undone;
  return (
    <div
      class={`toast${undone ? '' : ' info'}`}
      role={undone ? 'alert' : 'status'}
      aria-labelledby={`toast-title-${latest.id}`}
      data-testid={latest.source === 'hub' ? 'conflict-toast' : 'refusal-toast'}
      data-code={latest.code}
      data-outcome={story === undefined ? undefined : story.undone ? 'undone' : 'kept'}
    >
      <div class="toast-head">
        <strong id={`toast-title-${latest.id}`}>{story?.title ?? 'Refused'}</strong>
        <span class="spacer" />
        <button type="button" class="icon" aria-label="Close" onClick={close}>
          ×
        </button>
      </div>
      <ConflictText entry={latest} />
      {latest.status === 'open' && <ConflictActions entry={latest} board={board} />}
      {shown.length > 1 && <p class="muted">{shown.length - 1} more in the Conflicts tab.</p>}
    </div>
  );
}

/** Whether an entry's notice is up at `now`. */
function noticeShown(entry: ConflictEntry, now: number): boolean {
  if (entry.source === 'decider') return entry.status === 'open' && now - entry.at < NOTICE_MS;
  if (entry.story === undefined || entry.seen === true) return false;
  if (entry.story.undone) return entry.status === 'open';
  return now - entry.at < NOTICE_MS;
}
