import type { SnapshotRow } from './client-store.ts';
import type { ClientRows } from './client-tables.ts';
import type { WriteTx } from './store-backend.ts';

/**
 * Stores projection snapshots in the caller's transaction: each row replaces the row of its id and
 * every other row of the same name (one snapshot per projection name).
 */
export async function putSnapshotRows(tx: WriteTx<ClientRows>, rows: readonly SnapshotRow[]): Promise<void> {
  for (const row of rows) {
    const same = await tx.scanIndex('snapshots', 'name', { lower: row.name, upper: row.name });
    const others = same.filter((other) => other.id !== row.id).map((other) => other.id);
    if (others.length > 0) await tx.delete('snapshots', others);
    await tx.put('snapshots', [row]);
  }
}
