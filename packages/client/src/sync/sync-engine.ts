import type { EventEnvelope, Notify } from '@eventloom/protocol';
import { BehaviorSubject, distinctUntilChanged, map, Subject, type Observable, Subscription } from 'rxjs';
import { ClientError, ClientErrorCode, toClientError } from '../client-error.ts';
import { createBackoff, type Backoff } from './backoff.ts';
import { checkSubscriptions, isFatal, resolveSessionConfig } from './session-config.ts';
import type { SessionConfig, SessionHost } from './session-host.ts';
import type {
  RejectionReport,
  Sync,
  SyncMetrics,
  SyncOptions,
  SyncState,
  SyncTap,
  SyncTarget,
} from './sync-types.ts';
import { defaultOnlineDetector } from './online-detector.ts';
import { RateMeter } from './rate-meter.ts';
import { RefusalHandler } from './refusal-handler.ts';
import { SyncSession } from './sync-session.ts';
import { TabSync, type TabCommand, type TabStatus } from './tab-sync.ts';
import type { SyncPort } from '../sync-port.ts';
import { syncPortOf } from '../sync-port-access.ts';

/** The window of the rates in `metrics$`, in ms. */
const RATE_WINDOW_MS = 3_000;

/**
 * The sync engine behind {@link createSync}. It runs a connection loop while this tab leads and
 * the app and the network say online: one {@link SyncSession} per connection, a backoff delay
 * between them. It owns what outlives a connection: the subscriptions, the metrics, the refused
 * decisions waiting to be made again, the `flushed()` waiters, and the mirroring to other tabs.
 */
export class SyncEngine implements Sync {
  readonly syncState$: Observable<SyncState>;
  readonly metrics$: Observable<SyncMetrics>;
  readonly rejections$: Observable<RejectionReport>;
  readonly clientId: string;

  readonly #port: SyncPort;
  /** What extensions attached (`attach`): they see the traffic as it passes. */
  readonly #taps = new Set<SyncTap>();
  readonly #options: SyncOptions;
  readonly #config: SessionConfig;
  readonly #backoff: Backoff;
  readonly #now: () => number;
  readonly #metrics: BehaviorSubject<SyncMetrics>;
  readonly #rejections = new Subject<RejectionReport>();
  readonly #pushedMeter: RateMeter;
  readonly #pulledMeter: RateMeter;
  readonly #subscriptions: Subscription[] = [];
  readonly #unsubscribeOnline: () => void;
  readonly #tabs: TabSync | undefined;
  readonly #refusals: RefusalHandler;
  readonly #flushWaiters: { resolve: () => void; reject: (error: unknown) => void }[] = [];
  readonly #host: SessionHost;

  #desired: readonly string[];
  #state: SyncState = 'offline';
  #leader = false;
  #manualOnline: boolean;
  #networkOnline: boolean;
  #closed = false;
  #fatal: ClientError | undefined;
  #session: SyncSession | undefined;
  #loop: Promise<void> | undefined;
  #wake: (() => void) | undefined;
  #attempt = 0;
  #lastError: ClientError | undefined;
  #pending: readonly EventEnvelope[] = [];
  /** How many outbox rows the hub acked (not back confirmed yet). */
  #acked = 0;
  #position = 0;
  #head = 0;
  #repaired = 0;
  #lostElsewhere = 0;
  #follower: TabStatus | undefined;
  #tick: ReturnType<typeof setTimeout> | undefined;
  #flushPoll: ReturnType<typeof setTimeout> | undefined;
  #checkingFlushed = false;
  #checkFlushedAgain = false;

