import { CoreError, CoreErrorCode } from '../core-error.ts';
import type { Handler } from '../reactions/define-handler.ts';
import type { CommandHandler } from './define-command-handler.ts';

/**
 * Checks that each command has exactly one handler in a runtime: throws a {@link CoreError}
 * `invalid-definition` when two command handlers serve the same command type for the same target
 * (a programmer error: each would answer). Returns the handlers, for the runner's `handlers`.
 * Across runtimes the target does the routing: only the hub's runner takes `hub` commands, only
 * the named client's runner takes that client's.
 *
 * @example createReactionRunner({ store, feed, scheduler, handlers: routeCommands([bookSeat, sendReceipt]) });
 */
export function routeCommands<H extends Handler>(handlers: readonly H[]): H[] {
  const routes = new Map<string, string>();
  for (const handler of handlers) {
    if (!isCommandHandler(handler)) continue;
    const route = `${handler.command}\u0000${handler.target}`;
    const other = routes.get(route);
    if (other !== undefined) {
      throw new CoreError(
        CoreErrorCode.invalidDefinition,
        `command ${handler.command} for ${handler.target} has two handlers, ${other} and ${handler.name}: a command goes to exactly one`,
      );
    }
    routes.set(route, handler.name);
  }
  return [...handlers];
}

/** Whether a handler is a command handler (made by `defineCommandHandler`). */
export function isCommandHandler(handler: Handler): handler is CommandHandler {
  const { command, target } = handler as Partial<CommandHandler>;
  return typeof command === 'string' && typeof target === 'string';
}
