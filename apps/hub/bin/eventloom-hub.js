#!/usr/bin/env node
// Node 20 cannot run TypeScript itself: register tsx, then start the command from its source.
import { register } from 'tsx/esm/api';

register();
await import('../src/main.ts');
