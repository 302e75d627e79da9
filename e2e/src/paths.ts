import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository. */
export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
/** The demo as the tests build it (the same build as `pnpm build`, in its own folder). */
export const DEMO_DIST = join(ROOT, 'e2e', '.demo-dist');
/** Screenshots of the key states, kept by CI as test artifacts. */
export const ARTIFACTS = join(ROOT, 'e2e', 'artifacts');
