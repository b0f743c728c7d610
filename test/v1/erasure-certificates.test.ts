import { afterEach, describe, expect, it } from 'bun:test'
import { mkdtempSync, rmSync, unlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { main } from '../../src/cli'
import { useCertificateSeed } from '../../src/lib/certificate-key'
import { DAY } from '../../src/lib/clock'
import { checkCertificate, checkCertificateAndChain } from '../../src/services/certificate-format'
import { purgeOnce } from '../../src/workers/purge'
import { fileBackedApp } from '../support/file-backed-app'
import { createTestApp, TEST_PUBLIC_URL, type TestApp } from '../support/harness'
import { receiptsOf } from '../support/receipts'
import { buildRichAccount } from '../support/rich-account'
import { onPostgres } from '../support/test-database'

const dirs: string[] = []
afterEach(() => {
  useCertificateSeed(null)
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true })
})
const tempDir = () => {
  const dir = mkdtempSync(join(tmpdir(), 'custodian-certs-'))
  dirs.push(dir)
  return dir
}
const cli = async (argv: string[]) => {
  const lines: string[] = []
  const code = await main(argv, (line) => lines.push(line))
  return { code, output: lines.join('\n') }
}
/** A link's path on the test app (links carry PUBLIC_URL). */
const pathOf = (url: string) => {
  expect(url.startsWith(`${TEST_PUBLIC_URL}/v1/erasure-receipts/`)).toBe(true)
  return url.slice(TEST_PUBLIC_URL.length)
}

async function eraseThroughApi(t: TestApp, token: string) {
  const r = await t.request('DELETE', '/api/account', {
    token,
    headers: { 'idempotency-key': crypto.randomUUID() },
  })
  expect(r.status).toBe(204)
  return r.headers.get('erasure-receipt') as string
}

