import { render } from 'preact';
import { firstValueFrom } from 'rxjs';
import { openBoardApp } from './board-app.ts';
import './styles.css';
import { App } from './ui/app.tsx';

const root = document.getElementById('app')!;
const boardId = new URLSearchParams(location.search).get('board') ?? 'team';

openBoardApp({ boardId, hubUrl: location.origin }).then(
  async (app) => {
    // The board as this device holds it, before the first paint: the columns appear with their
    // cards, instead of empty and then filled (which moves everything below them).
    // It stays subscribed for the page's life, so the screen's first render reads it at once.
    app.board$.subscribe();
    await firstValueFrom(app.board$);
    // "Opening the board…" goes before the app comes: left in place, it would shrink and count as a shift.
    root.replaceChildren();
    render(<App app={app} />, root);
    // Tests and curious people: the open board, in the console.
    (globalThis as { eventloomDemo?: unknown }).eventloomDemo = app;
  },
  (error: unknown) => {
    root.textContent = `The board could not open: ${error instanceof Error ? error.message : String(error)}`;
    console.error(error);
  },
);

// `pnpm dev`: the modules loaded before the service worker took over are kept for offline reloads.
// Until they are, a reload with the network off would miss some: `<html data-offline-ready>` says when.
if (__EVENTLOOM_DEV_SERVER__) {
  void import('./dev-offline.ts')
    .then(async (m) => {
      const kept = await m.keepDevModulesOffline();
      m.markOfflineReady(kept);
    })
    .catch((error: unknown) => console.warn('keeping the dev modules for offline use failed', error));
}
