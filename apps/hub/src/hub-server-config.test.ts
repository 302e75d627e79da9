import { describe, expect, it } from 'vitest';
import { parseHubServerConfig } from './hub-server-config.ts';

const secret = 'a-secret-that-is-at-least-32-bytes-long';

describe('parseHubServerConfig', () => {
  it('reads flags, with defaults for the rest', () => {
    const parsed = parseHubServerConfig(['--jwt-secret', secret, '--port', '9000'], {});
    expect(parsed).toEqual({
      ok: true,
      help: false,
      config: {
        port: 9000,
        host: '0.0.0.0',
        db: './data/events.db',
        jwtSecret: secret,
        corsOrigins: [],
        insecureDev: false,
        logLevel: 'info',
      },
    });
  });

  it('picks Postgres for a postgres:// --db, with a pool size and a Redis bus, by flag or variable', () => {
    const parsed = parseHubServerConfig(['--jwt-secret', secret, '--db-pool', '20'], {
      EVENTLOOM_DB: 'postgres://hub:pw@db.internal:5432/eventloom',
      EVENTLOOM_REDIS: 'redis://cache.internal:6379',
    });
    expect(parsed.ok && !parsed.help && parsed.config).toMatchObject({
      db: 'postgres://hub:pw@db.internal:5432/eventloom',
      dbPool: 20,
      redis: 'redis://cache.internal:6379',
    });
    const fromEnv = parseHubServerConfig(['--jwt-secret', secret, '--db', 'postgresql://h/e'], {
      EVENTLOOM_DB_POOL: '4',
    });
    expect(fromEnv.ok && !fromEnv.help && fromEnv.config).toMatchObject({
      db: 'postgresql://h/e',
      dbPool: 4,
    });
  });

  it('refuses a pool size or a Redis bus without a Postgres log, and bad values, with a clear message', () => {
    const refuse = (argv: string[]) => {
      const parsed = parseHubServerConfig(['--jwt-secret', secret, ...argv], {});
      return parsed.ok ? undefined : parsed.error;
    };
    expect(refuse(['--db-pool', '5'])).toMatch(/postgres:\/\/ --db/);
    expect(refuse(['--redis', 'redis://127.0.0.1:6379'])).toMatch(/postgres:\/\/ --db/);
    expect(refuse(['--db', 'postgres://h/e', '--db-pool', '0'])).toMatch(/--db-pool must be a whole number/);
    expect(refuse(['--db', 'postgres://h/e', '--redis', 'http://x'])).toMatch(/--redis must be a redis:\/\//);
  });

  it('reads every option from the environment too, and lets a flag win', () => {
    const parsed = parseHubServerConfig(['--port', '7000'], {
      EVENTLOOM_PORT: '8000',
      EVENTLOOM_DB: '/var/lib/eventloom/events.db',
      EVENTLOOM_JWKS: '/etc/eventloom/jwks.json',
      EVENTLOOM_JWT_ISSUER: 'https://id.example',
      EVENTLOOM_JWT_AUDIENCE: 'eventloom',
      EVENTLOOM_SCHEMAS: './schemas.js',
      EVENTLOOM_CORS_ORIGIN: 'https://a.example, https://b.example',
      EVENTLOOM_HOST: '127.0.0.1',
    });
    expect(parsed.ok && !parsed.help && parsed.config).toMatchObject({
      port: 7000,
      host: '127.0.0.1',
      db: '/var/lib/eventloom/events.db',
      jwks: '/etc/eventloom/jwks.json',
      jwtIssuer: 'https://id.example',
      jwtAudience: 'eventloom',
      schemas: './schemas.js',
      corsOrigins: ['https://a.example', 'https://b.example'],
    });
  });

  it('takes repeated --cors-origin flags', () => {
    const parsed = parseHubServerConfig(
      [
        '--jwt-secret',
        secret,
        '--cors-origin',
        'https://a.example',
        '--cors-origin',
        'http://localhost:5173',
      ],
      {},
    );
    expect(parsed.ok && !parsed.help && parsed.config.corsOrigins).toEqual([
      'https://a.example',
      'http://localhost:5173',
    ]);
  });

  it('listens on loopback by default in insecure dev mode', () => {
    const parsed = parseHubServerConfig([], { EVENTLOOM_INSECURE_DEV: '1' });
    expect(parsed.ok && !parsed.help && parsed.config).toMatchObject({
      insecureDev: true,
      host: '127.0.0.1',
    });
  });

  it.each([
    [[], {}, 'no authentication configured'],
    [['--jwt-secret', secret, '--jwks', 'k.json'], {}, 'only one of'],
    [['--insecure-dev', '--jwt-secret', secret], {}, 'do not combine'],
    [['--jwt-secret', secret, '--port', '70000'], {}, '--port'],
    [['--jwt-secret', secret, '--port', '-1'], {}, '--port'],
    [['--jwt-secret', secret, '--cors-origin', 'https://a.example/path'], {}, '--cors-origin'],
    [['--jwt-secret', secret], { EVENTLOOM_INSECURE_DEV: 'yes' }, 'EVENTLOOM_INSECURE_DEV'],
    [['--jwt-secret', secret, '--log-level', 'loud'], {}, '--log-level must be one of'],
    [['--jwt-secret', secret], { EVENTLOOM_LOG_LEVEL: 'verbose' }, '--log-level must be one of'],
    [['--nope'], {}, 'nope'],
    [['stray'], {}, 'stray'],
  ] as const)('refuses %j %j', (argv, env, message) => {
    const parsed = parseHubServerConfig(argv, env);
    expect(parsed.ok).toBe(false);
    expect(!parsed.ok && parsed.error).toContain(message);
  });

  it('reads --reactions and the admin guard from flags and the environment', () => {
    const parsed = parseHubServerConfig(
      [
        '--jwt-secret',
        secret,
        '--reactions',
        './reactions.js',
        '--admin-sub',
        'ops',
        '--admin-sub',
        'alice,bob',
      ],
      { EVENTLOOM_ADMIN_ROLE: 'admin', EVENTLOOM_REACTIONS_DB: '/var/lib/eventloom/r.db' },
    );
    expect(parsed.ok && !parsed.help && parsed.config).toMatchObject({
      reactions: './reactions.js',
      reactionsDb: '/var/lib/eventloom/r.db',
      adminSubs: ['ops', 'alice', 'bob'],
      adminRole: 'admin',
    });
    const fromEnv = parseHubServerConfig(['--jwt-secret', secret], {
      EVENTLOOM_REACTIONS: './r.js',
      EVENTLOOM_ADMIN_SUB: 'ops, root',
    });
    expect(fromEnv.ok && !fromEnv.help && fromEnv.config).toMatchObject({
      reactions: './r.js',
      adminSubs: ['ops', 'root'],
    });
  });

  it.each([
    [['--jwt-secret', secret, '--reactions-db', 'r.db'], '--reactions'],
    [['--jwt-secret', secret, '--reactions', 'r.js', '--admin-role', ' '], '--admin-role'],
  ] as const)('refuses admin or reaction options that cannot work: %j', (argv, message) => {
    const parsed = parseHubServerConfig(argv, {});
    expect(!parsed.ok && parsed.error).toContain(message);
  });

  it('reads the NATS options from flags and EVENTLOOM_* variables', () => {
    const parsed = parseHubServerConfig(
      [
        '--jwt-secret',
        secret,
        '--nats',
        'nats://10.0.0.1:4222,nats://10.0.0.2:4222',
        '--nats-inbound',
        'billing.>',
        '--nats-inbound',
        'crm.*',
      ],
      {
        EVENTLOOM_NATS_STREAM: 'SHOP',
        EVENTLOOM_NATS_SUBJECT_PREFIX: 'shop.events',
        EVENTLOOM_NATS_INBOUND_STREAM: 'PARTNERS',
      },
    );
    expect(parsed.ok && !parsed.help && parsed.config).toMatchObject({
      nats: 'nats://10.0.0.1:4222,nats://10.0.0.2:4222',
      natsStream: 'SHOP',
      natsSubjectPrefix: 'shop.events',
      natsInbound: ['billing.>', 'crm.*'],
      natsInboundStream: 'PARTNERS',
    });
    const fromEnv = parseHubServerConfig(['--jwt-secret', secret], {
      EVENTLOOM_NATS: 'nats://127.0.0.1:4222',
      EVENTLOOM_NATS_INBOUND: 'a.b, c.>',
    });
    expect(fromEnv.ok && !fromEnv.help && fromEnv.config).toMatchObject({
      nats: 'nats://127.0.0.1:4222',
      natsInbound: ['a.b', 'c.>'],
    });
  });

  it.each([
    [['--jwt-secret', secret, '--nats-stream', 'S'], '--nats too'],
    [['--jwt-secret', secret, '--nats-inbound', 'a.b'], '--nats too'],
    [['--jwt-secret', secret, '--nats', 'http://x'], '--nats must be server URLs'],
    [['--jwt-secret', secret, '--nats', 'nats://x:4222', '--nats-stream', 'a.b'], '--nats-stream must be'],
    [
      ['--jwt-secret', secret, '--nats', 'nats://x:4222', '--nats-subject-prefix', 'a.>'],
      '--nats-subject-prefix',
    ],
    [['--jwt-secret', secret, '--nats', 'nats://x:4222', '--nats-inbound', 'a..b'], '--nats-inbound must be'],
  ] as const)('refuses NATS options that cannot work: %j', (argv, message) => {
    const parsed = parseHubServerConfig(argv, {});
    expect(!parsed.ok && parsed.error).toContain(message);
  });

  it('asks for help', () => {
    expect(parseHubServerConfig(['--help'], {})).toEqual({ ok: true, help: true });
  });
});
