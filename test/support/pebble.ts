import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { freePort, waitForPort } from './binary'

export interface Pebble {
  directoryUrl: string
  /** Pebble's own HTTPS certificate, to trust for the directory (ACME_CA_CERT). */
  caCertPath: string
  stop(): Promise<void>
}

let shared: { cert: string; key: string } | null = null

/**
 * One certificate for every pebble's own HTTPS listener: acme-client trusts extra CAs through a
 * process-wide agent, so all test CAs must present the same one.
 */
function listenerCertificate() {
  if (shared) return shared
  const dir = mkdtempSync(join(tmpdir(), 'custodian-pebble-cert-'))
  const cert = join(dir, 'cert.pem')
  const key = join(dir, 'key.pem')
  const subject = ['-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1']
  const openssl = Bun.spawnSync([
    'openssl',
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    key,
    '-out',
    cert,
    '-days',
    '2',
    ...subject,
  ])
  if (openssl.exitCode !== 0) throw new Error(`openssl failed: ${openssl.stderr}`)
  shared = { cert, key }
  return shared
}

/**
 * A throwaway Let's Encrypt test CA (Debian's pebble). `alwaysValid` skips challenge validation
 * (test domains cannot be reached); without it, the unreachable challenge fails and the CA
 * refuses the order. Null when pebble is not installed.
 */
export async function startPebble({ alwaysValid }: { alwaysValid: boolean }): Promise<Pebble | null> {
  const binary = Bun.which('pebble')
  if (!binary) return null
  const dir = mkdtempSync(join(tmpdir(), 'custodian-pebble-'))
  const { cert, key } = listenerCertificate()
  const port = await freePort()
  const config = join(dir, 'pebble.json')
  writeFileSync(
    config,
    JSON.stringify({
      pebble: {
        listenAddress: `127.0.0.1:${port}`,
        managementListenAddress: `127.0.0.1:${await freePort()}`,
        certificate: cert,
        privateKey: key,
        httpPort: await freePort(),
        tlsPort: await freePort(),
        ocspResponderURL: '',
        externalAccountBindingRequired: false,
      },
    }),
  )
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '',
    PEBBLE_VA_NOSLEEP: '1',
    PEBBLE_WFE_NONCEREJECT: '0',
  }
  if (alwaysValid) env.PEBBLE_VA_ALWAYS_VALID = '1'
  // A DNS server that answers nothing: an unreachable challenge fails at once, offline too.
  const proc = Bun.spawn([binary, '-config', config, '-dnsserver', '127.0.0.1:9'], {
    env,
    stdout: 'ignore',
    stderr: 'ignore',
  })
  await waitForPort(port, 'pebble')
  return {
    directoryUrl: `https://127.0.0.1:${port}/dir`,
    caCertPath: cert,
    async stop() {
      proc.kill()
      await proc.exited
    },
  }
}
