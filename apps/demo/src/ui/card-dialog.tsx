import { useEffect, useRef, useState } from 'preact/hooks';
import { cardsIn, liveColumns, memberIdOf, rankAt, type BoardState } from '../domain/index.ts';
import { useApp } from './hooks.ts';

/** The card editor: title and description, assignee, blocked flag, column; archive. */
export function CardDialog(props: {
  readonly board: BoardState;
  readonly cardId: string;
  readonly onClose: () => void;
}) {
  const { board, cardId, onClose } = props;
  const app = useApp();
  const ref = useRef<HTMLDialogElement>(null);
  const card = board.cards[cardId];
  const [title, setTitle] = useState(card?.title ?? '');
  const [description, setDescription] = useState(card?.description ?? '');
  const [blockReason, setBlockReason] = useState(card?.blocked ?? '');

  useEffect(() => {
    const dialog = ref.current;
    if (dialog && !dialog.open) dialog.showModal();
  }, []);

  if (card === undefined) return null;
  const members = Object.values(board.members).sort((a, b) => a.name.localeCompare(b.name));

  const save = async () => {
    const t = title.trim();
    if (t !== '' && (t !== card.title || description !== card.description)) {
      await app.commands.editCard(card.id, t, description);
    }
  };

  return (
    <dialog
      ref={ref}
      class="dialog"
      data-testid="card-dialog"
      onClose={onClose}
      aria-labelledby="card-dialog-title"
    >
      <form
        method="dialog"
        onSubmit={(event) => {
          event.preventDefault();
          void save().then(() => ref.current?.close());
        }}
      >
        <h2 id="card-dialog-title">Edit card</h2>
        <label>
          Title
          <input
            value={title}
            maxLength={120}
            required
            data-testid="card-edit-title"
            onInput={(e) => setTitle(e.currentTarget.value)}
          />
        </label>
        <label>
          Description
          <textarea
            value={description}
            rows={4}
            maxLength={2000}
            onInput={(e) => setDescription(e.currentTarget.value)}
          />
        </label>
        <div class="grid-2">
          <label>
            Assignee
            <select
              value={card.assignee ?? ''}
              data-testid="card-assignee"
              onChange={(e) => void app.commands.assignCard(card.id, e.currentTarget.value || null)}
            >
              <option value="">Nobody</option>
              {members.map((m) => (
                <option key={m.id} value={m.id}>
                  {m.name}
                  {m.id === memberIdOf(board, app.clientId) ? ' (you)' : ''}
                </option>
              ))}
            </select>
          </label>
          <label>
            Column
            <select
              value={card.columnId}
              onChange={(e) => {
                const to = e.currentTarget.value;
                void app.commands.moveCard(card.id, to, rankAt(cardsIn(board, to), Infinity));
              }}
            >
              {liveColumns(board).map((c) => (
                <option key={c.id} value={c.id}>
                  {c.title}
                </option>
              ))}
            </select>
          </label>
        </div>
        <fieldset class="blocked-box">
          <legend>Blocked</legend>
          {card.blocked === null ? (
            <div class="row">
              <input
                aria-label="Why is it blocked?"
                placeholder="Why is it blocked?"
                value={blockReason}
                maxLength={200}
                onInput={(e) => setBlockReason(e.currentTarget.value)}
              />
              <button
                type="button"
                class="button small"
                data-testid="card-block"
                onClick={() => void app.commands.blockCard(card.id, true, blockReason.trim() || 'blocked')}
              >
                Block
              </button>
            </div>
          ) : (
            <div class="row">
              <span class="badge blocked">{card.blocked}</span>
              <button
                type="button"
                class="button small"
                onClick={() => void app.commands.blockCard(card.id, false, '')}
              >
                Unblock
              </button>
            </div>
          )}
          <p class="hint">
            A blocked card cannot be archived: archiving its column fails and is compensated.
          </p>
        </fieldset>
        <div class="dialog-actions">
          <button
            type="button"
            class="button danger"
            onClick={() => void app.commands.archiveCard(card.id).then((o) => o.ok && ref.current?.close())}
          >
            Archive card
          </button>
          <span class="spacer" />
          <button type="button" class="button" onClick={() => ref.current?.close()}>
            Close
          </button>
          <button type="submit" class="button primary" data-testid="card-save">
            Save
          </button>
        </div>
      </form>
    </dialog>
  );
}
