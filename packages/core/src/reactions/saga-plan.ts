import { CoreError, CoreErrorCode } from '../core-error.ts';
import type { FoldableEvent } from '../foldable-event.ts';
import type { ConfirmedEvent } from './confirmed-event.ts';
import { copyJson } from './copy-json.ts';
import { deadLetterId, snapshotError, type DeadLetter } from './dead-letter.ts';
import type { Saga, SagaCompensation, SagaContext, SagaReaction } from './define-saga.ts';
import { isoTime, MessageBuilder } from './emit-messages.ts';
import type { OutboxMessage } from './outbox-message.ts';
import type { Checkpoint, ReactionTransaction } from './reaction-store.ts';
import {
  sagaInstanceId,
  type SagaFailure,
  type SagaInstance,
  type SagaStatus,
  type SagaTimeoutRecord,
} from './saga-instance.ts';
import { traceOf, type TraceMeta } from './trace-meta.ts';

/** What made a saga react: an event, or one of its timeouts. */
export interface SagaTrigger {
  /** Unique per reaction of the saga: the message id prefix of what the reaction emits. */
  readonly id: string;
  readonly trace: TraceMeta;
  /** The default stream of what the reaction emits. */
  readonly stream: string;
  /** The step a successful reaction completes unless it names another. */
  readonly step: string;
  readonly event?: FoldableEvent;
}

/** The result of running user code with retries. */
export type Attempted<T> =
  | { readonly ok: true; readonly value: T }
  | {
      readonly ok: false;
      readonly error: unknown;
      readonly attempts: number;
      readonly firstFailedAt: number;
      readonly lastFailedAt: number;
    };

/** Everything one reaction writes, in one transaction. */
export interface SagaPlan {
  /** The next instance, `version` one up from the one read. */
  readonly instance: SagaInstance;
  readonly messages: readonly OutboxMessage[];
  readonly schedule: readonly SagaTimeoutRecord[];
  /** Timeout ids to delete (before `schedule` is written). */
  readonly cancel: readonly string[];
  readonly letter?: DeadLetter;
  /** A dead letter this plan resolves. */
  readonly resolves?: string;
}

/** The part of a plan decided before compensations: where the reaction leaves the instance. */
export interface ReactionOutcome {
  readonly instance: SagaInstance;
  readonly messages: OutboxMessage[];
  readonly schedule: SagaTimeoutRecord[];
  readonly cancel: string[];
  /** Set when the saga failed: the compensations must run. */
  readonly failure?: SagaFailure;
}

export function eventTrigger(saga: Saga, event: FoldableEvent): SagaTrigger {
  return {
    id: `${saga.name}/${event.id}`,
    trace: traceOf(event),
    stream: event.stream,
    step: event.type,
    event,
  };
}

export function timeoutTrigger(instance: SagaInstance, timeout: SagaTimeoutRecord): SagaTrigger {
  return {
    id: `${instance.saga}/timeout:${timeout.id}@${timeout.dueAt}`,
    trace: timeout.trace,
    stream: instance.stream,
    step: `timeout:${timeout.name}`,
  };
}

/** A new instance, not yet stored (version 0). */
export function startInstance(saga: Saga, key: string, event: ConfirmedEvent, now: number): SagaInstance {
  const at = isoTime(now);
  return {
    id: sagaInstanceId(saga.name, key),
    saga: saga.name,
    key,
    status: 'active',
    state: copyJson(saga.initial, `saga ${saga.name}: initial`),
    version: 0,
    steps: [],
    compensated: [],
    stream: event.stream,
    trace: traceOf(event),
    startedAt: at,
    updatedAt: at,
  };
}

export function sagaContext(
  saga: Saga,
  instance: SagaInstance,
  trigger: SagaTrigger,
  attempt: number,
  now: number,
): SagaContext {
  return { saga: saga.name, key: instance.key, attempt, now, trace: trigger.trace };
}

/**
 * Checks what a reaction returned and copies its state as it will be stored: a malformed reaction
 * throws `invalid-reaction` (and so counts as a failed attempt).
 */
