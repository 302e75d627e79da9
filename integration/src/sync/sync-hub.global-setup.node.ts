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

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const hub = await startTestHub();
  project.provide('eventloomHubUrl', hub.url);
  return () => hub.close();
}
