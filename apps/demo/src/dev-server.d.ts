/** Set by vite.config.ts: true under `pnpm dev` (the Vite dev server), false in a build. */
declare const __EVENTLOOM_DEV_SERVER__: boolean;
