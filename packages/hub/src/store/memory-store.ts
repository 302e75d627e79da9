import { randomUUID } from 'node:crypto';
import { matchesSubscription, type CommittedEvent } from '@eventloom/protocol';
import { HubError, HubErrorCode } from '../hub/hub-error.ts';
import type {
  ClientClaim,
  ClientRecord,
  NewClientClaim,
  EventStore,
  HeadChange,
  StoreAppend,
  StoreAppendResult,
  StoreReadQuery,
  StoreImportResult,
  StoreReadResult,
} from './event-store.ts';
import { importHubId, planImport } from './plan-import.ts';
import { committedJson, envelopeJson } from './committed-json.ts';
import { HeadWatchers } from './head-watchers.ts';
import { planAppend, type AppendSnapshot, type RecordedRejection } from './plan-append.ts';
import { scanWindowOf, streamFilter } from './stream-filter.ts';

/** Options of {@link createMemoryStore}. */
export interface MemoryStoreOptions {
  /** The log's id; a random UUID by default. */
  readonly hubId?: string;
  /** Positions one filtered read scans at most (default 50,000): bounds the work of one read. */
  readonly scanWindow?: number;
}

/**
 * An {@link EventStore} held in memory, for tests and throwaway hubs: nothing survives the process.
 * Events are stored as their JSON round trip, so it answers exactly as the persistent stores do.
 *
 * @example
 * const store = await createMemoryStore();
 * await store.append([{ event }]); // [{ status: 'ok', id, position: 1, streamVersion: 1 }]
 */
export async function createMemoryStore(options: MemoryStoreOptions = {}): Promise<EventStore> {
  return new MemoryEventStore(options);
}

interface MemoryClient {
  lastSeq: number;
  principal: string | undefined;
  /** The fence: see `EventStore.claimClient`. */
  epoch: number;
  /** The refusals recorded, by seq (a committed seq is known by its event). */
  readonly rejections: Map<number, RecordedRejection>;
}