export function checkReaction(saga: Saga, value: unknown): SagaReaction<unknown> {
  const bad = (what: string) => new CoreError(CoreErrorCode.invalidReaction, `saga ${saga.name}: ${what}`);
  if (typeof value !== 'object' || value === null) throw bad('a reaction must return an object');
  const reaction = value as SagaReaction<unknown>;
  if (reaction.fail !== undefined && typeof reaction.fail !== 'string') throw bad('fail must be a string');
  if (reaction.step !== undefined && reaction.step !== false && typeof reaction.step !== 'string') {
    throw bad('step must be a string or false');
  }
  for (const timeout of reaction.schedule ?? []) {
    if (saga.timeout === undefined) throw bad('it schedules a timeout but defines no timeout.on');
    if (typeof timeout?.name !== 'string' || timeout.name === '') throw bad('a timeout needs a name');
    if (!(timeout.afterMs >= 0 && Number.isFinite(timeout.afterMs)))
      throw bad(`timeout ${timeout.name}: afterMs must be ≥ 0`);
  }
  for (const name of reaction.cancel ?? [])
    if (typeof name !== 'string') throw bad('cancel lists timeout names');
  return reaction.state === undefined
    ? reaction
    : { ...reaction, state: copyJson(reaction.state, `saga ${saga.name}: state`) };
}

/** Where a reaction (or the failure of its last attempt) leaves an instance, compensations aside. */
export function applyReaction(
  saga: Saga,
  instance: SagaInstance,
  outcome: Attempted<SagaReaction<unknown>>,
  trigger: SagaTrigger,
  now: number,
): ReactionOutcome {
  const at = isoTime(now);
  const builder = new MessageBuilder(saga.name, trigger.id, trigger.trace, trigger.stream, at);
  const schedule: SagaTimeoutRecord[] = [];
  const cancel: string[] = [];
  let state = instance.state;
  let steps = instance.steps;
  let status: SagaStatus = instance.status;
  let failure: SagaFailure | undefined;
  if (outcome.ok) {
    const reaction = outcome.value;
    if (reaction.state !== undefined) state = reaction.state;
    builder.addAll(reaction.emit);
    builder.addAll(reaction.commands, 'command');
    // The trigger happened whatever the saga makes of it: its step counts, failure or not, so
    // that a charge the saga then rejects is refunded.
    const step = reaction.step ?? trigger.step;
    if (step !== false) steps = [...steps, step];
    if (reaction.fail !== undefined) {
      failure = { reason: reaction.fail, at };
    } else {
      for (const name of reaction.cancel ?? []) cancel.push(timeoutId(instance.id, name));
      for (const { name, afterMs } of reaction.schedule ?? []) {
        schedule.push(timeoutRecord(instance, name, now + afterMs, trigger.trace));
      }
      if (reaction.done === true) status = 'done';
    }
  } else {
    // The reaction kept throwing, but its trigger (a charge, a reservation) still happened.
    steps = [...steps, trigger.step];
    const error = snapshotError(outcome.error);
    failure = { reason: error.message, error, at };
  }
  const afterMs = saga.timeout?.afterMs;
  if (instance.version === 0 && failure === undefined && status === 'active' && afterMs !== undefined) {
    if (!schedule.some((t) => t.name === 'saga'))
      schedule.push(timeoutRecord(instance, 'saga', now + afterMs, trigger.trace));
  }
  return {
    instance: {
      ...instance,
      state,
      steps,
      status,
      version: instance.version + 1,
      updatedAt: at,
      ...(failure === undefined ? {} : { failure }),
    },
    messages: builder.messages,
    schedule,
    cancel,
    ...(failure === undefined ? {} : { failure }),
  };
}

/**
 * Runs the compensations of an instance's completed steps, latest first, with the reason it
 * failed: what they emit, and the steps they undid. Throws if one throws (then none counts).
 */
