import type { AppendAnswer, AppendColumns } from './append-columns.ts';
import { SqliteLog, type SqliteLogOptions } from './sqlite-log.ts';

/** Most events a batch may hold to be committed on the caller's thread. */
export const LOCAL_MAX_EVENTS = 16;
/** Most envelope JSON (UTF-16 code units, summed) a batch may hold to be committed on the caller's thread. */
export const LOCAL_MAX_CHARS = 64 * 1024;
/**
 * Time the caller's thread must have been free, on average, per unit of time its own commits
 * take: 3 keeps its share of the event loop at most a quarter, so that a flood of small pushes goes
 * to the SQLite thread and the event loop goes on reading sockets. The share is kept as a credit
 * of commit time, earned while the thread does not commit (a third of the time that passes) and
 * spent by each commit (its length): a commit is taken while the credit is not negative.
 */
const IDLE_PER_BUSY = 3;
/**
 * Most commit time (ms) the credit holds: what an idle thread may spend on commits at once before
 * their share counts. Pushes that come one at a time, each a few commits' length apart, are then
 * taken as long as their share is a quarter on average, instead of each waiting three times the
 * length of the one before (a commit whose fsync took longer than usual sent the next push to the
 * SQLite thread, two thread hops and a copy of the batch each way).
 */
const MAX_CREDIT_MS = 4;
/**
 * A commit here slower than this (ms) may mean a slow disk right now (a contended fsync): the event
 * loop must not wait for the next ones, which go to the SQLite thread for a while. One slow fsync
 * says little of the next (a disk's latency has a long tail, and a checkpoint on the SQLite thread
 * makes one now and then): a lone slow commit costs only its length in credit; the second in a
 * row rests {@link SLOW_REST_MIN_MS}, and each further one twice as long as the last, up to
 * {@link SLOW_REST_MAX_MS}; a commit that is not slow starts again from the first.
 */
const SLOW_COMMIT_MS = 2;
const SLOW_REST_MIN_MS = 25;
const SLOW_REST_MAX_MS = 1_000;
/** Commits of its own between two checkpoints asked of the SQLite thread, by default. */
const COMMITS_PER_CHECKPOINT = 64;

/**
 * A second write connection to a file log, on the caller's (the hub's) thread, opened with the
 * store (it creates or migrates the file, so open-time errors surface there). It commits a small
 * batch at once, synchronously, when the SQLite thread has nothing of this log in hand. An idle
 * hub then answers a lone push without the two thread hops (post to the SQLite thread, post
 * back), each of which waits for a thread to be scheduled; one small transaction costs less than
 * that. Until the SQLite thread is up it takes every batch, and the store's other work too
 * ({@link LocalWriter.now}): a hub nobody writes to never starts that thread. It never waits for a
 * lock once open (`busy_timeout` 0): a busy log (another writer) leaves the batch to the SQLite
 * thread, having written nothing. It never checkpoints (`wal_autocheckpoint` 0): the SQLite thread
 * does, when asked ({@link LocalWriter.append} says when), so that the event loop never copies
 * the WAL into the file (the store does it here only when that thread cannot open the log).
 *
 * Invariant: a batch it answers is committed durably (WAL, `synchronous=FULL`, as the thread's
 * connection); a batch it declines (undefined) left the log untouched.
 */
export class LocalWriter {
  readonly #log: SqliteLog;
  readonly #commitsPerCheckpoint: number;
  /** Commit time (ms) this thread may spend, as of {@link #creditAt} (see IDLE_PER_BUSY); negative while it rests. */
  #credit = MAX_CREDIT_MS;
  /** `performance.now()` when {@link #credit} was last counted: the end of the last commit. */
  #creditAt = -Infinity;
  /** `performance.now()` before which no batch is taken: two slow commits in a row (see SLOW_COMMIT_MS). */
  #restUntil = 0;
  #sinceCheckpoint = 0;
  /** Slow commits in a row (see SLOW_COMMIT_MS). */
  #slowInARow = 0;
  readonly #clock: () => number;

