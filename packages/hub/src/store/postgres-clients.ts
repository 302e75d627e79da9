import type { Sql } from 'postgres';
import type { ClientClaim, NewClientClaim } from './event-store.ts';
import { lockAppends } from './postgres-append.ts';

interface ClientRow {
  readonly last_seq: string;
  readonly principal: string | null;
  readonly epoch: number;
}

/**
 * `EventStore.claimClient` on Postgres: under the append lock, so that on every node an append
 * either committed before the claim (and its seqs are in the record read) or reads the new epoch
 * (and is fenced). One round trip: the lock and the update are sent together.
 */
export function claimPostgresClient(sql: Sql, clientId: string, principal: string): Promise<ClientClaim> {
  return sql.begin(async (tx) => {
    const [, claimed] = await Promise.all([
      lockAppends(tx),
      tx<ClientRow[]>`
        UPDATE eventloom_clients SET epoch = epoch + 1
        WHERE client_id = ${clientId} AND (principal IS NULL OR principal = ${principal})
        RETURNING last_seq, principal, epoch`,
    ]);
    const row =
      claimed[0] ??
      (
        await tx<ClientRow[]>`
          SELECT last_seq, principal, epoch FROM eventloom_clients WHERE client_id = ${clientId}`
      )[0];
    if (row === undefined) return { lastClientSeq: 0, principal: undefined, epoch: 0 };
    return { lastClientSeq: Number(row.last_seq), principal: row.principal ?? undefined, epoch: row.epoch };
  });
}

/** `EventStore.claimNewClient` on Postgres, under the append lock as {@link claimPostgresClient}. */
export function claimNewPostgresClient(
  sql: Sql,
  clientId: string,
  principal: string,
): Promise<NewClientClaim> {
  return sql.begin(async (tx): Promise<NewClientClaim> => {
    const [, rows] = await Promise.all([
      lockAppends(tx),
      tx<ClientRow[]>`SELECT last_seq, principal, epoch FROM eventloom_clients WHERE client_id = ${clientId}`,
    ]);
    const row = rows[0];
    if (row !== undefined && row.principal !== null && row.principal !== principal) {
      return { status: 'other-principal' };
    }
    if (row !== undefined && (row.epoch !== 0 || Number(row.last_seq) !== 0)) return { status: 'fenced' };
    await tx`
      INSERT INTO eventloom_clients (client_id, last_seq, principal, epoch) VALUES (${clientId}, 0, ${principal}, 1)
      ON CONFLICT (client_id) DO UPDATE SET principal = excluded.principal, epoch = 1`;
    return { status: 'claimed', epoch: 1 };
  });
}
