import type { CommittedEvent, EventEnvelope, RejectionCode } from '@eventloom/protocol';
import type { Sql, TransactionSql } from 'postgres';
import { HubError, HubErrorCode } from '../hub/hub-error.ts';
import { committedJson, envelopeJson } from './committed-json.ts';
import type { StoreAppend } from './event-store.ts';
import { planAppend, type AppendPlan, type AppendSnapshot, type PlanItem } from './plan-append.ts';

/**
 * The advisory lock every append holds for its transaction (`pg_advisory_xact_lock`): writers on
 * every node take turns, so positions are assigned and committed in the same order and a reader
 * never sees position n + 1 before n (a sequence would hand numbers out in one order and commit
 * them in another). Any 64-bit number of ours; 'Eloo' then 2.
 */
export const POSTGRES_APPEND_LOCK = 0x456c6f6f_0002n;

/** Most events one INSERT statement of an append carries; a larger batch takes several. */
export const INSERT_CHUNK = 500;

/** Takes the append lock (see {@link POSTGRES_APPEND_LOCK}) until the transaction ends. */
export function lockAppends(tx: TransactionSql): Promise<unknown> {
  return tx`SELECT pg_advisory_xact_lock(${POSTGRES_APPEND_LOCK.toString()}::bigint)`;
}

/**
 * One append transaction (in `sql.begin`; {@link runAppend} runs it): the lock, the state the batch
 * is judged against (read in one round trip, for the clients and streams it names; one more for a
 * re-push), the plan, then the writes, sent without waiting for their answers (`written`
 * resolves with their failures, if any), so that the COMMIT follows them in the same round trip.
 * The plan is pure: when it asks for a row that was not read (a repeated seq's refusal or event,
 * an id to check), the rows it asked for are read and it plans again.
 */
