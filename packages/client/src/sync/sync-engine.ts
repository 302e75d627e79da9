import { Limits, subscriptionsSchema, type EventEnvelope, type Notify } from '@eventloom/protocol';
import {
  BehaviorSubject,
  distinctUntilChanged,
  map,
  Subject,
  type Observable,
  type Subscription,
} from 'rxjs';
import { ClientError, ClientErrorCode, toClientError } from '../client-error.ts';
import type { RejectInput } from '../eventloom.ts';
import { createBackoff, type Backoff } from './backoff.ts';
import { conflictAction, defaultConflictPolicy, type PushRejection } from './conflict-policy.ts';
import type {
  AnyDecider,
  RejectionReport,
  Sync,
  SyncMetrics,
  SyncOptions,
  SyncState,
  SyncTap,
  SyncTarget,
} from './create-sync.ts';
import { defaultOnlineDetector } from './online-detector.ts';
import { RateMeter } from './rate-meter.ts';
import { RefusalReminders } from './refusal-reminders.ts';
import { defaultSocketFactory } from './sync-socket.ts';
import { SyncWarnings } from './sync-warnings.ts';
import { SyncSession, type Refusal, type SessionConfig, type SessionHost } from './sync-session.ts';
import { TabSync, type TabCommand, type TabStatus } from './tab-sync.ts';

/** The window of the rates in `metrics$`, in ms. */
const RATE_WINDOW_MS = 3_000;

