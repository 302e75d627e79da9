import type { OutboxMessage, OutboxRelay, ReactionStore } from '@eventloom/core';
import {
  ErrorCode,
  eventEnvelopeSchema,
  formatHlc,
  HLC_MAX_COUNTER,
  HLC_MAX_WALL,
  type CommittedEvent,
  type EventEnvelope,
  type Principal,
  type Result,
} from '@eventloom/protocol';
import type { Logger } from 'pino';
import { HubError, HubErrorCode } from '../hub/hub-error.ts';
import type { HubRegistry } from '../hub/hub-options.ts';
import type { EventStore, StoreAppend, StoreAppendResult } from '../store/event-store.ts';
import { hubEventId } from './hub-event-id.ts';

/**
 * The registry the reactions use: the hub's, and when it has them (an `EventRegistry` of
 * `@eventloom/core` does) `latestVersion`, the version emitted events are written at (else 1),
 * and `upcast`, which lifts stored events before handlers see them.
 */
export interface ReactionRegistry extends HubRegistry {
  latestVersion?(type: string): number | undefined;
  upcast?(event: CommittedEvent): Result<{ readonly version: number; readonly data: unknown }>;
}

/** The reaction store's checkpoint row where the relay keeps the clientSeqs of the batch in flight. */
export const RELAY_CHECKPOINT = 'eventloom-hub/outbox-relay';

/** What {@link createHubOutboxRelay} takes. */
export interface HubOutboxRelayOptions {
  /** The hub's log, read for the relay client's last seq. */
  readonly store: EventStore;
  /** Appends through the hub's sequencer (the hub's `append`). */
  readonly append: (items: readonly StoreAppend[]) => Promise<StoreAppendResult[]>;
  readonly reactionStore: ReactionStore;
  /** The log's id: part of each emitted event's id. */
  readonly hubId: string;
  /** The client id the hub's emitted events are written under. */
  readonly clientId: string;
  /** Written into each emitted event's `meta.principal`. */
  readonly principal: Principal;
  readonly registry?: ReactionRegistry;
  readonly maxEventBytes: number;
  readonly logger: Logger;
  /**
   * The reaction store's checkpoint row of the batch in flight (default {@link RELAY_CHECKPOINT}):
   * one per client id, as each relay numbers its own client's seqs.
   */
  readonly checkpoint?: string;
  /** Told of every message the log refused for good (invalid, too large…): it is not retried. */
  readonly onRefused?: (message: OutboxMessage, result: StoreAppendResult & { status: 'rejected' }) => void;
}

/**
 * The hub's `OutboxRelay`: appends what handlers and sagas emitted to the hub's own log, as events
 * of one client (`clientId`), through the sequencer, so that they are ordered and broadcast like
 * pushed events. Delivering a message twice makes one event: its id derives from the message id,
 * and the clientSeqs of a batch are written to the reaction store before the append, so a batch
 * delivered again (after a crash between the append and the outbox delete) gets the same seqs and
 * is answered `duplicate`.
 *
 * @example const relay = createHubOutboxRelay({ store, append: hub.append, reactionStore, hubId, clientId: 'eventloom-hub', principal, maxEventBytes, logger });
 */
