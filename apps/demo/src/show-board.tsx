import { render } from 'preact';
import { firstValueFrom } from 'rxjs';
import type { BoardApp } from './board-app.ts';
import { App } from './ui/app.tsx';

/**
 * Puts the open board on screen in `root`, in place of "Opening the board…": the board as this
 * device holds it, before the first paint, so the columns appear with their cards instead of
 * empty and then filled (which moves everything below them).
 */
export async function showBoard(app: BoardApp, root: HTMLElement): Promise<void> {
  // It stays subscribed for the page's life, so the screen's first render reads it at once.
  app.board$.subscribe();
  await firstValueFrom(app.board$);
  // "Opening the board…" goes before the app comes: left in place, it would shrink and count as a shift.
  root.replaceChildren();
  render(<App app={app} />, root);
}
