import type { Sql } from 'postgres';
import { expect, it } from 'vitest';
import { PgTransaction } from './postgres-reaction-transaction.ts';

/** A server that cannot be reached: `begin` fails before calling back, and nothing else may run. */
const unreachable = Object.assign(
  () => {
    throw new Error('a query outside the transaction');
  },
  { begin: () => Promise.reject(new Error('connect ECONNREFUSED')) },
) as unknown as Sql;

it('fails the reads queued for a transaction that could not open, and those issued after, with why', async () => {
  const checkpoint = { position: 1, recentIds: [] };
  const transaction = new PgTransaction(unreachable, { name: 'reactions', epoch: 1 });
  await expect(
    transaction.run(async (tx) => {
      const first = tx.getCheckpoint('h');
      const put = tx.putCheckpoint('h', checkpoint);
      const second = tx.hasApplied('h', 'e1');
      await expect(first).rejects.toThrow('ECONNREFUSED');
      await expect(second).rejects.toThrow('ECONNREFUSED');
      await put;
      // Issued once the failure is known: no wait for a transaction that will not come.
      await expect(tx.getSaga('s/1')).rejects.toThrow('ECONNREFUSED');
      return 'handled';
    }),
  ).rejects.toThrow('ECONNREFUSED');
});