export async function appendTransaction(
  tx: TransactionSql,
  items: readonly Item[],
  idsCheckedOnInsert: boolean,
  channel: string,
): Promise<{ committed: Committed; written: Promise<unknown[]> }> {
  const clientIds = [...new Set(items.map((i) => i.event.clientId))];
  const streams = [...new Set(items.map((i) => i.event.stream))];
  const [, headRows, clientRows, streamRows] = await Promise.all([
    lockAppends(tx),
    tx<{ head: string }[]>`SELECT coalesce(max(position), 0) AS head FROM eventloom_events`,
    tx<{ client_id: string; last_seq: string; epoch: number }[]>`
      SELECT client_id, last_seq, epoch FROM eventloom_clients WHERE client_id = ANY(${clientIds}::text[])`,
    tx<{ stream: string; version: number }[]>`
      SELECT stream, version FROM eventloom_streams WHERE stream = ANY(${streams}::text[])`,
  ]);
  const state: JudgedState = {
    head: Number(headRows[0]?.head ?? 0),
    lastSeqs: new Map(clientRows.map((r) => [r.client_id, Number(r.last_seq)])),
    epochs: new Map(clientRows.map((r) => [r.client_id, r.epoch])),
    versions: new Map(streamRows.map((r) => [r.stream, r.version])),
    events: new Map(),
    rejections: new Map(),
    fetchedIds: new Set(),
    fetchedRejections: new Set(),
  };
  // Seqs decided before (a re-push): answered from their events or refusals, read now, in one
  // more round trip that a batch of new seqs (nearly all of them) never pays.
  const repeats = repeatedSeqs(items, state);
  if (repeats.length > 0) {
    await Promise.all([
      fetchEvents(tx, state, [...new Set(repeats.map((r) => r.id))]),
      fetchRejections(tx, state, repeats),
    ]);
  }
  let plan: AppendPlan<Item>;
  for (;;) {
    const missing: Missing = { ids: new Set(), seqs: [] };
    plan = planAppend(snapshotOf(state, missing, idsCheckedOnInsert), items, envelopeOf);
    if (missing.ids.size === 0 && missing.seqs.length === 0) break;
    await Promise.all([fetchEvents(tx, state, [...missing.ids]), fetchRejections(tx, state, missing.seqs)]);
  }
  const recordedAt = new Date().toISOString();
  const writes: Promise<unknown>[] = [];
  // Several statements of at most INSERT_CHUNK rows, pipelined, rather than one: Postgres takes a
  // few mid-sized arrays much faster than one large one (measured: about twice as fast at 5,000).
  // A plain INSERT, not ON CONFLICT (a speculative insertion of each row, measured 1.6× slower):
  // an id stored already fails the statement and rolls the transaction back (see REUSED_ID).
  // The texts go as one string (see jsonHeads) and Postgres appends the commit fields, exactly as
  // committedJson does: no array of long strings to escape while the append lock is held.
  const recordedJson = JSON.stringify(recordedAt);
  for (let start = 0; start < plan.events.length; start += INSERT_CHUNK) {
    const chunk = plan.events.slice(start, start + INSERT_CHUNK);
    writes.push(tx`
      INSERT INTO eventloom_events (position, id, stream, stream_version, event)
      SELECT e.position, e.id, e.stream, e.version,
             e.head || '"position":' || e.position || ',"streamVersion":' || e.version
               || ',"recordedAt":' || ${recordedJson}::text || '}'
      FROM unnest(${chunk.map((p) => p.position)}::bigint[],
                  ${chunk.map((p) => p.item.event.id)}::text[],
                  ${chunk.map((p) => p.item.event.stream)}::text[],
                  ${chunk.map((p) => p.streamVersion)}::integer[],
                  string_to_array(${jsonHeads(chunk)}::text, ${HEAD_SEPARATOR}::text))
        AS e(position, id, stream, version, head)`);
  }
  if (plan.rejections.length > 0) {
    const r = plan.rejections;
    writes.push(tx`
      INSERT INTO eventloom_rejections (client_id, client_seq, event_id, code, message, current_version)
      SELECT * FROM unnest(${r.map((x) => x.clientId)}::text[], ${r.map((x) => x.clientSeq)}::bigint[],
                           ${r.map((x) => x.rejection.id)}::text[], ${r.map((x) => x.rejection.code)}::text[],
                           ${r.map((x) => x.rejection.message)}::text[],
                           ${r.map((x) => x.rejection.currentVersion ?? null)}::integer[])`);
  }
  writeHeads(tx, plan, writes);
  if (plan.events.length > 0) {
    // Delivered to the listeners of every node when (and only if) the transaction commits.
    const head = plan.events[plan.events.length - 1]!.position;
    writes.push(tx`SELECT pg_notify(${channel}, ${String(head)})`);
  }
  // Not awaited: the COMMIT goes out right behind the writes, one round trip less under the lock.
  // Every outcome is kept, so that an id conflict is told from the failures it causes after it.
  const written = Promise.allSettled(writes).then((settled) =>
    settled.flatMap((w) => (w.status === 'rejected' ? [w.reason as unknown] : [])),
  );
  return { committed: { plan, recordedAt, before: state.head }, written };
}

/**
 * Runs one append transaction (see {@link appendTransaction}) and resolves once it committed;
 * throws {@link REUSED_ID} (with `idsCheckedOnInsert`) when the unique index refused an id. The
 * writes and the COMMIT are sent together: when a write failed, Postgres answers the COMMIT by
 * rolling back, and the failure is thrown here.
 */
export async function runAppend(
  sql: Sql,
  items: readonly Item[],
  idsCheckedOnInsert: boolean,
  channel: string,
): Promise<Committed> {
  let written: Promise<unknown[]> = Promise.resolve([]);
  let committed: Committed;
  try {
    committed = await sql.begin(async (tx) => {
      const planned = await appendTransaction(tx, items, idsCheckedOnInsert, channel);
      written = planned.written;
      return planned.committed;
    });
  } catch (thrown) {
    throw failureOf([thrown, ...(await written)], idsCheckedOnInsert);
  }
  const failures = await written;
  if (failures.length > 0) throw failureOf(failures, idsCheckedOnInsert);
  return committed;
}

/**
 * Queues the upserts of the streams' new versions and the clients' new last seqs, the heads an
 * append or an import moves (`writes` is sent with the rest of the transaction's writes).
 */
