import { createReadStream, createWriteStream } from 'node:fs';
import { access, mkdir, stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { parseArgs } from 'node:util';
import { HubError, createSqliteStore, type EventStore } from '@eventloom/hub';
import { isPostgresUrl } from './hub-server-config.ts';
import { exportLog, importLog, progressBar } from './log-transfer.ts';

/** The text of `eventloom-hub export --help` and `eventloom-hub import --help`. */
export const LOG_TRANSFER_HELP = [
  'eventloom-hub export [--db FILE|URL] [--from POSITION] [--out FILE] [--quiet]',
  '  Writes the log after POSITION (default 0: all of it), up to its head when the export began,',
  '  as NDJSON: a header line {format, hubId, from, head, exportedAt}, then one committed event',
  '  per line, in position order. To standard output unless --out.',
  '',
  'eventloom-hub import [--db FILE|URL] [--in FILE] [--quiet]',
  '  Reads such an export (standard input unless --in) into the log at --db, keeping positions,',
  '  stream versions and times; an empty log takes the export hub id. The log must be empty or',
  '  hold a prefix of the same export: events already there are skipped, so an interrupted import',
  '  can run again. Stop the hub that serves --db first (every node, on Postgres).',
  '',
  '--db is a SQLite file or a postgres:// URL, as for the hub; it defaults to EVENTLOOM_DB, then',
  './data/events.db. On a terminal, a progress bar goes to standard error (--quiet turns it off).',
].join('\n');

/** Where a command reads, writes and reports; the process's own streams by default. */
export interface TransferIo {
  readonly stdin: Readable;
  readonly stdout: Writable;
  readonly stderr: NodeJS.WriteStream | Writable;
}

/**
 * Runs `eventloom-hub export …` or `eventloom-hub import …` (`argv` starts with the command name)
 * and resolves with the process exit code: 0 done, 1 failed, 2 a bad command line.
 */
export async function runLogTransfer(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
  io: TransferIo = { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr },
): Promise<number> {
  const [command, ...rest] = argv;
  const say = (text: string): void => void io.stderr.write(`eventloom-hub ${command}: ${text}\n`);
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: rest,
      options: {
        db: { type: 'string' },
        from: { type: 'string' },
        out: { type: 'string' },
        in: { type: 'string' },
        quiet: { type: 'boolean' },
        help: { type: 'boolean' },
      },
      strict: true,
      allowPositionals: false,
    }) as { values: Record<string, string | boolean | undefined> });
  } catch (error) {
    say(error instanceof Error ? error.message : String(error));
    return 2;
  }
  if (values['help'] === true) {
    io.stdout.write(`${LOG_TRANSFER_HELP}\n`);
    return 0;
  }
  const wrongFlag = command === 'export' ? values['in'] : (values['out'] ?? values['from']);
  if (wrongFlag !== undefined) {
    say(command === 'export' ? '--in is for import' : '--out and --from are for export');
    return 2;
  }
  const db = (values['db'] as string | undefined) ?? (env['EVENTLOOM_DB'] || './data/events.db');
  const tty = values['quiet'] !== true && (io.stderr as NodeJS.WriteStream).isTTY === true;
  try {
    if (command === 'export') {
      const fromText = (values['from'] as string | undefined) ?? '0';
      if (!/^\d{1,15}$/.test(fromText)) {
        say(`--from must be a whole number, not ${JSON.stringify(fromText)}`);
        return 2;
      }
      if (db !== ':memory:' && !isPostgresUrl(db) && !(await exists(db))) {
        say(`no log at ${db} (give --db or EVENTLOOM_DB)`);
        return 1;
      }
      const outPath = values['out'] as string | undefined;
      const out = outPath === undefined ? io.stdout : createWriteStream(outPath);
      const store = await openLog(db);
      const bar = tty ? progressBar(io.stderr as NodeJS.WriteStream, 'events') : undefined;
      try {
        const { exported, head } = await exportLog(store, out, {
          from: Number(fromText),
          ...(bar === undefined ? {} : { onProgress: bar }),
        });
        bar?.end();
        if (outPath !== undefined) {
          out.end();
          await finished(out);
        }
        if (values['quiet'] !== true) say(`${exported} events after position ${fromText}, up to ${head}`);
      } finally {
        await store.close();
      }
      return 0;
    }
    const inPath = values['in'] as string | undefined;
    const size = inPath === undefined ? undefined : (await stat(inPath)).size;
    const input = inPath === undefined ? io.stdin : createReadStream(inPath);
    // Iterated from now on: a readline interface drops lines no iterator waits for yet.
    const lines = createInterface({ input, crlfDelay: Infinity })[Symbol.asyncIterator]();
    if (db !== ':memory:' && !isPostgresUrl(db)) await mkdir(dirname(resolve(db)), { recursive: true });
    const store = await openLog(db);
    const bar = tty ? progressBar(io.stderr as NodeJS.WriteStream, 'bytes') : undefined;
    let bytes = 0;
    try {
      const result = await importLog(
        store,
        { [Symbol.asyncIterator]: () => lines },
        {
          onLine: (n) => {
            bytes += n;
            bar?.(bytes, size);
          },
        },
      );
      bar?.end();
      if (values['quiet'] !== true) {
        say(`${result.imported} events imported, ${result.skipped} there already; head ${result.head}`);
      }
    } finally {
      await store.close();
    }
    return 0;
  } catch (error) {
    say(error instanceof HubError || error instanceof Error ? error.message : String(error));
    return 1;
  }
}

/** The log at `db`: a Postgres database for a `postgres://` URL (not watched: no node runs here), else a SQLite file. */
async function openLog(db: string): Promise<EventStore> {
  if (!isPostgresUrl(db)) return createSqliteStore({ path: db });
  const { createPostgresStore } = await import('@eventloom/hub/postgres');
  return createPostgresStore({ url: db, pollIntervalMs: 0 });
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}
