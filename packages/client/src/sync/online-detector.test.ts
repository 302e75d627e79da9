import { describe, expect, it } from 'vitest';
import { alwaysOnline, browserOnlineDetector, manualOnlineDetector } from './online-detector.ts';
import { RateMeter } from './rate-meter.ts';

describe('online detectors', () => {
  it('reads navigator.onLine and follows the online and offline events of a window', () => {
    const listeners = new Map<string, () => void>();
    const window = {
      navigator: { onLine: false },
      addEventListener: (type: string, fn: () => void) => listeners.set(type, fn),
      removeEventListener: (type: string) => listeners.delete(type),
    };
    const detector = browserOnlineDetector(window);
    expect(detector.isOnline()).toBe(false);
    const seen: boolean[] = [];
    const stop = detector.subscribe((online) => seen.push(online));
    listeners.get('online')!();
    listeners.get('offline')!();
    expect(seen).toEqual([true, false]);
    stop();
    expect(listeners.size).toBe(0);
  });

  it('is always online in Node, and switched by hand when manual', () => {
    expect(alwaysOnline.isOnline()).toBe(true);
    const manual = manualOnlineDetector();
    const seen: boolean[] = [];
    manual.subscribe((online) => seen.push(online));
    manual.set(false);
    manual.set(false);
    manual.set(true);
    expect(seen).toEqual([false, true]);
    expect(manual.isOnline()).toBe(true);
  });
});

describe('RateMeter', () => {
  it('tells events per second over its window, and the total', () => {
    let now = 0;
    const meter = new RateMeter(2000, () => now);
    meter.add(10);
    now = 1000;
    meter.add(30);
    expect(meter.perSecond()).toBe(20);
    now = 2500;
    expect(meter.perSecond()).toBe(15);
    now = 5000;
    expect(meter.perSecond()).toBe(0);
    expect(meter.total).toBe(40);
  });

  it('keeps the rate right over a long run of counts, asked between them', () => {
    let now = 0;
    let total = 0;
    const meter = new RateMeter(1000, () => now);
    for (let i = 1; i <= 5_000; i++) {
      now = i;
      meter.add(i % 3); // 0 is no count
      total += i % 3;
      if (i % 7 === 0 || i > 4_990) {
        let inWindow = 0;
        for (let t = Math.max(1, i - 999); t <= i; t++) inWindow += t % 3;
        expect(meter.perSecond()).toBe(inWindow);
      }
    }
    now = 10_000;
    expect(meter.perSecond()).toBe(0);
    expect(meter.total).toBe(total);
  });
});
