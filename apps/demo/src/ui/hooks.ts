import { createContext } from 'preact';
import { useContext, useEffect, useState } from 'preact/hooks';
import type { Observable } from 'rxjs';
import type { BoardApp } from '../board-app.ts';

/** The open board, for every component below `<App>`. */
export const AppContext = createContext<BoardApp | undefined>(undefined);

/** The open board. */
export function useApp(): BoardApp {
  const app = useContext(AppContext);
  if (app === undefined) throw new Error('useApp outside <AppContext.Provider>');
  return app;
}

/** The latest value of an observable (`initial` until it emits); re-subscribes when it changes. */
export function useObservable<T>(source: Observable<T>, initial: T): T {
  // A value the source holds already (a replayed one) is the first render's: no empty frame first.
  const [value, setValue] = useState<T>(() => {
    let current = initial;
    source.subscribe((v) => (current = v)).unsubscribe();
    return current;
  });
  useEffect(() => {
    const subscription = source.subscribe({ next: (v) => setValue(() => v) });
    return () => subscription.unsubscribe();
  }, [source]);
  return value;
}

/** "12 s ago", "3 min ago", or the time of day. */
export function timeAgo(at: number, now = Date.now()): string {
  const s = Math.max(0, Math.round((now - at) / 1000));
  if (s < 5) return 'just now';
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.round(s / 60)} min ago`;
  return new Date(at).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
}

/** A short, stable label of an id: its last 6 characters. */
export function shortId(id: string): string {
  return id.slice(-6);
}
