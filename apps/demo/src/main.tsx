/**
 * The page's entry: small on purpose. The board's code (the Eventloom client, Dexie, zod and the
 * board's events) and the screen's (Preact and the components) are loaded at once, each evaluated
 * in a task of its own; the sync engine and the reactions come after the first paint
 * (`BoardApp.connect`).
 */
import './styles.css';

const root = document.getElementById('app')!;
const boardId = new URLSearchParams(location.search).get('board') ?? 'team';

const opening = import('./board-app.ts').then(({ openBoardApp }) =>
  openBoardApp({ boardId, hubUrl: location.origin }),
);
const screen = import('./show-board.tsx');

const started = Promise.all([opening, screen]).then(
  async ([app, { showBoard }]) => {
    await showBoard(app, root);
    // Tests and curious people: the open board, in the console.
    (globalThis as { eventloomDemo?: unknown }).eventloomDemo = app;
    // The sync engine and the reactions load once the board is on screen, in a task of their own.
    await new Promise((resolve) => setTimeout(resolve, 0));
    await app.connect();
  },
  (error: unknown) => {
    root.textContent = `The board could not open: ${error instanceof Error ? error.message : String(error)}`;
    console.error(error);
  },
);

// `pnpm dev`: the modules loaded before the service worker took over are kept for offline reloads
// (once the sync's and the reactions' are loaded too, after the first paint).
// Until they are, a reload with the network off would miss some: `<html data-offline-ready>` says when.
if (__EVENTLOOM_DEV_SERVER__) {
  void started
    .then(() => import('./dev-offline.ts'))
    .then(async (m) => {
      const kept = await m.keepDevModulesOffline();
      m.markOfflineReady(kept);
    })
    .catch((error: unknown) => console.warn('keeping the dev modules for offline use failed', error));
}
