import { Limits } from '@eventloom/protocol';
import { z } from 'zod';
import { CoreError, CoreErrorCode } from '../core-error.ts';
import { defineEvent, type EventDefinition } from '../define-event.ts';

/** The data of a command's rejection event: the decider's {@link Rejection}, as stored. */
export const commandRejectedSchema = z.object({
  code: z.string().min(1),
  message: z.string(),
  details: z.json().optional(),
});

/** The data of a rejection event. */
export type CommandRejectedData = z.infer<typeof commandRejectedSchema>;

/**
 * The type of the event a command handler emits when its decider refuses a command:
 * `<command type>.rejected`.
 *
 * @example rejectedTypeOf('seat.book') // 'seat.book.rejected'
 */
export function rejectedTypeOf(commandType: string): string {
  const type = `${commandType}.rejected`;
  if (type.length > Limits.maxTypeLength) {
    throw new CoreError(
      CoreErrorCode.invalidDefinition,
      `${type} is longer than ${Limits.maxTypeLength} characters: give the command handler a rejectedType`,
    );
  }
  return type;
}

/**
 * Defines the rejection event of a command type, for the registries of the hub and the clients
 * (they refuse event types they do not know).
 *
 * @example const registry = createRegistry([SeatBook, SeatBooked, commandRejectedEvent('seat.book')]);
 */
export function commandRejectedEvent(
  commandType: string,
  type: string = rejectedTypeOf(commandType),
): EventDefinition<string, 1, CommandRejectedData> {
  return defineEvent(type, { 1: commandRejectedSchema });
}
