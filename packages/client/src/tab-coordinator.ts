import { BehaviorSubject, type Observable } from 'rxjs';

/**
 * What the client uses of its environment to coordinate tabs; injectable, as TanStack Query does
 * with its managers, so that Node, workers and tests can choose. Missing pieces degrade: without
 * `locks` every instance is its own leader (single-tab mode, e.g. Node 20); without
 * `BroadcastChannel` other tabs are not told of changes, so, when there may be other tabs (`locks`
 * is there), each instance reads the store for their writes every `pollMs`: the leader pushes
 * another tab's appends within that time, and a follower sees the leader's writes.
 */
export interface TabEnvironment {
  /** The Web Locks API, `navigator.locks` in a browser. `null` forces single-tab mode. */
  readonly locks?: LockManager | null;
  /** The BroadcastChannel constructor. `null` turns announcements off. */
  readonly BroadcastChannel?: typeof BroadcastChannel | null;
  /**
   * With `locks` but no `BroadcastChannel`: how often (ms) to read the store for other tabs'
   * writes (a read of the meta record when nothing changed). 1000 by default.
   */
  readonly pollMs?: number;
}

/** How often an instance with Web Locks but no BroadcastChannel reads the store for other tabs' writes. */
export const DEFAULT_TAB_POLL_MS = 1000;

/** What an instance posts when it opens (see {@link TabCoordinator} for who answers). */
const HELLO = 'hello';
/** A single-tab instance's answer to a hello when it has no change to tell: "I am here too". */
const HERE = 'here';
/** What an instance posts when the database changed (any message but the two above is taken as one). */
const CHANGED = 1;

/**
 * One database's tabs: elects one leader through an exclusive Web Lock named after the database
 * (held until this instance closes, then granted to the next tab waiting), and announces changes
 * to the other tabs over a BroadcastChannel of the same name (without one, polls: see
 * {@link TabEnvironment}).
 *
 * The leader announces only once it knows another instance is there: a message posted to no one
 * still costs a page a round trip to the browser per write. Each instance posts {@link HELLO} as
 * it opens, before it reads the store, and any instance that hears a message knows it has
 * company from then on. When it first hears of another instance, it announces the changes it kept
 * to itself until then: a write made before the newcomer's hello reached it is then read by the
 * newcomer after that answer. Only such an instance answers a hello with a change, so opening a
 * tab costs no other tab a read: a write announced before the newcomer's channel existed is in the
 * store when the newcomer reads it, after its hello, and one announced later reaches the newcomer.
 *
 * The newcomer must also know it has company by the time it leads. With Web Locks, granted in
 * the order they were asked for, it leads only once every instance older than itself has closed,
 * and it heard the hello of each younger one, so nothing answers. In single-tab mode it leads at
 * once, beside the others: each of them answers its hello, {@link HERE} when it has no change to
 * tell (a message that makes no one read). Once heard, company is never forgotten: a leader whose
 * last peer closed goes on posting its changes to no one (a cost, not a fault).
 *
 * Invariant: at most one instance per database and origin holds the lock, so at most one has
 * `leader$` true — except in single-tab mode, where there is no lock to hold.
 */
export class TabCoordinator {
  /** Whether this instance leads; it starts false and turns true when the lock is granted. */
  readonly leader$: Observable<boolean>;
  /** Whether there is no lock manager, so this instance leads alone. */
  readonly singleTab: boolean;
  /** How often (ms) it reads the store for other tabs' writes when nothing tells it of them. */
  readonly pollMs: number;
  readonly #leader = new BehaviorSubject(false);
  readonly #channel: BroadcastChannel | undefined;
  readonly #abort = new AbortController();
  readonly #name: string;
  #release: (() => void) | undefined;
  #poll: ReturnType<typeof setInterval> | undefined;
  #lockRequest: Promise<void> | undefined;
  /** Open single-tab instances of this database in this realm, while this one counts among them. */
  #peers: Set<TabCoordinator> | undefined;
  /** Whether another instance of the database was heard on the channel: from then on, changes are announced. */
  #heard = false;
  /** Whether a change was kept to itself while no other instance was heard. */
  #unannounced = false;

