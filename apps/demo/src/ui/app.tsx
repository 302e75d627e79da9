import { useEffect, useState } from 'preact/hooks';
import type { BoardApp } from '../board-app.ts';
import { EMPTY_BOARD } from '../domain/index.ts';
import { BoardView } from './board-view.tsx';
import { CardDialog } from './card-dialog.tsx';
import { Header } from './header.tsx';
import { AppContext, useApp, useObservable } from './hooks.ts';
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
  return (
    <div class="layout">
      <Header board={board} />
      <main class="main">
        <BoardView board={board} onOpenCard={setOpenCard} />
        <SidePanel board={board} />
      </main>
      <Toast board={board} />
      {openCard !== undefined && (
        <CardDialog key={openCard} board={board} cardId={openCard} onClose={() => setOpenCard(undefined)} />
      )}
    </div>
  );
}

/** The latest refusal on this device, for a few seconds, with the ways out of it. */
function Toast({ board }: { readonly board: typeof EMPTY_BOARD }) {
  const app = useApp();
  const entries = useObservable(app.conflicts.entries$, []);
  const [hidden, setHidden] = useState<string | undefined>(undefined);
  const [, tick] = useState(0);
  const latest = entries.find(
    (e) => e.source === 'decider' && e.status === 'open' && Date.now() - e.at < 15_000,
  );
  useEffect(() => {
    if (latest === undefined) return undefined;
    const timer = setTimeout(() => tick((n) => n + 1), 15_000 - (Date.now() - latest.at) + 50);
    return () => clearTimeout(timer);
  }, [latest]);
  if (latest === undefined || hidden === latest.id) return null;
  return (
    <div class="toast" role="alert" data-testid="refusal-toast" data-code={latest.code}>
      <div class="toast-head">
        <strong>Refused</strong>
        <code>{latest.code}</code>
        <span class="spacer" />
        <button type="button" class="icon" aria-label="Close" onClick={() => setHidden(latest.id)}>
          ×
        </button>
      </div>
      <p>{latest.message}</p>
      <ConflictActions entry={latest} board={board} />
    </div>
  );
}
