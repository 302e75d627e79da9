import { Dexie } from 'dexie';
import { describe, expect, it } from 'vitest';
import { ClientError, ClientErrorCode, toClientError } from './client-error.ts';

describe('toClientError', () => {
  it('keeps a ClientError as it is', () => {
    const error = new ClientError(ClientErrorCode.tooLarge, 'big', { path: '3' });
    expect(toClientError(error)).toBe(error);
  });

  it('finds the storage failure under Dexie’s wrappers', () => {
    const quota = new DOMException('full', 'QuotaExceededError');
    const abort = new Dexie.AbortError('Transaction aborted', quota);
    expect(toClientError(abort)).toMatchObject({ code: 'quota-exceeded', cause: abort });
    expect(toClientError(new Dexie.DatabaseClosedError())).toMatchObject({ code: 'database-closed' });
    expect(toClientError(new DOMException('newer', 'VersionError'))).toMatchObject({
      code: 'version-conflict',
    });
    expect(toClientError(new DOMException('?', 'UnknownError'))).toMatchObject({ code: 'storage' });
  });

  it('calls anything else internal, with the original as its cause', () => {
    const thrown = new TypeError('nope');
    expect(toClientError(thrown)).toMatchObject({
      name: 'ClientError',
      code: 'internal',
      message: 'nope',
      cause: thrown,
    });
    expect(toClientError('text')).toMatchObject({ code: 'internal', message: 'text' });
  });
});
