import type { BoardState } from '../domain/index.ts';
import type { ConnectionState, SyncStatus } from '../sync.ts';
import { useApp, useObservable } from './hooks.ts';
import { Identity } from './identity.tsx';

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

      <Identity board={board} />
    </header>
  );
}
