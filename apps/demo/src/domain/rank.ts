/** Something placed among siblings by `rank` (smaller first), ties broken by `id`. */
export interface Ranked {
  readonly id: string;
  readonly rank: number;
}

/**
 * Orders by rank, then id: two devices that picked the same rank offline still agree on the
 * order, because the tie is broken by something both see.
 */
export function byRank(a: Ranked, b: Ranked): number {
  return a.rank - b.rank || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}

/**
 * The rank that puts an item at `index` of `siblings` (already ordered, without the item itself):
 * halfway between its neighbours, one step past the ends.
 *
 * @example rankAt([{ id: 'a', rank: 1 }, { id: 'b', rank: 2 }], 1) // 1.5
 */
export function rankAt(siblings: readonly Ranked[], index: number): number {
  const at = Math.max(0, Math.min(index, siblings.length));
  const before = siblings[at - 1]?.rank;
  const after = siblings[at]?.rank;
  if (before === undefined && after === undefined) return 1;
  if (before === undefined) return after! - 1;
  if (after === undefined) return before + 1;
  return before + (after - before) / 2;
}
