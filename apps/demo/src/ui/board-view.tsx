import { Fragment } from 'preact';
import { useMemo, useState } from 'preact/hooks';
import {
  cardsIn,
  liveColumns,
  memberIdOf,
  memberOf,
  overLimit,
  rankAt,
  type BoardState,
  type Card,
  type Column,
} from '../domain/index.ts';
import { useApp, useObservable } from './hooks.ts';

/** The drag data type that carries a card's id. */
const CARD_TYPE = 'application/x-eventloom-card';

/** The card list of a column element. */
const cardsOf = (column: HTMLElement): HTMLElement =>
  column.querySelector<HTMLElement>('[data-testid="column-cards"]') ?? column;

/** Where a dragged card would land. */
interface DropTarget {
  readonly columnId: string;
  readonly index: number;
}

/** The board: its columns left to right, cards top to bottom, and a column to add. */
export function BoardView({
  board,
  onOpenCard,
}: {
  readonly board: BoardState;
  readonly onOpenCard: (id: string) => void;
}) {
  const app = useApp();
  const pending = useObservable(app.loom.pending$, []);
  // Cards with an event this device has not had confirmed yet: shown with a "not synced" mark.
  const unsynced = useMemo(() => {
    const ids = new Set<string>();
    for (const e of pending) {
      const cardId = (e.data as { cardId?: unknown } | null)?.cardId;
      if (typeof cardId === 'string') ids.add(cardId);
    }
    return ids;
  }, [pending]);
  const [dragging, setDragging] = useState<string | undefined>(undefined);
  const [drop, setDrop] = useState<DropTarget | undefined>(undefined);
  const columns = liveColumns(board);

  const moveTo = (cardId: string, columnId: string, index: number) => {
    const siblings = cardsIn(board, columnId).filter((c) => c.id !== cardId);
    void app.commands.moveCard(cardId, columnId, rankAt(siblings, index));
  };

  return (
    <div class="board" data-testid="board">
      {columns.map((column, i) => (
        <ColumnView
          key={column.id}
          board={board}
          column={column}
          left={columns[i - 1]}
          right={columns[i + 1]}
          unsynced={unsynced}
          dragging={dragging}
          drop={drop?.columnId === column.id ? drop.index : undefined}
          onDrag={setDragging}
          onDropTarget={setDrop}
          onMove={moveTo}
          onOpenCard={onOpenCard}
        />
      ))}
      <AddColumn after={columns.at(-1)} />
    </div>
  );
}

interface ColumnProps {
  readonly board: BoardState;
  readonly column: Column;
  readonly left: Column | undefined;
  readonly right: Column | undefined;
  readonly unsynced: ReadonlySet<string>;
  readonly dragging: string | undefined;
  readonly drop: number | undefined;
  readonly onDrag: (cardId: string | undefined) => void;
  readonly onDropTarget: (target: DropTarget | undefined) => void;
  readonly onMove: (cardId: string, columnId: string, index: number) => void;
  readonly onOpenCard: (id: string) => void;
}

