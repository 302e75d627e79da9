import { matchesSubscription, type CommittedEvent, type Pull, type PullResult } from '@eventloom/protocol';
import type { StoreJsonPage, StoreReadQuery, StoreReadResult } from '../store/event-store.ts';
import { chunkByBytes, fitsOneMessageBytes } from './chunk-by-bytes.ts';
import type { HubContext } from './hub-context.ts';
import type { HubAction } from './hub-options.ts';
import { JsonText } from './json-text.ts';

const utf8 = new TextDecoder();

/** What a pull reads of its connection. */
export interface PullReader {
  readonly subscriptions: readonly string[];
  allowed(action: HubAction, stream: string): boolean | Promise<boolean>;
}

/**
 * One page of a pull: the events after `from` of the streams asked for (the connection's
 * subscriptions if none are named; named ones must be among them), those the principal may
 * pull, cut to one message. `denied` names a stream asked for by name that it may not pull. A
 * page holds at most {@link pageBudget} of JSON.
 *
 * From a store that reads pages as UTF-8 JSON (`EventStore.readJson`), a page whose every event
 * goes out in one message is answered as those bytes ({@link JsonText}): the hub's event loop
 * neither parses, serialises nor encodes it, which would hold up the live events of everyone else
 * for as long; a page whose buffer the store lends (`StoreJsonPage.release`) goes out framed in
 * that buffer, which goes back to the store once written. Any other page is parsed and answered
 * as before.
 */
export async function readPullPage(
  ctx: Pick<HubContext, 'store' | 'limits' | 'metrics'>,
  reader: PullReader,
  request: Pull,
  started: number,
): Promise<PullResult | JsonText | { readonly denied: string }> {
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
  // The store stops at a quarter of a message's worth of JSON: whatever its characters, the page
  // then fits in one message as it is (no parse, no measure, no serialising on the event loop),
  // and a page of large events holds the loop a quarter of the time.
  const maxBytes = ctx.limits.maxMessageBytes;
  const maxJsonChars = pageBudget(maxBytes);
  const query: StoreReadQuery = { from, limit, streams: filter, maxJsonChars };
  let page: StoreReadResult;
  if (ctx.store.readJson === undefined) page = await ctx.store.read(query);
  else {
    const text = await ctx.store.readJson(query);
    if (await goesWhole(text, reader, streams, maxBytes)) {
      ctx.metrics.pullDuration.observe((performance.now() - started) / 1000);
      const { json, head, until, release } = text;
      // The keys in the order of the object below: the same answer, byte for byte.
      const parts = ['{"events":[', json, `],"head":${head},"until":${until},"more":${until < head}}`];
      // With the page's buffer lent, its frame is written around it there (see JsonText.framedAround).
      return release === undefined ? new JsonText(...parts) : JsonText.framedAround(release, ...parts);
    }
    const json = utf8.decode(text.json);
    text.release?.();
    const events = JSON.parse(`[${json}]`) as CommittedEvent[];
    page = { events, until: text.until, head: text.head, jsonChars: json.length };
  }
  let events: CommittedEvent[] = [];
  for (const event of page.events) {
    if (streams !== undefined && !matchesSubscription(event.stream, reader.subscriptions)) continue;
    // Await only a decision still pending: a thousand awaits of `true` hold the loop up.
    const allowed = reader.allowed('pull', event.stream);
    if (allowed === true || (allowed !== false && (await allowed))) events.push(event);
  }
  let until = page.until;
  // The page's texts bound any subset of it.
  const chunks = chunkByBytes(events, maxBytes, page.jsonChars);
  if (chunks.length > 1) {
    events = chunks[0]!;
    until = events[events.length - 1]!.position;
  }
  ctx.metrics.pullDuration.observe((performance.now() - started) / 1000);
  return { events, head: page.head, until, more: until < page.head };
}

/**
 * Whether every event of a JSON page goes out as it is: each of its streams subscribed (when the
 * pull named streams) and allowed, and the whole in one message ({@link fitsOneMessageBytes}, the
 * bound {@link chunkByBytes} takes a page whole by).
 */
async function goesWhole(
  page: StoreJsonPage,
  reader: PullReader,
  named: readonly string[] | undefined,
  maxBytes: number,
): Promise<boolean> {
  if (!fitsOneMessageBytes(page.json.byteLength, maxBytes)) return false;
  for (const stream of page.streams) {
    if (named !== undefined && !matchesSubscription(stream, reader.subscriptions)) return false;
    const allowed = reader.allowed('pull', stream);
    if (allowed !== true && (allowed === false || !(await allowed))) return false;
  }
  return true;
}

/**
 * The JSON (UTF-16 code units) a pull page holds at most: a quarter of `maxMessageBytes`, so that
 * its UTF-8 (at most three bytes a unit) and the page's framing fit in one message.
 */
export function pageBudget(maxMessageBytes: number): number {
  return Math.max(1, Math.floor(maxMessageBytes / 4));
}
