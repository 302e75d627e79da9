import type { CommittedEvent, EventEnvelope } from '@eventloom/protocol';
import type { ClientMeta, OutboxRow, RealignInput, RealignResult } from './client-store.ts';

/** Everything one {@link planRealign} changes, for a store to write in one transaction. */
export interface RealignPlan {
  readonly result: RealignResult;
  /** Confirmed events above this position leave the log and the position moves down to it (undefined: the log stays). */
  readonly cutAbove: number | undefined;
  /** Outbox rows to delete (by their old clientSeq), then the rows to put. */
  readonly deleteSeqs: readonly number[];
  readonly putRows: readonly OutboxRow[];
  /** Rows of `sent` to delete (they are back in the outbox). */
  readonly deleteSent: readonly number[];
}

/**
 * Brings the device in line with what the hub's `welcome` says of it (DESIGN "The hub's word on a
 * client is checked at every hello"); pure. `ahead`: {@link aheadOfHub} (false with `usedFrom`).
 *
 * - A device ahead of the hub (`ahead`: the log was restored from an older backup):
 *   the confirmed events above the hub's head (or above the first own event the hub lost, if
 *   lower) leave the log; the device's own go back to the outbox, in their order, ahead of the
 *   pending rows, to be sent again with the same ids. `confirmed` is then the device's whole log.
 *   So do the own events the hub has not decided (seq above `hubClientSeq`) that the log does not
 *   hold: acked rows still in the outbox (their ack is void), and the settled rows kept in `sent`
 *   (`sent`: those above `hubClientSeq`). A write-only device gets its events back in the hub this
 *   way, as far as `sent` reaches (`SENT_KEPT`).
 * - The rows the hub has not decided (seq above `hubClientSeq`; every row, when the device's own
 *   counter is below the hub's and it never met this hub: its storage was cleared) are numbered
 *   anew from `hubClientSeq + 1` where they do not follow on from it already, and the counter
 *   moves to the last of them: the hub takes them in order, and no seq the hub holds is given to
 *   another event.
 * - A device that met the hub (its `hubId` recorded) whose counter is below the hub's lost writes
 *   whose rows it had pushed (it was killed while they were in flight): the hub holds those seqs,
 *   and a row it still holds at one may be the very event the hub stored there. So those rows keep
 *   their seqs, as below (renumbered, they would be sent again with the same id and other
 *   content: `id-conflict`), and only the counter moves past the hub's.
 * - Rows the hub decided (seq ≤ `hubClientSeq`, on a device whose counter is not behind) keep
 *   theirs: acked or not, a re-push gets the hub's first answer. But from `usedFrom` on (the hub
 *   refused one of them `seq-used`: it holds other events there), the unacked rows are numbered
 *   anew past `hubClientSeq` too.
 */
