import { describe, expect, it } from 'vitest';
import { BEGIN, END, renderBlock, rewriteBlock } from './readme.ts';
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
    // Generating again from the same results changes nothing.
    expect(rewriteBlock(next, block)).toBe(next);
  });

  it('refuses a README without the markers', () => {
    expect(() => rewriteBlock('# no block\n', renderBlock([], 'm'))).toThrow(/no benchmark block/);
  });
});
