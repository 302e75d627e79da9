import { ErrorCode, type PushResult, type RejectionCode } from '@eventloom/protocol';
import type { Logger } from 'pino';
import type { StoreAppendResult } from '../store/event-store.ts';
import type { HubMetrics } from './hub-metrics.ts';

/** A refusal as answered on the wire: the id only if it is one (64 characters at most), the message cut. */
export function rejected(id: string, code: RejectionCode, message: string): PushResult {
  return { status: 'rejected', id: id.length <= 64 ? id : '', code, message: message.slice(0, 1024) };
}

/**
 * The store's answer on an event of a session that is not superseded: any but `fenced` (a push
 * with a fenced event is not answered: its session is closed, `superseded`).
 */
export type DecidedResult = Exclude<StoreAppendResult, { readonly status: 'fenced' }>;

/** True when the store fenced none of the push's events (`stored`): they can be answered. */
export function noneFenced(stored: readonly StoreAppendResult[]): stored is readonly DecidedResult[] {
  for (const r of stored) if (r.status === 'fenced') return false;
  return true;
}

/** The store's answer on one event as the push ack says it to a client of `protocol` (`seq-used` from 5 on, `invalid` before). */
export function toPushResult(result: DecidedResult, protocol: number): PushResult {
  switch (result.status) {
    case 'ok':
      return { status: 'ok', id: result.id, position: result.position, streamVersion: result.streamVersion };
    case 'duplicate':
      return { status: 'duplicate', id: result.id, position: result.position };
    case 'rejected': {
      const code = result.code === ErrorCode.seqUsed && protocol < 5 ? ErrorCode.invalid : result.code;
      const r = rejected(result.id, code, result.message);
      return result.currentVersion === undefined || r.status !== 'rejected'
        ? r
        : { ...r, currentVersion: result.currentVersion };
    }
    case 'gap':
      return rejected(result.id, ErrorCode.sequenceGap, `clientSeq ahead of ${result.expectedSeq}`);
  }
}

/**
 * Counts each refusal in the metrics, and logs them: at `warn` (lost `expectedVersion` races at `info`), one line per code and push, with the first refused event's
 * id and message (which names the fields): a developer whose events all bounce sees why.
 * Sequence gaps are the client's own flow control, not a refusal of the event: left out.
 */
export function reportRefusals(
  { logger, metrics }: { readonly logger: Logger; readonly metrics: HubMetrics },
  clientId: string | undefined,
  results: readonly PushResult[],
): void {
  for (const r of results) if (r.status === 'rejected') metrics.rejections.inc({ code: r.code });
  let byCode: Map<string, Extract<PushResult, { status: 'rejected' }>[]> | undefined;
  for (const r of results) {
    if (r.status !== 'rejected' || r.code === ErrorCode.sequenceGap) continue;
    byCode ??= new Map();
    const list = byCode.get(r.code) ?? [];
    list.push(r);
    byCode.set(r.code, list);
  }
  if (byCode === undefined) return;
  for (const [code, refused] of byCode) {
    const first = refused[0]!;
    // A lost race on `expectedVersion` is the normal way of a guarded conflict: info, not warn.
    const level = code === ErrorCode.wrongExpectedVersion ? 'info' : 'warn';
    logger[level](
      { clientId, code, count: refused.length, id: first.id, message: first.message },
      `${refused.length} pushed event${refused.length === 1 ? '' : 's'} refused (${code}): ${first.message}`,
    );
  }
}