export function createHubOutboxRelay(options: HubOutboxRelayOptions): OutboxRelay {
  return {
    async deliver(messages) {
      if (messages.length === 0) return;
      const row = options.checkpoint ?? RELAY_CHECKPOINT;
      const ids = messages.map((m) => m.id);
      const { lastClientSeq } = await options.store.client(options.clientId);
      const first = await options.reactionStore.transaction(async (tx) => {
        const intent = await tx.getCheckpoint(row);
        // The batch in flight comes again (its append may have committed): the same seqs. Unless
        // its seqs are past the log's (a log replaced under the reactions): then nothing of it is there.
        if (
          intent !== undefined &&
          intent.position <= lastClientSeq + 1 &&
          sameStart(intent.recentIds, ids)
        ) {
          if (intent.recentIds.length < ids.length) {
            await tx.putCheckpoint(row, { position: intent.position, recentIds: ids });
          }
          return intent.position;
        }
        await tx.putCheckpoint(row, { position: lastClientSeq + 1, recentIds: ids });
        return lastClientSeq + 1;
      });
      const items = messages.map((message, i) => appendOf(options, message, first + i));
      const results = await options.append(items);
      let retry: StoreAppendResult | undefined;
      results.forEach((result, i) => {
        if (result.status !== 'rejected') return;
        if (TRANSIENT.has(result.code)) {
          retry ??= result;
          return;
        }
        const message = messages[i]!;
        if (result.code === ErrorCode.idConflict) {
          // The message's deterministic id is in the log already: it was delivered before.
          options.logger.warn(
            { message: message.id, event: result.id },
            'reactions: emitted event already in the log',
          );
          return;
        }
        options.logger.error(
          {
            message: message.id,
            source: message.source,
            type: message.draft.type,
            code: result.code,
            reason: result.message,
          },
          'reactions: the log refused an emitted event',
        );
        options.onRefused?.(message, result);
      });
      if (retry !== undefined) {
        const { code, message } = retry as StoreAppendResult & { status: 'rejected' };
        throw new HubError(
          HubErrorCode.store,
          `reactions: the hub could not append emitted events (${code}: ${message})`,
        );
      }
    },
  };
}

const TRANSIENT = new Set<string>([ErrorCode.unavailable, ErrorCode.internal, ErrorCode.sequenceGap]);

/** Whether the batch starts with the ids of the batch recorded in flight (or they start with it). */
function sameStart(recorded: readonly string[], ids: readonly string[]): boolean {
  const n = Math.min(recorded.length, ids.length);
  if (n === 0) return false;
  for (let i = 0; i < n; i++) if (recorded[i] !== ids[i]) return false;
  return true;
}

/** The envelope of an emitted message at `clientSeq`, refused up front when it is not a valid event. */
function appendOf(options: HubOutboxRelayOptions, message: OutboxMessage, clientSeq: number): StoreAppend {
  const { draft } = message;
  const createdAt = Date.parse(message.createdAt);
  const wall = Number.isSafeInteger(createdAt) ? Math.min(Math.max(createdAt, 0), HLC_MAX_WALL) : 0;
  const candidate = {
    id: hubEventId(options.hubId, message.id, wall),
    type: draft.type,
    version: options.registry?.latestVersion?.(draft.type) ?? 1,
    kind: draft.kind,
    stream: draft.stream,
    data: draft.data,
    meta: { ...draft.meta, principal: options.principal },
    clientId: options.clientId,
    clientSeq,
    hlc: formatHlc({ wall, counter: clientSeq % (HLC_MAX_COUNTER + 1), node: options.clientId }),
  };
  const parsed = eventEnvelopeSchema.safeParse(candidate);
  // A draft that is no valid envelope is stored as a refusal under its seq, so the seqs stay gapless.
  const event = candidate as EventEnvelope;
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue === undefined ? '' : ` at ${issue.path.join('.')}: ${issue.message}`;
    return {
      event,
      rejection: { code: ErrorCode.invalid, message: `not a valid event${where}`.slice(0, 1024) },
    };
  }
  const bytes = Buffer.byteLength(JSON.stringify(event));
  if (bytes > options.maxEventBytes) {
    return {
      event,
      rejection: {
        code: ErrorCode.tooLarge,
        message: `the event is ${bytes} bytes, over ${options.maxEventBytes}`,
      },
    };
  }
  const verdict = options.registry?.validate(event);
  if (verdict !== undefined && !verdict.ok) {
    const code =
      verdict.error.code === ErrorCode.unknownEventVersion ? verdict.error.code : ErrorCode.invalid;
    return { event, rejection: { code, message: verdict.error.message.slice(0, 1024) } };
  }
  return { event };
}
