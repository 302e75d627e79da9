import { useState } from 'preact/hooks';
import { memberIdOf, memberOf, type BoardState } from '../domain/index.ts';
import { useApp } from './hooks.ts';

/**
 * Who I am on the board: the chip with my name, and under it a panel to change the name or, in a
 * second browser, to say I am a member the board has already (the device then acts as them).
 */
export function Identity({ board }: { readonly board: BoardState }) {
  const app = useApp();
  const me = memberOf(board, app.clientId);
  const myId = memberIdOf(board, app.clientId);
  const others = Object.values(board.members)
    .filter((m) => m.id !== myId)
    .sort((a, b) => a.name.localeCompare(b.name));
  const [open, setOpen] = useState(false);

  const rename = (event: Event) => {
    event.preventDefault();
    const input = (event.currentTarget as HTMLFormElement).elements.namedItem('name') as HTMLInputElement;
    const name = input.value.trim();
    if (name !== '' && name !== me?.name) void app.commands.join(myId, name, me?.color ?? '#4f46e5');
    setOpen(false);
  };
  const becomeMember = (event: Event) => {
    event.preventDefault();
    const select = (event.currentTarget as HTMLFormElement).elements.namedItem('member') as HTMLSelectElement;
    const chosen = board.members[select.value];
    // Their own `member.joined`, appended from this device: the board then counts it as theirs.
    if (chosen !== undefined) void app.commands.join(chosen.id, chosen.name, chosen.color);
    setOpen(false);
  };

  return (
    <div class="me">
      <button
        type="button"
        class="identity"
        data-testid="identity"
        aria-expanded={open}
        aria-controls="identity-panel"
        onClick={() => setOpen(!open)}
        title="Change your name, or say who you are"
      >
        <span class="avatar" style={{ background: me?.color ?? '#94a3b8' }}>
          {(me?.name ?? '?').slice(0, 1)}
        </span>
        <span data-testid="my-name" data-joined={me !== undefined}>
          {me?.name ?? 'You'}
        </span>
      </button>
      {open && (
        <div
          class="identity-panel"
          id="identity-panel"
          role="dialog"
          aria-label="Who you are"
          onKeyDown={(event) => event.key === 'Escape' && setOpen(false)}
        >
          <form onSubmit={rename} class="identity-row">
            <label for="my-name">Your name</label>
            <div class="inline-form">
              <input id="my-name" name="name" defaultValue={me?.name ?? ''} maxLength={40} autoFocus />
              <button type="submit" class="button small" data-testid="my-name-save">
                Save
              </button>
            </div>
          </form>
          {others.length > 0 && (
            <form onSubmit={becomeMember} class="identity-row" data-testid="i-am-form">
              <label for="i-am">Already on this board, from another browser? I am</label>
              <div class="inline-form">
                <select id="i-am" name="member" data-testid="i-am">
                  {others.map((m) => (
                    <option key={m.id} value={m.id}>
                      {m.name}
                    </option>
                  ))}
                </select>
                <button type="submit" class="button small" data-testid="i-am-save">
                  That’s me
                </button>
              </div>
            </form>
          )}
          <button type="button" class="button small" onClick={() => setOpen(false)}>
            Cancel
          </button>
        </div>
      )}
    </div>
  );
}