function ColumnView(props: ColumnProps) {
  const { board, column, dragging, drop } = props;
  const app = useApp();
  const cards = cardsIn(board, column.id);
  const count = cards.length;
  const full = column.wipLimit !== null && count >= column.wipLimit;
  const over = overLimit(board, column.id);
  const run = column.archiving === null ? undefined : board.archives[column.archiving];
  // The drop index counts the cards without the dragged one (which stays in place, faded).
  const lineBefore = drop === undefined ? undefined : cards.filter((c) => c.id !== dragging)[drop]?.id;

  // The drop index among the cards without the dragged one, from the pointer's height.
  const indexAt = (container: HTMLElement, y: number): number => {
    const others = [...container.querySelectorAll<HTMLElement>('[data-card-id]')].filter(
      (el) => !el.classList.contains('dragging'),
    );
    const at = others.findIndex((el) => {
      const box = el.getBoundingClientRect();
      return y < box.top + box.height / 2;
    });
    return at === -1 ? others.length : at;
  };

  return (
    <section
      class={`column${full ? ' full' : ''}${over ? ' over' : ''}${run ? ' archiving' : ''}`}
      data-testid="column"
      data-column-id={column.id}
      aria-label={column.title}
      onDragOver={(event) => {
        // The dragged card is known from the drag's own data: the `dragging` state may not be
        // rendered yet when the first dragover arrives, and without preventDefault no drop follows.
        if (!event.dataTransfer?.types.includes(CARD_TYPE)) return;
        event.preventDefault();
        if (event.dataTransfer) event.dataTransfer.dropEffect = 'move';
        const index = indexAt(cardsOf(event.currentTarget), event.clientY);
        if (drop !== index) props.onDropTarget({ columnId: column.id, index });
      }}
      onDragLeave={(event) => {
        if (!event.currentTarget.contains(event.relatedTarget as Node | null)) props.onDropTarget(undefined);
      }}
      onDrop={(event) => {
        event.preventDefault();
        const cardId = event.dataTransfer?.getData(CARD_TYPE) || dragging;
        if (cardId) props.onMove(cardId, column.id, indexAt(cardsOf(event.currentTarget), event.clientY));
        props.onDropTarget(undefined);
        props.onDrag(undefined);
      }}
    >
      <header class="column-head">
        <h2>{column.title}</h2>
        <span
          class="count"
          data-testid="column-count"
          title={
            column.wipLimit === null
              ? `${count} cards`
              : `${count} of at most ${column.wipLimit} cards (WIP limit)`
          }
        >
          {count}
          {column.wipLimit !== null && <span class="limit">/{column.wipLimit}</span>}
        </span>
        <ColumnMenu column={column} cardCount={count} memberId={memberIdOf(board, app.clientId)} />
      </header>
      {over && <p class="column-note warn">Over its WIP limit: move cards out before adding more.</p>}
      {run && (
        <p class="column-note info" data-testid="archiving-note">
          Archiving: {run.archived.length} of {run.cards.length} cards archived
          {run.archived.length === 0 ? ' (starts once the hub confirms the request)' : ''}
        </p>
      )}
      <div class={`cards${drop !== undefined ? ' drop-target' : ''}`} data-testid="column-cards">
        {cards.map((card, index) => (
          <Fragment key={card.id}>
            {lineBefore === card.id && <div class="drop-line" aria-hidden="true" />}
            <CardView
              board={board}
              card={card}
              index={index}
              siblings={cards}
              left={props.left}
              right={props.right}
              unsynced={props.unsynced.has(card.id)}
              dragging={dragging === card.id}
              onDrag={props.onDrag}
              onMove={props.onMove}
              onOpen={() => props.onOpenCard(card.id)}
            />
          </Fragment>
        ))}
        {drop !== undefined && lineBefore === undefined && <div class="drop-line" aria-hidden="true" />}
        {cards.length === 0 && <p class="empty">No cards</p>}
      </div>
      {!run && <AddCard columnId={column.id} full={full} memberId={memberIdOf(board, app.clientId)} />}
    </section>
  );
}

interface CardProps {
  readonly board: BoardState;
  readonly card: Card;
  readonly index: number;
  readonly siblings: readonly Card[];
  readonly left: Column | undefined;
  readonly right: Column | undefined;
  readonly unsynced: boolean;
  readonly dragging: boolean;
  readonly onDrag: (cardId: string | undefined) => void;
  readonly onMove: (cardId: string, columnId: string, index: number) => void;
  readonly onOpen: () => void;
}

function CardView(props: CardProps) {
  const { board, card, index, siblings, left, right } = props;
  const assignee = card.assignee === null ? undefined : memberOf(board, card.assignee);
  return (
    <article
      class={`card${card.blocked !== null ? ' blocked' : ''}${props.dragging ? ' dragging' : ''}`}
      data-testid="card"
      data-card-id={card.id}
      draggable
      onDragStart={(event) => {
        event.dataTransfer?.setData(CARD_TYPE, card.id);
        event.dataTransfer?.setData('text/plain', card.title);
        if (event.dataTransfer) event.dataTransfer.effectAllowed = 'move';
        props.onDrag(card.id);
      }}
      onDragEnd={() => props.onDrag(undefined)}
    >
      <button type="button" class="card-title" data-testid="card-title" onClick={props.onOpen}>
        {card.title}
      </button>
      {card.description !== '' && <p class="card-description">{card.description}</p>}
      <footer class="card-foot">
        {card.blocked !== null && (
          <span class="badge blocked" title={card.blocked}>
            Blocked
          </span>
        )}
        {props.unsynced && (
          <span class="badge pending" title="Changed on this device; the hub has not confirmed it yet">
            not synced
          </span>
        )}
        <span class="spacer" />
        {assignee && (
          <span
            class="avatar small"
            style={{ background: assignee.color }}
            title={`Assigned to ${assignee.name}`}
          >
            {assignee.name.slice(0, 1)}
          </span>
        )}
        <span class="card-moves">
          <button
            type="button"
            class="icon"
            aria-label={`Move “${card.title}” to ${left?.title ?? ''}`}
            disabled={left === undefined}
            onClick={() => left && props.onMove(card.id, left.id, Infinity)}
          >
            ←
          </button>
          <button
            type="button"
            class="icon"
            aria-label={`Move “${card.title}” up`}
            disabled={index === 0}
            onClick={() => props.onMove(card.id, card.columnId, index - 1)}
          >
            ↑
          </button>
          <button
            type="button"
            class="icon"
            aria-label={`Move “${card.title}” down`}
            disabled={index === siblings.length - 1}
            onClick={() => props.onMove(card.id, card.columnId, index + 1)}
          >
            ↓
          </button>
          <button
            type="button"
            class="icon"
            aria-label={`Move “${card.title}” to ${right?.title ?? ''}`}
            disabled={right === undefined}
            onClick={() => right && props.onMove(card.id, right.id, Infinity)}
          >
            →
          </button>
        </span>
      </footer>
    </article>
  );
}

