import { randomBytes } from 'node:crypto';
import { decodeNotify, type JsonValue, type Notify } from '@eventloom/protocol';
import type { HubContext, ReadySession } from './hub-context.ts';
import type { HubQueryHandler } from './hub-options.ts';

/**
 * Lets the hub answer a query itself: the reply (`from` the hub's id) goes to the asking session
 * only, and the query goes no further. False (at once, when there is no handler for its type: no
 * await, so unanswered messages keep their order), or when the handler had no answer or threw
 * (logged): then the query is relayed to the subscribers as usual.
 */
export function answerQuery(ctx: HubContext, session: ReadySession, query: Notify): false | Promise<boolean> {
  const queries = ctx.queries;
  if (queries === undefined || !Object.hasOwn(queries, query.type)) return false;
  return answer(ctx, session, query, queries[query.type]!);
}

async function answer(
  ctx: HubContext,
  session: ReadySession,
  query: Notify,
  handler: HubQueryHandler,
): Promise<boolean> {
  let data: JsonValue | undefined;
  try {
    data = await handler(query, session.principal);
  } catch (error) {
    ctx.logger.warn({ err: error, type: query.type }, 'query handler threw: the query goes to the clients');
    return false;
  }
  if (data === undefined) return false;
  const reply = decodeNotify({
    id: newId(),
    kind: 'reply',
    type: query.type,
    stream: query.stream,
    data,
    from: ctx.hubId,
    to: query.from,
    replyTo: query.id,
  });
  if (!reply.ok) {
    ctx.logger.warn(
      { type: query.type, error: reply.error.message },
      'query handler answered what a reply cannot carry: the query goes to the clients',
    );
    return false;
  }
  await session.deliverNotify(reply.value);
  return true;
}

/** A random UUIDv7 (the reply's id). */
function newId(): string {
  const hex = randomBytes(10).toString('hex');
  const variant = '89ab'[Number.parseInt(hex[3]!, 16) % 4]!;
  const ms = Date.now().toString(16).padStart(12, '0');
  return `${ms.slice(0, 8)}-${ms.slice(8, 12)}-7${hex.slice(0, 3)}-${variant}${hex.slice(4, 7)}-${hex.slice(7, 19)}`;
}
