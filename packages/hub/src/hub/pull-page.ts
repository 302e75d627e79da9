import { matchesSubscription, type CommittedEvent, type Pull, type PullResult } from '@eventloom/protocol';
import { chunkByBytes } from './chunk-by-bytes.ts';
import type { HubContext } from './hub-context.ts';
import type { HubAction } from './hub-options.ts';

/** What a pull reads of its connection. */
export interface PullReader {
  readonly subscriptions: readonly string[];
  allowed(action: HubAction, stream: string): boolean | Promise<boolean>;
}

/**
 * One page of a pull: the events after `from` of the streams asked for (the connection's
 * subscriptions if none are named; named ones must be among them), those the principal may
 * pull, cut to one message. `denied` names a stream asked for by name that it may not pull.
 */
export async function readPullPage(
  ctx: Pick<HubContext, 'store' | 'limits' | 'metrics'>,
  reader: PullReader,
  request: Pull,
  started: number,
): Promise<PullResult | { readonly denied: string }> {
  const { from, limit, streams } = request;
  if (streams !== undefined) {
    for (const s of streams) {
      if (!s.endsWith('*') && !(await reader.allowed('pull', s))) return { denied: s };
    }
  }
  const subscriptions = reader.subscriptions;
  const filter = streams ?? subscriptions;
  if (filter.length === 0 || subscriptions.length === 0) {
    const head = await ctx.store.head();
    return { events: [], head, until: head, more: false };
  }
  // The store stops at one message's worth of JSON: a page is cut to one message anyway.
  const maxJsonChars = ctx.limits.maxMessageBytes;
  const page = await ctx.store.read({ from, limit, streams: filter, maxJsonChars });
  let events: CommittedEvent[] = [];
  for (const event of page.events) {
    if (streams !== undefined && !matchesSubscription(event.stream, reader.subscriptions)) continue;
    // Await only a decision still pending: a thousand awaits of `true` hold the loop up.
    const allowed = reader.allowed('pull', event.stream);
    if (allowed === true || (allowed !== false && (await allowed))) events.push(event);
  }
  let until = page.until;
  // The page's texts bound any subset of it.
  const chunks = chunkByBytes(events, ctx.limits.maxMessageBytes, page.jsonChars);
  if (chunks.length > 1) {
    events = chunks[0]!;
    until = events[events.length - 1]!.position;
  }
  ctx.metrics.pullDuration.observe((performance.now() - started) / 1000);
  return { events, head: page.head, until, more: until < page.head };
}
