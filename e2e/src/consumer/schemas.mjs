// The consumer's event registry, as plain JavaScript: `eventloom-hub --schemas ./schemas.mjs`
// validates pushes against it, and the clients import it too.
import { createRegistry, defineEvent, defineProjection } from '@eventloom/core';
import { z } from 'zod';

export const NoteAdded = defineEvent('note.added', { 1: z.object({ text: z.string().min(1) }) });
export const registry = createRegistry([NoteAdded]);
export const notes = defineProjection({
  name: 'notes',
  version: 1,
  initial: [],
  on: { 'note.added': (list, e) => [...list, e.data.text] },
});
