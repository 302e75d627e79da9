import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { build } from 'vite';
import { ARTIFACTS, DEMO_DIST, ROOT } from './paths.ts';

/** Builds the demo once for every e2e test file: what `pnpm build` makes, into e2e/.demo-dist. */
export default async function setup(): Promise<void> {
  await mkdir(ARTIFACTS, { recursive: true });
  await build({
    configFile: join(ROOT, 'apps', 'demo', 'vite.config.ts'),
    root: join(ROOT, 'apps', 'demo'),
    logLevel: 'warn',
    build: { outDir: DEMO_DIST, emptyOutDir: true },
  });
}
