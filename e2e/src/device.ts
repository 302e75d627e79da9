import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { ARTIFACTS } from './paths.ts';

/** Debian's Chromium, launched the way this machine needs it (no sandbox as root, no network chatter). */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium',
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });
}

/** A column as the screen shows it. */
export interface ColumnSnapshot {
  readonly id: string;
  readonly title: string;
  readonly cards: readonly string[];
}

/** The sync state as the header shows it. */
export interface SyncSnapshot {
  readonly state: string;
  readonly pending: number;
}

/**
 * One device: a browser context of its own (its own IndexedDB, service worker and network
 * switch) with the demo open, driven the way a person would, through the screen.
 */
export class Device {
  readonly name: string;
  readonly context: BrowserContext;
  readonly page: Page;
  readonly #artifacts: string;
  /** Everything the page logged as an error, for a failure's message. */
  readonly errors: string[] = [];

  private constructor(name: string, context: BrowserContext, page: Page, artifacts: string) {
    this.name = name;
    this.context = context;
    this.page = page;
    this.#artifacts = artifacts;
    page.on('pageerror', (error) => this.errors.push(error.message));
    page.on('console', (message) => {
      if (message.type() === 'error') this.errors.push(message.text());
    });
  }

  /** Opens the demo at `url` in a new context and waits for the board. Screenshots go to e2e/artifacts/<suite>/. */
  static async open(browser: Browser, url: string, name: string, suite: string): Promise<Device> {
    const context = await browser.newContext({
      viewport: { width: 1440, height: 900 },
      serviceWorkers: 'allow',
    });
    const page = await context.newPage();
    const artifacts = join(ARTIFACTS, suite);
    await mkdir(artifacts, { recursive: true });
    const device = new Device(name, context, page, artifacts);
    await page.goto(url);
    await device.waitForBoard();
    return device;
  }

  async waitForBoard(): Promise<void> {
    await this.page.locator('[data-testid="board"]').waitFor({ state: 'visible', timeout: 30_000 });
  }

  /** Waits until the service worker controls the page: from then on the app shell loads offline. */
  async waitForServiceWorker(): Promise<void> {
    await this.page.evaluate(async () => {
      await navigator.serviceWorker.ready;
      if (navigator.serviceWorker.controller !== null) return;
      await new Promise<void>((resolve) =>
        navigator.serviceWorker.addEventListener('controllerchange', () => resolve(), { once: true }),
      );
    });
  }

  /** The columns left to right, each with its card titles top to bottom. */
  board(): Promise<ColumnSnapshot[]> {
    return this.page.$$eval('[data-testid="column"]', (columns) =>
      columns.map((column) => ({
        id: (column as HTMLElement).dataset['columnId'] ?? '',
        title: column.querySelector('h2')?.textContent ?? '',
        cards: [...column.querySelectorAll('[data-testid="card-title"]')].map((c) => c.textContent ?? ''),
      })),
    );
  }

  /** Every card title on the board, sorted. */
  async cardTitles(): Promise<string[]> {
    return (await this.board()).flatMap((c) => c.cards).sort();
  }

  /** Adds a card through the column's form and waits for it on the board. */
  async addCard(columnId: string, title: string): Promise<void> {
    const column = this.page.locator(`[data-testid="column"][data-column-id="${columnId}"]`);
    const input = column.locator('[data-testid="new-card-title"]');
    if (!(await input.isVisible())) await column.locator('[data-testid="add-card"]').click();
    await input.fill(title);
    await column.locator('[data-testid="new-card-submit"]').click();
    await column.locator('[data-testid="card-title"]', { hasText: title }).waitFor();
  }

  /** Moves a card to the next column with its accessible button, and waits until it shows there. */
  async moveCardTo(title: string, columnTitle: string): Promise<void> {
    await this.page.getByRole('button', { name: `Move “${title}” to ${columnTitle}`, exact: true }).click();
    await this.page
      .locator(`[data-testid="column"][aria-label="${columnTitle}"] [data-testid="card-title"]`, {
        hasText: title,
      })
      .waitFor({ timeout: 10_000 });
  }

  /** Drags a card into a column (HTML drag and drop, as a mouse does). */
  async dragCard(title: string, columnId: string): Promise<void> {
    const card = this.page.locator('[data-testid="card"]', { hasText: title });
    const target = this.page.locator(`[data-column-id="${columnId}"] [data-testid="column-cards"]`);
    await card.dragTo(target);
    await target.locator('[data-testid="card-title"]', { hasText: title }).waitFor({ timeout: 10_000 });
  }

  /** The name this device's member goes by on the board, as the header shows it once it has joined. */
  async memberName(): Promise<string> {
    const name = this.page.locator('[data-testid="my-name"][data-joined="true"]');
    await name.waitFor({ timeout: 30_000 });
    return (await name.textContent()) ?? '';
  }

  async syncState(): Promise<SyncSnapshot> {
    const status = this.page.locator('[data-testid="sync-status"]');
    return {
      state: (await status.getAttribute('data-sync-state')) ?? '',
      pending: Number(await status.getAttribute('data-pending')),
    };
  }

  /** Waits until the device is live with nothing pending: everything it wrote is confirmed. */
  async waitSynced(timeout = 60_000): Promise<void> {
    await this.page
      .locator('[data-testid="sync-status"][data-sync-state="live"][data-pending="0"]')
      .waitFor({ timeout });
  }

  /** The network of this device, off or on (the browser's own offline switch). */
  async setOffline(offline: boolean): Promise<void> {
    await this.context.setOffline(offline);
  }

  async screenshot(name: string): Promise<void> {
    await this.page.screenshot({ path: join(this.#artifacts, `${name}.png`) });
  }

  async close(): Promise<void> {
    await this.context.close();
  }
}
