import type { CommittedEvent } from '@eventloom/protocol';
import { committedJson } from './committed-json.ts';
import type { AppendAnswer } from './append-columns.ts';
import type { CommittedJson, HeadChange, StoreAppendResult } from './event-store.ts';
import type { RecentCommits } from './recent-commits.ts';

/**
 * The change of head a store's own commit tells its watchers (`EventStore.watchHead`): positions
 * `from + 1 … head`, handed over as objects (read back from the store's recent commits) and as
 * JSON text (made from the batch's envelopes and the commit's answer). Its functions are made in
 * the constructor, not as the properties of an object literal: the hub runs from TypeScript source
 * (tsx), where each such named function costs a `defineProperty` of its name, on every commit.
 */
export class CommittedChange implements HeadChange {
  readonly head: number;
  readonly from: number;
  readonly events: () => readonly CommittedEvent[];
  readonly json: () => readonly CommittedJson[];

  constructor(
    head: number,
    from: number,
    recent: RecentCommits,
    batch: { readonly envelopes: readonly string[]; readonly streams: readonly string[] },
    answer: AppendAnswer,
  ) {
    this.head = head;
    this.from = from;
    this.events = () => recent.page(from, head - from)?.events ?? [];
    this.json = () => committedTexts(batch.envelopes, batch.streams, answer);
  }
}

/** The events a batch committed (those the answer gives a position), as their JSON text. */
function committedTexts(
  envelopes: readonly string[],
  streams: readonly string[],
  answer: AppendAnswer,
): CommittedJson[] {
  const texts: CommittedJson[] = [];
  for (let i = 0; i < envelopes.length; i++) {
    if (answer.others[i] !== undefined) continue;
    const position = answer.positions[i]!;
    const json = committedJson(envelopes[i]!, position, answer.streamVersions[i]!, answer.recordedAt);
    texts.push({ position, stream: streams[i]!, json });
  }
  return texts;
}

/** The answer of each event of a batch, from the commit's {@link AppendAnswer}. */
export function resultsOf(ids: readonly string[], answer: AppendAnswer): StoreAppendResult[] {
  const results: StoreAppendResult[] = [];
  for (let i = 0; i < ids.length; i++) {
    results.push(
      answer.others[i] ?? {
        status: 'ok',
        id: ids[i]!,
        position: answer.positions[i]!,
        streamVersion: answer.streamVersions[i]!,
      },
    );
  }
  return results;
}
