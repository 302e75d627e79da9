import { decodePushAck, ErrorCode, MessageName, type ProtocolIssue } from '@eventloom/protocol';
import { ClientError, ClientErrorCode, toClientError } from '../client-error.ts';
import type { OutboxRow } from '../client-store.ts';
import type { AckInput } from '../sync-port.ts';
import { UNDECIDED_CODES } from './conflict-policy.ts';
import { cutAtBoundaries, cutBatch } from './cut-batch.ts';
import { clientCode, issueError } from './session-errors.ts';
import type { Refusal, SessionHost } from './session-host.ts';
import type { SessionLink } from './session-link.ts';

/**
 * The push stage of a session: outbox rows go to the hub in batches, several in flight.
 * Invariants:
 * - pushes go in clientSeq order from `pushCursor`; any result the hub did not record rewinds the
 *   cursor, and nothing is pushed again until the batches in flight have come back;
 * - at most one batch in flight holds guarded events (`expectedVersion`) of a stream: a later one
 *   waits for its answer, so that a refusal is known before the events decided on it go out.
 */
export class PushPipeline {
  readonly #host: SessionHost;
  readonly #link: SessionLink;
  /**
   * Rows up to this seq are own events a restored hub log lost, sent again in `repair` pushes, with
   * the rest of a decision that starts at or below it (see `cutAtBoundaries`).
   */
  #repairUpTo = 0;
  /** Whether the hub reads `repair` on a push (protocol 3). */
  #hubRepairs = false;
  /** Whether the hub records `unknown-event-version` refusals (protocol 4): such events are held aside. */
  #hubHoldsAside = false;
  /** Undecided rows up to this seq go first, alone: the hub may hold other events at their seqs. */
  #settleUpTo = 0;
  /** The hub's head at `hello`: what a realign takes (it goes unused after a `seq-used` refusal). */
  #hubHead = 0;
  /** A batch of rows up to `#settleUpTo` is in flight: nothing else goes until its answer. */
  #settling = false;
  #pushCursor = 0;
  /** The highest clientSeq known to be in the outbox (the view's pending rows, the rows read). */
  #known = 0;
  /** Whether the outbox may hold rows past `#known`: it is read before anything is taken as pushed. */
  #unknown = true;
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

  constructor(host: SessionHost, link: SessionLink) {
    this.#host = host;
    this.#link = link;
    this.#maxEvents = host.config.maxEvents;
  }

  /** What `hello` said of repairs: rows up to `upTo` go in pushes of their own, flagged if the hub reads the flag. */
  repairs(upTo: number, hubRepairs: boolean): void {
    this.#repairUpTo = upTo;
    this.#hubRepairs = hubRepairs;
  }

  /** What `hello` said of unknown versions: a hub of protocol 4 records them, and they are held aside. */
  holdsAside(hubHoldsAside: boolean): void {
    this.#hubHoldsAside = hubHoldsAside;
  }

  /**
   * What `hello` said of the device's seq (protocol 5): undecided rows up to `upTo` go first, on
   * their own, and nothing after them goes until the hub answered. A `seq-used` refusal (the hub
   * holds another event there) numbers them and every undecided row after them past `upTo`
   * (`SyncPort.realign` with `usedFrom`), same ids and order, and they go again. `upTo` is the
   * hub's seq exactly: from protocol 6 no other session of this client id moves it after the
   * welcome; a `seq-used` past it means the welcome was stale (an older hub): hello again.
   */
  settles(upTo: number, hubHead: number): void {
    this.#settleUpTo = upTo;
    this.#hubHead = hubHead;
  }

  /**
   * New outbox rows, or rows free to go again: push what is there (once the hub welcomed the
   * session). `upTo`: the highest clientSeq in the outbox, as the view holds it; when every row up
   * to it went out already, the outbox is not read. Without it, the outbox is read.
   */
  kick(upTo?: number): void {
    if (upTo === undefined) this.#unknown = true;
    else this.#known = Math.max(this.#known, upTo);
    this.#resume();
  }

