/** Where the row of a clientSeq is in a list of pending entries in clientSeq order (binary search); undefined if absent. */
export function indexOfSeq(
  pending: readonly { readonly row: { readonly clientSeq: number } }[],
  seq: number,
): number | undefined {
  let lo = 0;
  let hi = pending.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (pending[mid]!.row.clientSeq < seq) lo = mid + 1;
    else hi = mid;
  }
  return pending[lo]?.row.clientSeq === seq ? lo : undefined;
}