export function writeHeads(
  tx: TransactionSql,
  plan: {
    readonly streamVersions: ReadonlyMap<string, number>;
    readonly clientSeqs: ReadonlyMap<string, number>;
  },
  writes: Promise<unknown>[],
): void {
  if (plan.streamVersions.size > 0) {
    writes.push(tx`
      INSERT INTO eventloom_streams (stream, version)
      SELECT * FROM unnest(${[...plan.streamVersions.keys()]}::text[], ${[...plan.streamVersions.values()]}::integer[])
      ON CONFLICT (stream) DO UPDATE SET version = excluded.version`);
  }
  if (plan.clientSeqs.size > 0) {
    writes.push(tx`
      INSERT INTO eventloom_clients (client_id, last_seq)
      SELECT * FROM unnest(${[...plan.clientSeqs.keys()]}::text[], ${[...plan.clientSeqs.values()]}::bigint[])
      ON CONFLICT (client_id) DO UPDATE SET last_seq = excluded.last_seq`);
  }
}

/** What to throw for the failures of a transaction's writes: an id conflict first, see REUSED_ID. */
function failureOf(failures: readonly unknown[], idsCheckedOnInsert: boolean): unknown {
  if (!failures.some(isIdConflict)) return failures[0];
  if (idsCheckedOnInsert) return REUSED_ID;
  return new HubError(HubErrorCode.store, 'event store: an id of the batch is stored already');
}

/**
 * Separates the texts of {@link jsonHeads}: U+001E, which `JSON.stringify` never leaves bare in
 * its output (it escapes every control character), so no text holds it.
 */
const HEAD_SEPARATOR = '\u001e';

/**
 * The committed JSON of each planned event up to its commit fields (its envelope's text without
 * the closing brace, with the comma that follows), joined by {@link HEAD_SEPARATOR}: the INSERT
 * appends `"position":…,"streamVersion":…,"recordedAt":…}` to each, the text `committedJson` gives.
 */
function jsonHeads(events: readonly { readonly item: Item }[]): string {
  const heads = events.map(({ item }) => (item.envelope === '{}' ? '{' : `${item.envelope.slice(0, -1)},`));
  if (heads.some((h) => h.includes(HEAD_SEPARATOR))) {
    throw new HubError(HubErrorCode.internal, 'an envelope text holds a bare U+001E');
  }
  return heads.join(HEAD_SEPARATOR);
}

/** Whether a statement failed on the unique index of event ids (`id text UNIQUE` of migration 1). */
function isIdConflict(error: unknown): boolean {
  const { code, constraint_name: constraint } = (error ?? {}) as {
    code?: unknown;
    constraint_name?: unknown;
  };
  return code === '23505' && constraint === 'eventloom_events_id_key';
}

/** Thrown inside an append transaction, to roll it back, when the unique index refused an id. */
export const REUSED_ID = Symbol('reused id');

/** One event of a batch, as the plan reads it, with its envelope as the JSON text to store. */
export interface Item extends PlanItem {
  readonly envelope: string;
}

export interface Committed {
  readonly plan: AppendPlan<Item>;
  readonly recordedAt: string;
  /** The head the batch followed. */
  readonly before: number;
}

/** The rows a transaction read: what the plan is judged against. */
interface JudgedState {
  readonly head: number;
  readonly lastSeqs: Map<string, number>;
  /** Each client's epoch, the fence (read under the append lock, which `claimClient` takes too). */
  readonly epochs: Map<string, number>;
  readonly versions: Map<string, number>;
  /** Committed events by id, as stored text. */
  readonly events: Map<string, string>;
  /** Refusals by `seq:clientId`. */
  readonly rejections: Map<string, RejectionRow>;
  readonly fetchedIds: Set<string>;
  readonly fetchedRejections: Set<string>;
}

/** What a plan asked for that was not read yet. */
interface Missing {
  readonly ids: Set<string>;
  readonly seqs: { clientId: string; clientSeq: number }[];
}

interface RejectionRow {
  readonly client_id: string;
  readonly client_seq: string;
  readonly event_id: string;
  readonly code: string;
  readonly message: string;
  readonly current_version: number | null;
}