  private constructor(log: SqliteLog, commitsPerCheckpoint: number, clock: () => number) {
    this.#log = log;
    this.#commitsPerCheckpoint = commitsPerCheckpoint;
    this.#clock = clock;
  }

  /**
   * Opens (creating or migrating it) the log; fails with a HubError `store`. The migrations
   * wait `options.busyTimeoutMs` for a lock, the commits after them never. `commitsPerCheckpoint`: how often {@link append} asks for a checkpoint (default 64 commits);
   * `clock`: the time in ms it judges a commit's length and its rest by (default `performance.now`).
   */
  static open(
    options: SqliteLogOptions,
    {
      commitsPerCheckpoint = COMMITS_PER_CHECKPOINT,
      clock = () => performance.now(),
    }: { readonly commitsPerCheckpoint?: number; readonly clock?: () => number } = {},
  ): LocalWriter {
    const log = SqliteLog.open(options, { autoCheckpoint: false, busyTimeoutMs: 0 });
    return new LocalWriter(log, commitsPerCheckpoint, clock);
  }

  /**
   * Commits `batch` here and now, if it is small and this thread has the credit for it (it did not
   * commit too much of late), or whatever it is with `always` (while the SQLite thread starts);
   * undefined when it declines (too big, too soon, or the log is locked by another writer).
   * `checkpoint` is called when the SQLite thread should checkpoint the log.
   */
  append(batch: AppendColumns, checkpoint: () => void, always = false): AppendAnswer | undefined {
    const started = this.#clock();
    const credit = Math.min(MAX_CREDIT_MS, this.#credit + (started - this.#creditAt) / IDLE_PER_BUSY);
    if (!always && (credit < 0 || started < this.#restUntil || !small(batch))) return undefined;
    const answer = this.#appendNow(batch);
    if (answer === undefined) return undefined;
    const ended = this.#clock();
    const took = ended - started;
    this.#credit = credit - took;
    this.#creditAt = ended;
    this.#restUntil = ended + this.#slowRest(took);
    if (++this.#sinceCheckpoint >= this.#commitsPerCheckpoint) {
      this.#sinceCheckpoint = 0;
      checkpoint();
    }
    return answer;
  }

  /** {@link now} of an append, without a closure made for each. */
  #appendNow(batch: AppendColumns): AppendAnswer | undefined {
    try {
      return this.#log.append(batch);
    } catch (thrown) {
      if (isBusy(thrown)) return undefined;
      throw thrown;
    }
  }

  /**
   * Runs `work` on this connection here and now; undefined when the log is locked by another
   * writer (nothing was written: the SQLite thread takes the work).
   */
  now<T>(work: (log: SqliteLog) => T): T | undefined {
    try {
      return work(this.#log);
    } catch (thrown) {
      if (isBusy(thrown)) return undefined;
      throw thrown;
    }
  }

  close(): void {
    this.#log.close();
  }

  /** How long to rest, whatever the credit, after a commit that took `took` ms (see SLOW_COMMIT_MS). */
  #slowRest(took: number): number {
    if (took <= SLOW_COMMIT_MS) {
      this.#slowInARow = 0;
      return 0;
    }
    // A lone slow commit (an fsync in the disk's tail) costs the next ones nothing more than its share.
    if (this.#slowInARow++ === 0) return 0;
    return Math.min(SLOW_REST_MIN_MS * 2 ** Math.min(this.#slowInARow - 2, 30), SLOW_REST_MAX_MS);
  }
}

function small(batch: AppendColumns): boolean {
  return batch.ids.length <= LOCAL_MAX_EVENTS && batch.envelopes.length <= LOCAL_MAX_CHARS;
}

function isBusy(thrown: unknown): boolean {
  const code = (thrown as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code.startsWith('SQLITE_BUSY');
}