  constructor(
    name: string,
    environment: TabEnvironment,
    onAnnounce: () => void,
    onError: (e: unknown) => void,
  ) {
    this.leader$ = this.#leader.asObservable();
    this.#name = name;
    this.pollMs = environment.pollMs ?? DEFAULT_TAB_POLL_MS;
    const Channel = environment.BroadcastChannel;
    const locks = environment.locks;
    if (Channel) {
      const channel = (this.#channel = new Channel(`eventloom:${name}`));
      channel.onmessage = (message: MessageEvent) => {
        this.#heard = true;
        const data: unknown = message.data;
        if (this.#unannounced) channel.postMessage(CHANGED);
        else if (data === HELLO && !locks) channel.postMessage(HERE);
        this.#unannounced = false;
        // A hello or a "here" tells of no write: the newcomer writes nothing before its hello.
        if (data !== HELLO && data !== HERE) onAnnounce();
      };
      channel.postMessage(HELLO);
    }
    this.singleTab = !locks;
    if (!locks) {
      this.#peers = singleTabPeers.get(name) ?? new Set();
      singleTabPeers.set(name, this.#peers.add(this));
      this.#leader.next(true);
      return;
    }
    // Other tabs may write, and nothing would tell this one: it looks for itself.
    if (!Channel) this.#poll = setInterval(onAnnounce, this.pollMs);
    this.#lockRequest = locks
      .request(`eventloom:${name}:leader`, { mode: 'exclusive', signal: this.#abort.signal }, () => {
        if (this.#abort.signal.aborted) return undefined;
        this.#leader.next(true);
        return new Promise<void>((resolve) => {
          this.#release = resolve;
        });
      })
      .then(
        () => undefined,
        (error: unknown) => {
          if (!this.#abort.signal.aborted) onError(error);
        },
      );
  }

  /**
   * Whether this instance is the only writer of its database it can know of: single-tab mode (no
   * lock manager: the app runs one tab, or Node), and no other instance of the same name open in
   * this realm. With locks, other tabs may append at any time. Such an instance pushes an append
   * before its meta read (`AppendPendingOptions.sole`).
   */
  get alone(): boolean {
    return this.#peers?.size === 1;
  }

  /** Whether this instance leads now. */
  get isLeader(): boolean {
    return this.#leader.value;
  }

  /**
   * Tells the other tabs that the database changed: once one was heard of (see the class), and
   * always while another instance leads, which pushes this one's appends (a leader of an older
   * version says no hello).
   */
  announce(): void {
    if (this.#heard || !this.#leader.value) this.#channel?.postMessage(CHANGED);
    else this.#unannounced = true;
  }

  /** Gives up the lead (the next tab gets it) and stops listening. */
  async close(): Promise<void> {
    this.#abort.abort();
    if (this.#peers?.delete(this) && this.#peers.size === 0) singleTabPeers.delete(this.#name);
    this.#peers = undefined;
    clearInterval(this.#poll);
    this.#release?.();
    this.#channel?.close();
    if (this.#leader.value) this.#leader.next(false);
    this.#leader.complete();
    await this.#lockRequest;
  }
}

/** The open single-tab instances of this realm, by database name. */
const singleTabPeers = new Map<string, Set<TabCoordinator>>();

/** The environment's own Web Locks and BroadcastChannel, where they exist. */
export function defaultTabEnvironment(): TabEnvironment {
  const nav = (globalThis as { navigator?: { locks?: LockManager } }).navigator;
  return {
    locks: nav?.locks ?? null,
    BroadcastChannel: typeof BroadcastChannel === 'function' ? BroadcastChannel : null,
  };
}
