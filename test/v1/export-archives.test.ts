import { describe, expect, it } from 'bun:test'
import { parse } from 'csv-parse/sync'
import { unzipSync } from 'fflate'
import { HOUR } from '../../src/lib/clock'
import { PART_BYTES } from '../../src/lib/part-writer'
import { buildArchives } from '../../src/workers/archives'
import { purgeOnce } from '../../src/workers/purge'
import { createTestApp, TEST_PUBLIC_URL, type TestApp, type TestUser } from '../support/harness'
import { seedFullAccount } from '../support/seed'

const env = { RATE_LIMIT_ENABLED: 'false' }
const pathOf = (url: string) => {
  expect(url.startsWith(`${TEST_PUBLIC_URL}/v1/export-archives/`)).toBe(true)
  return url.slice(TEST_PUBLIC_URL.length)
}

async function archiveOf(t: TestApp, u: TestUser, format: 'json' | 'csv') {
  const created = await t.json('POST', '/v1/account/exports', {
    token: u.session,
    body: { format },
    headers: { 'idempotency-key': crypto.randomUUID() },
  })
  expect(created.status).toBe(202)
  expect(created.body).toMatchObject({ format, status: 'queued', download_url: null })
  expect(await buildArchives(t.deps)).toBe(1)
  const ready = await t.json('GET', `/v1/account/exports/${created.body.id}`, { token: u.session })
  expect(ready.body).toMatchObject({ status: 'ready' })
  return ready.body as {
    id: string
    download_url: string
    size: number
    sha256: string
    progress: { rows_done: number; rows_total: number }
  }
}

