/** The runtime cache the development service worker keeps the dev server's files in (vite.config.ts). */
export const DEV_CACHE = 'dev-modules';

/** The hub's endpoints and the sync socket: never cached. */
const NEVER = /^\/(socket\.io|healthz|readyz|metrics)(\/|$)/;

/**
 * `pnpm dev` only: the dev server's modules have no build to precache, so the development
 * service worker keeps each one as it passes (network first). The ones this page loaded before
 * the worker took control never passed through it: this copies them into its cache, so that the
 * very first reload with the network off already finds every module it needs.
 */
export async function keepDevModulesOffline(): Promise<number> {
  if (!('serviceWorker' in navigator) || !('caches' in globalThis)) return 0;
  await navigator.serviceWorker.ready;
  const urls = new Set<string>();
  for (const entry of performance.getEntriesByType('resource')) {
    const url = new URL(entry.name);
    if (url.origin === location.origin && !NEVER.test(url.pathname)) urls.add(url.href);
  }
  const cache = await caches.open(DEV_CACHE);
  let added = 0;
  await Promise.all(
    [...urls].map(async (url) => {
      if ((await cache.match(url)) !== undefined) return;
      const response = await fetch(url).catch(() => undefined);
      if (response?.ok !== true) return;
      await cache.put(url, response);
      added++;
    }),
  );
  return added;
}

/**
 * Says that a reload with the network off will find every module this page loaded: sets
 * `<html data-offline-ready>` (what the end-to-end test of `pnpm dev` waits for before it goes
 * offline) and tells the developer in the console.
 */
export function markOfflineReady(kept: number): void {
  document.documentElement.dataset['offlineReady'] = 'true';
  console.info(`Eventloom demo (dev): ready offline, ${kept} dev-server modules kept by the service worker`);
}
