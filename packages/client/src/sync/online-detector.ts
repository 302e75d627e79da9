/**
 * Tells the sync engine whether the device is online, and when that changes; pluggable, as
 * TanStack Query's `onlineManager` is. The engine also follows its socket: this says only when
 * not to try (offline) and when to try again at once (back online).
 */
export interface OnlineDetector {
  /** Whether the device is online now. */
  isOnline(): boolean;
  /** Calls `listener` on each change; returns the unsubscribe function. */
  subscribe(listener: (online: boolean) => void): () => void;
}

/**
 * The browser's view: `navigator.onLine` and the `online`/`offline` events of `window`. (`onLine`
 * true means only that there is a network; the socket tells the rest.)
 *
 * @example createSync(loom, { url, subscriptions, online: browserOnlineDetector() });
 */
export function browserOnlineDetector(
  target: BrowserOnlineTarget = globalThis as BrowserOnlineTarget,
): OnlineDetector {
  return {
    isOnline: () => target.navigator?.onLine !== false,
    subscribe(listener) {
      const online = () => listener(true);
      const offline = () => listener(false);
      target.addEventListener?.('online', online);
      target.addEventListener?.('offline', offline);
      return () => {
        target.removeEventListener?.('online', online);
        target.removeEventListener?.('offline', offline);
      };
    },
  };
}

/** What {@link browserOnlineDetector} reads: a window, or anything shaped like one. */
export interface BrowserOnlineTarget {
  readonly navigator?: { readonly onLine?: boolean };
  addEventListener?(type: 'online' | 'offline', listener: () => void): void;
  removeEventListener?(type: 'online' | 'offline', listener: () => void): void;
}

/** Always online: Node and other runtimes without a network signal, where the socket's state is all there is. */
export const alwaysOnline: OnlineDetector = {
  isOnline: () => true,
  subscribe: () => () => undefined,
};

/**
 * A detector switched by hand: for tests, or an app that knows better (a native shell's network
 * callback).
 *
 * @example const network = manualOnlineDetector(); createSync(loom, { …, online: network }); network.set(false);
 */
export function manualOnlineDetector(initial = true): OnlineDetector & { set(online: boolean): void } {
  let online = initial;
  const listeners = new Set<(online: boolean) => void>();
  return {
    isOnline: () => online,
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    set(value) {
      if (value === online) return;
      online = value;
      for (const listener of listeners) listener(value);
    },
  };
}

/** The environment's detector: the browser's where there is a `window` with `navigator.onLine`, else {@link alwaysOnline}. */
export function defaultOnlineDetector(): OnlineDetector {
  const target = globalThis as BrowserOnlineTarget;
  return typeof target.addEventListener === 'function' && typeof target.navigator?.onLine === 'boolean'
    ? browserOnlineDetector(target)
    : alwaysOnline;
}
