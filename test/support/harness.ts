import { SignJWT } from 'jose'
import { rawDbOf, readTransaction, type Store, writeTransaction } from '../../db/store'
import { buildDeps, createApp } from '../../src/app'
import { testConfig } from '../../src/config'
import type { AppDeps } from '../../src/deps'
import { HOUR, ManualClock } from '../../src/lib/clock'
import { createLogger, type Logger, silentLogger } from '../../src/lib/logger'
import { createUserWithTeam, type TeamRow, type UserRow } from '../../src/services/accounts'
import { createKey } from '../../src/services/keys'
import { TEST_DATABASE, testStore } from './test-database'

export const TEST_JWT_SECRET = 'test-secret-0123456789abcdef0123456789'
export const TEST_PUBLIC_URL = 'http://custodian.test'

export interface TestAppOptions {
  /** Extra environment for the configuration (RATE_LIMIT_*, STRIPE_*, …). */
  env?: Record<string, string>
  clock?: ManualClock
  /** A file path instead of `:memory:` (export snapshots, multi-connection tests). */
  databasePath?: string
  /**
   * The test is about SQLite itself (its file, WAL, backups by copy, the key beside it): it runs
   * on SQLite whatever TEST_DATABASE says. @default false
   */
  sqlite?: boolean
  /** Where log lines go (with LOG_LEVEL in `env`); silent by default. */
  logger?: Logger
}

export interface RequestOptions {
  token?: string
  body?: unknown
  /** Sent as-is (string or bytes) instead of JSON. */
  rawBody?: string | Uint8Array | ArrayBuffer | Blob | FormData
  headers?: Record<string, string>
}

export interface TestUser {
  user: UserRow
  team: TeamRow
  /** An `/api` (`ok_…`) key. */
  apiKey: string
  /** A session JWT for the user, valid for an hour of the test clock. */
  session: string
}

/** One app, one `:memory:` database, one manual clock: what every HTTP test starts from. */
export class TestApp {
  readonly app: ReturnType<typeof createApp>
  readonly deps: AppDeps
  readonly clock: ManualClock
  readonly store: Store
  private counter = 0

  constructor(options: TestAppOptions = {}) {
    this.clock = options.clock ?? new ManualClock()
    const config = testConfig({
      AUTH_JWT_SECRET: TEST_JWT_SECRET,
      PUBLIC_URL: TEST_PUBLIC_URL,
      // Every test doubles as a check that no write path changes a credential or a status behind a cache.
      CHECK_CACHES: 'true',
      ...options.env,
    })
    this.store = testStore(options.databasePath, options.sqlite ? 'sqlite' : TEST_DATABASE)
    this.deps = buildDeps({
      config,
      store: this.store,
      clock: this.clock,
      // TEST_LOG=debug|info|warn|error: a failing test's server-side story on stderr.
      logger:
        options.logger ??
        (process.env.TEST_LOG
          ? createLogger(process.env.TEST_LOG as never, (line) => process.stderr.write(line))
          : silentLogger),
    })
    this.app = createApp(this.deps)
  }

  /** Rows of raw SQL (SQLite's dialect, translated on PostgreSQL: db/raw.ts), in a read transaction. */
  rows<T = Record<string, any>>(sql: string, ...params: (string | number | null)[]): Promise<T[]> {
    return readTransaction(
      this.store,
      async (tx) =>
        (await rawDbOf(tx)
          .prepare(sql)
          .all(...params)) as T[],
    )
  }

  /** The first row of `rows`, or undefined. */
  async row<T = Record<string, any>>(
    sql: string,
    ...params: (string | number | null)[]
  ): Promise<T | undefined> {
    return (await this.rows<T>(sql, ...params))[0]
  }

  /** Runs a raw write (setup a route cannot make) in a write transaction; answers rows changed. */
  exec(sql: string, ...params: (string | number | null)[]): Promise<number> {
    return writeTransaction(
      this.store,
      async (tx) =>
        (
          await rawDbOf(tx)
            .prepare(sql)
            .run(...params)
        ).changes,
    )
  }

  request(method: string, path: string, options: RequestOptions = {}): Promise<Response> {
    const headers: Record<string, string> = { ...options.headers }
    if (options.token) headers.authorization = `Bearer ${options.token}`
    let body: string | Uint8Array | ArrayBuffer | Blob | FormData | undefined
    if (options.rawBody !== undefined) body = options.rawBody
    else if (options.body !== undefined) {
      body = JSON.stringify(options.body)
      headers['content-type'] ??= 'application/json'
    }
    return this.app.handle(new Request(`http://localhost${path}`, { method, headers, body }))
  }

  /** Request and parse the JSON answer (null for an empty body). */
  async json<T = any>(method: string, path: string, options: RequestOptions = {}) {
    const response = await this.request(method, path, options)
    const text = await response.text()
    return {
      status: response.status,
      headers: response.headers,
      body: (text ? JSON.parse(text) : null) as T,
      text,
    }
  }

  /** A user with a personal team, an `/api` key and a session token. */
  async createUser(
    options: { email?: string; operator?: boolean; verified?: boolean } = {},
  ): Promise<TestUser> {
    const email = options.email ?? `user${++this.counter}-${crypto.randomUUID().slice(0, 6)}@example.com`
    const { user, team } = await writeTransaction(this.store, (tx) =>
      createUserWithTeam(tx, this.clock, {
        email,
        isOperator: options.operator ?? false,
        emailVerified: options.verified ?? true,
      }),
    )
    const key = await createKey(this.store, this.clock, {
      userId: user.id,
      teamId: team.id,
      kind: 'orbit',
      name: 'test',
      scope: null,
    })
    return {
      user,
      team,
      apiKey: key.plaintext,
      session: await this.session(user.id, user.email, { verified: options.verified ?? true }),
    }
  }

  /** A `/v1` runtime key for a user. */
  async runtimeKey(u: TestUser): Promise<string> {
    const key = await createKey(this.store, this.clock, {
      userId: u.user.id,
      teamId: u.team.id,
      kind: 'runtime',
      name: 'rt',
      scope: 'sandboxes',
    })
    return key.plaintext
  }

  /** An HS256 session token shaped like a Supabase access token. */
  session(
    sub: string,
    email: string,
    options: {
      verified?: boolean
      ttlMs?: number
      audience?: string
      secret?: string
      issuedAt?: number
    } = {},
  ): Promise<string> {
    const now = options.issuedAt ?? this.clock.now()
    return new SignJWT({ email, email_verified: options.verified ?? true, role: 'authenticated' })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setSubject(sub)
      .setAudience(options.audience ?? 'authenticated')
      .setIssuedAt(Math.floor(now / 1000))
      .setExpirationTime(Math.floor((now + (options.ttlMs ?? HOUR)) / 1000))
      .sign(new TextEncoder().encode(options.secret ?? TEST_JWT_SECRET))
  }

  close() {
    this.store.close()
  }
}

export const createTestApp = (options?: TestAppOptions) => new TestApp(options)

/** Every string value anywhere in a JSON document (for "no secret ever appears" checks). */
export function containsString(haystack: string, needles: string[]): string[] {
  return needles.filter((n) => haystack.includes(n))
}
