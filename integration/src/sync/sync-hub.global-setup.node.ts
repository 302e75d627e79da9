/**
 * vitest `globalSetup` of the browser project: a page in Chromium cannot start a hub, so one runs
 * in the Node process for the whole run, and its URL is handed to the tests (`inject`).
 */
import type { TestProject } from 'vitest/node';
import { startTestHub } from './sync-harness.node.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    /** The URL of the hub the browser tests sync with (memory store, insecure dev auth, any origin). */
    eventloomHubUrl: string;
  }
}

/** The key the hub's URL is provided under. */
export type BrowserHubKey = 'eventloomHubUrl';

/** Rates far above what one machine pushes, for the benchmarks' hub. */
const BENCH_RATES = {
  rateBurst: 10_000_000,
  ratePerSecond: 10_000_000,
  principalRateBurst: 10_000_000,
  principalRatePerSecond: 10_000_000,
  addressRateBurst: 10_000_000,
  addressRatePerSecond: 10_000_000,
};

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  // The benchmarks measure the client, not the hub's flood limits: a bare client pushing a 100k
  // backlog from memory goes past the default 10k events/s per socket and is answered `rate-limited`.
  const hub = await startTestHub(project.name.startsWith('bench') ? { limits: BENCH_RATES } : {});
  project.provide('eventloomHubUrl', hub.url);
  return () => hub.close();
}