/** A refused decision waiting to be made again on fresh state. */
interface QueuedDecision {
  /** The clientSeq of its first event: the key. */
  readonly first: number;
  readonly decider: AnyDecider;
  readonly ids: string[];
  readonly seqs: number[];
  readonly refusals: PushRejection[];
  currentVersion: number | undefined;
}

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

  readonly #loom: SyncTarget;
  /** What extensions attached (`attach`): they see the traffic as it passes. */
  readonly #taps = new Set<SyncTap>();
  readonly #options: SyncOptions;
  readonly #config: SessionConfig;
  readonly #backoff: Backoff;
  readonly #deciders: ReadonlyMap<string, AnyDecider>;
  readonly #now: () => number;
  readonly #metrics: BehaviorSubject<SyncMetrics>;
  readonly #rejections = new Subject<RejectionReport>();
  readonly #pushedMeter: RateMeter;
  readonly #pulledMeter: RateMeter;
  readonly #subscriptions: Subscription[] = [];
  readonly #unsubscribeOnline: () => void;
  readonly #tabs: TabSync | undefined;
  readonly #queue = new Map<number, QueuedDecision>();
  readonly #parked = new Set<number>();
  readonly #reminders = new RefusalReminders();
  /** A decision waits for the refusal of guarded events decided on the refused one. */
  #deferred = false;
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
  #position = 0;
  #head = 0;
  #follower: TabStatus | undefined;
  #tick: ReturnType<typeof setTimeout> | undefined;
  #checkingFlushed = false;
  #checkFlushedAgain = false;
  #redeciding = false;
  #redecideAgain = false;

  constructor(loom: SyncTarget, options: SyncOptions) {
    if (typeof options.url !== 'string' || options.url.length === 0) {
      throw new ClientError(ClientErrorCode.invalid, 'createSync: url must be a non-empty string');
    }
    this.#loom = loom;
    this.clientId = loom.sync.clientId;
    this.#options = options;
    this.#desired = checkSubscriptions(options.subscriptions);
    this.#now = options.now ?? Date.now;
    this.#backoff = createBackoff(options.backoff);
    const names = new Map<string, AnyDecider>();
    for (const decider of options.deciders ?? []) names.set(decider.name, decider);
    this.#deciders = names;
    const push = options.push ?? {};
    this.#config = {
      url: options.url,
      token: options.token,
      io: options.io ?? {},
      socket: options.socket ?? defaultSocketFactory,
      fingerprint: fingerprintOf(loom),
      warnings: new SyncWarnings(options.warn),
      maxEvents: clamp(push.maxEvents ?? Limits.maxBatchSize, 1, Limits.maxBatchSize),
      maxBytes: clamp(
        push.maxBytes ?? 1024 * 1024,
        Limits.maxEventBytes + 1024,
        Limits.maxMessageBytes - 1024,
      ),
      inFlight: clamp(push.inFlight ?? 4, 1, 16),
      pullLimit: clamp(options.pullLimit ?? 1000, 1, Limits.maxPullLimit),
      requestTimeoutMs: options.requestTimeoutMs ?? 20_000,
      // Waiting for the hub to learn an event version, or to come back from an internal failure.
      holdBackoff: createBackoff({
        ...options.backoff,
        initialMs: Math.max(1000, options.backoff?.initialMs ?? 1000),
        maxMs: Math.max(60_000, options.backoff?.maxMs ?? 60_000),
      }),
    };
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
    this.#host = this.#makeHost();

    const Channel =
      options.tabs?.BroadcastChannel === undefined
        ? typeof BroadcastChannel === 'function'
          ? BroadcastChannel
          : null
        : options.tabs.BroadcastChannel;
    this.#tabs = Channel
      ? new TabSync(loom.sync.name, Channel, {
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
      loom.pending$.subscribe((pending) => {
        this.#pending = pending;
        this.#each((tap) => tap.pending?.(pending));
        this.#session?.kickPush();
        this.#checkFlushed();
        this.#emit();
      }),
    );
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
      if (outcome.live) this.#attempt = 0;
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
      port: this.#loom.sync,
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
      received: (count) => {
        this.#pulledMeter.add(count);
        this.#emit();
      },
      report: (error) => this.report(error),
      refused: (refusals) => this.#refused(refusals),
      parked: (clientSeq) => this.#parked.has(clientSeq),
      reminder: (row) => this.#reminders.for(row),
      caughtUp: () => this.#scheduleRedecides(),
      progressed: () => {
        this.#checkFlushed();
        if (this.#deferred) this.#scheduleRedecides();
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

  /** The conflict policy: refused events are decided again, dropped or parked; the outbox moves on. */
  async #refused(refusals: readonly Refusal[]): Promise<void> {
    const settle: RejectInput[] = [];
    const byId = new Map<string, PushRejection>();
    for (const { row, result } of refusals) {
      this.#reminders.refused(row);
      const rejection: PushRejection = {
        event: row.event,
        code: result.code,
        message: result.message,
        ...(result.currentVersion === undefined ? {} : { currentVersion: result.currentVersion }),
        ...(row.command === undefined ? {} : { command: row.command }),
      };
      let action;
      try {
        action = conflictAction(this.#options.conflicts ?? defaultConflictPolicy, rejection);
      } catch (error) {
        this.report(toClientError(error));
        action = 'dead-letter' as const;
      }
      let message = result.message;
      if (action === 'redecide') {
        const command = row.command;
        const decider = command ? this.#deciders.get(command.decider) : undefined;
        if (command && decider && command.attempt < (this.#options.maxRedecides ?? 5)) {
          const queued = this.#queue.get(command.first) ?? {
            first: command.first,
            decider,
            ids: [],
            seqs: [],
            refusals: [],
            currentVersion: undefined,
          };
          queued.ids.push(row.event.id);
          queued.seqs.push(row.clientSeq);
          queued.refusals.push(rejection);
          if (result.currentVersion !== undefined) {
            queued.currentVersion = Math.max(queued.currentVersion ?? 0, result.currentVersion);
          }
          this.#queue.set(command.first, queued);
          this.#parked.add(row.clientSeq);
          continue;
        }
        action = 'dead-letter';
        message = `${message} (not decided again: ${
          command === undefined
            ? 'no command was kept with the event'
            : decider === undefined
              ? `no decider named ${command.decider} was given to createSync`
              : `decided ${command.attempt} times already`
        })`.slice(0, 1024);
      }
      settle.push({
        id: row.event.id,
        code: result.code,
        message,
        ...(result.currentVersion === undefined ? {} : { currentVersion: result.currentVersion }),
        ...(action === 'drop' ? { drop: true } : {}),
      });
      byId.set(row.event.id, { ...rejection, message });
    }
    if (settle.length > 0) {
      const { deadLetters, dropped } = await this.#loom.sync.markRejected(settle);
      for (const letter of deadLetters) this.#announce(byId.get(letter.event.id), 'dead-lettered');
      for (const row of dropped) this.#announce(byId.get(row.event.id), 'dropped');
      await this.#settleReminders([
        ...deadLetters.map((d) => d.event.clientSeq),
        ...dropped.map((r) => r.clientSeq),
      ]);
    }
    if (this.#queue.size > 0) this.#scheduleRedecides();
  }

  #announce(
    rejection: PushRejection | undefined,
    action: RejectionReport['action'],
    events?: RejectionReport['events'],
  ): void {
    if (rejection === undefined) return;
    const { event, code, message } = rejection;
    const report: RejectionReport = { event, code, message, action, ...(events ? { events } : {}) };
    this.#config.warnings.refused(report, this.#rejections.observed);
    this.#rejections.next(report);
  }

  /** Makes the queued decisions again once the log has caught up with the hub (a fresh pull first). */
  #scheduleRedecides(): void {
    if (this.#queue.size === 0) return;
    if (this.#redeciding) {
      this.#redecideAgain = true;
      return;
    }
    this.#redeciding = true;
    void this.#redecide()
      .catch((error: unknown) => this.report(toClientError(error)))
      .finally(() => {
        this.#redeciding = false;
        this.#session?.kickPush();
        this.#checkFlushed();
        if (this.#redecideAgain) {
          this.#redecideAgain = false;
          this.#scheduleRedecides();
        }
      });
  }

  async #redecide(): Promise<void> {
    do {
      this.#redecideAgain = false;
      const session = this.#session;
      if (session === undefined || !session.open || this.#queue.size === 0) return;
      await session.syncLoop();
      if (!session.open) return;
      const entries = await this.#ready([...this.#queue.values()].sort((a, b) => a.first - b.first));
      if (entries.length === 0) return;
      // Events appended after this were decided without the refused ones (the redecided ones too).
      const after = await this.#lastSeq();
      const outcomes = await this.#loom.sync.redecide(
        entries.map((e) => ({
          ids: e.ids,
          decider: e.decider,
          ...(e.currentVersion === undefined ? {} : { currentVersion: e.currentVersion }),
        })),
      );
      const stale: RejectInput[] = [];
      outcomes.forEach((outcome, i) => {
        const entry = entries[i]!;
        const first = entry.refusals[0];
        if (outcome.kind === 'stale') {
          // Pulled up to the hub's head and still behind: this device does not hold the stream.
          const message = `not decided again: this device holds ${first?.event.stream ?? 'the stream'} up to version ${outcome.streamVersion}, the hub at ${entry.currentVersion ?? '?'} (subscribe to it to decide there)`;
          for (const id of entry.ids) {
            stale.push({
              id,
              code: first?.code ?? 'wrong-expected-version',
              message,
              ...(entry.currentVersion === undefined ? {} : { currentVersion: entry.currentVersion }),
            });
          }
          for (const r of entry.refusals) this.#announce({ ...r, message }, 'dead-lettered');
        } else if (outcome.kind === 'appended') this.#announce(first, 'redecided', outcome.events);
        else if (outcome.kind === 'refused') this.#announce(first, 'dead-lettered');
        else if (outcome.kind === 'nothing') this.#announce(first, 'dropped');
      });
      if (stale.length > 0) await this.#loom.sync.markRejected(stale);
      for (const [i, entry] of entries.entries()) {
        this.#queue.delete(entry.first);
        const outcome = outcomes[i];
        // Events appended from here on were decided without the refused ones.
        const upTo = outcome?.kind === 'appended' ? outcome.events[0]!.clientSeq - 1 : after;
        for (const seq of entry.seqs) {
          this.#parked.delete(seq);
          this.#reminders.settled(seq, upTo);
        }
      }
    } while (this.#redecideAgain && this.#queue.size > 0);
  }

  /**
   * The queued decisions that can be made now: not those of a stream where guarded events decided
   * on a refused one are still to be refused (pushed with the reminder); they come back refused
   * and are decided again with it, in order, each without the others in its state.
   */
  async #ready(entries: readonly QueuedDecision[]): Promise<QueuedDecision[]> {
    this.#deferred = false;
    const waiting = entries.filter((e) => e.refusals.some((r) => r.event.expectedVersion !== undefined));
    if (waiting.length === 0) return [...entries];
    const first = Math.min(...waiting.map((e) => e.first));
    const rows = await this.#loom.sync.readOutbox({ afterSeq: first - 1, unackedOnly: true });
    const queued = new Set(entries.flatMap((e) => e.seqs));
    const open = new Set<string>();
    for (const row of rows) {
      if (queued.has(row.clientSeq) || this.#parked.has(row.clientSeq)) continue;
      const reminder = this.#reminders.for(row);
      if (reminder !== undefined && queued.has(reminder.clientSeq)) open.add(row.event.stream);
    }
    if (open.size === 0) return [...entries];
    this.#deferred = true;
    return entries.filter((e) => !e.refusals.some((r) => open.has(r.event.stream)));
  }

  /** Marks refused events that left the outbox: the events after the outbox's end now were decided without them. */
  async #settleReminders(seqs: readonly number[]): Promise<void> {
    if (seqs.length === 0) return;
    const upTo = await this.#lastSeq();
    for (const seq of seqs) this.#reminders.settled(seq, upTo);
  }

  /** The last clientSeq given out: events appended later get higher ones. */
  async #lastSeq(): Promise<number> {
    return this.#loom.sync.lastClientSeq();
  }

  #checkFlushed(): void {
    if (this.#flushWaiters.length === 0 || !this.#leader) return;
    if (this.#checkingFlushed) {
      this.#checkFlushedAgain = true;
      return;
    }
    this.#checkingFlushed = true;
    void (async () => {
      try {
        do {
          this.#checkFlushedAgain = false;
          const unacked = await this.#loom.sync.readOutbox({ unackedOnly: true, limit: 1 });
          if (unacked.length === 0 && this.#queue.size === 0) {
            for (const waiter of this.#flushWaiters.splice(0)) waiter.resolve();
          }
        } while (this.#checkFlushedAgain && this.#flushWaiters.length > 0);
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
      position: this.#position,
      head,
      lag: head - this.#position,
      pushedPerSecond: this.#pushedMeter.perSecond(),
      pulledPerSecond: this.#pulledMeter.perSecond(),
      pushed: this.#pushedMeter.total,
      pulled: this.#pulledMeter.total,
      lastError: this.#lastError,
    };
  }

  #tabStatus(): TabStatus {
    const { lastError, lag: _, ...rest } = this.#snapshot();
    return { ...rest, lastError: lastError && { code: lastError.code, message: lastError.message } };
  }

  #emit(): void {
    if (this.#metrics.closed) return;
    const snapshot = this.#snapshot();
    this.#metrics.next(snapshot);
    if (this.#leader) this.#tabs?.publish(this.#tabStatus());
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

function checkSubscriptions(subscriptions: readonly string[]): readonly string[] {
  const parsed = subscriptionsSchema.safeParse(subscriptions);
  if (!parsed.success) {
    throw new ClientError(
      ClientErrorCode.invalid,
      `subscriptions: ${parsed.error.issues[0]?.message ?? 'invalid'}`,
    );
  }
  return [...new Set(parsed.data)];
}

function fingerprintOf(loom: SyncTarget): string | null {
  try {
    return loom.registry.fingerprint;
  } catch {
    return null;
  }
}

/** Failures no retry can fix: wait for `goOnline()` (after the app, the token or the hub changed). */
function isFatal(error: ClientError | undefined, token: SyncOptions['token']): boolean {
  if (error === undefined) return false;
  switch (error.code) {
    case ClientErrorCode.databaseClosed:
    case ClientErrorCode.versionConflict:
    case ClientErrorCode.protocolTooOld:
    case ClientErrorCode.protocolTooNew:
    case ClientErrorCode.hubChanged:
      return true;
    case ClientErrorCode.unauthenticated:
      // A token function may give a fresh token next time; a fixed one will not change.
      return typeof token !== 'function';
    default:
      return false;
  }
}

function closedError(): ClientError {
  return new ClientError(ClientErrorCode.closed, 'the sync is closed');
}

function clamp(value: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, Math.floor(value)));
}
