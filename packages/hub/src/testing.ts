/**
 * `@eventloom/hub/testing`: what an `EventStore` implementation needs to prove itself, for
 * use with vitest, and an order saga with its services for tests of hub reactions. Not part of
 * the runtime entry point.
 */
export { describeEventStore, type EventStoreSuiteOptions } from './store/describe-event-store.ts';
export {
  COMPLETED_ORDER,
  orderSaga,
  orderServices,
  type OrderServicesOptions,
} from './reactions/order-flow.test-fixture.ts';
export {
  natsUnavailable,
  requireNats,
  startOwnNatsServer,
  uniqueName,
  NATS_SERVER_BIN,
  TEST_NATS_URL,
  type OwnNatsServer,
} from './integration/nats-test-server.ts';
export {
  createTestDatabase,
  postgresUnavailable,
  requirePostgres,
  TEST_POSTGRES_URL,
  type TestDatabase,
} from './store/postgres-test-database.ts';
