import type { CommittedEvent } from '@eventloom/protocol';
import type { TransactionSql } from 'postgres';
import type { StoreImportResult } from './event-store.ts';
import { lockAppends, writeHeads } from './postgres-append.ts';
import { importHubId, planImport } from './plan-import.ts';

/** What {@link importTransaction} did: the store's answer, and the log's id after it. */
export interface Imported extends StoreImportResult {
  readonly hubId: string;
  /** The head before the batch. */
  readonly before: number;
}

/**
 * One import transaction (run it in `sql.begin`; see `EventStore.importEvents`): under the append
 * lock, so that it takes its turn with the appends of every node, it reads in one round trip what
 * the batch is judged against (the head, the hub id, the stored events of the batch's ids, its
 * streams' versions and its clients' seqs), plans with `planImport`, and writes the events as
 * they are, the streams' versions, the clients' seqs and principal bindings, and the hub id an
 * empty log takes. A refused batch throws before anything is written, and the transaction rolls
 * back. Ends with `NOTIFY` of the new head on `channel` when it added events.
 */
export async function importTransaction(
  tx: TransactionSql,
  events: readonly CommittedEvent[],
  hubId: string | undefined,
  channel: string,
): Promise<Imported> {
  const ids = events.map((e) => e.id);
  const streams = [...new Set(events.map((e) => e.stream))];
  const clientIds = [...new Set(events.map((e) => e.clientId))];
  const [, headRows, metaRows, storedRows, streamRows, clientRows] = await Promise.all([
    lockAppends(tx),
    tx<{ head: string }[]>`SELECT coalesce(max(position), 0) AS head FROM eventloom_events`,
    tx<{ value: string }[]>`SELECT value FROM eventloom_meta WHERE key = 'hub_id'`,
    tx<{ id: string; event: string }[]>`
      SELECT id, event FROM eventloom_events WHERE id = ANY(${ids}::text[])`,
    tx<{ stream: string; version: number }[]>`
      SELECT stream, version FROM eventloom_streams WHERE stream = ANY(${streams}::text[])`,
    tx<{ client_id: string; last_seq: string }[]>`
      SELECT client_id, last_seq FROM eventloom_clients WHERE client_id = ANY(${clientIds}::text[])`,
  ]);
  const before = Number(headRows[0]?.head ?? 0);
  const current = metaRows[0]?.value ?? '';
  const takeId = importHubId(before, current, hubId);
  const stored = new Map(storedRows.map((r) => [r.id, r.event]));
  const versions = new Map(streamRows.map((r) => [r.stream, r.version]));
  const lastSeqs = new Map(clientRows.map((r) => [r.client_id, Number(r.last_seq)]));
  const plan = planImport(
    {
      head: () => before,
      committedById: (id) => {
        const text = stored.get(id);
        return text === undefined ? undefined : (JSON.parse(text) as CommittedEvent);
      },
      streamVersion: (stream) => versions.get(stream) ?? 0,
      lastClientSeq: (clientId) => lastSeqs.get(clientId) ?? 0,
    },
    events,
  );
  const writes: Promise<unknown>[] = [];
  if (takeId) writes.push(tx`UPDATE eventloom_meta SET value = ${hubId!} WHERE key = 'hub_id'`);
  const added = plan.events;
  if (added.length > 0) {
    writes.push(tx`
      INSERT INTO eventloom_events (position, id, stream, stream_version, event)
      SELECT * FROM unnest(${added.map((e) => e.position)}::bigint[], ${added.map((e) => e.id)}::text[],
                           ${added.map((e) => e.stream)}::text[], ${added.map((e) => e.streamVersion)}::integer[],
                           ${added.map((e) => JSON.stringify(e))}::text[])`);
  }
  writeHeads(tx, plan, writes);
  const head = added.length > 0 ? added[added.length - 1]!.position : before;
  if (added.length > 0) writes.push(tx`SELECT pg_notify(${channel}, ${String(head)})`);
  await Promise.all(writes);
  // After the seqs: a client first seen in the batch has its row now. A binding stays as it is.
  if (plan.principals.size > 0) {
    await tx`
      INSERT INTO eventloom_clients (client_id, last_seq, principal)
      SELECT b.client_id, 0, b.principal
      FROM unnest(${[...plan.principals.keys()]}::text[], ${[...plan.principals.values()]}::text[])
        AS b(client_id, principal)
      ON CONFLICT (client_id) DO UPDATE SET principal = excluded.principal
      WHERE eventloom_clients.principal IS NULL`;
  }
  return { imported: added.length, skipped: plan.skipped, head, hubId: takeId ? hubId! : current, before };
}
