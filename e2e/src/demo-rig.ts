import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { Device, launchChromium } from './device.ts';
import { HubProcess } from './hub-process.ts';
import { DEMO_DIST } from './paths.ts';

/**
 * What an e2e suite runs against: the real hub serving the built demo over a SQLite file in a
 * temporary folder, Chromium, and the devices opened on it, all closed by {@link DemoRig.close}.
 */
export class DemoRig {
  readonly browser: Browser;
  readonly #dir: string;
  readonly #suite: string;
  readonly #devices: Device[] = [];
  #hub: HubProcess;

  private constructor(dir: string, hub: HubProcess, browser: Browser, suite: string) {
    this.#dir = dir;
    this.#hub = hub;
    this.browser = browser;
    this.#suite = suite;
  }

  /**
   * Starts a hub and Chromium; screenshots of its devices go to e2e/artifacts/<suite>/.
   *
   * @example
   * const rig = await DemoRig.start('sync');
   * const alice = await rig.open('alice');
   */
  static async start(suite: string, options: { readonly tmpPrefix?: string } = {}): Promise<DemoRig> {
    const dir = await mkdtemp(join(tmpdir(), options.tmpPrefix ?? 'eventloom-e2e-'));
    let hub: HubProcess | undefined;
    try {
      hub = await HubProcess.start({ db: join(dir, 'events.db'), dist: DEMO_DIST });
      return new DemoRig(dir, hub, await launchChromium(), suite);
    } catch (error) {
      await hub?.stop();
      await rm(dir, { recursive: true, force: true });
      throw error;
    }
  }

  /** The hub now running (another process after {@link DemoRig.restartHub}). */
  get hub(): HubProcess {
    return this.#hub;
  }

  /** Opens the demo on a new device named `name` (see {@link Device.open}); closed with the rig. */
  async open(name: string): Promise<Device> {
    const device = await Device.open(this.browser, this.#hub.url, name, this.#suite);
    this.#devices.push(device);
    return device;
  }

  /** Starts the hub again on the same port and database (after a kill or a stop). */
  async restartHub(): Promise<HubProcess> {
    this.#hub = await this.#hub.restart();
    return this.#hub;
  }

  /** Closes the devices, Chromium and the hub, and removes the temporary folder. */
  async close(): Promise<void> {
    for (const device of this.#devices) await device.close();
    await this.browser.close();
    await this.#hub.stop();
    await rm(this.#dir, { recursive: true, force: true });
  }
}
