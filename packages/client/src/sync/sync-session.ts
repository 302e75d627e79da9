import {
  decodeHubError,
  decodeLiveEvents,
  decodePullResult,
  decodePushAck,
  decodeSubscribeAck,
  ErrorCode,
  MessageName,
  PROTOCOL_VERSION,
  type CommittedEvent,
  type LiveEvents,
  type Notify,
  type ProtocolIssue,
  type PullResult,
} from '@eventloom/protocol';
import { ClientError, ClientErrorCode, toClientError } from '../client-error.ts';
import type { OutboxRow } from '../client-store.ts';
import { SerialQueue } from '../serial-queue.ts';
import { checkWelcome } from './check-welcome.ts';
import { cutBatch, holdGuarded, releaseGuarded } from './cut-batch.ts';
import { makeSocket, watchOpening } from './make-socket.ts';
import { pullHistory } from './pull-history.ts';
import { RequestTracker } from './request-tracker.ts';
import { clientCode, covers, issueError, resolveToken, sameList } from './session-errors.ts';
import type { SessionConfig, SessionHost, SessionOutcome } from './session-host.ts';
import { sortPushResults } from './sort-push-results.ts';
import type { SyncSocket } from './sync-socket.ts';

/** Live messages held while a pull runs, at most; beyond, they are dropped and pulled again. */
const MAX_HELD = 256;

/**
 * One connection to the hub, from the handshake to its end: `hello`, catch-up (subscriptions,
 * history of streams subscribed later, pull pages), live events, and the push pipeline. A new
 * session is made for each connection: nothing of Socket.IO's own buffering or reconnection is
 * relied on (DESIGN.md §5: the outbox is the source of truth).
 *
 * Invariants:
 * - every confirmed event goes through `inbound`, one at a time, so `position` is the log's;
 * - a live message is stored only if its `prev` ≤ `position` (then the log covers everything up
 *   to its last event); otherwise the gap is pulled;
 * - while a pull round runs, live messages are held and applied (or pulled again) after it;
 * - pushes go in clientSeq order from `pushCursor`; any result the hub did not record rewinds the
 *   cursor, and nothing is pushed again until the batches in flight have come back;
 * - at most one batch in flight holds guarded events (`expectedVersion`) of a stream: a later one
 *   waits for its answer, so that a refusal is known before the events decided on it go out.
 */
export class SyncSession {
  readonly #host: SessionHost;
  readonly #config: SessionConfig;
  readonly #inbound = new SerialQueue();
  /** Rows up to this seq are own events a restored hub log lost, sent again in `repair` pushes. */
  #repairUpTo = 0;
  /** Whether the hub reads `repair` on a push (protocol 3). */
  #hubRepairs = false;
  readonly #requests: RequestTracker;
  readonly #outcome: Promise<SessionOutcome>;
  #resolveOutcome!: (outcome: SessionOutcome) => void;
  #socket: SyncSocket | undefined;
  #open = true;
  #ready = false;
  #live = false;

  #position = 0;
  #head = 0;
  /** The subscriptions the hub holds for this socket; undefined until `hello`. */
  #subscribed: readonly string[] | undefined;
  /** Whether the log's coverage was checked against the subscriptions after `hello`. */
  #reconciled = false;
  #looping: Promise<void> | undefined;
  #loopAgain = false;
  readonly #held: LiveEvents[] = [];

  #pushCursor = 0;
  #inFlight = 0;
  /** Streams with guarded events in a batch in flight, and how many such batches (0 or 1). */
  readonly #guardedInFlight = new Map<string, number>();
  #pushing = false;
  #pushWanted = false;
  #rewindTo: number | undefined;
  #pushHeld = false;
  #holdAttempt = 0;
  /** Rewinds in a row without an ack. */
  #gaps = 0;
  #maxEvents: number;

  constructor(host: SessionHost) {
    this.#host = host;
    this.#config = host.config;
    this.#maxEvents = host.config.maxEvents;
    this.#requests = new RequestTracker(host.config.requestTimeoutMs, (error) => this.#finish(error));
    this.#outcome = new Promise((resolve) => (this.#resolveOutcome = resolve));
  }

  /** Whether the session is still connected (or connecting). */
  get open(): boolean {
    return this.#open;
  }

  /** Connects and syncs until the connection ends; resolves with how it ended. */
  run(): Promise<SessionOutcome> {
    this.#start().catch((error: unknown) => this.#finish(toClientError(error)));
    return this.#outcome;
  }

  /** Ends the session (offline, lost the lead, closed): no error. */
  close(): void {
    this.#finish(undefined);
  }

