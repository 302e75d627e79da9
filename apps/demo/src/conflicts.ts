import type { Rejection } from '@eventloom/core';
import type { JsonValue } from '@eventloom/protocol';
import { BehaviorSubject, type Observable } from 'rxjs';
import type { BoardCommand } from './domain/index.ts';
import type { ConflictStory } from './explain-conflict.ts';
import type { HubRejection } from './sync.ts';

/**
 * A conflict or rejection, and what became of it. Two sources:
 * - `decider`: the board refused a command on this device (a WIP limit, say), nothing appended;
 * - `hub`: the hub rejected an event this device pushed (a stale `expectedVersion`, say).
 */
export interface ConflictEntry {
  /** The refusal's own id (`decider`), or the rejected event's id (`hub`). */
  readonly id: string;
  readonly at: number;
  readonly source: 'decider' | 'hub';
  readonly code: string;
  readonly message: string;
  /** The refusal's details (a WIP refusal: the column, its limit and count). */
  readonly details: JsonValue | undefined;
  /** The refused command, for a retry. */
  readonly command: BoardCommand | undefined;
  readonly eventType: string | undefined;
  readonly status: 'open' | 'resolved';
  /** How it was resolved, in words. */
  readonly resolution: string | undefined;
  /** The dead letter it was parked as (`hub`), to retry or discard. */
  readonly deadLetterId: string | undefined;
  /** A conflict this device lost (`hub`), in a team member's words: who came first, what became of mine. */
  readonly story?: ConflictStory;
  /** For the details view (`hub`): the hub's own message, the version decided on, the ids. */
  readonly technical?: {
    readonly hubMessage: string;
    readonly expectedVersion: number | undefined;
    readonly eventId: string;
    readonly clientId: string;
  };
  /** Whether the person closed its notice (a lost conflict's stays until then). */
  readonly seen?: boolean;
}

const MAX_ENTRIES = 50;

/**
 * The conflicts panel's model: the board's refusals on this device, and the hub's rejections as
 * the sync engine reports them, each with its resolution. Kept in localStorage (per board), so
 * they outlive a reload; rejected events that need a person are in the dead letters (the client's
 * database), where the dead-letter panel lists them.
 */
export class Conflicts {
  readonly entries$: Observable<readonly ConflictEntry[]>;
  readonly #entries = new BehaviorSubject<readonly ConflictEntry[]>([]);
  readonly #key: string;
  readonly #storage: Storage | undefined;
  readonly #onStorage = (event: StorageEvent) => {
    if (event.key !== this.#key) return;
    this.#local = this.#load();
    this.#publish();
  };
  #local: ConflictEntry[];

  constructor(boardId: string, storage: Storage | undefined = globalThis.localStorage) {
    this.#key = `eventloom-demo:${boardId}:conflicts`;
    this.#storage = storage;
    this.#local = this.#load();
    this.entries$ = this.#entries.asObservable();
    this.#publish();
    // Another tab of this device (only the leader syncs) wrote the log: show it here too.
    globalThis.addEventListener?.('storage', this.#onStorage);
  }

  /** Records a refusal of the board decider on this device; resolved already if `resolution` says how. */
  refused(command: BoardCommand, rejection: Rejection, resolution?: string): ConflictEntry {
    const entry: ConflictEntry = {
      id: crypto.randomUUID(),
      at: Date.now(),
      source: 'decider',
      code: rejection.code,
      message: rejection.message,
      details: rejection.details,
      command,
      eventType: undefined,
      status: resolution === undefined ? 'open' : 'resolved',
      resolution,
      deadLetterId: undefined,
    };
    this.#local = [entry, ...this.#local].slice(0, MAX_ENTRIES);
    this.#save();
    return entry;
  }

  /** Marks the entry of a dead letter resolved (retried or discarded from the dead-letter queue). */
  resolveDeadLetter(deadLetterId: string, resolution: string): void {
    const entry = this.#local.find((e) => e.deadLetterId === deadLetterId && e.status === 'open');
    if (entry !== undefined) this.resolve(entry.id, resolution);
  }

  /** Marks an entry's notice as seen: closed by the person (it stays in the list). */
  markSeen(id: string): void {
    this.#local = this.#local.map((e): ConflictEntry => (e.id === id ? { ...e, seen: true } : e));
    this.#save();
  }

  /** Marks an entry resolved, saying how. */
  resolve(id: string, resolution: string): void {
    this.#local = this.#local.map((e): ConflictEntry =>
      e.id === id ? { ...e, status: 'resolved', resolution } : e,
    );
    this.#save();
  }

  close(): void {
    globalThis.removeEventListener?.('storage', this.#onStorage);
    this.#entries.complete();
  }

  /**
   * Records what the sync engine reports of a rejected push: the hub's code and message, and
   * what became of it (decided again and appended, dropped, or parked in the dead letters), told
   * in words by `story` when it was a conflict this device lost.
   */
  hubRejected(report: HubRejection, story?: ConflictStory): void {
    const entry: ConflictEntry = {
      id: report.eventId,
      at: Date.now(),
      source: 'hub',
      code: report.code,
      message: report.deadLetter?.reason ?? report.message,
      details: undefined,
      command: report.deadLetter?.command,
      eventType: report.eventType,
      status: report.resolution === undefined ? 'open' : 'resolved',
      resolution: report.resolution,
      deadLetterId: report.deadLetter?.id,
      ...(story === undefined ? {} : { story }),
      technical: {
        hubMessage: report.message,
        expectedVersion: report.event.expectedVersion,
        eventId: report.eventId,
        clientId: report.event.clientId,
      },
    };
    this.#local = [entry, ...this.#local.filter((e) => e.id !== entry.id)].slice(0, MAX_ENTRIES);
    this.#save();
  }

  #publish(): void {
    this.#entries.next([...this.#local].sort((a, b) => b.at - a.at));
  }

  #load(): ConflictEntry[] {
    try {
      const raw = this.#storage?.getItem(this.#key);
      const parsed: unknown = raw == null ? [] : JSON.parse(raw);
      return Array.isArray(parsed) ? (parsed as ConflictEntry[]) : [];
    } catch {
      return [];
    }
  }

  #save(): void {
    try {
      this.#storage?.setItem(this.#key, JSON.stringify(this.#local));
    } catch {
      // A full or disabled localStorage only costs the log its history.
    }
    this.#publish();
  }
}