export function planRealign(
  meta: ClientMeta,
  outbox: readonly OutboxRow[],
  confirmed: readonly CommittedEvent[],
  input: RealignInput,
  ahead: boolean,
  sent: readonly OutboxRow[] = [],
): RealignPlan {
  const hubSeq = input.hubClientSeq;
  const used = input.usedFrom;
  const cut = ahead ? restoredAbove(meta, confirmed, input) : undefined;
  const leaving = cut === undefined ? [] : confirmed.filter((e) => e.position > cut);
  const sorted = [...outbox].sort((a, b) => a.clientSeq - b.clientSeq);
  // Acked rows the restored hub has not decided: their acks came from the log it lost.
  const voided = ahead ? sorted.filter((row) => row.acked !== undefined && row.clientSeq > hubSeq) : [];
  const lostSent = ahead ? sent.filter((row) => row.clientSeq > hubSeq) : [];
  const returning = ownInOrder([
    ...leaving
      .filter((e) => e.clientId === meta.clientId)
      .map((e): OutboxRow => ({ clientSeq: e.clientSeq, event: envelopeOf(e) })),
    ...voided,
    ...lostSent,
  ]);
  const cleared = meta.clientSeq < hubSeq && meta.hubId === undefined;
  const tail = cleared
    ? sorted
    : sorted.filter(
        (row) =>
          !voided.includes(row) &&
          (row.clientSeq > hubSeq ||
            (used !== undefined && row.clientSeq >= used && row.acked === undefined)),
      );
  const list = [...returning, ...tail];
  const renumbered = new Map<number, number>();
  const renumber = list.some((row, i) => row.clientSeq !== hubSeq + 1 + i) || returning.length > 0;
  const putRows: OutboxRow[] = [];
  const deleteSeqs: number[] = [];
  let rows: OutboxRow[] = list;
  if (renumber) {
    list.forEach((row, i) => renumbered.set(row.clientSeq, hubSeq + 1 + i));
    rows = list.map((row, i) => {
      const clientSeq = hubSeq + 1 + i;
      const event: EventEnvelope = { ...row.event, clientSeq };
      const { acked: _acked, ...rest } = row;
      const command =
        row.command === undefined
          ? undefined
          : { ...row.command, first: renumbered.get(row.command.first) ?? row.command.first };
      return { ...rest, clientSeq, event, ...(command === undefined ? {} : { command }) };
    });
    deleteSeqs.push(...tail.map((row) => row.clientSeq), ...voided.map((row) => row.clientSeq));
    putRows.push(...rows);
  }
  const clientSeq = meta.clientSeq !== hubSeq || list.length > 0 ? hubSeq + list.length : meta.clientSeq;
  const changedRows = renumber;
  const next: ClientMeta = {
    ...meta,
    clientSeq,
    position: cut ?? meta.position,
    // The position went down: readers rebuild their confirmed states (as after older history).
    history: meta.history + (cut === undefined ? 0 : 1),
    epoch: meta.epoch + (changedRows ? 1 : 0),
  };
  return {
    result: {
      meta: next,
      before: meta,
      returned: renumber ? rows.slice(0, returning.length) : [],
      dropped: leaving.filter((e) => e.clientId !== meta.clientId),
      renumbered,
    },
    cutAbove: cut,
    deleteSeqs,
    putRows,
    deleteSent: lostSent.map((row) => row.clientSeq),
  };
}

/** Own rows in clientSeq order, each event once (a settled event may be in the log too: history pulled later). */
function ownInOrder(rows: readonly OutboxRow[]): OutboxRow[] {
  const seen = new Set<string>();
  return [...rows]
    .sort((a, b) => a.clientSeq - b.clientSeq)
    .filter((row) => !seen.has(row.event.id) && seen.add(row.event.id) !== undefined);
}

/**
 * Whether the hub's log lost what this device holds: the device is past the hub's head, or the
 * hub has not decided seqs the device saw decided (acked, refused or confirmed: every seq below
 * its lowest unacked row, `lowest`, or up to its counter without one). A device whose own counter
 * is behind the hub's lost its storage instead: that is not this.
 */
export function aheadOfHub(meta: ClientMeta, lowest: number | undefined, input: RealignInput): boolean {
  if (meta.position > input.hubHead) return true;
  const decided = lowest === undefined ? meta.clientSeq : Math.min(meta.clientSeq, lowest - 1);
  return decided > input.hubClientSeq;
}

/**
 * Whether {@link planRealign} changes nothing, told without reading the outbox, as at nearly every
 * hello: no `usedFrom`, the device is not `ahead` of the hub, and its rows above the hub's seq
 * (`above` of them: seqs are unique and at most the counter) are every seq from `hubClientSeq + 1`
 * to the counter: they follow on from the hub's, and the counter is not behind it.
 */
export function realignsNothing(
  meta: ClientMeta,
  input: RealignInput,
  ahead: boolean,
  above: number,
): boolean {
  return input.usedFrom === undefined && !ahead && above === meta.clientSeq - input.hubClientSeq;
}

/**
 * Where a device ahead of the hub re-derives its log from: the hub's head, or lower where an own
 * event the hub lost sits at or below it (other devices wrote to the restored log meanwhile).
 * `confirmed`: the device's whole log. Call it only for a device ahead of the hub; undefined when
 * the log stays.
 */
function restoredAbove(
  meta: ClientMeta,
  confirmed: readonly CommittedEvent[],
  input: RealignInput,
): number | undefined {
  let above = Math.min(input.hubHead, meta.position);
  for (const e of confirmed) {
    if (e.clientId === meta.clientId && e.clientSeq > input.hubClientSeq) {
      above = Math.min(above, e.position - 1);
      break;
    }
  }
  return above < meta.position ? above : undefined;
}

function envelopeOf(event: CommittedEvent): EventEnvelope {
  const { position: _p, streamVersion: _v, recordedAt: _r, ...envelope } = event;
  return envelope;
}