export async function runCompensations(
  saga: Saga,
  instance: SagaInstance,
  reason: string,
  trigger: SagaTrigger,
  attempt: number,
  now: number,
): Promise<{ readonly messages: OutboxMessage[]; readonly compensated: string[] }> {
  const builder = new MessageBuilder(
    saga.name,
    `${instance.id}/compensate`,
    trigger.trace,
    instance.stream,
    isoTime(now),
  );
  const compensated: string[] = [];
  const base = sagaContext(saga, instance, trigger, attempt, now);
  for (let i = instance.steps.length - 1; i >= 0; i--) {
    const step = instance.steps[i]!;
    const compensate = saga.compensate.get(step);
    if (compensate === undefined) continue;
    const result: unknown = await compensate(instance.state, { ...base, step, reason });
    if (typeof result !== 'object' || result === null) {
      throw new CoreError(
        CoreErrorCode.invalidReaction,
        `saga ${saga.name}: compensation ${step} must return an object`,
      );
    }
    builder.addAll((result as SagaCompensation).emit);
    builder.addAll((result as SagaCompensation).commands, 'command');
    compensated.push(step);
  }
  return { messages: builder.messages, compensated };
}

/** The plan of a failed instance whose compensations ran, or whose compensations kept failing. */
export function compensatedPlan(
  outcome: ReactionOutcome,
  compensations: Attempted<{ readonly messages: OutboxMessage[]; readonly compensated: string[] }>,
  trigger: SagaTrigger,
): SagaPlan {
  const { instance } = outcome;
  if (compensations.ok) {
    return {
      instance: { ...instance, status: 'compensated', compensated: compensations.value.compensated },
      messages: [...outcome.messages, ...compensations.value.messages],
      schedule: [],
      cancel: outcome.cancel,
    };
  }
  const letter: DeadLetter = {
    id: deadLetterId(instance.saga, instance.id),
    handler: instance.saga,
    ...(trigger.event === undefined ? {} : { event: trigger.event }),
    error: snapshotError(compensations.error),
    attempts: compensations.attempts,
    firstFailedAt: isoTime(compensations.firstFailedAt),
    lastFailedAt: isoTime(compensations.lastFailedAt),
    instance: instance.id,
  };
  return {
    instance: { ...instance, status: 'failed' },
    messages: outcome.messages,
    schedule: [],
    cancel: outcome.cancel,
    letter,
  };
}

/**
 * Writes a plan: the instance (if it is still at the version it was read at, else `conflict`),
 * the checkpoint, the outbox messages, the timeouts (all of the instance's when it finished) and
 * the dead letter. Returns the timeout ids deleted.
 */
export async function writeSagaPlan(
  tx: ReactionTransaction,
  plan: SagaPlan,
  checkpoint?: { readonly consumer: string; readonly checkpoint: Checkpoint },
): Promise<string[]> {
  const { instance } = plan;
  const stored = await tx.getSaga(instance.id);
  if ((stored?.version ?? 0) !== instance.version - 1) {
    throw new CoreError(
      CoreErrorCode.conflict,
      `saga instance ${instance.id} changed under this transaction`,
    );
  }
  await tx.putSaga(instance);
  if (checkpoint !== undefined) await tx.putCheckpoint(checkpoint.consumer, checkpoint.checkpoint);
  if (plan.messages.length > 0) await tx.enqueue(plan.messages);
  const deleted: string[] = [];
  const cancel =
    instance.status === 'active'
      ? plan.cancel
      : (await tx.listTimeouts({ instance: instance.id })).map((t) => t.id);
  for (const id of cancel) if (await tx.deleteTimeout(id)) deleted.push(id);
  if (instance.status === 'active') for (const timeout of plan.schedule) await tx.putTimeout(timeout);
  if (plan.letter !== undefined) await tx.putDeadLetter(plan.letter);
  if (plan.resolves !== undefined) await tx.deleteDeadLetter(plan.resolves);
  return deleted;
}

export function timeoutId(instanceId: string, name: string): string {
  return `${instanceId}/${name}`;
}

function timeoutRecord(
  instance: SagaInstance,
  name: string,
  dueAt: number,
  trace: TraceMeta,
): SagaTimeoutRecord {
  return { id: timeoutId(instance.id, name), saga: instance.saga, instance: instance.id, name, dueAt, trace };
}