describe('erasure certificates', () => {
  it('erase → certificate through the link → verify-certificate exits 0; one flipped byte anywhere → 1', async () => {
    const { t } = fileBackedApp({ sqlite: false })
    const victim = await buildRichAccount(t, 'certified')
    const link = await eraseThroughApi(t, victim.u.apiKey)
    const fetched = await t.request('GET', pathOf(link))
    expect(fetched.status).toBe(200)
    expect(fetched.headers.get('content-disposition')).toContain('erasure-certificate-')
    const document = await fetched.text()

    // What it proves: an independent pass found nothing, on SQLite down to the file's bytes.
    const { payload } = JSON.parse(document)
    expect(payload.verification.clean).toBe(true)
    expect(Object.values(payload.verification.tables).every((n) => n === 0)).toBe(true)
    expect(Object.keys(payload.verification.tables)).toContain('users')
    expect(payload.verification.identifier_source).toBe('gathered')
    expect(payload.verification.identifiers).toBeGreaterThanOrEqual(5)
    expect(payload.verification.storage_paths_checked).toBeGreaterThanOrEqual(1)
    if (!onPostgres) expect(payload.verification.pages_scanned).toBeGreaterThan(0)
    expect(payload.counts.users).toBe(1)
    // …and it holds no personal data of the account.
    for (const [label, value] of Object.entries(victim.strings))
      expect({ label, found: document.includes(value) }).toEqual({ label, found: false })

    const dir = tempDir()
    const file = join(dir, 'certificate.json')
    writeFileSync(file, document)
    const keys = join(dir, 'keys.json')
    writeFileSync(keys, await (await t.request('GET', '/.well-known/custodian/erasure-keys')).text())
    expect((await cli(['verify-certificate', file])).code).toBe(0)
    expect((await cli(['verify-certificate'])).code).toBe(2) // no file: misuse, not a verdict
    expect((await cli(['verify-certificate', join(dir, 'missing.json')])).code).toBe(2)
    const pinned = await cli(['verify-certificate', file, '--key', keys])
    expect(pinned).toMatchObject({ code: 0 })
    expect(pinned.output).toContain('VALID')

    const flipped = Buffer.from(document)
    const middle = Math.floor(flipped.length / 2)
    flipped.writeUInt8(flipped.readUInt8(middle) ^ 0x01, middle)
    writeFileSync(file, flipped)
    const refused = await cli(['verify-certificate', file, '--key', keys])
    expect(refused.code).toBe(1)
    expect(refused.output).toContain('INVALID')
    // Every position, every low bit: nothing slips through.
    const bytes = Buffer.from(document)
    for (let at = 0; at < bytes.length; at++) {
      const copy = Buffer.from(bytes)
      copy.writeUInt8(copy.readUInt8(at) ^ 0x01, at)
      const result = await checkCertificate(copy.toString('latin1'))
      if (result.ok) throw new Error(`a flip at byte ${at} still verifies`)
    }
    // The receipt says the same and points operators at the certificate.
    const operator = await t.createUser({ operator: true })
    const { deletions } = (await t.json('GET', '/v1/admin/deletions', { token: operator.session })).body
    const receipt = deletions.find((d: { user_hash: string }) => d.user_hash === payload.pseudonym)
    expect(receipt).toMatchObject({ step: 'done', verification: { clean: true } })
    const viaAdmin = await t.request('GET', receipt.certificate_url, { token: operator.session })
    expect(await viaAdmin.text()).toBe(document)
    expect((await t.request('GET', receipt.certificate_url, { token: victim.u.session })).status).toBe(401)
  })

  it('chains: a removed or edited certificate breaks the chain', async () => {
    const t = createTestApp({ env: { RATE_LIMIT_ENABLED: 'false' } })
    const operator = await t.createUser({ operator: true })
    for (let i = 0; i < 4; i++) await eraseThroughApi(t, (await t.createUser()).apiKey)
    const { certificates } = (
      await t.json('GET', '/v1/admin/erasure-certificates', { token: operator.session })
    ).body
    expect(certificates.map((c: { seq: number }) => c.seq)).toEqual([1, 2, 3, 4])
    const texts: string[] = certificates.map((c: { document: string }) => c.document)
    const last = texts[3] as string
    expect(await checkCertificateAndChain(last, { chain: texts })).toMatchObject({ ok: true })

    const dir = tempDir()
    for (const [i, text] of texts.entries()) writeFileSync(join(dir, `${i + 1}.json`), text)
    const lastFile = join(tempDir(), 'last.json')
    writeFileSync(lastFile, last)
    expect((await cli(['verify-certificate', lastFile, '--chain', dir])).code).toBe(0)
    unlinkSync(join(dir, '2.json'))
    const removed = await cli(['verify-certificate', lastFile, '--chain', dir])
    expect(removed.code).toBe(1)
    expect(removed.output).toContain('certificate 2 is missing')
    // An edited one: its signature fails, and a re-signed forgery would not match its successor's link.
    const edited = (texts[1] as string).replace('"users":1', '"users":0')
    expect(edited).not.toBe(texts[1])
    const withEdit = await checkCertificateAndChain(last, {
      chain: [texts[0] as string, edited, texts[2] as string],
    })
    expect(withEdit.ok).toBe(false)
  })

  it('what a racing request leaves is swept again at once; what the erasure cannot reach makes it incomplete, retried', async () => {
    const { t } = fileBackedApp({ sqlite: false })
    const victim = await buildRichAccount(t, 'leftover')
    const neighbour = await t.createUser()
    const [victimKey] = await t.rows<{ id: string }>(
      'SELECT id FROM api_keys WHERE user_id = ?1',
      victim.u.user.id,
    )
    let planted = false
    t.deps.deletionFaults = {
      afterStep: async (step) => {
        if (step !== 'data_erased' || planted) return
        planted = true
        // What a request racing the erasure leaves: a file under the app, a row naming the user.
        await t.deps.storage.write(t.deps.storage.appPath(victim.appId, 'late.txt'), 'late')
        await t.exec(
          "INSERT INTO idempotency_keys (principal, key, method, path, fingerprint, state, created_at, locked_at, expires_at) VALUES (?1, 'late', 'POST', '/x', 'f', 'done', 0, 0, 9999999999999)",
          victim.u.user.id,
        )
        // And what the ownership registry does not reach: another account's row naming the victim's key.
        await t.exec(
          "INSERT INTO api_keys (id, user_id, team_id, kind, key_prefix, key_hash, is_active, created_at, rotation_parent_key_id) VALUES ('key_stray', ?1, ?2, 'runtime', 'ns_live_0000', 'stray-hash', TRUE, 0, ?3)",
          neighbour.user.id,
          neighbour.team.id,
          victimKey?.id as string,
        )
      },
    }
    const r = await t.request('DELETE', '/api/account', { token: victim.u.apiKey })
    expect(r.status).toBe(204)
    const [receipt] = await receiptsOf(t, victim.u.user.id)
    expect(receipt?.step).toBe('incomplete')
    // The racing request's leftovers were swept; the stray reference was not.
    expect(receipt?.verification).toMatchObject({ clean: false, storageMatches: 0 })
    expect(receipt?.verification?.tables).toMatchObject({ idempotency_keys: 0, api_keys: 1 })
    expect(receipt?.lastError).toContain('api_keys')
    expect(await t.deps.storage.list(t.deps.storage.appPath(victim.appId))).toEqual([])
    expect(await t.row('SELECT count(*) AS n FROM erasure_certificates')).toEqual({ n: 0 })
    await purgeOnce(t.deps)
    expect(await t.deps.metrics.registry.getSingleMetricAsString('custodian_erasures')).toContain(
      'custodian_erasures{state="incomplete"} 1',
    )
    // Still there: retried, still incomplete. Removed: the next retry completes it, with its certificate.
    t.clock.advance(60_000)
    await purgeOnce(t.deps)
    expect((await receiptsOf(t, victim.u.user.id))[0]?.step).toBe('incomplete')
    await t.exec("UPDATE api_keys SET rotation_parent_key_id = NULL WHERE id = 'key_stray'")
    t.clock.advance(10 * 60_000)
    await purgeOnce(t.deps)
    const [done] = await receiptsOf(t, victim.u.user.id)
    expect(done?.step).toBe('done')
    expect(done?.verification?.clean).toBe(true)
    expect(await t.row('SELECT count(*) AS n FROM erasure_certificates')).toEqual({ n: 1 })
  })

  it('the receipt link: 202 while the /v1 grace period runs, the certificate once erased, 410 after a year, 404 when tampered', async () => {
    const t = createTestApp({ env: { RATE_LIMIT_ENABLED: 'false' } })
    const u = await t.createUser()
    const scheduled = await t.json('DELETE', '/v1/account/me', { token: u.session })
    expect(scheduled.status).toBe(202)
    const path = pathOf(scheduled.body.receipt_url)
    const pending = await t.json('GET', path)
    expect(pending).toMatchObject({ status: 202, body: { status: 'pending' } })
    t.clock.advance(31 * DAY)
    expect((await purgeOnce(t.deps)).hardDeleted).toBe(1)
    const got = await t.request('GET', path)
    expect(got.status).toBe(200)
    expect((await checkCertificate(await got.text())).ok).toBe(true)
    const tampered = path.replace(/.$/, (c) => (c === 'A' ? 'B' : 'A'))
    expect((await t.json('GET', tampered)).body).toMatchObject({ code: 'not_found' })
    expect((await t.request('GET', '/v1/erasure-receipts/not-a-link')).status).toBe(404)
    t.clock.advance(366 * DAY)
    const expired = await t.json('GET', path)
    expect(expired).toMatchObject({ status: 410, body: { code: 'link_expired' } })
  })

  it('a rotated key signs new certificates; the published keys verify old and new', async () => {
    const t = createTestApp({ env: { RATE_LIMIT_ENABLED: 'false' } })
    const operator = await t.createUser({ operator: true })
    useCertificateSeed(new Uint8Array(32).fill(1))
    await eraseThroughApi(t, (await t.createUser()).apiKey)
    useCertificateSeed(new Uint8Array(32).fill(2))
    await eraseThroughApi(t, (await t.createUser()).apiKey)
    const jwks = (await (await t.request('GET', '/.well-known/custodian/erasure-keys')).json()) as {
      keys: Record<string, unknown>[]
    }
    const { certificates } = (
      await t.json('GET', '/v1/admin/erasure-certificates', { token: operator.session })
    ).body
    const kids = certificates.map((c: { document: string }) => JSON.parse(c.document).signature.kid)
    expect(new Set(kids).size).toBe(2)
    for (const kid of kids) expect(jwks.keys.map((k) => k.kid)).toContain(kid)
    for (const c of certificates) expect((await checkCertificate(c.document, { jwks })).ok).toBe(true)
    // A key nobody published is refused when the keys are pinned.
    useCertificateSeed(new Uint8Array(32).fill(3))
    await eraseThroughApi(t, (await t.createUser()).apiKey)
    const { certificates: all } = (
      await t.json('GET', '/v1/admin/erasure-certificates', { token: operator.session })
    ).body
    const pinnedToOld = await checkCertificate(all[2].document, { jwks })
    expect(pinnedToOld).toMatchObject({ ok: false })
    expect(pinnedToOld.reasons[0]).toContain('not among the trusted keys')
  })
})
