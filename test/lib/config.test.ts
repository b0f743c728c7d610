import { describe, expect, it } from 'bun:test'
import { ConfigError, loadConfig } from '../../src/config'

const refused = (env: Record<string, string>) => {
  try {
    loadConfig({ DATABASE_PATH: ':memory:', ...env })
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError)
    return (error as Error).message
  }
  throw new Error(`accepted ${JSON.stringify(env)}`)
}

describe('configuration errors name the setting and what is wrong, never a secret', () => {
  it('says what a URL must look like, showing only its scheme', () => {
    const database = refused({ DATABASE_URL: 'mysql://root:hunter2@db/custodian' })
    expect(database).toContain('DATABASE_URL')
    expect(database).toContain('postgres://')
    expect(database).toContain('scheme "mysql:"')
    expect(database).not.toContain('hunter2')
    expect(database).not.toContain('documented format')
    const redis = refused({ REDIS_URL: 'localhost:6379', DATABASE_URL: 'postgres://u@h/db' })
    expect(redis).toContain('REDIS_URL')
    expect(redis).toContain('redis://')
    const publicUrl = refused({ PUBLIC_URL: 'custodian.example.com' })
    expect(publicUrl).toContain('PUBLIC_URL')
    expect(publicUrl).toContain('https://')
    const unparsable = refused({ DATABASE_URL: 'postgres://user:pa ss word@db:notaport/x', INSTANCES: '1' })
    expect(unparsable).toContain('not a valid URL')
    expect(unparsable).not.toContain('pa ss word')
  })

  it('takes the PostgreSQL pool size per instance, 10 unless told, and refuses one below 2', () => {
    expect(loadConfig({ DATABASE_PATH: ':memory:' }).databasePoolSize).toBe(10)
    expect(loadConfig({ DATABASE_PATH: ':memory:', DATABASE_POOL_SIZE: '4' }).databasePoolSize).toBe(4)
    expect(refused({ DATABASE_POOL_SIZE: '1' })).toContain('DATABASE_POOL_SIZE')
    expect(refused({ DATABASE_POOL_SIZE: 'many' })).toContain('DATABASE_POOL_SIZE')
  })

  it('refuses a misspelt RATE_LIMIT_* variable with the list of policies', () => {
    const message = refused({ RATE_LIMIT_KEY_CREATE: '100/3600' })
    expect(message).toContain('RATE_LIMIT_KEY_CREATE')
    expect(message).toContain('RATE_LIMIT_KEYS_CREATE')
    expect(message).toContain('RATE_LIMIT_ENABLED')
    expect(
      loadConfig({ DATABASE_PATH: ':memory:', RATE_LIMIT_KEYS_CREATE: '100/3600' }).rateLimit.policies[
        'keys-create'
      ].limit,
    ).toBe(100)
  })
})
