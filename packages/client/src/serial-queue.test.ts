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
  it('a task queued in a runNow task’s synchronous part starts after it settles, and drain waits for it', async () => {
    const queue = new SerialQueue();
    const log: string[] = [];
    const outer = gate(log, 'outer');
    let nested: Promise<unknown>[] = [];
    const first = queue.runNow(() => {
      const running = outer.task();
      // Before the outer task's first await: a subscriber that appends while the task emits.
      nested = [
        queue.runNow(async () => void log.push('inner runNow')),
        queue.run(async () => void log.push('inner run')),
      ];
      return running;
    });
    expect(log).toEqual(['outer start']);
    let drained = false;
    const draining = queue.drain().then(() => (drained = true));
    for (let i = 0; i < 5; i++) await Promise.resolve();
    expect(log).toEqual(['outer start']);
    outer.open();
    await first;
    await draining;
    expect(log).toEqual(['outer start', 'outer end', 'inner runNow', 'inner run']);
    expect(drained).toBe(true);
    await Promise.all(nested);
  });

  it('drain after a runNow task queued more in its synchronous part waits for all of them', async () => {
    const queue = new SerialQueue();
    const log: string[] = [];
    const inner = gate(log, 'inner');
    void queue.runNow(async () => {
      void queue.run(inner.task);
      log.push('outer');
    });
    let drained = false;
    const draining = queue.drain().then(() => (drained = true));
    for (let i = 0; i < 10; i++) await Promise.resolve();
    expect(log).toEqual(['outer', 'inner start']);
    expect(drained).toBe(false);
    inner.open();
    await draining;
    expect(log).toEqual(['outer', 'inner start', 'inner end']);
  });
});
