import { createRegistry } from '@eventloom/core';
import { boardEventDefinitions } from './events.ts';

/**
 * The board's event registry: the app validates its appends with it, the hub (`--schemas`) its
 * pushes, and `eventloom schema check` compares it with the committed `eventloom.schema.json`.
 */
export const registry = createRegistry(boardEventDefinitions);

export default registry;
