/**
 * The SQLite thread (a `worker_threads` worker, see `sqlite-thread.ts`): it holds every
 * {@link SqliteLog} of the process and runs the requests of their stores one at a time, in the
 * order they were posted, so that commits and their fsyncs never block the hub's event loop.
 */
import { parentPort } from 'node:worker_threads';
import { HubError, HubErrorCode, toHubError } from '../hub/hub-error.ts';
import type { AppendAnswer } from './append-columns.ts';
import { spareJsonBuffer } from './json-page.ts';
import { SqliteLog } from './sqlite-log.ts';
import type { SqliteReply, SqliteRequest, SqliteSpare } from './sqlite-thread.ts';
import type { StoreJsonPage } from './event-store.ts';

const port = parentPort;
if (port === null) throw new Error('sqlite-worker.ts runs as a worker thread only');
const logs = new Map<number, SqliteLog>();
let nextHandle = 1;

port.on('message', (request: SqliteRequest | SqliteSpare) => {
  if (request.op === 'spare') {
    // A page's buffer back from the hub's thread, for a later page; nothing answers it.
    spareJsonBuffer(request.buffer);
    return;
  }
  let reply: SqliteReply;
  let transfer: ArrayBuffer[] = [];
  try {
    const value = run(request);
    reply = { id: request.id, ok: true, value };
    if (request.op === 'append') {
      // The answer's columns move to the store's thread instead of being copied.
      const { positions, streamVersions } = value as AppendAnswer;
      transfer = [positions.buffer as ArrayBuffer, streamVersions.buffer as ArrayBuffer];
    } else if (request.op === 'readJson') {
      // So does a page's JSON (a buffer of its own: see jsonPageOf).
      transfer = [(value as StoreJsonPage).json.buffer as ArrayBuffer];
    }
  } catch (thrown) {
    const failure = toHubError(thrown, HubErrorCode.store);
    reply = { id: request.id, ok: false, code: failure.code, message: failure.message };
  }
  port.postMessage(reply, transfer);
});

function run(request: SqliteRequest): unknown {
  if (request.op === 'open') {
    const handle = nextHandle++;
    logs.set(handle, SqliteLog.open(request.options));
    return handle;
  }
  const log = logs.get(request.handle);
  if (log === undefined) throw new HubError(HubErrorCode.closed, 'the event store is closed');
  switch (request.op) {
    case 'append':
      return log.append(request.batch);
    case 'import':
      return log.importEvents(request.events, request.hubId);
    case 'read':
      return log.read(request.from, request.limit, request.filter, request.maxJsonChars);
    case 'readJson':
      return log.readJson(request.from, request.limit, request.filter, request.maxJsonChars);
    case 'head':
      return log.head();
    case 'streamVersion':
      return log.streamVersion(request.stream);
    case 'client':
      return log.client(request.clientId);
    case 'bindClient':
      return log.bindClient(request.clientId, request.principal);
    case 'claimClient':
      return log.claimClient(request.clientId, request.principal);
    case 'claimNewClient':
      return log.claimNewClient(request.clientId, request.principal);
    case 'hubId':
      return log.hubId();
    case 'checkpoint':
      log.checkpoint();
      return undefined;
    case 'close':
      logs.delete(request.handle);
      log.close();
      return undefined;
  }
}
