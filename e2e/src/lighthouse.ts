import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from './paths.ts';

/** What a Lighthouse run (mobile preset, the default) found, scores 0–100. */
export interface LighthouseScores {
  readonly performance: number;
  readonly accessibility: number;
  readonly bestPractices: number;
  /** Cumulative layout shift of the load. */
  readonly cls: number;
  /** The audits that failed in accessibility and best practices, for a failure's message. */
  readonly failed: readonly string[];
  /** The elements that shifted, with their share of the layout shift. */
  readonly shifts: readonly string[];
}

interface Report {
  readonly categories: Record<
    string,
    { readonly score: number | null; readonly auditRefs: { id: string }[] }
  >;
  readonly audits: Record<
    string,
    {
      readonly score: number | null;
      readonly numericValue?: number;
      readonly title: string;
      readonly details?: {
        readonly items?: { score?: number; node?: { selector?: string; snippet?: string } }[];
      };
    }
  >;
}

/**
 * Runs Lighthouse 12 (the e2e workspace's devDependency) on `url` with Debian's Chromium,
 * headless, and reads its JSON report. Nothing is downloaded: the browser is the one installed.
 */
export async function runLighthouse(url: string): Promise<LighthouseScores> {
  const dir = await mkdtemp(join(tmpdir(), 'eventloom-lighthouse-'));
  try {
    const out = join(dir, 'report.json');
    const bin = join(ROOT, 'e2e', 'node_modules', '.bin', 'lighthouse');
    const args = [
      url,
      `--chrome-path=${process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium'}`,
      '--chrome-flags=--headless=new --no-sandbox --disable-gpu --disable-dev-shm-usage --no-first-run --disable-background-networking --disable-component-update --disable-sync',
      '--only-categories=performance,accessibility,best-practices',
      '--output=json',
      `--output-path=${out}`,
      '--quiet',
    ];
    const stderr: string[] = [];
    const code = await new Promise<number | null>((resolve, reject) => {
      const child = spawn(bin, args, {
        env: { ...process.env, TMPDIR: dir },
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      child.stderr.on('data', (c: Buffer) => stderr.push(c.toString('utf8')));
      child.once('error', reject);
      child.once('exit', resolve);
    });
    if (code !== 0) throw new Error(`lighthouse exited with ${code}:\n${stderr.join('').slice(-4000)}`);
    const report = JSON.parse(await readFile(out, 'utf8')) as Report;
    const score = (id: string) => Math.round((report.categories[id]?.score ?? 0) * 100);
    const failed = ['accessibility', 'best-practices'].flatMap((id) =>
      (report.categories[id]?.auditRefs ?? [])
        .map((ref) => report.audits[ref.id])
        .filter((a) => a !== undefined && a.score !== null && a.score < 1)
        .map((a) => `${id}: ${a!.title}`),
    );
    return {
      performance: score('performance'),
      accessibility: score('accessibility'),
      bestPractices: score('best-practices'),
      cls: report.audits['cumulative-layout-shift']?.numericValue ?? Number.NaN,
      failed,
      shifts: (report.audits['layout-shifts']?.details?.items ?? []).map(
        (item) => `${item.score?.toFixed(3) ?? '?'} ${item.node?.selector ?? ''} ${item.node?.snippet ?? ''}`,
      ),
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
