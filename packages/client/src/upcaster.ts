import type { EventRegistry, FoldableEvent } from '@eventloom/core';
import type { CommittedEvent, EventEnvelope } from '@eventloom/protocol';
import { ClientError, ClientErrorCode } from './client-error.ts';

/**
 * Reads stored events with the registry (upcast to the latest version). An event it cannot read is
 * skipped and reported once per type and version, or, where a decision depends on it, thrown.
 */
export class Upcaster {
  readonly registry: EventRegistry;
  readonly #report: (error: ClientError) => void;
  readonly #reported = new Set<string>();

  constructor(registry: EventRegistry, report: (error: ClientError) => void) {
    this.registry = registry;
    this.#report = report;
  }

  /** The event upcast, or undefined (reported once) if the registry cannot read it. */
  read(event: EventEnvelope | CommittedEvent): FoldableEvent | undefined {
    const result = this.registry.upcast(event);
    if (result.ok) return result.value as unknown as FoldableEvent;
    const tag = `${event.type}@${event.version}`;
    if (!this.#reported.has(tag)) {
      this.#reported.add(tag);
      this.#report(unreadable(event, result.error));
    }
    return undefined;
  }

  /** The events the registry can read, upcast. */
  readAll(events: readonly (EventEnvelope | CommittedEvent)[]): FoldableEvent[] {
    const out: FoldableEvent[] = [];
    for (const e of events) {
      const u = this.read(e);
      if (u !== undefined) out.push(u);
    }
    return out;
  }

  /** The event upcast; throws a {@link ClientError} if the registry cannot read it. */
  readOrThrow(event: EventEnvelope | CommittedEvent): FoldableEvent {
    const result = this.registry.upcast(event);
    if (result.ok) return result.value as unknown as FoldableEvent;
    throw unreadable(event, result.error);
  }
}

function unreadable(
  event: EventEnvelope | CommittedEvent,
  error: { readonly code: string; readonly message: string },
): ClientError {
  return new ClientError(
    error.code === 'unknown-event-version' ? ClientErrorCode.unknownEventVersion : ClientErrorCode.internal,
    `cannot read stored event ${event.id}: ${error.message}`,
  );
}
