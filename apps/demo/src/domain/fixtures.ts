import type { EventDraftOf, FoldableEventOf } from '@eventloom/core';
import { boardStream } from './board-projection.ts';
import type { BoardEvents } from './events.ts';
import { registry } from './registry.ts';

/** Test support: turns drafts into confirmed, validated events of one board, in order. */
export function confirmedHistory(
  boardId: string,
  drafts: readonly EventDraftOf<BoardEvents>[],
  options: { readonly clientId?: string; readonly from?: number } = {},
): BoardEvent[] {
  const from = options.from ?? 0;
  return drafts.map((draft, i) => toEvent(boardId, draft, from + i + 1, options.clientId ?? 'device-a'));
}

/** Test support: one draft as the confirmed event at `position` (also its stream version). */
export function toEvent(
  boardId: string,
  draft: { readonly type: string; readonly data: unknown; readonly version?: number },
  position: number,
  clientId = 'device-a',
): BoardEvent {
  const validated = registry.validate({
    type: draft.type,
    version: draft.version ?? registry.latestVersion(draft.type) ?? 1,
    data: draft.data,
  });
  if (!validated.ok) throw new Error(`${draft.type}: ${validated.error.message}`);
  const event = {
    id: `00000000-0000-7000-8000-${String(position).padStart(12, '0')}`,
    type: draft.type,
    version: validated.value.version,
    kind: 'domain',
    stream: boardStream(boardId),
    data: validated.value.data,
    meta: {},
    clientId,
    clientSeq: position,
    hlc: `${String(1_700_000_000_000 + position).padStart(15, '0')}-0000000000-${clientId}`,
    position,
    streamVersion: position,
    recordedAt: '2026-11-27T10:00:00.000Z',
  };
  // The registry validated the data against the type's schema: it is what the type says.
  return event as BoardEvent;
}

/** A confirmed board event, typed by its type. */
export type BoardEvent = FoldableEventOf<BoardEvents>;
