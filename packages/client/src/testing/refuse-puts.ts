/**
 * For a browser test that needs IndexedDB to refuse a write: the quota cannot be filled on demand,
 * so `put` and `add` of the object stores named throw what IndexedDB throws when it is full, on
 * the rows `refuse` picks (counted from 1, across those stores). The write's transaction then
 * fails as it would on a full disk, whatever issued the request (the client's own transactions or
 * Dexie's). Returns the function that puts the real methods back.
 *
 * @example
 * const restore = refusePuts(['outbox'], (n) => n === 3);
 * await expect(store.appendPending(build)).rejects.toMatchObject({ code: 'quota-exceeded' });
 * restore();
 */
export function refusePuts(stores: readonly string[], refuse: (n: number) => boolean): () => void {
  const proto = IDBObjectStore.prototype;
  const real = Object.getOwnPropertyDescriptors(proto);
  let rows = 0;
  const guard = (method: 'put' | 'add') => {
    const original = real[method].value as IDBObjectStore['put'];
    return function (this: IDBObjectStore, value: unknown, key?: IDBValidKey): IDBRequest<IDBValidKey> {
      if (stores.includes(this.name) && refuse(++rows)) {
        throw new DOMException('The quota has been exceeded.', 'QuotaExceededError');
      }
      return original.call(this, value, key);
    };
  };
  proto.put = guard('put');
  proto.add = guard('add');
  return () => {
    Object.defineProperty(proto, 'put', real.put);
    Object.defineProperty(proto, 'add', real.add);
  };
}