/** The memory store; see {@link createMemoryStore}. */
class MemoryEventStore implements EventStore {
  #hubId: string;
  readonly #scanWindow: number;
  /** Committed events; the one at position p is at index p - 1. */
  readonly #log: CommittedEvent[] = [];
  /** The JSON text length of each event of `#log`, at the same index. */
  readonly #chars: number[] = [];
  readonly #positionById = new Map<string, number>();
  readonly #streams = new Map<string, number>();
  readonly #clients = new Map<string, MemoryClient>();
  readonly #watchers = new HeadWatchers();
  #closed = false;
  /** What planAppend reads: the state before the batch, which append changes only after judging it. */
  readonly #snapshot: AppendSnapshot = {
    head: () => this.#log.length,
    lastClientSeq: (clientId) => this.#clients.get(clientId)?.lastSeq ?? 0,
    clientEpoch: (clientId) => this.#clients.get(clientId)?.epoch ?? 0,
    rejection: (clientId, clientSeq) => this.#clients.get(clientId)?.rejections.get(clientSeq),
    committedById: (id) => {
      const position = this.#positionById.get(id);
      return position === undefined ? undefined : this.#log[position - 1];
    },
    streamVersion: (stream) => this.#streams.get(stream) ?? 0,
  };

  constructor(options: MemoryStoreOptions) {
    this.#hubId = options.hubId ?? randomUUID();
    this.#scanWindow = scanWindowOf(options.scanWindow);
  }

  async append(batch: readonly StoreAppend[]): Promise<StoreAppendResult[]> {
    this.#open();
    const plan = planAppend(this.#snapshot, batch, (item) => item.event);
    const recordedAt = new Date().toISOString();
    const from = this.#log.length;
    for (const { item, position, streamVersion } of plan.events) {
      // The JSON round trip of the SQLite store: the same text, so the same event read back.
      const envelope = item.envelopeJson ?? envelopeJson(item.event);
      const text = committedJson(envelope, position, streamVersion, recordedAt);
      const stored = deepFreeze(JSON.parse(text) as CommittedEvent);
      this.#log.push(stored);
      this.#chars.push(text.length);
      this.#positionById.set(stored.id, stored.position);
    }
    for (const { clientId, clientSeq, rejection } of plan.rejections) {
      this.#clientOf(clientId).rejections.set(clientSeq, Object.freeze({ ...rejection }));
    }
    for (const [clientId, seq] of plan.clientSeqs) this.#clientOf(clientId).lastSeq = seq;
    for (const [stream, version] of plan.streamVersions) this.#streams.set(stream, version);
    if (plan.events.length > 0) {
      const committed = this.#log.slice(from);
      this.#watchers.emit({ head: this.#log.length, from, events: () => committed });
    }
    return plan.results;
  }

  async importEvents(
    events: readonly CommittedEvent[],
    options: { readonly hubId?: string } = {},
  ): Promise<StoreImportResult> {
    this.#open();
    const takeId = importHubId(this.#log.length, this.#hubId, options.hubId);
    const plan = planImport(this.#snapshot, events);
    if (takeId) this.#hubId = options.hubId!;
    for (const event of plan.events) {
      const stored = deepFreeze(JSON.parse(JSON.stringify(event)) as CommittedEvent);
      this.#log.push(stored);
      this.#chars.push(JSON.stringify(stored).length);
      this.#positionById.set(stored.id, stored.position);
    }
    for (const [stream, version] of plan.streamVersions) this.#streams.set(stream, version);
    for (const [clientId, seq] of plan.clientSeqs) this.#clientOf(clientId).lastSeq = seq;
    for (const [clientId, principal] of plan.principals) this.#clientOf(clientId).principal ??= principal;
    return { imported: plan.events.length, skipped: plan.skipped, head: this.#log.length };
  }

  async read(query: StoreReadQuery): Promise<StoreReadResult> {
    this.#open();
    const filter = streamFilter(query);
    const { from, limit } = query;
    const budget = query.maxJsonChars ?? Infinity;
    const head = this.#log.length;
    const bound = filter.kind === 'all' ? head : Math.min(head, from + this.#scanWindow);
    const subscriptions =
      filter.kind === 'all' ? undefined : [...filter.exact, ...filter.prefixes.map((p) => `${p}*`)];
    const events: CommittedEvent[] = [];
    let jsonChars = 0;
    for (let p = from + 1; p <= bound; p++) {
      const event = this.#log[p - 1] as CommittedEvent;
      if (subscriptions !== undefined && !matchesSubscription(event.stream, subscriptions)) continue;
      const chars = this.#chars[p - 1]!;
      if (events.length > 0 && jsonChars + chars > budget) return { events, until: p - 1, head, jsonChars };
      events.push(event);
      jsonChars += chars;
      if (events.length === limit) return { events, until: p, head, jsonChars };
    }
    return { events, until: Math.max(from, bound), head, jsonChars };
  }

  async head(): Promise<number> {
    this.#open();
    return this.#log.length;
  }

  async streamVersion(stream: string): Promise<number> {
    this.#open();
    return this.#streams.get(stream) ?? 0;
  }

  async client(clientId: string): Promise<ClientRecord> {
    this.#open();
    const client = this.#clients.get(clientId);
    return { lastClientSeq: client?.lastSeq ?? 0, principal: client?.principal };
  }

  async bindClient(clientId: string, principal: string): Promise<boolean> {
    this.#open();
    const client = this.#clientOf(clientId);
    client.principal ??= principal;
    return client.principal === principal;
  }

  async claimClient(clientId: string, principal: string): Promise<ClientClaim> {
    this.#open();
    const client = this.#clients.get(clientId);
    if (client === undefined) return { lastClientSeq: 0, principal: undefined, epoch: 0 };
    if (client.principal === undefined || client.principal === principal) client.epoch += 1;
    return { lastClientSeq: client.lastSeq, principal: client.principal, epoch: client.epoch };
  }

  async claimNewClient(clientId: string, principal: string): Promise<NewClientClaim> {
    this.#open();
    const client = this.#clients.get(clientId);
    if (client?.principal !== undefined && client.principal !== principal)
      return { status: 'other-principal' };
    if (client !== undefined && (client.epoch !== 0 || client.lastSeq !== 0)) return { status: 'fenced' };
    const claimed = client ?? this.#clientOf(clientId);
    claimed.principal = principal;
    claimed.epoch = 1;
    return { status: 'claimed', epoch: 1 };
  }

  async hubId(): Promise<string> {
    this.#open();
    return this.#hubId;
  }

  watchHead(listener: (change: HeadChange) => void): () => void {
    this.#open();
    return this.#watchers.add(listener);
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#watchers.clear();
  }

  #clientOf(clientId: string): MemoryClient {
    let client = this.#clients.get(clientId);
    if (!client) {
      client = { lastSeq: 0, principal: undefined, epoch: 0, rejections: new Map() };
      this.#clients.set(clientId, client);
    }
    return client;
  }

  #open(): void {
    if (this.#closed) throw new HubError(HubErrorCode.closed, 'the event store is closed');
  }
}

/** Freezes a JSON value all the way down, so that a reader cannot change what the store holds. */
function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}
