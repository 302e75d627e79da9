// The consumer's event registry as TypeScript: what `--schemas ./schemas.ts` loads on Node 22.18
// and later, or on Node 20 with tsx's loader (NODE_OPTIONS=--import=tsx).
import { createRegistry, defineEvent, type EventRegistry } from '@eventloom/core';
import { z } from 'zod';

export const NoteAdded = defineEvent('note.added', { 1: z.object({ text: z.string().min(1) }) });
export const registry: EventRegistry = createRegistry([NoteAdded]);
