import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import {
  AdminErrorCode,
  adminError,
  allow,
  authenticate,
  fail,
  isAdminError,
  send,
  type ReactionAdminOptions,
} from './admin-http.ts';
import type { EventStore } from '../store/event-store.ts';

/** The largest page `/admin/events` gives; `limit` defaults to 1,000. */
export const ADMIN_EVENTS_MAX_LIMIT = 10_000;

/**
 * Makes the HTTP handler of `GET /admin/events?from=&limit=&streams=`: a page of the committed log
 * for tools (an export over HTTP, an auditor), as `{ events, until, head }` exactly as
 * `EventStore.read` gives it; the next page starts at `until`. Authenticated and authorized like
 * the dead-letter endpoints (a bearer token of an admin). Returns true for the requests it answers.
 *
 * @example hub.addRequestHandler(adminEventsHandler({ auth, authorizeAdmin }, store, logger));
 */
export function adminEventsHandler(
  options: ReactionAdminOptions,
  store: EventStore,
  logger: Logger,
): (req: IncomingMessage, res: ServerResponse) => boolean {
  const path = `${(options.basePath ?? '/admin').replace(/\/+$/, '')}/events`;
  return (req, res) => {
    const url = new URL(req.url ?? '/', 'http://hub');
    if (url.pathname !== path) return false;
    handle(options, store, logger, url, req, res).catch((error: unknown) => {
      logger.error({ err: error }, 'admin request failed');
      fail(res, AdminErrorCode.internal, 'the request failed inside the hub');
    });
    return true;
  };
}

async function handle(
  options: ReactionAdminOptions,
  store: EventStore,
  logger: Logger,
  url: URL,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  try {
    await authenticate(options, req, logger);
    allow(req.method ?? 'GET', ['GET']);
    const from = whole(url.searchParams.get('from'), 0, 'from');
    const limit = whole(url.searchParams.get('limit'), 1_000, 'limit');
    if (limit < 1 || limit > ADMIN_EVENTS_MAX_LIMIT) {
      throw adminError(AdminErrorCode.invalid, `limit must be from 1 to ${ADMIN_EVENTS_MAX_LIMIT}`);
    }
    const streamsText = url.searchParams.get('streams');
    const streams = streamsText === null ? undefined : streamsText.split(',').filter((s) => s !== '');
    const page = await store.read({ from, limit, ...(streams === undefined ? {} : { streams }) });
    send(res, 200, { events: page.events, until: page.until, head: page.head });
  } catch (error) {
    if (isAdminError(error)) {
      fail(res, error.adminCode, error.message);
      return;
    }
    throw error;
  }
}

function whole(text: string | null, fallback: number, name: string): number {
  if (text === null) return fallback;
  if (!/^\d{1,15}$/.test(text)) {
    throw adminError(AdminErrorCode.invalid, `${name} must be a whole number, not ${JSON.stringify(text)}`);
  }
  return Number(text);
}
