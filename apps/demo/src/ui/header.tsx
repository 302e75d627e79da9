import { useState } from 'preact/hooks';
import { memberOf, type BoardState } from '../domain/index.ts';
import type { ConnectionState, SyncStatus } from '../sync.ts';
import { useApp, useObservable } from './hooks.ts';

const LABELS: Record<ConnectionState, string> = {
  live: 'Live',
  'catching-up': 'Catching up',
  connecting: 'Connecting',
  offline: 'Offline',
  error: 'Sync error',
};

const INITIAL: SyncStatus = {
  state: 'connecting',
  manualOffline: false,
  pending: 0,
  lag: 0,
  lastError: undefined,
};

/** The top bar: the board, who I am, the connection and sync state, and the offline switch. */
export function Header({ board }: { readonly board: BoardState }) {
  const app = useApp();
  const status = useObservable(app.sync.status$, INITIAL);
  const me = memberOf(board, app.clientId);
  const [editing, setEditing] = useState(false);

  const rename = (event: Event) => {
    event.preventDefault();
    const input = (event.currentTarget as HTMLFormElement).elements.namedItem('name') as HTMLInputElement;
    const name = input.value.trim();
    if (name !== '' && name !== me?.name)
      void app.commands.join(me?.id ?? app.clientId, name, me?.color ?? '#4f46e5');
    setEditing(false);
  };

  const title = status.lastError ?? `sync: ${LABELS[status.state]}`;

  return (
    <header class="topbar">
      <div class="brand">
        <img src="/icons/icon-192.png" width={28} height={28} alt="" />
        <div>
          <h1>Team board</h1>
          <p class="subtitle">Eventloom demo · offline-first, event-sourced</p>
        </div>
      </div>

      <div
        class="status"
        data-testid="sync-status"
        data-sync-state={status.state}
        data-pending={status.pending}
      >
        <span class={`chip state-${status.state}`} title={title}>
          <span class="dot" aria-hidden="true" />
          {LABELS[status.state]}
        </span>
        <span class="chip" title="Events appended on this device that the hub has not confirmed yet">
          <strong data-testid="pending-count">{status.pending}</strong> pending
        </span>
        <button
          type="button"
          class={status.manualOffline ? 'button primary' : 'button'}
          data-testid="offline-toggle"
          aria-pressed={status.manualOffline}
          onClick={() => (status.manualOffline ? app.sync.goOnline() : app.sync.goOffline())}
        >
          {status.manualOffline ? 'Go online' : 'Go offline'}
        </button>
        {/* Last in the row: when it comes and goes, nothing after it moves. */}
        {status.lag > 0 && (
          <span class="chip" title="Events on the hub this device has not pulled yet">
            {status.lag} behind
          </span>
        )}
      </div>

      <div class="me">
        {editing ? (
          <form onSubmit={rename} class="inline-form">
            <label class="sr-only" for="my-name">
              Your name
            </label>
            <input id="my-name" name="name" defaultValue={me?.name ?? ''} maxLength={40} autoFocus />
            <button type="submit" class="button small" data-testid="my-name-save">
              Save
            </button>
          </form>
        ) : (
          <button
            type="button"
            class="identity"
            data-testid="identity"
            onClick={() => setEditing(true)}
            title="Change your name"
          >
            <span class="avatar" style={{ background: me?.color ?? '#94a3b8' }}>
              {(me?.name ?? '?').slice(0, 1)}
            </span>
            <span data-testid="my-name" data-joined={me !== undefined}>
              {me?.name ?? 'You'}
            </span>
          </button>
        )}
      </div>
    </header>
  );
}
