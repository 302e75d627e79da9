/**
 * `@eventloom/hub/postgres`: the event log on Postgres, for a hub of several nodes. Kept apart
 * from the main entry so that a hub on SQLite never loads a Postgres driver: install `postgres`
 * beside `@eventloom/hub` to use it.
 */
export {
  createPostgresStore,
  POSTGRES_APPEND_LOCK,
  POSTGRES_HEAD_CHANNEL,
  type PostgresStoreOptions,
} from './store/postgres-store.ts';
export { migratePostgres, postgresMigrations, type PostgresMigration } from './store/postgres-migrations.ts';
export {
  createPostgresReactionStore,
  type PostgresReactionStore,
  type PostgresReactionStoreOptions,
} from './reactions/postgres-reaction-store.ts';
export {
  runReactionsOnce,
  REACTION_RUNNER_METRIC,
  type ReactionLeadership,
  type ReactionLeadershipOptions,
} from './reactions/reaction-leadership.ts';
