import {
  decodeHubError,
  decodeLiveEvents,
  decodePullResult,
  decodePushAck,
  decodeSubscribeAck,
  decodeWelcome,
  ErrorCode,
  MessageName,
  PROTOCOL_VERSION,
  type CommittedEvent,
  type LiveEvents,
  type Notify,
  type ProtocolIssue,
  type PullResult,
  type PushResult,
} from '@eventloom/protocol';
import { ClientError, ClientErrorCode, toClientError } from '../client-error.ts';
import type { OutboxRow } from '../client-store.ts';
import type { AckInput, RealignOutcome, SyncPort } from '../sync-port.ts';
import { SerialQueue } from '../serial-queue.ts';
import { UNDECIDED_CODES } from './conflict-policy.ts';
import { cutBatch } from './cut-batch.ts';
import type { Backoff } from './backoff.ts';
import type { SocketFactory, SocketIoOptions, SyncSocket } from './sync-socket.ts';
import type { SyncWarnings } from './sync-warnings.ts';

/** What a session needs from the engine that runs it (one engine, many sessions over time). */
export interface SessionHost {
  readonly port: SyncPort;
  readonly config: SessionConfig;
  /** The subscriptions the app wants now. */
  desiredSubscriptions(): readonly string[];
  /** The session reached a state the app should see. */
  stateChanged(state: 'catching-up' | 'live'): void;
  /** The log's position or the hub's head moved. */
  positionChanged(position: number, head: number): void;
  pushed(count: number): void;
  received(count: number): void;
  /** A failure worth showing (`metrics$.lastError`) that the session recovers from. */
  report(error: ClientError): void;
  /** The hub's word on this device changed its store (`SyncPort.realign`): a restored log, or a cleared device. */
  realigned(outcome: RealignOutcome): void;
  /** Final refusals of pushed events: the conflict policy's turn. */
  refused(refusals: readonly Refusal[]): Promise<void>;
  /** Whether an outbox row waits to be decided again (not to be pushed meanwhile). */
  parked(clientSeq: number): boolean;
  /** The refused guarded event `row` was decided on, to send again ahead of it ({@link RefusalReminders}). */
  reminder(row: OutboxRow): OutboxRow | undefined;
  /** The session caught up (again): decisions waiting for fresh state can be made now. */
  caughtUp(): void;
  /** Acks were recorded or the outbox moved: `flushed()` may resolve. */
  progressed(): void;
  /** A `notify` message arrived (notification, query or reply): undecoded. */
  notified(payload: unknown): void;
  /** Live events arrived (decoded, not yet stored): for the engine's taps. */
  broadcast(events: readonly CommittedEvent[]): void;
  /** Acks about to be recorded: for the engine's taps. */
  acked(acks: readonly AckInput[]): void;
  /** Confirmed events were stored, the last `inserted` of them new (the others held already): for the engine's taps. */
  stored(events: readonly CommittedEvent[], inserted: number): void;
}

/** What a session is configured with (resolved defaults). */
export interface SessionConfig {
  readonly url: string;
  readonly token: string | (() => string | Promise<string>) | undefined;
  readonly io: SocketIoOptions;
  readonly socket: SocketFactory;
  readonly fingerprint: string | null;
  /** The developer's warnings (refusals nobody hears, held events, another registry than the hub's). */
  readonly warnings: SyncWarnings;
  readonly maxEvents: number;
  readonly maxBytes: number;
  readonly inFlight: number;
  readonly pullLimit: number;
  readonly requestTimeoutMs: number;
  readonly holdBackoff: Backoff;
}

/** A pushed event the hub refused for good, with its outbox row. */
export interface Refusal {
  readonly row: OutboxRow;
  readonly result: Extract<PushResult, { status: 'rejected' }>;
}

