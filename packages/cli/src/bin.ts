#!/usr/bin/env node
/**
 * The published `eventloom` command (dist/bin.js). The registry module it is given is usually
 * TypeScript (`src/events.ts`), so tsx's loader is registered before that module is imported;
 * the CLI itself is plain JavaScript. In this repository bin/eventloom.js runs the sources instead.
 */
import { register } from 'tsx/esm/api';

register();
const { main } = await import('./cli.ts');
process.exitCode = await main(process.argv.slice(2));
