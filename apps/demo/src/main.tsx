import { render } from 'preact';
import { openBoardApp } from './board-app.ts';
import './styles.css';
import { App } from './ui/app.tsx';

const root = document.getElementById('app')!;
const boardId = new URLSearchParams(location.search).get('board') ?? 'team';

openBoardApp({ boardId, hubUrl: location.origin }).then(
  (app) => {
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
if (import.meta.env.DEV) {
  void import('./dev-offline.ts')
    .then((m) => m.keepDevModulesOffline())
    .catch((error: unknown) => console.warn('keeping the dev modules for offline use failed', error));
}
