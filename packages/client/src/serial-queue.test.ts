import { describe, expect, it } from 'vitest';
import { SerialQueue } from './serial-queue.ts';

/** A task that records its start and finishes when told. */
function gate(log: string[], name: string) {
  let open!: () => void;
  const done = new Promise<void>((resolve) => (open = resolve));
  return {
    task: async () => {
      log.push(`${name} start`);
      await done;
      log.push(`${name} end`);
      return name;
    },
    open: () => open(),
  };
}

describe('SerialQueue', () => {
  it('runs tasks one at a time, in the order queued, past a failing one', async () => {
    const queue = new SerialQueue();
    const log: string[] = [];
    const a = gate(log, 'a');
    const first = queue.run(a.task);
    const failing = queue.run(async () => {
      log.push('b');
      throw new Error('b failed');
    });
    const last = queue.run(async () => void log.push('c'));
    expect(log).toEqual([]);
    a.open();
    expect(await first).toBe('a');
    await expect(failing).rejects.toThrow('b failed');
    await last;
    expect(log).toEqual(['a start', 'a end', 'b', 'c']);
  });

  it('runNow starts the task of an idle queue in the caller’s stack, and queues it behind a busy one', async () => {
    const queue = new SerialQueue();
    const log: string[] = [];
    const a = gate(log, 'a');
    const first = queue.runNow(a.task);
    expect(log).toEqual(['a start']);
    const b = gate(log, 'b');
    const second = queue.runNow(b.task);
    const third = queue.run(async () => void log.push('c'));
    await Promise.resolve();
    expect(log).toEqual(['a start']);
    b.open();
    a.open();
    expect([await first, await second]).toEqual(['a', 'b']);
    await third;
    expect(log).toEqual(['a start', 'a end', 'b start', 'b end', 'c']);
    // Idle again once all settled: started at once.
    await queue.drain();
    queue.runNow(async () => void log.push('d')).catch(() => undefined);
    expect(log.at(-1)).toBe('d');
  });

  it('runNow rejects with what the task throws, even before its first await, and the queue goes on', async () => {
    const queue = new SerialQueue();
    const thrown = queue.runNow((() => {
      throw new Error('at once');
    }) as () => Promise<void>);
    await expect(thrown).rejects.toThrow('at once');
    expect(await queue.run(async () => 'next')).toBe('next');
  });

  it('drain waits for every task queued so far, failing ones included', async () => {
    const queue = new SerialQueue();
    const log: string[] = [];
    const a = gate(log, 'a');
    void queue.runNow(a.task);
    queue.run(async () => Promise.reject(new Error('x'))).catch(() => undefined);
    let drained = false;
    const draining = queue.drain().then(() => (drained = true));
    await Promise.resolve();
    expect(drained).toBe(false);
    a.open();
    await draining;
    expect(log).toEqual(['a start', 'a end']);
  });
});