function AddCard({ columnId, full, memberId }: { columnId: string; full: boolean; memberId: string }) {
  const app = useApp();
  const [open, setOpen] = useState(false);
  if (!open) {
    return (
      <button
        type="button"
        class="add-card"
        data-testid="add-card"
        onClick={() => setOpen(true)}
        title={full ? 'This column is at its WIP limit: a new card will be refused' : undefined}
      >
        + Add a card
      </button>
    );
  }
  return (
    <form
      class="add-card-form"
      onSubmit={(event) => {
        event.preventDefault();
        const form = event.currentTarget;
        const input = form.elements.namedItem('title') as HTMLInputElement;
        const title = input.value.trim();
        if (title === '') return;
        input.value = '';
        void app.commands.createCard({ columnId, title, createdBy: memberId });
      }}
    >
      <label class="sr-only" for={`new-card-${columnId}`}>
        Card title
      </label>
      <input
        id={`new-card-${columnId}`}
        name="title"
        data-testid="new-card-title"
        placeholder="What needs doing?"
        maxLength={120}
        autoFocus
        onKeyDown={(event) => event.key === 'Escape' && setOpen(false)}
      />
      <div class="row">
        <button type="submit" class="button primary small" data-testid="new-card-submit">
          Add
        </button>
        <button type="button" class="button small" onClick={() => setOpen(false)}>
          Cancel
        </button>
      </div>
    </form>
  );
}

function ColumnMenu({
  column,
  cardCount,
  memberId,
}: {
  readonly column: Column;
  readonly cardCount: number;
  readonly memberId: string;
}) {
  const app = useApp();
  return (
    <details class="menu">
      <summary aria-label={`${column.title} column options`} data-testid="column-menu">
        ⋯
      </summary>
      <div class="menu-body">
        <form
          class="menu-row"
          onSubmit={(event) => {
            event.preventDefault();
            const input = event.currentTarget.elements.namedItem('title') as HTMLInputElement;
            const title = input.value.trim();
            if (title !== '' && title !== column.title) void app.commands.renameColumn(column.id, title);
            (event.currentTarget.closest('details') as HTMLDetailsElement).open = false;
          }}
        >
          <label>
            Name
            <input name="title" defaultValue={column.title} maxLength={120} />
          </label>
          <button type="submit" class="button small">
            Rename
          </button>
        </form>
        <form
          class="menu-row"
          onSubmit={(event) => {
            event.preventDefault();
            const input = event.currentTarget.elements.namedItem('limit') as HTMLInputElement;
            const limit =
              input.value === '' ? null : Math.max(1, Math.min(99, Math.round(Number(input.value))));
            void app.commands.setWipLimit(column.id, limit);
            (event.currentTarget.closest('details') as HTMLDetailsElement).open = false;
          }}
        >
          <label>
            WIP limit
            <input
              name="limit"
              type="number"
              min={1}
              max={99}
              placeholder="none"
              data-testid="wip-limit-input"
              defaultValue={column.wipLimit === null ? '' : String(column.wipLimit)}
            />
          </label>
          <button type="submit" class="button small" data-testid="wip-limit-save">
            Set
          </button>
        </form>
        <button
          type="button"
          class="button danger small"
          data-testid="archive-column"
          onClick={(event) => {
            const confirmText = `Archive ${column.title} and its ${cardCount} card${cardCount === 1 ? '' : 's'}?`;
            if (!window.confirm(confirmText)) return;
            void app.commands.archiveColumn(column.id, memberId);
            (event.currentTarget.closest('details') as HTMLDetailsElement).open = false;
          }}
        >
          Archive column…
        </button>
      </div>
    </details>
  );
}

function AddColumn({ after }: { readonly after: Column | undefined }) {
  const app = useApp();
  const [open, setOpen] = useState(false);
  return (
    <div class="add-column">
      {open ? (
        <form
          onSubmit={(event) => {
            event.preventDefault();
            const input = event.currentTarget.elements.namedItem('title') as HTMLInputElement;
            const title = input.value.trim();
            if (title === '') return;
            void app.commands.addColumn(title, (after?.rank ?? 0) + 1);
            setOpen(false);
          }}
        >
          <label class="sr-only" for="new-column">
            Column name
          </label>
          <input id="new-column" name="title" placeholder="Column name" maxLength={120} autoFocus />
          <div class="row">
            <button type="submit" class="button primary small">
              Add column
            </button>
            <button type="button" class="button small" onClick={() => setOpen(false)}>
              Cancel
            </button>
          </div>
        </form>
      ) : (
        <button type="button" class="add-card" onClick={() => setOpen(true)}>
          + Add a column
        </button>
      )}
    </div>
  );
}
