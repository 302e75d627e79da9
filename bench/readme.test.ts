import { describe, expect, it } from 'vitest';
import { BEGIN, END, blockResults, renderBlock, rewriteBlock } from './readme.ts';
import { toResult } from './report.ts';

const result = (name: string, value: number) =>
  toResult({ name, value, unit: 'events/s', baseline: 100, target: 0.5, better: 'higher' });

describe('the README benchmark block', () => {
  it('replaces only what stands between the markers, with the machine, the date and every result', () => {
    const readme = `# Title\n\nbefore\n\n${BEGIN}\nold table\n${END}\n\nafter\n`;
    const block = renderBlock([result('a', 80), result('b', 20)], '2 × Test CPU');
    const next = rewriteBlock(readme, block);
    expect(next.startsWith('# Title\n\nbefore\n\n')).toBe(true);
    expect(next.endsWith('\n\nafter\n')).toBe(true);
    expect(next).not.toContain('old table');
    expect(next).toContain('2 × Test CPU');
    expect(next).toMatch(/Last run: \d{4}-\d\d-\d\d \d\d:\d\d UTC/);
    expect(next).toMatch(/a\s+80\s+100\s+events\/s\s+0\.80×\s+≥ 0\.5×\s+yes/);
    expect(next).toMatch(/b\s+20\s+100\s+events\/s\s+0\.20×\s+≥ 0\.5×\s+NO/);
    // No trailing blanks (the formatter's check would refuse the README).
    expect(next.split('\n').filter((line) => line.endsWith(' '))).toEqual([]);
    // Generating again from the same results changes nothing.
    expect(rewriteBlock(next, block)).toBe(next);
  });

  it('refuses a README without the markers', () => {
    expect(() => rewriteBlock('# no block\n', renderBlock([], 'm'))).toThrow(/no benchmark block/);
  });

  it('reads back the results a block shows (as shown: ratios to two places), with the date of its run', () => {
    const results = [
      result('a', 80_123.5),
      toResult({
        name: 'size',
        value: 107_018,
        unit: 'bytes gzip',
        baseline: 77_999,
        target: 1.3,
        better: 'lower',
      }),
    ];
    const readme = rewriteBlock(`${BEGIN}\n${END}\n`, renderBlock(results, 'm'));
    const minute = results[0]!.date.slice(0, 16);
    expect(blockResults(readme)).toEqual([
      { ...results[0]!, value: 80_124, ratio: 801.24, date: `${minute}:00.000Z` },
      { ...results[1]!, ratio: 1.37, date: `${minute}:00.000Z` },
    ]);
    expect(blockResults('# no block\n')).toEqual([]);
  });
});
