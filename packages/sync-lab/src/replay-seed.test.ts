import { describe, expect, it } from 'vitest';
import { propertyRuns, replayLine, replaySeed, withReplaySeed } from './replay-seed.ts';

describe('replaySeed', () => {
  it('reads EVENTLOOM_SEED first, then FC_SEED', () => {
    expect(replaySeed({ EVENTLOOM_SEED: '1234', FC_SEED: '99' })).toBe(1234);
    expect(replaySeed({ FC_SEED: '-99' })).toBe(-99);
    expect(replaySeed({ EVENTLOOM_SEED: ' ', FC_SEED: '7' })).toBe(7);
  });

  it('draws a fresh 32-bit seed when none is set', () => {
    const seeds = new Set(Array.from({ length: 20 }, () => replaySeed({})));
    expect(seeds.size).toBeGreaterThan(1);
    for (const seed of seeds) expect(Number.isInteger(seed) && seed >= 0 && seed < 2 ** 31).toBe(true);
  });

  it('refuses a malformed seed instead of running another schedule', () => {
    expect(() => replaySeed({ EVENTLOOM_SEED: 'abc' })).toThrow(/EVENTLOOM_SEED=abc/);
    expect(() => replaySeed({ FC_SEED: '1.5' })).toThrow(/FC_SEED/);
    expect(() => replaySeed({ EVENTLOOM_SEED: String(2 ** 31) })).toThrow(/32-bit/);
  });
});

describe('propertyRuns', () => {
  it('takes EVENTLOOM_RUNS when set, else the default', () => {
    expect(propertyRuns(200, {})).toBe(200);
    expect(propertyRuns(200, { EVENTLOOM_RUNS: '5000' })).toBe(5000);
    expect(() => propertyRuns(200, { EVENTLOOM_RUNS: '0' })).toThrow(/EVENTLOOM_RUNS/);
    expect(() => propertyRuns(200, { EVENTLOOM_RUNS: 'many' })).toThrow(/EVENTLOOM_RUNS/);
  });
});

describe('withReplaySeed', () => {
  it('passes the seed and runs, and returns what the run returns', async () => {
    const answer = await withReplaySeed(({ seed, runs }) => `${seed}/${runs}`, {
      env: { EVENTLOOM_SEED: '42', EVENTLOOM_RUNS: '3' },
      defaultRuns: 200,
    });
    expect(answer).toBe('42/3');
  });

  it('announces the seed before the run, so that a run that hangs can be replayed too', async () => {
    const announced: string[] = [];
    let seen: number | undefined;
    await withReplaySeed(({ seed }) => (seen = seed), {
      env: {},
      label: 'sync model',
      announce: (line) => announced.push(line),
    });
    expect(announced).toEqual([
      `sync model: seed ${seen}, 1 run (replay: EVENTLOOM_SEED=${seen} replays it)`,
    ]);
  });

  it('prints the replay line on failure and puts it in front of the same error', async () => {
    const printed: string[] = [];
    const original = new Error('2 anomalies');
    const failure = await withReplaySeed(
      () => {
        throw original;
      },
      { env: { FC_SEED: '-17' }, label: 'fault schedule', print: (line) => printed.push(line) },
    ).catch((error: unknown) => error);
    expect(failure).toBe(original);
    expect(printed).toEqual(['replay: EVENTLOOM_SEED=-17 (fault schedule)']);
    expect(original.message).toBe('replay: EVENTLOOM_SEED=-17 (fault schedule)\n2 anomalies');
  });

  it('wraps a thrown non-error, keeping it as the cause', async () => {
    const failure = await withReplaySeed(() => Promise.reject(new Map()), {
      env: { EVENTLOOM_SEED: '8' },
      print: () => {},
    }).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(Error);
    expect((failure as Error).message).toMatch(/^replay: EVENTLOOM_SEED=8\n/);
    expect((failure as Error).cause).toBeInstanceOf(Map);
  });

  it('replayLine names the variable to set', () => {
    expect(replayLine(5)).toBe('replay: EVENTLOOM_SEED=5');
  });
});