  /** Sends a `notify` message (it has no ack); false unless connected and past `hello`. */
  sendNotify(message: Notify): boolean {
    const socket = this.#socket;
    if (!this.#open || !this.#ready || socket === undefined || !socket.connected) return false;
    socket.emit(MessageName.notify, message);
    return true;
  }

  /** New outbox rows, or rows free to go again: push what is there. */
  kickPush(): void {
    this.#pushWanted = true;
    if (this.#pushing || !this.#ready) return;
    this.#pushing = true;
    void (async () => {
      try {
        while (this.#pushWanted && this.#open) {
          this.#pushWanted = false;
          await this.#pushMore();
        }
      } catch (error) {
        this.#finish(toClientError(error));
      } finally {
        this.#pushing = false;
      }
    })();
  }

  /** Changes the subscriptions (the engine's desired ones) and catches up with them. */
  resubscribe(): Promise<void> {
    return this.#ready ? this.syncLoop() : Promise.resolve();
  }

  /**
   * Brings the log up to the hub's head: subscriptions first (with the history of streams added),
   * then pull pages until `more` is false, then the live messages held meanwhile. Runs one at a
   * time; a call while it runs makes it go round once more.
   */
  syncLoop(): Promise<void> {
    if (this.#looping) {
      this.#loopAgain = true;
      return this.#looping;
    }
    this.#looping = (async () => {
      try {
        do {
          this.#loopAgain = false;
          await this.#syncRound();
          while (!this.#loopAgain && this.#held.length > 0 && this.#open) await this.#applyHeld();
        } while (this.#loopAgain && this.#open);
      } finally {
        this.#looping = undefined;
      }
    })();
    return this.#looping;
  }

  // ---- connection ----

  async #start(): Promise<void> {
    const record = await this.#host.port.readSyncRecord();
    this.#position = record.position;
    this.#head = record.position;
    const token = await resolveToken(this.#config.token);
    if (!this.#open) return;
    const listeners = {
      finish: (error: ClientError) => this.#finish(error),
      later: (ms: number, fn: () => void) => this.#later(ms, fn),
      live: (payload: unknown) => this.#onLive(payload),
      hubError: (payload: unknown) => this.#onHubError(payload),
      notified: (payload: unknown) => this.#host.notified(payload),
    };
    const { socket, connected } = makeSocket(this.#config, token, listeners);
    this.#socket = socket;
    socket.connect();
    const opened = watchOpening(socket, this.#config.requestTimeoutMs, listeners);
    await connected;
    opened();
    if (!this.#open) return;

    const desired = this.#host.desiredSubscriptions();
    const checked = checkWelcome(
      await this.#request(MessageName.hello, {
        protocol: PROTOCOL_VERSION,
        clientId: this.#host.port.clientId,
        lastPosition: this.#position,
        subscriptions: [...desired],
        schemaFingerprint: this.#config.fingerprint,
      }),
      record,
      this.#config,
    );
    if (!checked.ok) {
      this.#finish(checked.error, checked.fatal);
      return;
    }
    const welcome = checked.welcome;
    if (record.hubId !== welcome.hubId) await this.#host.port.writeSyncRecord({ hubId: welcome.hubId });
    if (!this.#open) return;
    // The hub's word on this device, checked at every hello: a hub that holds seqs this device
    // never gave out (its storage was cleared), or a log behind what the device saw (restored).
    const realigned = await this.#inbound.run(() =>
      this.#host.port.realign({
        hubClientSeq: welcome.lastClientSeq,
        hubHead: welcome.head,
      }),
    );
    if (!this.#open) return;
    this.#position = realigned.position;
    this.#hubRepairs = welcome.protocol >= 3;
    this.#repairUpTo = realigned.repairSeqs.at(-1) ?? 0;
    if (realigned.repairSeqs.length > 0 || realigned.othersLost.length > 0 || realigned.renumbered > 0) {
      this.#host.realigned(realigned);
    }
    this.#subscribed = desired;
    this.#head = Math.max(this.#head, welcome.head);
    this.#ready = true;
    this.#host.stateChanged('catching-up');
    this.#host.positionChanged(this.#position, this.#head);
    this.kickPush();
    await this.syncLoop();
    if (!this.#open) return;
    this.#live = true;
    this.#host.stateChanged('live');
    this.#host.caughtUp();
  }

  #finish(error: ClientError | undefined, fatal = false): void {
    if (!this.#open) return;
    this.#open = false;
    this.#ready = false;
    this.#requests.end(error ?? new ClientError(ClientErrorCode.connectionFailed, 'the session ended'));
    this.#socket?.disconnect();
    this.#resolveOutcome({ error, fatal, live: this.#live });
  }

  /** Sends a request and resolves with the hub's answer; rejects on timeout (which drops the connection) or disconnect. */
  #request(name: string, payload: unknown): Promise<unknown> {
    const socket = this.#socket;
    if (!this.#open || socket === undefined || !socket.connected) {
      return Promise.reject(new ClientError(ClientErrorCode.connectionFailed, 'not connected'));
    }
    return this.#requests.request(socket, name, payload);
  }

  #onHubError(payload: unknown): void {
    const decoded = decodeHubError(payload);
    if (!decoded.ok) return;
    const { code, message } = decoded.value;
    this.#host.report(new ClientError(clientCode(code), `hub: ${message}`));
  }

  #later(ms: number, fn: () => void): void {
    this.#requests.later(ms, fn);
  }

  // ---- catch-up and live ----

  async #syncRound(): Promise<void> {
    const desired = this.#host.desiredSubscriptions();
    // After `hello` the hub holds what it said; tell it only of a change since.
    const changed = !sameList(desired, this.#subscribed ?? []);
    if (!this.#reconciled || changed) {
      await this.#applySubscriptions(desired, changed);
      this.#reconciled = true;
    }
    await this.#pullPages();
  }

  /**
   * Makes the log cover `desired`: tells the hub (unless `hello` just did), then pulls the history
   * of the streams the log did not cover, from position 0 up to the position the log has reached
   * (`insertHistory`), and records the new coverage with the last page. Events of those streams
   * after that position come with the pull that follows, under the new subscriptions.
   */
  async #applySubscriptions(desired: readonly string[], send: boolean): Promise<void> {
    if (send) {
      const ack = decodeSubscribeAck(
        await this.#request(MessageName.subscribe, { subscriptions: [...desired] }),
      );
      if (!ack.ok) throw issueError(ack.error, 'subscribe');
      this.#head = Math.max(this.#head, ack.value.head);
    }
    this.#subscribed = desired;
    // Everything held or queued was sent under the old subscriptions: the bound is after it.
    const bound = await this.#inbound.run(() => Promise.resolve(this.#position));
    const record = await this.#host.port.readSyncRecord();
    const covered = record.subscriptions ?? [];
    const added = desired.filter((s) => !covered.some((c) => covers(c, s)));
    if (bound === 0 || added.length === 0) {
      if (!sameList(covered, desired)) await this.#host.port.writeSyncRecord({ subscriptions: desired });
      return;
    }
    const request = (name: string, payload: unknown) => this.#request(name, payload);
    await pullHistory({ host: this.#host, inbound: this.#inbound, request }, added, desired, bound);
  }

  /** Pulls pages from the log's position until the hub says there is no more; the next page is asked for while one is stored. */
  async #pullPages(): Promise<void> {
    let next = this.#pull(this.#position);
    for (;;) {
      const page = await next;
      if (page.more) {
        next = this.#pull(page.until);
        next.catch(() => undefined);
      }
      await this.#inbound.run(() => this.#store(page.events, page.until, page.head));
      if (!page.more || !this.#open) return;
    }
  }

  async #pull(from: number): Promise<PullResult> {
    const answer = decodePullResult(
      await this.#request(MessageName.pull, { from, limit: this.#config.pullLimit }),
    );
    if (!answer.ok) throw issueError(answer.error, 'pull');
    return answer.value;
  }

  /** Stores confirmed events (inside `inbound`). */
  async #store(events: readonly CommittedEvent[], until: number | undefined, head: number): Promise<void> {
    const result = await this.#host.port.insertConfirmed(events, until === undefined ? {} : { until });
    this.#host.stored(events, result.inserted);
    this.#position = result.position;
    this.#head = Math.max(this.#head, head, result.position);
    this.#host.received(result.inserted);
    this.#host.positionChanged(this.#position, this.#head);
  }

