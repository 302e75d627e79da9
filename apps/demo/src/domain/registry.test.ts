import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { registry } from './registry.ts';

const root = join(import.meta.dirname, '..', '..', '..', '..');
const snapshotFile = join(root, 'apps', 'demo', 'eventloom.schema.json');
const cli = join(root, 'packages', 'cli', 'bin', 'eventloom.js');

// CI's schema gate: the board's events may only change in ways that old events still read.
describe('the board event registry', () => {
  it('is BACKWARD compatible with the committed eventloom.schema.json (eventloom schema check)', () => {
    const run = spawnSync(
      process.execPath,
      [
        cli,
        'schema',
        'check',
        '--registry',
        'apps/demo/src/domain/registry.ts',
        '--snapshot',
        snapshotFile,
        '--mode',
        'backward',
      ],
      { cwd: root, encoding: 'utf8' },
    );
    expect(run.stdout + run.stderr).toContain('compatible (BACKWARD)');
    expect(run.status).toBe(0);
  });

  it('matches the committed snapshot (after a compatible change, run `pnpm --filter @eventloom/demo schema:snapshot`)', () => {
    const committed = JSON.parse(readFileSync(snapshotFile, 'utf8')) as { fingerprint: string };
    expect(committed.fingerprint).toBe(registry.snapshot().fingerprint);
  });
});
