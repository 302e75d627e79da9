import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseRegistrySnapshot, stringifyRegistrySnapshot } from '@eventloom/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import registry from './fixtures/todo-registry.ts';

const here = dirname(fileURLToPath(import.meta.url));
const bin = join(here, '..', 'bin', 'eventloom.js');
const fixture = (name: string): string => join(here, 'fixtures', `${name}.ts`);
const work = mkdtempSync(join(tmpdir(), 'eventloom-cli-'));
// The committed snapshot of the fixture registry, so that each test stands alone.
beforeAll(() =>
  writeFileSync(join(work, 'eventloom.schema.json'), stringifyRegistrySnapshot(registry.snapshot())),
);
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** Runs the real bin in a child process, in the temp directory. */
function eventloom(...args: string[]): { code: number | null; stdout: string; stderr: string } {
  const run = spawnSync(process.execPath, [bin, ...args], { cwd: work, encoding: 'utf8', timeout: 20_000 });
  return { code: run.status, stdout: run.stdout, stderr: run.stderr };
}

describe('eventloom schema', () => {
  it('snapshot writes the snapshot file, by default eventloom.schema.json in the working directory', () => {
    rmSync(join(work, 'eventloom.schema.json'));
    const run = eventloom('schema', 'snapshot', '--registry', fixture('todo-registry'));
    expect(run).toMatchObject({ code: 0, stderr: '' });
    expect(run.stdout).toMatch(/^wrote eventloom\.schema\.json: 2 event types, 3 versions/);
    const text = readFileSync(join(work, 'eventloom.schema.json'), 'utf8');
    expect(parseRegistrySnapshot(JSON.parse(text))).toEqual({ ok: true, value: registry.snapshot() });
    // Stable: writing again gives the same bytes.
    expect(
      eventloom('schema', 'snapshot', '--registry', fixture('todo-registry'), '--out', 'again.json').code,
    ).toBe(0);
    expect(readFileSync(join(work, 'again.json'), 'utf8')).toBe(text);
  });

  it('check exits 0 when the registry is unchanged', () => {
    const run = eventloom(
      'schema',
      'check',
      '--registry',
      fixture('todo-registry'),
      '--mode',
      'full-transitive',
    );
    expect(run).toMatchObject({ code: 0, stderr: '' });
    expect(run.stdout).toContain('compatible (FULL_TRANSITIVE) with eventloom.schema.json');
  });

  it('check exits 0 after a compatible evolution, and says the snapshot is out of date', () => {
    const run = eventloom(
      'schema',
      'check',
      '--registry',
      fixture('todo-registry-evolved'),
      '--mode',
      'full',
    );
    expect(run).toMatchObject({ code: 0, stderr: '' });
    expect(run.stdout).toContain('run `eventloom schema snapshot`');
  });

  it('check exits 1 after a breaking change, naming type, version, path and change', () => {
    const run = eventloom(
      'schema',
      'check',
      '--registry',
      fixture('todo-registry-breaking'),
      '--mode',
      'backward',
    );
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('1 breaking change (BACKWARD) against eventloom.schema.json:');
    expect(run.stderr).toContain('todo.added v1 · listId · required-field-added (backward)');
    expect(run.stderr).toContain('requires field "listId"');
  });

  it('check --json prints the breaking changes as data', () => {
    const run = eventloom('schema', 'check', '--registry', fixture('todo-registry-breaking'), '--json');
    expect(run.code).toBe(1);
    expect(JSON.parse(run.stdout)).toMatchObject({
      mode: 'BACKWARD',
      compatible: false,
      breaking: [{ type: 'todo.added', version: 1, path: 'listId', change: 'required-field-added' }],
    });
  });

  it('check reads the snapshot named by --snapshot', () => {
    expect(
      eventloom('schema', 'snapshot', '--registry', fixture('todo-registry-evolved'), '--out', 'evolved.json')
        .code,
    ).toBe(0);
    // Against the evolved snapshot, the original registry has lost todo.added v3 and todo.archived.
    const run = eventloom(
      'schema',
      'check',
      '--registry',
      fixture('todo-registry'),
      '--snapshot',
      'evolved.json',
    );
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('todo.added v3 · version-removed (both)');
    expect(run.stderr).toContain('todo.archived v1 · type-removed (both)');
  });
});

describe('eventloom, used wrongly', () => {
  it('prints help with --help, and usage on stderr without a command', () => {
    expect(eventloom('--help')).toMatchObject({
      code: 0,
      stdout: expect.stringContaining('Usage: eventloom'),
    });
    expect(eventloom()).toMatchObject({ code: 2, stderr: expect.stringContaining('Usage: eventloom') });
  });

  it.each([
    ['an unknown command', ['schema', 'snap'], /unknown command: schema snap/],
    ['an unknown option', ['schema', 'check', '--bogus'], /Unknown option '--bogus'/],
    ['no --registry', ['schema', 'check'], /schema check needs --registry <module>/],
    [
      'an unknown mode',
      ['schema', 'check', '--registry', 'x.ts', '--mode', 'sideways'],
      /unknown mode "sideways": use one of backward, forward/,
    ],
    [
      'an option of the other command',
      ['schema', 'snapshot', '--registry', 'x.ts', '--mode', 'full'],
      /--mode is for schema check/,
    ],
    [
      'a missing registry module',
      ['schema', 'snapshot', '--registry', 'nope.ts'],
      /registry module not found: nope\.ts/,
    ],
    [
      'a module without a registry',
      ['schema', 'snapshot', '--registry', fixture('no-registry')],
      /exports no event registry.*\(it exports notARegistry\)/,
    ],
    [
      'a missing snapshot',
      ['schema', 'check', '--registry', fixture('todo-registry'), '--snapshot', 'none.json'],
      /cannot read the snapshot none\.json: no such file; create it with `eventloom schema snapshot`/,
    ],
  ])('exits 2 with a clear message on %s', (_name, args, message) => {
    const run = eventloom(...args);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(message);
  });

  it('exits 2 on a snapshot that is not JSON or was edited by hand', () => {
    writeFileSync(join(work, 'broken.json'), '{ "format": 1,');
    expect(
      eventloom('schema', 'check', '--registry', fixture('todo-registry'), '--snapshot', 'broken.json'),
    ).toMatchObject({
      code: 2,
      stderr: expect.stringMatching(/broken\.json is not JSON/),
    });
    const edited = JSON.parse(readFileSync(join(work, 'eventloom.schema.json'), 'utf8')) as {
      events: Record<string, { versions: Record<string, { schema: { required: string[] } }> }>;
    };
    edited.events['todo.added']!.versions['1']!.schema.required = [];
    writeFileSync(join(work, 'edited.json'), JSON.stringify(edited));
    expect(
      eventloom('schema', 'check', '--registry', fixture('todo-registry'), '--snapshot', 'edited.json'),
    ).toMatchObject({
      code: 2,
      stderr: expect.stringMatching(
        /edited\.json is not a valid snapshot: todo\.added v1: the fingerprint does not match/,
      ),
    });
  });
});
