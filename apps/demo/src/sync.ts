/**
 * The only module of the demo that touches the sync engine (`createSync` of `@eventloom/client`).
 * Everything else reads {@link BoardSync}: the connection state, the pending count, the hub's
 * rejections and what became of them, a way to go offline and back.
 */
import {
  createSync,
  type DeadLetterRow,
  type Eventloom,
  type RejectionReport,
  type SyncMetrics,
} from '@eventloom/client';
import { BehaviorSubject, combineLatest, map, type Observable, type Subscription } from 'rxjs';
import { boardDecider, type BoardCommand } from './domain/index.ts';

/** The sync engine's states (`syncState$`). */
export type ConnectionState = 'offline' | 'connecting' | 'catching-up' | 'live' | 'error';

/** What the header shows. */
export interface SyncStatus {
  readonly state: ConnectionState;
  /** Whether the person asked to stay offline (the "Go offline" switch). */
  readonly manualOffline: boolean;
  /** Events in the outbox: appended here, not yet confirmed by the hub. */
  readonly pending: number;
  /** How far behind the hub this device is (head minus last position). */
  readonly lag: number;
  readonly lastError: string | undefined;
}

/** A push the hub refused, and what the conflict policy did with it. */
export interface HubRejection {
  readonly eventId: string;
  readonly eventType: string;
  /** The refused event's data, the board version it was decided on, and the device that wrote it. */
  readonly event: {
    readonly data: unknown;
    readonly expectedVersion: number | undefined;
    readonly clientId: string;
  };
  /** What the conflict policy did with it, and how many events a new decision appended in its place. */
  readonly action: RejectionReport['action'];
  readonly appended: number;
  readonly code: string;
  readonly message: string;
  /** In words; undefined when it was parked for a person (the dead-letter queue). */
  readonly resolution: string | undefined;
  /** When parked: the dead letter, the reason it was parked, and the command to decide again. */
  readonly deadLetter?: {
    readonly id: string;
    readonly reason: string;
    readonly command: BoardCommand | undefined;
  };
}

/** The board's connection to the hub. */
export interface BoardSync {
  readonly status$: Observable<SyncStatus>;
  goOffline(): void;
  goOnline(): void;
  /** Resolves once every pending event is acked by the hub. */
  flushed(): Promise<void>;
  close(): Promise<void>;
}

/** What {@link startSync} needs to know. */
export interface SyncOptions {
  /** The hub's URL: the page's own origin (Vite proxies it in development). */
  readonly url: string;
  /** The streams this device syncs: the board's stream. */
  readonly streams: readonly string[];
  /** Told of each push the hub refused, with its resolution. */
  readonly onRejection: (rejection: HubRejection) => void;
}

/**
 * Syncs the device's log with the hub (the leader tab holds the socket; the other tabs mirror
 * it). Conflicts (`wrong-expected-version`) are decided again with the board decider on the fresh
 * board and appended anew; a decision the board now refuses (a WIP limit, say), and any other
 * refusal, is parked in the dead letters for a person.
 */
export function startSync(loom: Eventloom, options: SyncOptions): BoardSync {
  const sync = createSync(loom, {
    url: options.url,
    subscriptions: options.streams,
    deciders: [boardDecider],
    conflicts: 'redecide',
  });
  const manual = new BehaviorSubject(false);
  const reports: Subscription = sync.rejections$.subscribe((report) => {
    if (report.action !== 'dead-lettered') {
      options.onRejection(describe(report));
      return;
    }
    // Parked: the dead letter says why (a re-decision the board refused says what the board said).
    loom.readDeadLetters().then(
      (rows) => options.onRejection(withDeadLetter(describe(report), rows)),
      () => options.onRejection(describe(report)),
    );
  });
  const status$ = combineLatest([sync.metrics$, manual]).pipe(
    map(([metrics, manualOffline]): SyncStatus => statusOf(metrics, manualOffline)),
  );
  return {
    status$,
    goOffline: () => {
      manual.next(true);
      sync.goOffline();
    },
    goOnline: () => {
      manual.next(false);
      sync.goOnline();
    },
    flushed: () => sync.flushed(),
    close: async () => {
      reports.unsubscribe();
      manual.complete();
      await sync.close();
    },
  };
}

function statusOf(metrics: SyncMetrics, manualOffline: boolean): SyncStatus {
  return {
    state: metrics.state,
    manualOffline,
    pending: metrics.outbox,
    lag: metrics.lag,
    lastError: metrics.lastError?.message,
  };
}

function describe(report: RejectionReport): HubRejection {
  const base = {
    eventId: report.event.id,
    eventType: report.event.type,
    event: {
      data: report.event.data,
      expectedVersion: report.event.expectedVersion,
      clientId: report.event.clientId,
    },
    action: report.action,
    appended: report.events?.length ?? 0,
    code: report.code,
    message: report.message,
  };
  switch (report.action) {
    case 'redecided': {
      const count = report.events?.length ?? 0;
      return {
        ...base,
        resolution:
          count === 0
            ? 'decided again on the fresh board: nothing left to do'
            : `decided again on the fresh board and appended anew (${count} event${count === 1 ? '' : 's'})`,
      };
    }
    case 'dropped':
      return { ...base, resolution: 'dropped: nothing to apply any more' };
    case 'dead-lettered':
      return { ...base, resolution: undefined };
  }
}

function withDeadLetter(rejection: HubRejection, rows: readonly DeadLetterRow[]): HubRejection {
  const row = rows.find((r) => r.event.id === rejection.eventId);
  if (row === undefined) return rejection;
  const pending = row.rejection.command;
  const command = pending?.decider === boardDecider.name ? (pending.command as BoardCommand) : undefined;
  return { ...rejection, deadLetter: { id: row.id, reason: row.error.message, command } };
}
