import { describe, expect, it } from 'vitest';
import { ArrivalOrder } from './arrival-order.ts';

/** A promise and the function that settles it. */
function later<T>(): { promise: Promise<T>; resolve: (value: T) => void; reject: (error: Error) => void } {
  let resolve!: (value: T) => void;
  let reject!: (error: Error) => void;
  const promise = new Promise<T>((res, rej) => ((resolve = res), (reject = rej)));
  return { promise, resolve, reject };
}

describe('ArrivalOrder', () => {
  it('runs a synchronous step and its use in the same turn when nothing is pending', async () => {
    const order = new ArrivalOrder();
    const used: string[] = [];
    const answer = order.run(
      () => 'a',
      (value) => (used.push(value), Promise.resolve(value)),
    );
    expect(used).toEqual(['a']);
    expect(await answer).toBe('a');
  });

  it('holds a later synchronous step behind an earlier pending one', async () => {
    const order = new ArrivalOrder();
    const used: string[] = [];
    const use = (value: string) => (used.push(value), Promise.resolve(value));
    const first = later<string>();
    const answers = [order.run(() => first.promise, use), order.run(() => 'b', use)];
    await Promise.resolve();
    expect(used).toEqual([]);
    first.resolve('a');
    expect(await Promise.all(answers)).toEqual(['a', 'b']);
    expect(used).toEqual(['a', 'b']);
    // Nothing pending any more: the next one is used at once again.
    void order.run(() => 'c', use);
    expect(used).toEqual(['a', 'b', 'c']);
  });

  it('rejects a step that fails (thrown or rejected) without its use, and goes on with the next', async () => {
    const order = new ArrivalOrder();
    const used: string[] = [];
    const use = (value: string) => (used.push(value), Promise.resolve(value));
    const first = later<string>();
    const failing = order.run(() => first.promise, use);
    const next = order.run(() => 'b', use);
    first.reject(new Error('bind failed'));
    await expect(failing).rejects.toThrow('bind failed');
    expect(await next).toBe('b');
    await expect(
      order.run(() => {
        throw new Error('judge threw');
      }, use),
    ).rejects.toThrow('judge threw');
    expect(used).toEqual(['b']);
  });
});