describe('export archives', () => {
  it('json: the synchronous export’s document, through a signed link with length, ETag and ranges', async () => {
    const t = createTestApp({ env })
    const u = await t.createUser()
    await seedFullAccount(t, u)
    const archive = await archiveOf(t, u, 'json')
    expect(archive.progress.rows_done).toBe(archive.progress.rows_total)
    const path = pathOf(archive.download_url)
    const got = await t.request('GET', path)
    expect(got.status).toBe(200)
    expect(got.headers.get('content-disposition')).toContain('account-export.json')
    expect(Number(got.headers.get('content-length'))).toBe(archive.size)
    expect(got.headers.get('etag')).toBe(`"${archive.sha256}"`)
    const text = await got.text()
    const document = JSON.parse(text)
    const direct = JSON.parse(
      await (await t.request('GET', '/v1/account/export', { token: u.session })).text(),
    )
    const { exported_at: _a, _manifest: m1, ...archived } = document
    const { exported_at: _b, _manifest: m2, ...streamed } = direct
    expect(archived).toEqual(streamed)
    expect(m1.counts).toEqual(m2.counts)
    // Range and conditional requests.
    const part = await t.request('GET', path, { headers: { range: 'bytes=10-19' } })
    expect(part.status).toBe(206)
    expect(part.headers.get('content-range')).toBe(`bytes 10-19/${archive.size}`)
    expect(await part.text()).toBe(text.slice(10, 20))
    const tail = await t.request('GET', path, { headers: { range: 'bytes=-5' } })
    expect(await tail.text()).toBe(text.slice(-5))
    expect((await t.request('GET', path, { headers: { range: `bytes=${archive.size}-` } })).status).toBe(416)
    expect(
      (await t.request('GET', path, { headers: { 'if-none-match': `"${archive.sha256}"` } })).status,
    ).toBe(304)
    // The access request it answered is in the case log, fulfilled.
    const operator = await t.createUser({ operator: true })
    const { requests } = (await t.json('GET', '/v1/admin/requests', { token: operator.session })).body
    expect(requests).toContainEqual(
      expect.objectContaining({ type: 'access', status: 'fulfilled', export_id: archive.id }),
    )
  })

  it('csv: a zip a real CSV parser reads, with the manifest’s counts and hashes, formula-safe cells', async () => {
    const t = createTestApp({ env })
    const u = await t.createUser()
    await seedFullAccount(t, u, { appNames: ['=HYPERLINK("http://evil")', 'Plain, "quoted"\nApp'] })
    const archive = await archiveOf(t, u, 'csv')
    const got = await t.request('GET', pathOf(archive.download_url))
    expect(got.headers.get('content-type')).toBe('application/zip')
    const files = unzipSync(new Uint8Array(await got.arrayBuffer()))
    const manifest = JSON.parse(new TextDecoder().decode(files['manifest.json']))
    expect(manifest.json_schema).toBeDefined()
    expect(manifest.files.length).toBeGreaterThanOrEqual(10)
    for (const entry of manifest.files) {
      const bytes = files[entry.name] as Uint8Array
      expect({
        file: entry.name,
        sha256: new Bun.CryptoHasher('sha256').update(bytes).digest('hex'),
      }).toEqual({
        file: entry.name,
        sha256: entry.sha256,
      })
      const records = parse(new TextDecoder().decode(bytes), { bom: true, columns: true }) as Record<
        string,
        string
      >[]
      expect({ file: entry.name, rows: records.length }).toEqual({ file: entry.name, rows: entry.rows })
    }
    const apps = parse(new TextDecoder().decode(files['apps.csv']), { bom: true, columns: true }) as Record<
      string,
      string
    >[]
    expect(apps.map((a) => a.app_name).sort()).toEqual(
      ['\'=HYPERLINK("http://evil")', 'Plain, "quoted"\nApp'].sort(),
    )
    expect(apps[0]?.created_at).toMatch(/^\d{4}-\d{2}-\d{2}T/)
    const keys = new TextDecoder().decode(files['api_keys.csv'])
    expect(keys).not.toContain('key_hash')
  })

  it('links: another account’s id is 404, a tampered link 404, an expired one 410, and the archive goes with it', async () => {
    const t = createTestApp({ env })
    const u = await t.createUser()
    const other = await t.createUser()
    const archive = await archiveOf(t, u, 'json')
    expect(
      (await t.request('GET', `/v1/account/exports/${archive.id}`, { token: other.session })).status,
    ).toBe(404)
    expect(
      (await t.request('GET', `/api/account/exports/${archive.id}`, { token: other.apiKey })).status,
    ).toBe(404)
    const path = pathOf(archive.download_url)
    const tampered = path.replace(/.$/, (c) => (c === 'A' ? 'B' : 'A'))
    expect((await t.request('GET', tampered)).status).toBe(404)
    expect((await t.request('GET', '/v1/export-archives/exp_nothing')).status).toBe(404)
    t.clock.advance(72 * HOUR + 1)
    expect((await t.json('GET', path)).body).toMatchObject({ code: 'link_expired' })
    expect((await purgeOnce(t.deps)).archivesExpired).toBe(1)
    expect(await t.deps.storage.list(`exports/${archive.id}`)).toEqual([])
    const session = await t.session(u.user.id, u.user.email, { verified: true })
    expect((await t.request('GET', `/v1/account/exports/${archive.id}`, { token: session })).status).toBe(404)
  })

  it('large archives are stored in parts and read back whole', async () => {
    const t = createTestApp({ env })
    const u = await t.createUser()
    await seedFullAccount(t, u, { sandboxes: 40_000 })
    const archive = await archiveOf(t, u, 'json')
    expect(archive.size).toBeGreaterThan(PART_BYTES)
    const parts = await t.deps.storage.list(`exports/${archive.id}`)
    expect(parts.length).toBe(Math.ceil(archive.size / PART_BYTES))
    const bytes = new Uint8Array(await (await t.request('GET', pathOf(archive.download_url))).arrayBuffer())
    expect(bytes.length).toBe(archive.size)
    expect(new Bun.CryptoHasher('sha256').update(bytes).digest('hex')).toBe(archive.sha256)
    const around = await t.request('GET', pathOf(archive.download_url), {
      headers: { range: `bytes=${PART_BYTES - 3}-${PART_BYTES + 2}` },
    })
    expect(new Uint8Array(await around.arrayBuffer())).toEqual(bytes.subarray(PART_BYTES - 3, PART_BYTES + 3))
  }, 30_000)

  it('an erasure while an archive builds leaves nothing of it, rows or files; so does one before it starts', async () => {
    for (const when of ['during', 'before'] as const) {
      const t = createTestApp({ env })
      const u = await t.createUser()
      await seedFullAccount(t, u, { sandboxes: 15_000 })
      const created = await t.json('POST', '/api/account/exports', {
        token: u.apiKey,
        body: { format: 'csv' },
      })
      expect(created).toMatchObject({ status: 202, body: { status: 'queued', downloadUrl: null } })
      const building = when === 'during' ? buildArchives(t.deps) : Promise.resolve(0)
      expect((await t.request('DELETE', '/api/account', { token: u.apiKey })).status).toBe(204)
      await building
      expect(await buildArchives(t.deps)).toBe(0)
      const id = (created.body as { exportId: string }).exportId
      expect({ when, files: await t.deps.storage.list(`exports/${id}`) }).toEqual({ when, files: [] })
      expect(await t.row('SELECT count(*) AS n FROM export_archives')).toEqual({ n: 0 })
      const [receipt] = await t.rows('SELECT step FROM account_deletions')
      expect({ when, step: receipt?.step }).toEqual({ when, step: 'done' })
    }
  }, 30_000)

  it('a build whose builder died is started again from nothing once its lease runs out', async () => {
    const t = createTestApp({ env })
    const u = await t.createUser()
    await seedFullAccount(t, u)
    const created = await t.json('POST', '/v1/account/exports', {
      token: u.session,
      body: { format: 'json' },
      headers: { 'idempotency-key': crypto.randomUUID() },
    })
    // What a builder killed mid-way leaves: the archive claimed, a stray part written.
    await t.exec(
      "UPDATE export_archives SET status = 'building', attempts = 1, locked_until = ?1 WHERE id = ?2",
      t.clock.now() + 60_000,
      created.body.id,
    )
    await t.deps.storage.write(`exports/${created.body.id}/part-000000`, 'half an archive')
    expect(await buildArchives(t.deps)).toBe(0) // its lease still holds
    t.clock.advance(61_000)
    expect(await buildArchives(t.deps)).toBe(1)
    const session = await t.session(u.user.id, u.user.email, { verified: true })
    const ready = (await t.json('GET', `/v1/account/exports/${created.body.id}`, { token: session })).body
    expect(ready).toMatchObject({ status: 'ready' })
    const bytes = new Uint8Array(await (await t.request('GET', pathOf(ready.download_url))).arrayBuffer())
    expect(new Bun.CryptoHasher('sha256').update(bytes).digest('hex')).toBe(ready.sha256)
    expect(JSON.parse(new TextDecoder().decode(bytes))._manifest).toBeDefined()
  })

  it('operators prepare an archive of any account; others may not', async () => {
    const t = createTestApp({ env })
    const operator = await t.createUser({ operator: true })
    const u = await t.createUser()
    const body = { format: 'json' }
    expect(
      (await t.json('POST', `/v1/admin/users/${u.user.id}/exports`, { token: u.session, body })).status,
    ).toBe(403)
    expect(
      (await t.json('POST', '/v1/admin/users/nobody/exports', { token: operator.session, body })).status,
    ).toBe(401)
    const created = await t.json('POST', `/v1/admin/users/${u.user.id}/exports`, {
      token: operator.session,
      body,
    })
    expect(created.status).toBe(202)
    await buildArchives(t.deps)
    const ready = await t.json('GET', `/v1/admin/exports/${created.body.id}`, { token: operator.session })
    expect(ready.body).toMatchObject({ status: 'ready' })
    expect(
      (await t.json('POST', '/v1/account/exports', { token: u.session, body: { format: 'xml' } })).status,
    ).toBe(400)
  })
})
