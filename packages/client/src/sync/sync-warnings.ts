import type { RejectionReport } from './sync-types.ts';

/** Where the sync's warnings go: `console.warn` by default. */
export type WarnSink = (message: string) => void;

/**
 * Makes the mistakes a developer cannot see from the app impossible to miss: events the hub
 * refuses while nothing listens to `rejections$`, events the hub holds back (a type or version it
 * does not know), and a registry whose fingerprint differs from the hub's. Each kind of warning is
 * given once per sync (per refusal code, per held code, once for the schemas), so a refused burst
 * is one line, not a thousand.
 */
export class SyncWarnings {
  readonly #sink: WarnSink | undefined;
  readonly #given = new Set<string>();

  /** `false` silences every warning; a function receives them instead of the console. */
  constructor(warn: WarnSink | false | undefined) {
    this.#sink = warn === false ? undefined : (warn ?? defaultSink());
  }

  /** A refused event was settled by the conflict policy; `heard`: someone subscribes to `rejections$`. */
  refused(report: RejectionReport, heard: boolean): void {
    if (heard) return;
    const { event, code, message, action } = report;
    const fate =
      action === 'dead-lettered'
        ? 'parked in the dead-letter queue'
        : action === 'dropped'
          ? 'dropped'
          : 'decided again';
    this.#once(
      `refused:${code}`,
      `[eventloom] the hub refused ${event.type} v${event.version} on ${event.stream} (${code}): ${message}. ` +
        `The event was ${code === 'unknown-event-version' && action === 'dead-lettered' ? 'held aside in the dead letters, to be sent again (same id) at the next hello' : fate}. Subscribe to sync.rejections$ to handle refusals (this warning is shown once per code).`,
    );
  }

  /** The hub holds an event back (it stays pending) until the hub changes: an unknown type or version. */
  held(code: string, type: string, version: number, message: string): void {
    this.#once(
      `held:${code}`,
      `[eventloom] the hub cannot take ${type} v${version} yet (${code}): ${message}. It stays pending ` +
        (code === 'unknown-event-version'
          ? '(flushed() waits) until the hub knows its schema.'
          : '(flushed() waits) and is pushed again later.'),
    );
  }

  /** The hub said which registry it validates against (protocol 2+). */
  welcomed(url: string, own: string | null, hubs: string | null | undefined): void {
    if (hubs === undefined || hubs === null || own === hubs) return;
    this.#once(
      'schema',
      `[eventloom] this app's event registry (fingerprint ${own ?? 'none'}) differs from the one the hub at ${url} validates against (${hubs}). ` +
        `Events of types or versions the hub does not know wait aside (in the dead letters, sent again at each hello; in the outbox with a hub older than protocol 4); events of another shape are refused as invalid.`,
    );
  }

  #once(key: string, message: string): void {
    if (this.#sink === undefined || this.#given.has(key)) return;
    this.#given.add(key);
    this.#sink(message);
  }
}

/** Looked up at each warning, so a test (or an app) that replaces `console.warn` later is heard. */
function defaultSink(): WarnSink {
  return (message) => console.warn(message);
}
