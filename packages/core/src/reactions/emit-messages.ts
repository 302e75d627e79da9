import type { StoredEventKind } from '@eventloom/protocol';
import { CoreError, CoreErrorCode } from '../core-error.ts';
import type { EventDraft } from '../decider.ts';
import type { OutboxMessage } from './outbox-message.ts';
import { withTrace, type TraceMeta } from './trace-meta.ts';

/**
 * Collects what one reaction to one trigger emits, as outbox messages with deterministic ids
 * (`<prefix>/<n>`), traced from the trigger and completed with a stream and kind.
 */
export class MessageBuilder {
  readonly messages: OutboxMessage[] = [];
  readonly #source: string;
  readonly #prefix: string;
  readonly #trace: TraceMeta;
  readonly #stream: string;
  readonly #createdAt: string;

  constructor(source: string, prefix: string, trace: TraceMeta, stream: string, createdAt: string) {
    this.#source = source;
    this.#prefix = prefix;
    this.#trace = trace;
    this.#stream = stream;
    this.#createdAt = createdAt;
  }

  add(draft: EventDraft, kind?: StoredEventKind): void {
    if (typeof draft !== 'object' || draft === null || typeof draft.type !== 'string' || draft.type === '') {
      throw new CoreError(
        CoreErrorCode.invalidReaction,
        `${this.#source} emitted something that is not an event draft`,
      );
    }
    const traced = withTrace(draft, this.#trace);
    this.messages.push({
      id: `${this.#prefix}/${this.messages.length}`,
      source: this.#source,
      draft: {
        type: traced.type,
        data: traced.data,
        stream: traced.stream ?? this.#stream,
        kind: kind ?? traced.kind ?? 'domain',
        meta: traced.meta,
      },
      createdAt: this.#createdAt,
    });
  }

  addAll(drafts: readonly EventDraft[] | undefined, kind?: StoredEventKind): void {
    if (drafts === undefined) return;
    if (!Array.isArray(drafts)) {
      throw new CoreError(
        CoreErrorCode.invalidReaction,
        `${this.#source} emitted drafts that are not a list`,
      );
    }
    for (const draft of drafts) this.add(draft, kind);
  }
}

/** An ISO timestamp from scheduler milliseconds. */
export function isoTime(ms: number): string {
  return new Date(ms).toISOString();
}