  /** Whether the outbox may hold rows to push: past the cursor, or again after a rewind. */
  get #owed(): boolean {
    return this.#unknown || this.#rewindTo !== undefined || this.#known > this.#pushCursor;
  }

  /** Pushes what the outbox may hold, once the hub welcomed the session; a no-op when nothing is owed. */
  #resume(): void {
    if (!this.#owed) return;
    this.#pushWanted = true;
    if (this.#pushing || !this.#link.ready) return;
    this.#pushing = true;
    void (async () => {
      try {
        while (this.#pushWanted && this.#link.open) {
          this.#pushWanted = false;
          await this.#pushMore();
        }
      } catch (error) {
        this.#link.finish(toClientError(error));
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
  ahead(rows: readonly OutboxRow[]): ((landed: boolean) => void) | undefined {
    const first = rows[0];
    if (
      first === undefined ||
      !this.#link.open ||
      !this.#link.ready ||
      this.#pushHeld ||
      this.#settling ||
      first.clientSeq <= this.#settleUpTo ||
      this.#rewindTo !== undefined ||
      this.#inFlight >= this.#host.config.inFlight ||
      first.clientSeq !== this.#pushCursor + 1 ||
      first.clientSeq <= this.#repairUpTo
    ) {
      return undefined;
    }
    const cut = cutBatch({
      rows,
      limit: this.#maxEvents,
      maxBytes: this.#host.config.maxBytes,
      parked: (seq) => this.#host.parked(seq),
      guardedInFlight: this.#guardedInFlight,
      reminder: (row) => this.#host.reminder(row),
    });
    if (cut.batch.length !== rows.length || cut.reminders.size > 0) return undefined;
    this.#known = Math.max(this.#known, rows[rows.length - 1]!.clientSeq);
    this.#sendBatch(cut.batch, cut.reminders, false);
    return (landed) => {
      if (landed) return;
      const message = 'events were pushed while their local write failed: starting over to realign';
      this.#link.finish(new ClientError(ClientErrorCode.storage, message));
    };
  }

  async #pushMore(): Promise<void> {
    const config = this.#host.config;
    while (
      this.#link.open &&
      this.#link.ready &&
      this.#inFlight < config.inFlight &&
      !this.#pushHeld &&
      !this.#settling &&
      this.#owed
    ) {
      if (this.#rewindTo !== undefined) {
        if (this.#inFlight > 0) return;
        this.#pushCursor = this.#rewindTo;
        this.#rewindTo = undefined;
      }
      const limit = this.#maxEvents;
      // A kick without a hint while this read runs sets it again.
      this.#unknown = false;
      const read = await this.#host.port.readOutbox({
        afterSeq: this.#pushCursor,
        limit: limit + 1,
        unackedOnly: true,
      });
      if (read.length > limit) this.#unknown = true;
      this.#known = Math.max(this.#known, read.at(-1)?.clientSeq ?? 0);
      // Rows pushed ahead of their write meanwhile (`ahead`) went out already.
      const rows = read.filter((row) => row.clientSeq > this.#pushCursor);
      if (!this.#link.open || this.#rewindTo !== undefined || this.#pushHeld) continue;
      const {
        batch: cutRows,
        reminders,
        blocked,
      } = cutBatch({
        rows,
        limit,
        maxBytes: config.maxBytes,
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
      // Own events a restored log lost go in pushes of their own, flagged for the hub to count
      // (with the rest of a decision they belong to: see `cutAtBoundaries`).
      // Rows at or below the welcome's seq go alone, every one of them (a batch that mixed them
      // with later rows could see those stored before a row refused `seq-used`).
      const { batch, repair, settle } = cutAtBoundaries(
        { batch: cutRows, reminders, blocked },
        { repairUpTo: this.#repairUpTo, settleUpTo: this.#settleUpTo },
      );
      if (settle) {
        this.#settling = true;
        this.#sendBatch(batch, reminders, repair && this.#hubRepairs, true);
        return;
      }
      this.#sendBatch(batch, reminders, repair && this.#hubRepairs);
      if (blocked) return;
    }
  }

  /** Sends a batch cut from the outbox (the cursor moves past it); its answer frees its slot. */
  #sendBatch(
    batch: readonly OutboxRow[],
    reminders: ReadonlySet<number>,
    repair: boolean,
    settle = false,
  ): void {
    this.#pushCursor = batch[batch.length - 1]!.clientSeq;
    this.#inFlight++;
    const guarded = new Set<string>();
    for (const row of batch) if (row.event.expectedVersion !== undefined) guarded.add(row.event.stream);
    for (const stream of guarded)
      this.#guardedInFlight.set(stream, (this.#guardedInFlight.get(stream) ?? 0) + 1);
    void this.#send(batch, reminders, repair)
      .catch((error: unknown) => this.#link.finish(toClientError(error)))
      .finally(() => {
        if (settle) this.#settling = false;
        this.#inFlight--;
        for (const stream of guarded) {
          const left = (this.#guardedInFlight.get(stream) ?? 1) - 1;
          if (left > 0) this.#guardedInFlight.set(stream, left);
          else this.#guardedInFlight.delete(stream);
        }
        this.#resume();
      });
  }

  /** Sends a batch and records its answers (rows without one are pushed again). */
  async #send(
    batch: readonly OutboxRow[],
    reminders: ReadonlySet<number> = new Set(),
    repair = false,
  ): Promise<void> {
    let answer: unknown;
    try {
      const events = batch.map((r) => r.event);
      answer = await this.#link.request(MessageName.push, repair ? { events, repair: true } : { events });
    } catch {
      return; // the session ended: the next one pushes these again
    }
    if (!this.#link.open) return;
    const decoded = decodePushAck(answer);
    if (!decoded.ok) {
      // A later hello of this client id took over (protocol 6): the session ends, reported once
      // (by the engine, with its outcome), not held and reported here as well.
      if (decoded.error.code === ErrorCode.superseded) this.#link.finish(issueError(decoded.error, 'push'));
      else this.#refusedWhole(batch, decoded.error);
      return;
    }
    const { results } = decoded.value;
    const acks: AckInput[] = [];
    const refusals: Refusal[] = [];
    let rewind: number | undefined;
    let usedFrom: number | undefined;
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
      else if (result.code === ErrorCode.seqUsed) usedFrom = Math.min(usedFrom ?? Infinity, row.clientSeq);
      else if (
        UNDECIDED_CODES.has(result.code) &&
        !(this.#hubHoldsAside && result.code === ErrorCode.unknownEventVersion)
      ) {
        rewind = Math.min(rewind ?? Infinity, row.clientSeq - 1);
        // A gap only needs the events before it pushed again; the others need the hub to change.
        if (result.code !== ErrorCode.sequenceGap) {
          hold = true;
          this.#host.report(new ClientError(clientCode(result.code), `hub: ${result.message}`));
          this.#host.config.warnings.held(result.code, row.event.type, row.event.version, result.message);
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
    if (usedFrom !== undefined) {
      if (usedFrom > this.#settleUpTo) {
        // Past the seq settled against the welcome: only a hub older than 6 (no epoch fence) moves
        // it after the welcome, and the hub's seq is not known here. Hello again rather than guess
        // a seq (a wrong one could put later events first). That does not undo what this batch
        // did: its rows after `usedFrom` may already be stored after the other session's events,
        // out of append order; only protocol 6 rules that out.
        const message = `hub: clientSeq ${usedFrom} was used after the welcome: saying hello again`;
        this.#link.finish(new ClientError(ClientErrorCode.seqUsed, message));
        return;
      }
      // The hub holds other events from this seq on: number the undecided rows past its seq,
      // which is the welcome's (a settling batch moves nothing: every row in it is at or below).
      // `hubHead` goes unused with `usedFrom` (see `RealignInput.usedFrom`).
      const { seqs } = await this.#host.port.realign({
        hubClientSeq: this.#settleUpTo,
        hubHead: this.#hubHead,
        usedFrom,
      });
      if (seqs.size > 0) this.#host.renumbered(seqs);
      rewind = Math.min(rewind ?? Infinity, usedFrom - 1);
    }
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
    this.#link.later(this.#host.config.holdBackoff.delay(this.#holdAttempt++), () => {
      this.#pushHeld = false;
      this.kick();
    });
  }
}