  constructor(loom: SyncTarget, options: SyncOptions) {
    if (typeof options.url !== 'string' || options.url.length === 0) {
      throw new ClientError(ClientErrorCode.invalid, 'createSync: url must be a non-empty string');
    }
    const port = (this.#port = syncPortOf(loom));
    this.clientId = port.clientId;
    this.#options = options;
    this.#desired = checkSubscriptions(options.subscriptions);
    this.#now = options.now ?? Date.now;
    this.#backoff = createBackoff(options.backoff);
    this.#config = resolveSessionConfig(loom, options);
    this.#pushedMeter = new RateMeter(RATE_WINDOW_MS, this.#now);
    this.#pulledMeter = new RateMeter(RATE_WINDOW_MS, this.#now);
    this.#metrics = new BehaviorSubject(this.#snapshot());
    this.metrics$ = this.#metrics.asObservable();
    this.syncState$ = this.#metrics.pipe(
      map((m) => m.state),
      distinctUntilChanged(),
    );
    this.rejections$ = this.#rejections.asObservable();
    this.#manualOnline = options.startOffline !== true;
    const online = options.online ?? defaultOnlineDetector();
    this.#networkOnline = online.isOnline();
    this.#unsubscribeOnline = online.subscribe((value) => {
      this.#networkOnline = value;
      if (value) this.#retryNow();
      this.#evaluate();
    });
    this.#refusals = new RefusalHandler({
      port,
      conflicts: options.conflicts,
      deciders: options.deciders,
      maxRedecides: options.maxRedecides,
      session: () => this.#session,
      rejections: (report) => {
        this.#config.warnings.refused(report, this.#rejections.observed);
        this.#rejections.next(report);
      },
      report: (error) => this.report(error),
      progressed: () => this.#checkFlushed(),
    });
    this.#host = this.#makeHost();

    const Channel =
      options.tabs?.BroadcastChannel === undefined
        ? typeof BroadcastChannel === 'function'
          ? BroadcastChannel
          : null
        : options.tabs.BroadcastChannel;
    this.#tabs = Channel
      ? new TabSync(port.name, Channel, {
          isLeader: () => this.#leader,
          status: (status) => {
            this.#follower = status;
            this.#emit();
          },
          currentStatus: () => this.#tabStatus(),
          flush: (answer) => {
            this.flushed().then(
              () => answer(),
              () => undefined,
            );
          },
          command: (command) => this.#apply(command),
          notifyOut: (message) => void this.#session?.sendNotify(message),
          notifyIn: (message) => this.#each((tap) => tap.notified?.(message)),
        })
      : undefined;

    this.#subscriptions.push(
      loom.leader$.subscribe({
        next: (leader) => this.#setLeader(leader),
        complete: () => this.#setLeader(false),
      }),
      loom.outbox$.subscribe((rows) => {
        const acked = rows.reduce((n, row) => (row.acked === undefined ? n : n + 1), 0);
        if (acked === this.#acked) return;
        this.#acked = acked;
        this.#emit();
      }),
      loom.pending$.subscribe((pending) => {
        this.#pending = pending;
        this.#each((tap) => tap.pending?.(pending));
        // Rows this session pushed already (ahead of their write) are not read again.
        this.#session?.kickPush(pending.at(-1)?.clientSeq ?? 0);
        this.#checkFlushed();
        this.#emit();
      }),
    );
    // The leader pushes an append's rows while their write is in flight (issue 15).
    const stopWriting = port.onWriting?.((rows) => {
      if (this.#taps.size > 0) {
        const events = rows.map((row) => row.event);
        this.#each((tap) => tap.writing?.(events));
      }
      return this.#leader ? this.#session?.pushAhead(rows) : undefined;
    });
    if (stopWriting) this.#subscriptions.push(new Subscription(stopWriting));
    // A tab that starts as a follower learns the leader's state at once.
    if (!this.#leader) this.#tabs?.ask();
  }

  get subscriptions(): readonly string[] {
    return this.#desired;
  }

  flushed(): Promise<void> {
    if (this.#closed) return Promise.reject(closedError());
    if (!this.#leader && this.#tabs) return this.#tabs.flushed();
    return new Promise((resolve, reject) => {
      this.#flushWaiters.push({ resolve, reject });
      this.#checkFlushed();
    });
  }

  goOffline(): void {
    this.#apply({ op: 'offline' });
    if (!this.#leader) this.#tabs?.command({ op: 'offline' });
  }

  goOnline(): void {
    this.#apply({ op: 'online' });
    if (!this.#leader) this.#tabs?.command({ op: 'online' });
  }

  async setSubscriptions(subscriptions: readonly string[]): Promise<void> {
    const desired = checkSubscriptions(subscriptions);
    this.#desired = desired;
    if (!this.#leader) {
      this.#tabs?.command({ op: 'subscribe', subscriptions: desired });
      return;
    }
    const session = this.#session;
    if (session === undefined) return;
    try {
      await session.resubscribe();
    } catch (error) {
      this.report(toClientError(error));
    }
  }

  attach(tap: SyncTap): () => void {
    if (this.#closed) {
      tap.closed?.();
      return () => undefined;
    }
    this.#taps.add(tap);
    tap.pending?.(this.#pending);
    return () => void this.#taps.delete(tap);
  }

  /** A notification, query or reply: over this tab's connection, or the leader's; false when neither is up. */
  sendNotify(message: Notify): boolean {
    if (this.#closed) return false;
    if (this.#leader) return this.#session?.sendNotify(message) ?? false;
    const state = this.#follower?.state;
    if (this.#tabs === undefined || (state !== 'live' && state !== 'catching-up')) return false;
    this.#tabs.notifyOut(message);
    return true;
  }

  report(error: ClientError): void {
    this.#lastError = error;
    this.#emit();
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#each((tap) => tap.closed?.());
    this.#taps.clear();
    this.#evaluate();
    await this.#loop;
    for (const s of this.#subscriptions) s.unsubscribe();
    this.#unsubscribeOnline();
    this.#tabs?.close();
    clearTimeout(this.#tick);
    clearTimeout(this.#flushPoll);
    for (const waiter of this.#flushWaiters.splice(0)) waiter.reject(closedError());
    this.#state = 'offline';
    this.#emit();
    this.#metrics.complete();
    this.#rejections.complete();
  }

  #each(call: (tap: SyncTap) => void): void {
    for (const tap of this.#taps) call(tap);
  }

  // ---- the connection loop ----

  #shouldRun(): boolean {
    return this.#leader && this.#manualOnline && this.#networkOnline && !this.#closed && !this.#fatal;
  }

  #evaluate(): void {
    const run = this.#shouldRun();
    if (run && this.#loop === undefined) {
      this.#loop = this.#connectLoop().finally(() => {
        this.#loop = undefined;
        if (this.#shouldRun()) this.#evaluate();
      });
    }
    if (!run) {
      this.#session?.close();
      this.#wake?.();
      if (this.#loop === undefined) this.#setState(this.#fatal ? 'error' : 'offline');
    }
  }

  async #connectLoop(): Promise<void> {
    while (this.#shouldRun()) {
      this.#setState('connecting');
      const session = new SyncSession(this.#host);
      this.#session = session;
      const outcome = await session.run();
      this.#session = undefined;
      if (outcome.error) this.report(outcome.error);
      if (outcome.fatal || isFatal(outcome.error, this.#options.token)) {
        this.#fatal = outcome.error;
        break;
      }
      if (!this.#shouldRun()) break;
      this.#setState('connecting');
      // Superseded: another connection of this client id (a second instance, which the tab
      // lock should prevent) said hello since. Backing off, not at once: two live instances still
      // take over from each other at every hello, but each takes longer to come back.
      if (outcome.live && outcome.error?.code !== ClientErrorCode.superseded) this.#attempt = 0;
      await this.#sleep(this.#backoff.delay(this.#attempt++));
    }
    this.#setState(this.#fatal ? 'error' : 'offline');
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      this.#wake = () => {
        this.#wake = undefined;
        done();
      };
    });
  }

  #retryNow(): void {
    this.#attempt = 0;
    this.#wake?.();
  }

  #setLeader(leader: boolean): void {
    if (leader === this.#leader) return;
    this.#leader = leader;
    if (leader) {
      this.#follower = undefined;
      for (const resolve of this.#tabs?.takeFlushes() ?? []) this.flushed().then(resolve, () => undefined);
    } else this.#tabs?.ask();
    this.#evaluate();
    this.#emit();
  }

  #apply(command: TabCommand): void {
    switch (command.op) {
      case 'offline':
        this.#manualOnline = false;
        break;
      case 'online':
        this.#manualOnline = true;
        this.#fatal = undefined;
        this.#retryNow();
        break;
      case 'subscribe':
        void this.setSubscriptions(command.subscriptions);
        return;
    }
    this.#evaluate();
  }

  // ---- what sessions report ----

  #makeHost(): SessionHost {
    return {
      port: this.#port,
      config: this.#config,
      desiredSubscriptions: () => this.#desired,
      stateChanged: (state) => this.#setState(state),
      positionChanged: (position, head) => {
        this.#position = position;
        this.#head = Math.max(this.#head, head);
        this.#emit();
      },
      pushed: (count) => {
        this.#pushedMeter.add(count);
        this.#emit();
      },
      received: (count) => this.#pulledMeter.add(count),
      report: (error) => this.report(error),
      realigned: (outcome) => {
        this.#repaired += outcome.repairSeqs.length;
        this.#lostElsewhere = outcome.othersLost.length;
        this.#position = outcome.position;
        this.#emit();
      },
      renumbered: (seqs) => this.#refusals.renumbered(seqs),
      refused: (refusals) => this.#refusals.refused(refusals),
      parked: (clientSeq) => this.#refusals.parked(clientSeq),
      reminder: (row) => this.#refusals.reminder(row),
      caughtUp: () => this.#refusals.schedule(),
      progressed: () => {
        this.#checkFlushed();
        if (this.#refusals.deferred) this.#refusals.schedule();
      },
      notified: (payload) => {
        this.#each((tap) => tap.notified?.(payload));
        this.#tabs?.notifyIn(payload);
      },
      broadcast: (events) => this.#each((tap) => tap.broadcast?.(events)),
      acked: (acks) => this.#each((tap) => tap.acked?.(acks)),
      stored: (events, inserted) => {
        if (this.#taps.size > 0) {
          const fresh = events.slice(events.length - inserted);
          this.#each((tap) => tap.stored?.(fresh));
        }
      },
    };
  }

  /** A follower with no channel to ask the leader answers `flushed()` from the store, every `tabs.pollMs`. */
  #checkFlushed(): void {
    if (this.#flushWaiters.length === 0 || (!this.#leader && this.#tabs)) return;
    if (this.#checkingFlushed) {
      this.#checkFlushedAgain = true;
      return;
    }
    this.#checkingFlushed = true;
    void (async () => {
      try {
        do {
          this.#checkFlushedAgain = false;
          const unacked = await this.#port.readOutbox({ unackedOnly: true, limit: 1 });
          if (unacked.length === 0 && this.#refusals.waiting === 0) {
            for (const waiter of this.#flushWaiters.splice(0)) waiter.resolve();
          }
        } while (this.#checkFlushedAgain && this.#flushWaiters.length > 0);
        if (!this.#leader && this.#flushWaiters.length > 0 && !this.#closed)
          this.#flushPoll ??= setTimeout(() => {
            this.#flushPoll = undefined;
            this.#checkFlushed();
          }, this.#port.tabPollMs);
      } catch (error) {
        this.report(toClientError(error));
      } finally {
        this.#checkingFlushed = false;
      }
    })();
  }

  // ---- state and metrics ----

  #setState(state: SyncState): void {
    if (state === this.#state) return;
    this.#state = state;
    this.#emit();
  }

  #snapshot(): SyncMetrics {
    const mirrored = this.#leader ? undefined : this.#follower;
    if (mirrored !== undefined) {
      const { lastError, ...rest } = mirrored;
      return {
        ...rest,
        lag: Math.max(0, rest.head - rest.position),
        lastError: lastError && new ClientError(lastError.code, lastError.message),
      };
    }
    const head = Math.max(this.#head, this.#position);
    return {
      state: this.#state,
      outbox: this.#pending.length,
      acked: this.#acked,
      position: this.#position,
      head,
      lag: head - this.#position,
      pushedPerSecond: this.#pushedMeter.perSecond(),
      pulledPerSecond: this.#pulledMeter.perSecond(),
      pushed: this.#pushedMeter.total,
      pulled: this.#pulledMeter.total,
      repaired: this.#repaired,
      lostElsewhere: this.#lostElsewhere,
      lastError: this.#lastError,
    };
  }

  #tabStatus(snapshot: SyncMetrics = this.#snapshot()): TabStatus {
    const { lastError, lag: _, ...rest } = snapshot;
    return { ...rest, lastError: lastError && { code: lastError.code, message: lastError.message } };
  }

  #emit(): void {
    if (this.#metrics.closed) return;
    const snapshot = this.#snapshot();
    this.#metrics.next(snapshot);
    if (this.#leader) this.#tabs?.publish(this.#tabStatus(snapshot));
    // Rates fall back to 0 by themselves: tick while there is something to decay.
    if (this.#tick === undefined && (snapshot.pushedPerSecond > 0 || snapshot.pulledPerSecond > 0)) {
      this.#tick = setTimeout(() => {
        this.#tick = undefined;
        this.#emit();
      }, 1000);
      (this.#tick as { unref?: () => void }).unref?.();
    }
  }
}

function closedError(): ClientError {
  return new ClientError(ClientErrorCode.closed, 'the sync is closed');
}