/** How a session ended: the error, whether retrying is pointless, whether it had gone live. */
export interface SessionOutcome {
  readonly error: ClientError | undefined;
  readonly fatal: boolean;
  readonly live: boolean;
}

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
  readonly #failRequests = new Set<(error: ClientError) => void>();
  readonly #timers = new Set<ReturnType<typeof setTimeout>>();
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

  /**
   * Pushes an append's rows while their local write is in flight (issue 15), when they are next in
   * line: the session is ready, every row before them went out, and they fit one batch. Their acks
   * and refusals are recorded in the client's queue, so after the write. Returns what to call with
   * whether the write landed: if it did not, the hub may hold events this device never stored, so
   * the session ends, and the next `hello` moves the counter past them (`realign`) before any
   * other row goes out.
   */
  pushAhead(rows: readonly OutboxRow[]): ((landed: boolean) => void) | undefined {
    const first = rows[0];
    if (
      first === undefined ||
      !this.#open ||
      !this.#ready ||
      this.#pushHeld ||
      this.#rewindTo !== undefined ||
      this.#inFlight >= this.#config.inFlight ||
      first.clientSeq !== this.#pushCursor + 1 ||
      first.clientSeq <= this.#repairUpTo
    ) {
      return undefined;
    }
    const cut = cutBatch({
      rows,
      limit: this.#maxEvents,
      maxBytes: this.#config.maxBytes,
      parked: (seq) => this.#host.parked(seq),
      guardedInFlight: this.#guardedInFlight,
      reminder: (row) => this.#host.reminder(row),
    });
    if (cut.batch.length !== rows.length || cut.reminders.size > 0) return undefined;
    this.#sendBatch([...cut.batch], cut.reminders, false);
    return (landed) => {
      if (landed) return;
      const message = 'events were pushed while their local write failed: starting over to realign';
      this.#finish(new ClientError(ClientErrorCode.storage, message));
    };
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
    const io = this.#config.io;
    const socket = this.#config.socket(this.#config.url, {
      // WebSocket first; long polling where a proxy lets no WebSocket through.
      transports: ['websocket', 'polling'],
      tryAllTransports: true,
      timeout: this.#config.requestTimeoutMs,
      ...io,
      reconnection: false,
      forceNew: true,
      autoConnect: false,
      ...(token === undefined ? {} : { auth: { ...(isRecord(io.auth) ? io.auth : {}), token } }),
    });
    this.#socket = socket;
    const connected = new Promise<void>((resolve) => {
      socket.on('connect', () => resolve());
    });
    socket.on('connect_error', (error: unknown) => this.#finish(connectError(error)));
    socket.on('disconnect', (reason: unknown) =>
      this.#finish(new ClientError(ClientErrorCode.connectionFailed, `disconnected: ${String(reason)}`)),
    );
    socket.on(MessageName.events, (payload: unknown) => this.#onLive(payload));
    socket.on(MessageName.hubError, (payload: unknown) => this.#onHubError(payload));
    socket.on(MessageName.notify, (payload: unknown) => this.#host.notified(payload));
    socket.connect();
    // socket.io-client does not notice a transport that closes while it opens (it waits for its
    // own timeout): watch the engine where there is one, and bound the wait in any case.
    let opened = false;
    const engine = (
      socket as { io?: { engine?: { once?(event: 'close', fn: (reason: unknown) => void): void } } }
    ).io?.engine;
    engine?.once?.('close', (reason) => {
      // A refusal (connect_error, with the hub's code) closes the engine first: let it speak.
      this.#later(0, () => {
        if (!opened) {
          const message = `closed while opening: ${String(reason)}`;
          this.#finish(new ClientError(ClientErrorCode.connectionFailed, message));
        }
      });
    });
    this.#later(this.#config.requestTimeoutMs, () => {
      if (!opened) {
        const message = `no connection within ${this.#config.requestTimeoutMs} ms`;
        this.#finish(new ClientError(ClientErrorCode.timeout, message));
      }
    });
    await connected;
    opened = true;
    if (!this.#open) return;

    const desired = this.#host.desiredSubscriptions();
    const welcome = decodeWelcome(
      await this.#request(MessageName.hello, {
        protocol: PROTOCOL_VERSION,
        clientId: this.#host.port.clientId,
        lastPosition: this.#position,
        subscriptions: [...desired],
        schemaFingerprint: this.#config.fingerprint,
      }),
    );
    if (!welcome.ok) {
      const error = issueError(welcome.error, 'hello');
      this.#finish(error, FATAL_HELLO.has(welcome.error.code));
      return;
    }
    if (welcome.value.minProtocol > PROTOCOL_VERSION) {
      const message = `the hub serves protocol ${welcome.value.minProtocol} and up; this client speaks ${PROTOCOL_VERSION}`;
      this.#finish(new ClientError(ClientErrorCode.protocolTooOld, message), true);
      return;
    }
    this.#config.warnings.welcomed(
      this.#config.url,
      this.#config.fingerprint,
      welcome.value.schemaFingerprint,
    );
    if (record.hubId !== undefined && record.hubId !== welcome.value.hubId && record.position > 0) {
      const message = `this device synced with hub log ${record.hubId}; ${this.#config.url} serves ${welcome.value.hubId}: its positions mean something else`;
      this.#finish(new ClientError(ClientErrorCode.hubChanged, message), true);
      return;
    }
    if (record.hubId !== welcome.value.hubId)
      await this.#host.port.writeSyncRecord({ hubId: welcome.value.hubId });
    if (!this.#open) return;
    // The hub's word on this device, checked at every hello: a hub that holds seqs this device
    // never gave out (its storage was cleared), or a log behind what the device saw (restored).
    const realigned = await this.#inbound.run(() =>
      this.#host.port.realign({
        hubClientSeq: welcome.value.lastClientSeq,
        hubHead: welcome.value.head,
      }),
    );
    if (!this.#open) return;
    this.#position = realigned.position;
    this.#hubRepairs = welcome.value.protocol >= 3;
    this.#repairUpTo = realigned.repairSeqs.at(-1) ?? 0;
    if (realigned.repairSeqs.length > 0 || realigned.othersLost.length > 0 || realigned.renumbered > 0) {
      this.#host.realigned(realigned);
    }
    this.#subscribed = desired;
    this.#head = Math.max(this.#head, welcome.value.head);
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
    for (const fail of this.#failRequests) {
      fail(error ?? new ClientError(ClientErrorCode.connectionFailed, 'the session ended'));
    }
    this.#failRequests.clear();
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
    this.#socket?.disconnect();
    this.#resolveOutcome({ error, fatal, live: this.#live });
  }

  /** Sends a request and resolves with the hub's answer; rejects on timeout (which drops the connection) or disconnect. */
  #request(name: string, payload: unknown): Promise<unknown> {
    return new Promise((resolve, reject) => {
      const socket = this.#socket;
      if (!this.#open || socket === undefined || !socket.connected) {
        reject(new ClientError(ClientErrorCode.connectionFailed, 'not connected'));
        return;
      }
      const fail = (error: ClientError) => {
        clearTimeout(timer);
        this.#timers.delete(timer);
        this.#failRequests.delete(fail);
        reject(error);
      };
      const timer = setTimeout(() => {
        const error = new ClientError(
          ClientErrorCode.timeout,
          `the hub did not answer ${name} within ${this.#config.requestTimeoutMs} ms`,
        );
        fail(error);
        this.#finish(error);
      }, this.#config.requestTimeoutMs);
      this.#timers.add(timer);
      this.#failRequests.add(fail);
      socket.emit(name, payload, (answer: unknown) => {
        clearTimeout(timer);
        this.#timers.delete(timer);
        this.#failRequests.delete(fail);
        resolve(answer);
      });
    });
  }

  #onHubError(payload: unknown): void {
    const decoded = decodeHubError(payload);
    if (!decoded.ok) return;
    const { code, message } = decoded.value;
    this.#host.report(new ClientError(clientCode(code), `hub: ${message}`));
  }

  #later(ms: number, fn: () => void): void {
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      fn();
    }, ms);
    this.#timers.add(timer);
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
    let from = 0;
    for (;;) {
      const answer = decodePullResult(
        await this.#request(MessageName.pull, { from, limit: this.#config.pullLimit, streams: [...added] }),
      );
      if (!answer.ok) {
        // A stream the principal may not pull has no history to fetch here; the rest carries on.
        if (answer.error.code === ErrorCode.unauthorized) {
          this.#host.report(issueError(answer.error, 'pull'));
          await this.#host.port.writeSyncRecord({ subscriptions: desired });
          return;
        }
        throw issueError(answer.error, 'pull');
      }
      const page = answer.value;
      const last = !page.more || page.until >= bound;
      const older = page.events.filter((e) => e.position <= bound);
      await this.#inbound.run(async () => {
        const result = await this.#host.port.insertHistory(older, last ? { subscriptions: desired } : {});
        this.#host.received(result.inserted);
      });
      if (last) return;
      from = page.until;
    }
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
    // Every caller checked that the log covers what comes before these events.
    const from = this.#position;
    const result = await this.#host.port.insertConfirmed(
      events,
      until === undefined ? { from } : { until, from },
    );
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
      const read = await this.#host.port.readOutbox({
        afterSeq: this.#pushCursor,
        limit: limit + 1,
        unackedOnly: true,
      });
      // Rows pushed ahead of their write meanwhile (`pushAhead`) went out already.
      const rows = read.filter((row) => row.clientSeq > this.#pushCursor);
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
      this.#sendBatch(batch, reminders, repair && this.#hubRepairs);
      if (blocked) return;
    }
  }

  /** Sends a batch cut from the outbox (the cursor moves past it); its answer frees its slot. */
  #sendBatch(batch: readonly OutboxRow[], reminders: ReadonlySet<number>, repair: boolean): void {
    this.#pushCursor = batch[batch.length - 1]!.clientSeq;
    this.#inFlight++;
    const guarded = new Set<string>();
    for (const row of batch) if (row.event.expectedVersion !== undefined) guarded.add(row.event.stream);
    for (const stream of guarded)
      this.#guardedInFlight.set(stream, (this.#guardedInFlight.get(stream) ?? 0) + 1);
    void this.#send(batch, reminders, repair)
      .catch((error: unknown) => this.#finish(toClientError(error)))
      .finally(() => {
        this.#inFlight--;
        for (const stream of guarded) {
          const left = (this.#guardedInFlight.get(stream) ?? 1) - 1;
          if (left > 0) this.#guardedInFlight.set(stream, left);
          else this.#guardedInFlight.delete(stream);
        }
        this.kickPush();
      });
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
    const acks: AckInput[] = [];
    const refusals: Refusal[] = [];
    let rewind: number | undefined;
    let hold = false;
    batch.forEach((row, i) => {
      if (reminders.has(row.clientSeq)) return; // its answer is known: refused
      const result =
        results[i]?.id === row.event.id ? results[i] : results.find((r) => r.id === row.event.id);
      if (result === undefined) {
        rewind = Math.min(rewind ?? Infinity, row.clientSeq - 1);
        return;
      }
      if (result.status === 'ok')
        acks.push({ id: row.event.id, position: result.position, streamVersion: result.streamVersion });
      else if (result.status === 'duplicate') acks.push({ id: row.event.id, position: result.position });
      else if (UNDECIDED_CODES.has(result.code)) {
        rewind = Math.min(rewind ?? Infinity, row.clientSeq - 1);
        // A gap only needs the events before it pushed again; the others need the hub to change.
        if (result.code !== ErrorCode.sequenceGap) {
          hold = true;
          this.#host.report(new ClientError(clientCode(result.code), `hub: ${result.message}`));
          this.#config.warnings.held(result.code, row.event.type, row.event.version, result.message);
        }
      } else refusals.push({ row, result });
    });
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

/** Hello refusals that no retry can fix: the app or the hub must change first. */
const FATAL_HELLO: ReadonlySet<string> = new Set([
  ErrorCode.protocolTooOld,
  ErrorCode.protocolTooNew,
  ErrorCode.unauthorized,
  ErrorCode.invalid,
]);

async function resolveToken(token: SessionConfig['token']): Promise<string | undefined> {
  if (typeof token !== 'function') return token;
  try {
    return await token();
  } catch (cause) {
    throw new ClientError(ClientErrorCode.unauthenticated, 'the token function failed', { cause });
  }
}

function connectError(error: unknown): ClientError {
  const data = (error as { data?: { code?: unknown } } | undefined)?.data;
  const code = typeof data?.code === 'string' ? clientCode(data.code) : ClientErrorCode.connectionFailed;
  const message = error instanceof Error ? error.message : String(error);
  return new ClientError(code, `cannot connect: ${message}`, { cause: error });
}

function issueError(issue: ProtocolIssue, what: string): ClientError {
  return new ClientError(clientCode(issue.code), `${what}: ${issue.message}`);
}

const CLIENT_CODES = new Set<string>(Object.values(ClientErrorCode));

/** The hub's code as a client code (they share the protocol's), `internal` if unknown. */
function clientCode(code: string): ClientErrorCode {
  return CLIENT_CODES.has(code) ? (code as ClientErrorCode) : ClientErrorCode.internal;
}

/** Whether subscription `c` covers every stream `s` covers. */
export function covers(c: string, s: string): boolean {
  if (c === s) return true;
  if (!c.endsWith('*')) return false;
  return s.startsWith(c.slice(0, -1));
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  const set = new Set(a);
  return b.every((s) => set.has(s));
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}
