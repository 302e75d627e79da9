import { once } from 'node:events';
import type { Writable } from 'node:stream';
import { committedEventSchema, type CommittedEvent } from '@eventloom/protocol';
import { HubError, HubErrorCode, type EventStore } from '@eventloom/hub';

/**
 * The first line of an export: what it is, which log it came from, and the range it covers. Every
 * other line is one committed event, as the log holds it (`JSON.stringify` of what a read gives).
 */
export interface ExportHeader {
  readonly format: typeof EXPORT_FORMAT;
  readonly hubId: string;
  /** Events after this position follow. */
  readonly from: number;
  /** The log's head when the export began: the last position it holds. */
  readonly head: number;
  readonly exportedAt: string;
}

/** The `format` of an {@link ExportHeader}; a later layout gets another. */
export const EXPORT_FORMAT = 'eventloom-export/1';

/** Called as a transfer goes on: `done` of `total` (events for an export, bytes for an import). */
export type TransferProgress = (done: number, total: number | undefined) => void;

/**
 * Writes the committed log after position `from`, up to the head as it was when the export began,
 * to `out` as NDJSON: an {@link ExportHeader} line, then one event per line in position order.
 * Honours back-pressure; resolves once everything is handed to `out`.
 *
 * @example await exportLog(store, process.stdout, { from: 0 });
 */
export async function exportLog(
  store: EventStore,
  out: Writable,
  options: {
    readonly from?: number;
    readonly pageSize?: number;
    readonly onProgress?: TransferProgress;
  } = {},
): Promise<{ readonly exported: number; readonly head: number }> {
  const from = options.from ?? 0;
  const pageSize = options.pageSize ?? 1_000;
  const head = await store.head();
  const header: ExportHeader = {
    format: EXPORT_FORMAT,
    hubId: await store.hubId(),
    from,
    head,
    exportedAt: new Date().toISOString(),
  };
  await write(out, `${JSON.stringify(header)}\n`);
  const total = Math.max(0, head - from);
  let exported = 0;
  let position = from;
  options.onProgress?.(0, total);
  while (position < head) {
    const page = await store.read({ from: position, limit: Math.min(pageSize, head - position) });
    if (page.events.length === 0) break;
    let text = '';
    for (const event of page.events) text += `${JSON.stringify(event)}\n`;
    await write(out, text);
    exported += page.events.length;
    position = page.events[page.events.length - 1]!.position;
    options.onProgress?.(exported, total);
  }
  return { exported, head };
}

/**
 * Reads an export (see {@link exportLog}) line by line and writes its events into `store`, keeping
 * positions, stream versions and times, in batches of one transaction each. The log must be empty
 * or hold a prefix of the same export (an interrupted import runs again, skipping what is there);
 * an empty log takes the export's hub id. A line that is not a committed event fails the import
 * with its line number; the batches before it stay.
 *
 * @example await importLog(store, readline.createInterface({ input: createReadStream('log.ndjson') }));
 */
export async function importLog(
  store: EventStore,
  lines: AsyncIterable<string>,
  options: { readonly batchSize?: number; readonly onLine?: (bytes: number) => void } = {},
): Promise<{ readonly imported: number; readonly skipped: number; readonly head: number }> {
  // Taken first: a readline interface emits lines that no iterator waits for yet, and loses them.
  const iterator = lines[Symbol.asyncIterator]();
  const importEvents = store.importEvents?.bind(store);
  if (importEvents === undefined) {
    throw new HubError(HubErrorCode.config, 'this event store cannot import (it has no importEvents)');
  }
  const batchSize = options.batchSize ?? 1_000;
  let hubId: string | undefined;
  let batch: CommittedEvent[] = [];
  let imported = 0;
  let skipped = 0;
  let head = await store.head();
  const flush = async (): Promise<void> => {
    if (batch.length === 0 && hubId === undefined) return;
    const result = await importEvents(batch, hubId === undefined ? {} : { hubId });
    imported += result.imported;
    skipped += result.skipped;
    head = result.head;
    batch = [];
  };
  let lineNo = 0;
  for await (const line of { [Symbol.asyncIterator]: () => iterator }) {
    lineNo++;
    options.onLine?.(Buffer.byteLength(line) + 1);
    if (line.trim() === '') continue;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      throw lineFailure(lineNo, 'is not JSON');
    }
    if (lineNo === 1 && isHeader(value)) {
      if (value.format !== EXPORT_FORMAT) {
        throw lineFailure(
          lineNo,
          `is an export of format ${JSON.stringify(value.format)}, not ${EXPORT_FORMAT}`,
        );
      }
      hubId = value.hubId;
      continue;
    }
    const parsed = committedEventSchema.safeParse(value);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const where = issue === undefined || issue.path.length === 0 ? '' : ` at ${issue.path.join('.')}`;
      throw lineFailure(lineNo, `is not a committed event${where}: ${issue?.message ?? 'invalid'}`);
    }
    // The line as written, not the parsed copy: the log keeps the event's own key order.
    batch.push(value as CommittedEvent);
    if (batch.length >= batchSize) await flush();
  }
  await flush();
  return { imported, skipped, head };
}

/** A one-line progress bar for a terminal: `[#####.....]  52%  5,200 / 10,000 events`. */
export function progressBar(stream: NodeJS.WriteStream, unit: string): TransferProgress & { end(): void } {
  let last = 0;
  const draw = (done: number, total: number | undefined, force = false): void => {
    const now = Date.now();
    if (!force && now - last < 100) return;
    last = now;
    const count = `${done.toLocaleString('en')}${total === undefined ? '' : ` / ${total.toLocaleString('en')}`} ${unit}`;
    if (total === undefined || total === 0) {
      stream.write(`\r${count}`);
      return;
    }
    const share = Math.min(1, done / total);
    const width = 30;
    const filled = Math.round(share * width);
    stream.write(
      `\r[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${String(Math.floor(share * 100)).padStart(3)}%  ${count}`,
    );
  };
  let state: [number, number | undefined] = [0, undefined];
  return Object.assign(
    (done: number, total: number | undefined) => {
      state = [done, total];
      draw(done, total);
    },
    {
      end() {
        draw(state[0], state[1], true);
        stream.write('\n');
      },
    },
  );
}

function isHeader(value: unknown): value is Omit<ExportHeader, 'format'> & { readonly format: string } {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { format?: unknown }).format === 'string' &&
    typeof (value as { hubId?: unknown }).hubId === 'string'
  );
}

function lineFailure(lineNo: number, what: string): HubError {
  return new HubError(HubErrorCode.config, `line ${lineNo} ${what}`);
}

async function write(out: Writable, text: string): Promise<void> {
  if (!out.write(text)) await once(out, 'drain');
}
