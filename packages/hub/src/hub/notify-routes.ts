import type { Notify } from '@eventloom/protocol';

/**
 * What a node of a cluster listens on for the notifications its sessions may receive: a stream
 * (a session subscribed to it by name), a prefix (a `prefix*` subscription; `''` for `*`), or a
 * client id (a reply or query addressed `to` it). A node listens on a route while at least one of
 * its sessions needs it; a notification is published on one route only (its stream, or its `to`),
 * and reaches the nodes listening on that route or on a prefix of its stream. The route chooses
 * nodes, never recipients: each node still judges each of its own sessions (subscription or `to`,
 * `authorize`, slow consumer) before it delivers.
 */
export type NotifyRoute =
  | { readonly kind: 'stream'; readonly name: string }
  | { readonly kind: 'prefix'; readonly name: string }
  | { readonly kind: 'client'; readonly name: string };

/** The bus a cluster gives the notifications of one node (see `HubCluster.notifications`). */
export interface NotifyBus {
  /**
   * Starts listening on a route; called once per route however many sessions need it. Resolves
   * once the bus listens (never rejects: a bus that fails reports it its own way).
   */
  open(route: NotifyRoute): Promise<void>;
  /** Stops listening on a route no session of this node needs any more. */
  close(route: NotifyRoute): void;
  /**
   * Publishes `payload` on a `stream` or `client` route: every node listening on it, or (for a
   * stream) on a prefix of it, receives it once or more (this node too, when it listens).
   */
  publish(route: NotifyRoute, payload: string): void;
}

/** The route a notification is published on: its addressee's client id, or else its stream. */
export function routeOfMessage(message: Pick<Notify, 'stream' | 'to'>): NotifyRoute {
  return message.to === undefined
    ? { kind: 'stream', name: message.stream }
    : { kind: 'client', name: message.to };
}

/** The routes a session needs: its client id, and one per subscription. */
export function routesOfSession(clientId: string, subscriptions: readonly string[]): NotifyRoute[] {
  const routes: NotifyRoute[] = [{ kind: 'client', name: clientId }];
  for (const s of subscriptions) {
    routes.push(s.endsWith('*') ? { kind: 'prefix', name: s.slice(0, -1) } : { kind: 'stream', name: s });
  }
  return routes;
}

/**
 * The routes one node listens on, counted over its sessions: a route is opened on the bus when
 * the first session needs it and closed when the last one stops needing it (it disconnects, or
 * subscribes to something else).
 */
export class NotifyRoutes {
  readonly #bus: NotifyBus;
  /** Sessions needing each route, by route key. */
  readonly #counts = new Map<string, { route: NotifyRoute; count: number; opened: Promise<void> }>();
  readonly #bySession = new Map<object, readonly NotifyRoute[]>();

  constructor(bus: NotifyBus) {
    this.#bus = bus;
  }

  /** Routes open now (for tests and metrics). */
  get size(): number {
    return this.#counts.size;
  }

  /**
   * Sets what `session` needs now (at `hello`, and again when its subscriptions change); resolves
   * once the bus listens on every route it needs.
   */
  track(session: object, clientId: string, subscriptions: readonly string[]): Promise<void> {
    const before = this.#bySession.get(session) ?? [];
    const after = dedupe(routesOfSession(clientId, subscriptions));
    this.#bySession.set(session, after);
    // Opened before closed: a route the session keeps is never closed in between.
    const opened = after.map((route) => this.#add(route));
    for (const route of before) this.#remove(route);
    return Promise.all(opened).then(() => undefined);
  }

  /** Forgets `session` (it disconnected). */
  untrack(session: object): void {
    const before = this.#bySession.get(session);
    if (before === undefined) return;
    this.#bySession.delete(session);
    for (const route of before) this.#remove(route);
  }

  #add(route: NotifyRoute): Promise<void> {
    const key = keyOf(route);
    const entry = this.#counts.get(key);
    if (entry !== undefined) {
      entry.count++;
      return entry.opened;
    }
    const opened = this.#bus.open(route);
    this.#counts.set(key, { route, count: 1, opened });
    return opened;
  }

  #remove(route: NotifyRoute): void {
    const key = keyOf(route);
    const entry = this.#counts.get(key);
    if (entry === undefined) return;
    if (--entry.count > 0) return;
    this.#counts.delete(key);
    this.#bus.close(route);
  }
}

function keyOf(route: NotifyRoute): string {
  return `${route.kind}:${route.name}`;
}

function dedupe(routes: readonly NotifyRoute[]): NotifyRoute[] {
  const seen = new Set<string>();
  return routes.filter((r) => {
    const key = keyOf(r);
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
