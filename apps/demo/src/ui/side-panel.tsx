import { useMemo, useState } from 'preact/hooks';
import type { TimelineEntry } from '../board-app.ts';
import type { ConflictEntry } from '../conflicts.ts';
import { describeEvent } from '../describe-event.ts';
import {
  archivedCards,
  cardsIn,
  memberIdOf,
  memberOf,
  type BoardCommand,
  type BoardState,
} from '../domain/index.ts';
import type { DeadLetterView } from '../reactions.ts';
import { ConflictText } from './conflict-text.tsx';
import { shortId, timeAgo, useApp, useObservable } from './hooks.ts';

type Tab = 'timeline' | 'conflicts' | 'sagas' | 'dead-letters' | 'archived';

/** The side panel: the event timeline, conflicts, sagas, dead letters and archived cards. */
export function SidePanel({ board }: { readonly board: BoardState }) {
  const app = useApp();
  const [tab, setTab] = useState<Tab>('timeline');
  const timeline = useObservable(app.timeline$, []);
  const conflicts = useObservable(app.conflicts.entries$, []);
  const deadLetters = useObservable(app.reactions.deadLetters$, []);
  const open = conflicts.filter((c) => c.status === 'open').length;
  const running = Object.values(board.archives).filter((r) => r.status === 'running').length;
  const tabs: [Tab, string, number | undefined][] = [
    ['timeline', 'Timeline', undefined],
    ['conflicts', 'Conflicts', open || undefined],
    ['sagas', 'Sagas', running || undefined],
    ['dead-letters', 'Dead letters', deadLetters.length || undefined],
    ['archived', 'Archive', archivedCards(board).length || undefined],
  ];
  return (
    <aside class="side" aria-label="Event flow">
      <div class="tabs" role="tablist">
        {tabs.map(([id, label, badge]) => (
          <button
            key={id}
            type="button"
            role="tab"
            id={`tab-${id}`}
            aria-selected={tab === id}
            aria-controls={`panel-${id}`}
            class={tab === id ? 'tab active' : 'tab'}
            data-testid={`tab-${id}`}
            onClick={() => setTab(id)}
          >
            {label}
            {badge !== undefined && <span class="tab-badge">{badge}</span>}
          </button>
        ))}
      </div>
      <div class="panel" role="tabpanel" id={`panel-${tab}`} aria-labelledby={`tab-${tab}`}>
        {tab === 'timeline' && <Timeline entries={timeline} board={board} />}
        {tab === 'conflicts' && <ConflictsPanel entries={conflicts} board={board} />}
        {tab === 'sagas' && <SagasPanel board={board} />}
        {tab === 'dead-letters' && <DeadLettersPanel letters={deadLetters} />}
        {tab === 'archived' && <ArchivedPanel board={board} />}
      </div>
    </aside>
  );
}

function Timeline({
  entries,
  board,
}: {
  readonly entries: readonly TimelineEntry[];
  readonly board: BoardState;
}) {
  const app = useApp();
  const [highlight, setHighlight] = useState<string | undefined>(undefined);
  const byId = useMemo(() => new Map(entries.map((e) => [e.id, e])), [entries]);
  const pending = entries.filter((e) => e.status === 'pending').length;
  return (
    <>
      <p class="panel-intro">
        Every change is an event. <span class="legend pending">pending</span> events wait in this device's
        outbox; <span class="legend confirmed">confirmed</span> ones have a global position from the hub. ↳
        links an event to the one that caused it.
      </p>
      {entries.length === 0 && <p class="empty">No events yet.</p>}
      <ol class="timeline" data-testid="timeline" data-pending={pending}>
        {entries.map((e) => {
          const who =
            memberIdOf(board, e.clientId) === memberIdOf(board, app.clientId)
              ? 'You'
              : (memberOf(board, e.clientId)?.name ?? 'Someone');
          const cause = e.meta.causationId === undefined ? undefined : byId.get(e.meta.causationId);
          return (
            <li
              key={`${e.status}-${e.id}`}
              id={`event-${e.id}`}
              class={`event ${e.status}${highlight === e.id ? ' highlight' : ''}`}
              data-testid="timeline-event"
              data-status={e.status}
            >
              <div class="event-head">
                <code class="event-type">{e.type}</code>
                {e.status === 'confirmed' ? (
                  <span
                    class="event-pos"
                    title={`position ${e.position}, version ${e.streamVersion} of the board stream`}
                  >
                    #{e.position} · v{e.streamVersion}
                  </span>
                ) : (
                  <span class="event-pos pending" title="in the outbox, in clientSeq order">
                    pending · seq {e.clientSeq}
                  </span>
                )}
                {e.expectedVersion !== undefined && (
                  <span class="event-ev" title="decided on this version of the stream (expectedVersion)">
                    exp v{e.expectedVersion}
                  </span>
                )}
              </div>
              <p class="event-text">
                <strong>{who}</strong> {describeEvent(e, board)}
              </p>
              {e.meta.causationId !== undefined && (
                <a
                  class="event-cause"
                  href={`#event-${e.meta.causationId}`}
                  onMouseEnter={() => setHighlight(e.meta.causationId)}
                  onMouseLeave={() => setHighlight(undefined)}
                  onFocus={() => setHighlight(e.meta.causationId)}
                  onBlur={() => setHighlight(undefined)}
                >
                  ↳ caused by {cause ? <code>{cause.type}</code> : 'event'} {shortId(e.meta.causationId)}
                </a>
              )}
            </li>
          );
        })}
      </ol>
    </>
  );
}

