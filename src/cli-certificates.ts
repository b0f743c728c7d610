import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Store } from '../db/store'
import { checkCertificateAndChain } from './services/certificate-format'
import { listCertificates } from './services/erasure-certificates'

type Out = (line: string) => void

/**
 * `custodian verify-certificate FILE [--chain DIR] [--key JWKS-FILE]`: offline — no database, no
 * network. Checks the form, the internal consistency and the Ed25519 signature; with --key, that
 * the signing key is one of the published ones; with --chain, that the certificates of DIR form an
 * unbroken chain from the first to this one. Exit 0 valid, 1 invalid (with the reason), 2 misuse.
 */
export async function verifyCertificateCommand(
  file: string | undefined,
  flags: { chain?: string; key?: string; json?: boolean },
  out: Out,
): Promise<number> {
  if (!file) {
    process.stderr.write('verify-certificate needs the certificate file: custodian verify-certificate FILE\n')
    return 2
  }
  let text: string
  let jwks: { keys: Record<string, unknown>[] } | undefined
  let chain: string[] | undefined
  try {
    text = readFileSync(file, 'utf8')
    if (flags.key) jwks = JSON.parse(readFileSync(flags.key, 'utf8'))
    if (flags.chain)
      chain = readdirSync(flags.chain)
        .filter((name) => name.endsWith('.json'))
        .map((name) => readFileSync(join(flags.chain as string, name), 'utf8'))
  } catch (error) {
    process.stderr.write(`cannot read: ${(error as Error).message}\n`)
    return 2
  }
  if (jwks && !Array.isArray(jwks.keys)) {
    process.stderr.write(`${flags.key} is not a JWK Set ({"keys": [...]})\n`)
    return 2
  }
  const result = await checkCertificateAndChain(text, { jwks, chain })
  if (flags.json)
    out(
      JSON.stringify({
        valid: result.ok,
        reasons: result.reasons,
        erasure_id: result.payload?.erasure_id ?? null,
        seq: result.payload?.seq ?? null,
      }),
    )
  else if (result.ok) {
    out(
      `VALID: erasure ${result.payload?.erasure_id} (certificate ${result.payload?.seq}), completed ${result.payload?.completed_at}`,
    )
    for (const reason of result.reasons) out(`  ${reason}`)
  } else out(`INVALID: ${result.reasons.join('; ')}`)
  return result.ok ? 0 : 1
}

/** `custodian certificates export --to DIR`: every certificate as `<seq>-<erasure id>.json`, for --chain. */
export async function exportCertificatesCommand(
  store: Store,
  flags: { to?: string; json?: boolean },
  out: Out,
): Promise<number> {
  if (!flags.to) {
    process.stderr.write('certificates export needs --to DIR\n')
    return 2
  }
  if (!existsSync(flags.to)) mkdirSync(flags.to, { recursive: true, mode: 0o700 })
  let after = 0
  let written = 0
  for (;;) {
    const page = await listCertificates(store, after, 500)
    for (const row of page.rows) {
      // Written as they are: the signed bytes, unchanged (rewriting one is harmless, same bytes).
      writeFileSync(join(flags.to, `${String(row.seq).padStart(8, '0')}-${row.erasureId}.json`), row.document)
      written++
      after = row.seq
    }
    if (!page.hasMore) break
  }
  if (flags.json) out(JSON.stringify({ written, directory: flags.to }))
  else out(`Wrote ${written} certificate(s) to ${flags.to}`)
  return 0
}
