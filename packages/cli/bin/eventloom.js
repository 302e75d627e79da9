#!/usr/bin/env node
// Node cannot run TypeScript by itself: tsx's loader makes both the CLI's sources and the user's
// registry module (often `src/events.ts`) importable. Registered before anything else is imported.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/cli.ts');
process.exitCode = await main(process.argv.slice(2));