  #onLive(payload: unknown): void {
    const decoded = decodeLiveEvents(payload);
    if (!decoded.ok) {
      this.#host.report(issueError(decoded.error, 'events'));
      void this.syncLoop().catch((error: unknown) => this.#finish(toClientError(error)));
      return;
    }
    const message = decoded.value;
    this.#host.broadcast(message.events);
    this.#inbound
      .run(async () => {
        if (this.#looping !== undefined || !this.#ready) {
          if (this.#held.push(message) > MAX_HELD) {
            this.#held.length = 0;
            this.#loopAgain = true;
          }
          return;
        }
        if (message.prev <= this.#position) {
          const last = message.events[message.events.length - 1]!.position;
          await this.#store(message.events, undefined, last);
        } else void this.syncLoop().catch((error: unknown) => this.#finish(toClientError(error)));
      })
      .catch((error: unknown) => this.#finish(toClientError(error)));
  }

  /** Applies the oldest held live message, or, past a gap, drops them all and pulls again. */
  async #applyHeld(): Promise<void> {
    await this.#inbound.run(async () => {
      const message = this.#held.shift();
      if (message === undefined) return;
      if (message.prev <= this.#position) {
        const last = message.events[message.events.length - 1]!.position;
        await this.#store(message.events, undefined, last);
      } else {
        this.#held.length = 0;
        this.#loopAgain = true;
      }
    });
  }

  // ---- push ----

  async #pushMore(): Promise<void> {
    while (this.#open && this.#ready && this.#inFlight < this.#config.inFlight && !this.#pushHeld) {
      if (this.#rewindTo !== undefined) {
        if (this.#inFlight > 0) return;
        this.#pushCursor = this.#rewindTo;
        this.#rewindTo = undefined;
      }
      const limit = this.#maxEvents;
      const rows = await this.#host.port.readOutbox({
        afterSeq: this.#pushCursor,
        limit: limit + 1,
        unackedOnly: true,
      });
      if (!this.#open || this.#rewindTo !== undefined || this.#pushHeld) continue;
      const {
        batch: cutRows,
        reminders,
        blocked,
      } = cutBatch({
        rows,
        limit,
        maxBytes: this.#config.maxBytes,
        parked: (seq) => this.#host.parked(seq),
        guardedInFlight: this.#guardedInFlight,
        reminder: (row) => this.#host.reminder(row),
      });
      if (cutRows.length === 0) {
        // Everything read waits to be decided again: look past it.
        if (!blocked && rows.length > limit) {
          this.#pushCursor = rows[limit - 1]!.clientSeq;
          continue;
        }
        return;
      }
      const batch = [...cutRows];
      // Own events a restored log lost go in pushes of their own, flagged for the hub to count.
      const repair = batch[0]!.clientSeq <= this.#repairUpTo;
      if (this.#repairUpTo > 0) {
        const cut = batch.findIndex((row) => row.clientSeq <= this.#repairUpTo !== repair);
        if (cut > 0) batch.splice(cut);
      }
      this.#pushCursor = batch[batch.length - 1]!.clientSeq;
      this.#inFlight++;
      const guarded = holdGuarded(this.#guardedInFlight, batch);
      void this.#send(batch, reminders, repair && this.#hubRepairs)
        .catch((error: unknown) => this.#finish(toClientError(error)))
        .finally(() => {
          this.#inFlight--;
          releaseGuarded(this.#guardedInFlight, guarded);
          this.kickPush();
        });
      if (blocked) return;
    }
  }

  async #send(
    batch: readonly OutboxRow[],
    reminders: ReadonlySet<number> = new Set(),
    repair = false,
  ): Promise<void> {
    let answer: unknown;
    try {
      const events = batch.map((r) => r.event);
      answer = await this.#request(MessageName.push, repair ? { events, repair: true } : { events });
    } catch {
      return; // the session ended: the next one pushes these again
    }
    if (!this.#open) return;
    const decoded = decodePushAck(answer);
    if (!decoded.ok) {
      this.#refusedWhole(batch, decoded.error);
      return;
    }
    const { results } = decoded.value;
    const { acks, refusals, rewind, held } = sortPushResults(batch, results, reminders);
    let hold = false;
    for (const { row, result } of held) {
      hold = true;
      this.#host.report(new ClientError(clientCode(result.code), `hub: ${result.message}`));
      this.#config.warnings.held(result.code, row.event.type, row.event.version, result.message);
    }
    if (acks.length > 0) {
      this.#host.acked(acks);
      await this.#host.port.markAcked(acks);
      this.#host.pushed(acks.length);
      this.#holdAttempt = 0;
      this.#gaps = 0;
    }
    // A gap that does not close by pushing again (the hub lost track?) is not retried in a tight loop.
    if (rewind !== undefined && !hold && ++this.#gaps > 3) hold = true;
    if (refusals.length > 0) await this.#host.refused(refusals);
    if (rewind !== undefined) this.#rewind(rewind, hold);
    this.#host.progressed();
  }

  /** The hub refused the whole push: smaller batches for `too-large`, else wait and push again. */
  #refusedWhole(batch: readonly OutboxRow[], issue: ProtocolIssue): void {
    const error = issueError(issue, 'push');
    this.#host.report(error);
    if (issue.code === ErrorCode.tooLarge && batch.length > 1) {
      this.#maxEvents = Math.max(1, Math.floor(batch.length / 2));
      this.#rewind(batch[0]!.clientSeq - 1, false);
      return;
    }
    this.#rewind(batch[0]!.clientSeq - 1, true);
  }

  /** Pushes again from after `seq`, once the batches in flight are back (after a wait if `hold`). */
  #rewind(seq: number, hold: boolean): void {
    this.#rewindTo = Math.min(this.#rewindTo ?? Infinity, seq);
    if (!hold || this.#pushHeld) return;
    this.#pushHeld = true;
    this.#later(this.#config.holdBackoff.delay(this.#holdAttempt++), () => {
      this.#pushHeld = false;
      this.kickPush();
    });
  }
}
