import { envelopeJson } from './committed-json.ts';
import type { StoreAppend, StoreAppendResult } from './event-store.ts';
import { undefinedSlots } from './slots.ts';

/**
 * A batch for `SqliteLog.append`, one column per field: how the store's thread hands it to the
 * log's, cheaper to copy between threads than an object per event. The events' `envelopeJson`
 * texts travel joined, as one string (copied once, and never by the young-generation GC of the
 * SQLite thread): event i's is `envelopes` from `envelopeEnds[i - 1]` (0 for the first) to
 * `envelopeEnds[i]` (see {@link envelopeAt}). The other columns repeat the fields the plan needs.
 */
export interface AppendColumns {
  readonly envelopes: string;
  readonly envelopeEnds: Uint32Array;
  readonly ids: string[];
  readonly clientIds: string[];
  readonly clientSeqs: number[];
  readonly streams: string[];
  readonly expectedVersions: (number | undefined)[];
  readonly rejections: StoreAppend['rejection'][];
  /** Each event's `epoch`; undefined for a batch where no event carries one (nothing to copy). */
  readonly epochs: (number | undefined)[] | undefined;
}

/**
 * What `SqliteLog.append` answers, by column too: `positions[i]` and `streamVersions[i]` of
 * each `ok` event (0 elsewhere), and every other answer whole in `others[i]`.
 */
export interface AppendAnswer {
  readonly positions: Float64Array;
  readonly streamVersions: Float64Array;
  readonly others: (StoreAppendResult | undefined)[];
  /** The `recordedAt` of every event the batch committed. */
  readonly recordedAt: string;
}

/**
 * The columns of `batch` and each event's stored text (its `envelopeJson`, made here when the
 * caller did not), which the store keeps on its own thread for its recent commits.
 */
export function appendColumnsOf(batch: readonly StoreAppend[]): {
  readonly columns: AppendColumns;
  readonly texts: string[];
} {
  const texts: string[] = [];
  const envelopeEnds = new Uint32Array(batch.length);
  const ids: string[] = [];
  const clientIds: string[] = [];
  const clientSeqs: number[] = [];
  const streams: string[] = [];
  const expectedVersions: (number | undefined)[] = [];
  const rejections: StoreAppend['rejection'][] = [];
  let epochs: (number | undefined)[] | undefined;
  let end = 0;
  for (let i = 0; i < batch.length; i++) {
    const { event, rejection, envelopeJson: text = envelopeJson(event) } = batch[i]!;
    texts.push(text);
    end += text.length;
    envelopeEnds[i] = end;
    ids.push(event.id);
    clientIds.push(event.clientId);
    clientSeqs.push(event.clientSeq);
    streams.push(event.stream);
    expectedVersions.push(event.expectedVersion);
    rejections.push(rejection);
    const { epoch } = batch[i]!;
    if (epoch !== undefined) (epochs ??= undefinedSlots<number>(batch.length))[i] = epoch;
  }
  const envelopes = texts.join('');
  const columns = {
    envelopes,
    envelopeEnds,
    ids,
    clientIds,
    clientSeqs,
    streams,
    expectedVersions,
    rejections,
    epochs,
  };
  return { columns, texts };
}

/** Event i's `envelopeJson` in `columns` (a slice of the joined texts, not a copy). */
export function envelopeAt(columns: AppendColumns, i: number): string {
  return columns.envelopes.slice(i === 0 ? 0 : columns.envelopeEnds[i - 1], columns.envelopeEnds[i]);
}