/** Copies what the plan judges by: the caller may change its objects once append has returned. */
export function toItem({ event, rejection, envelopeJson: text, epoch }: StoreAppend): Item {
  const envelope = text ?? envelopeJson(event);
  const { id, clientId, clientSeq, stream, expectedVersion } = event;
  const judged = { id, clientId, clientSeq, stream, expectedVersion };
  // One shape for every item, `rejection` and `epoch` undefined when absent.
  return {
    event: judged,
    envelope,
    rejection: rejection && { code: rejection.code, message: rejection.message },
    epoch,
  };
}

/** The whole envelope of an item, for the plan's rare comparison of contents. */
function envelopeOf(item: Item): EventEnvelope {
  return JSON.parse(item.envelope) as EventEnvelope;
}

function snapshotOf(state: JudgedState, missing: Missing, idsCheckedOnInsert: boolean): AppendSnapshot {
  return {
    head: () => state.head,
    lastClientSeq: (clientId) => state.lastSeqs.get(clientId) ?? 0,
    clientEpoch: (clientId) => state.epochs.get(clientId) ?? 0,
    rejection: (clientId, clientSeq) => {
      const key = `${clientSeq}:${clientId}`;
      if (!state.fetchedRejections.has(key)) {
        missing.seqs.push({ clientId, clientSeq });
        return undefined;
      }
      const row = state.rejections.get(key);
      if (row === undefined) return undefined;
      const base = { id: row.event_id, code: row.code as RejectionCode, message: row.message };
      return row.current_version === null ? base : { ...base, currentVersion: row.current_version };
    },
    committedById: (id) => {
      if (!state.fetchedIds.has(id)) {
        missing.ids.add(id);
        return undefined;
      }
      const text = state.events.get(id);
      return text === undefined ? undefined : (JSON.parse(text) as CommittedEvent);
    },
    streamVersion: (stream) => state.versions.get(stream) ?? 0,
    idsCheckedOnInsert,
  };
}

/** The (client, seq) pairs of the batch at or below their client's last seq: repeats. */
function repeatedSeqs(
  items: readonly Item[],
  state: JudgedState,
): { id: string; clientId: string; clientSeq: number }[] {
  const seqs: { id: string; clientId: string; clientSeq: number }[] = [];
  for (const { event } of items) {
    if (event.clientSeq <= (state.lastSeqs.get(event.clientId) ?? 0)) {
      seqs.push({ id: event.id, clientId: event.clientId, clientSeq: event.clientSeq });
    }
  }
  return seqs;
}

async function fetchEvents(tx: TransactionSql, state: JudgedState, ids: readonly string[]): Promise<void> {
  if (ids.length === 0) return;
  const rows = await tx<{ id: string; event: string }[]>`
    SELECT id, event FROM eventloom_events WHERE id = ANY(${ids as string[]}::text[])`;
  for (const id of ids) state.fetchedIds.add(id);
  for (const row of rows) state.events.set(row.id, row.event);
}

async function fetchRejections(
  tx: TransactionSql,
  state: JudgedState,
  seqs: readonly { clientId: string; clientSeq: number }[],
): Promise<void> {
  if (seqs.length === 0) return;
  const rows = await tx<RejectionRow[]>`
    SELECT r.client_id, r.client_seq, r.event_id, r.code, r.message, r.current_version
    FROM eventloom_rejections r
    JOIN unnest(${seqs.map((s) => s.clientId)}::text[], ${seqs.map((s) => s.clientSeq)}::bigint[])
      AS b(client_id, seq) ON r.client_id = b.client_id AND r.client_seq = b.seq`;
  for (const s of seqs) state.fetchedRejections.add(`${s.clientSeq}:${s.clientId}`);
  for (const row of rows) state.rejections.set(`${Number(row.client_seq)}:${row.client_id}`, row);
}

export function eventsOf(plan: AppendPlan<Item>, recordedAt: string): CommittedEvent[] {
  return plan.events.map(
    (p) =>
      JSON.parse(committedJson(p.item.envelope, p.position, p.streamVersion, recordedAt)) as CommittedEvent,
  );
}

/** The highest committed position; 0 for an empty log. */
export async function readHead(sql: Sql): Promise<number> {
  const [row] = await sql<
    { head: string }[]
  >`SELECT coalesce(max(position), 0) AS head FROM eventloom_events`;
  return Number(row?.head ?? 0);
}