function ConflictsPanel({
  entries,
  board,
}: {
  readonly entries: readonly ConflictEntry[];
  readonly board: BoardState;
}) {
  return (
    <>
      <p class="panel-intro">
        Rules that need the whole board (a column's WIP limit) are decided with <code>expectedVersion</code>.
        A refusal here, or a rejection by the hub when another device changed the board first, shows up below
        with how it was resolved.
      </p>
      {entries.length === 0 && <p class="empty">No conflicts so far.</p>}
      <ul class="conflicts" data-testid="conflicts">
        {entries.map((entry) => (
          <li
            key={entry.id}
            class={`conflict ${entry.status}`}
            data-testid="conflict"
            data-status={entry.status}
            data-code={entry.code}
          >
            <div class="event-head">
              <span class={`badge ${entry.status === 'open' ? 'warn' : 'ok'}`}>
                {entry.status === 'open' ? 'open' : 'resolved'}
              </span>
              <strong>
                {entry.story?.title ??
                  (entry.source === 'hub' ? 'Not accepted by the hub' : 'Refused on this device')}
              </strong>
              <span class="muted">{timeAgo(entry.at)}</span>
            </div>
            <ConflictText entry={entry} />
            {entry.resolution !== undefined && <p class="resolution">✓ {entry.resolution}</p>}
            {entry.status === 'open' && entry.deadLetterId !== undefined && (
              <p class="muted">Parked in the dead-letter queue until someone decides.</p>
            )}
            {entry.status === 'open' && <ConflictActions entry={entry} board={board} />}
          </li>
        ))}
      </ul>
    </>
  );
}

/** The ways out of a conflict: raise the limit and retry, retry, or let it go. */
export function ConflictActions({
  entry,
  board,
}: {
  readonly entry: ConflictEntry;
  readonly board: BoardState;
}) {
  const app = useApp();
  const [busy, setBusy] = useState(false);
  const command = entry.command;
  const column = command === undefined ? undefined : board.columns[targetColumn(command, board, entry) ?? ''];
  const full =
    column !== undefined && column.wipLimit !== null && cardsIn(board, column.id).length >= column.wipLimit;
  const settle = async (resolution: string) => {
    app.conflicts.resolve(entry.id, resolution);
    if (entry.deadLetterId !== undefined) await app.reactions.discard(entry.deadLetterId);
  };
  const retry = async (how: string) => {
    if (command === undefined) return;
    const outcome = await app.commands.execute(command, undefined, false);
    if (outcome.ok) await settle(how);
    else app.conflicts.resolve(entry.id, `tried again, refused: ${outcome.rejection.message}`);
  };
  const run = (action: () => Promise<void>) => {
    setBusy(true);
    void action().finally(() => setBusy(false));
  };
  return (
    <div class="row actions">
      {full && column !== undefined && (
        <button
          type="button"
          class="button primary small"
          data-testid="raise-limit"
          disabled={busy}
          onClick={() =>
            run(async () => {
              const limit = (column.wipLimit ?? 0) + 1;
              await app.commands.setWipLimit(column.id, limit);
              await retry(
                `raised the WIP limit of ${column.title} to ${limit}, then decided again: accepted`,
              );
            })
          }
        >
          Raise limit to {(column.wipLimit ?? 0) + 1} and retry
        </button>
      )}
      {command !== undefined && !full && (
        <button
          type="button"
          class="button small"
          data-testid="retry-conflict"
          disabled={busy}
          onClick={() => run(() => retry('decided again on the current board: accepted'))}
        >
          Try again
        </button>
      )}
      <button
        type="button"
        class="button small"
        data-testid="dismiss-conflict"
        disabled={busy}
        onClick={() =>
          run(() =>
            settle(
              entry.deadLetterId === undefined
                ? 'dismissed: the board stays as it was'
                : 'discarded: the rejected change is not applied',
            ),
          )
        }
      >
        {entry.deadLetterId === undefined ? 'Dismiss' : 'Discard'}
      </button>
    </div>
  );
}

/** The column a refused command wanted a card to enter, if any. */
function targetColumn(command: BoardCommand, board: BoardState, entry: ConflictEntry): string | undefined {
  const fromDetails = (entry.details as { columnId?: unknown } | undefined)?.columnId;
  if (typeof fromDetails === 'string') return fromDetails;
  switch (command.type) {
    case 'move-card':
      return command.to;
    case 'create-card':
      return command.columnId;
    case 'restore-card':
      return board.cards[command.cardId]?.columnId;
    default:
      return undefined;
  }
}

function SagasPanel({ board }: { readonly board: BoardState }) {
  const runs = Object.values(board.archives).sort(
    (a, b) => Number(b.status === 'running') - Number(a.status === 'running'),
  );
  return (
    <>
      <p class="panel-intro">
        Archiving a column is a saga: it archives each card in turn (each step decided on confirmed state),
        then the column. If a step is refused — a blocked card — it compensates: every card it archived is
        restored, in one append.
      </p>
      {runs.length === 0 && (
        <p class="empty">No column archived yet. Open a column's ⋯ menu to archive it.</p>
      )}
      <ul class="runs" data-testid="sagas">
        {runs.map((run) => (
          <li key={run.requestId} class={`run ${run.status}`} data-testid="saga-run" data-status={run.status}>
            <div class="event-head">
              <span
                class={`badge ${run.status === 'failed' ? 'warn' : run.status === 'archived' ? 'ok' : 'info'}`}
              >
                {run.status === 'running'
                  ? 'running'
                  : run.status === 'archived'
                    ? 'completed'
                    : 'compensated'}
              </span>
              <strong>{board.columns[run.columnId]?.title ?? 'a column'}</strong>
              <span class="muted">
                by {run.by === null ? 'someone' : (memberOf(board, run.by)?.name ?? 'someone')}
              </span>
            </div>
            <p>
              {run.archived.length} of {run.cards.length} card{run.cards.length === 1 ? '' : 's'} archived
              {run.restored.length > 0 ? `, ${run.restored.length} restored` : ''}
            </p>
            {run.reason !== null && <p class="resolution warn">✗ {run.reason}</p>}
          </li>
        ))}
      </ul>
    </>
  );
}

function DeadLettersPanel({ letters }: { readonly letters: readonly DeadLetterView[] }) {
  const app = useApp();
  return (
    <>
      <p class="panel-intro">
        What could not be applied waits here for a person, with the reason: a push the hub refused that the
        board refused again when it was decided anew (retry decides it again on the current board), or an
        event the archive saga kept failing on (retry runs its step again). Discard drops it.
      </p>
      {letters.length === 0 && <p class="empty">The dead-letter queue is empty.</p>}
      <ul class="dead-letters" data-testid="dead-letters">
        {letters.map((letter) => (
          <li key={letter.id} class="dead-letter" data-testid="dead-letter">
            <div class="event-head">
              <code>{letter.eventType}</code>
              <span class="muted">
                {letter.handler} · {letter.attempts} attempt{letter.attempts === 1 ? '' : 's'} ·{' '}
                {timeAgo(letter.lastFailedAt)}
              </span>
            </div>
            <p class="error">{letter.error}</p>
            <div class="row actions">
              <button
                type="button"
                class="button primary small"
                onClick={() => void app.reactions.retry(letter.id)}
              >
                Retry
              </button>
              <button
                type="button"
                class="button small"
                onClick={() => void app.reactions.discard(letter.id)}
              >
                Discard
              </button>
            </div>
          </li>
        ))}
      </ul>
    </>
  );
}

function ArchivedPanel({ board }: { readonly board: BoardState }) {
  const app = useApp();
  const cards = archivedCards(board);
  return (
    <>
      <p class="panel-intro">
        Archived cards leave the board; restoring one puts it back in its column, if the WIP limit allows.
      </p>
      {cards.length === 0 && <p class="empty">Nothing archived.</p>}
      <ul class="archived">
        {cards.map((card) => (
          <li key={card.id} class="archived-card">
            <span>{card.title}</span>
            <span class="muted">{board.columns[card.columnId]?.title}</span>
            <span class="spacer" />
            <button type="button" class="button small" onClick={() => void app.commands.restoreCard(card.id)}>
              Restore
            </button>
          </li>
        ))}
      </ul>
    </>
  );
}
