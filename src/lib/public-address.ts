import { lookup } from 'node:dns/promises'
import { isIP } from 'node:net'
import { fieldError } from '../errors'

export interface WebhookUrlPolicy {
  /** `http:` URLs too (WEBHOOKS_ALLOW_HTTP). */
  allowHttp: boolean
  /** Loopback, private, link-local and metadata addresses too (WEBHOOKS_ALLOW_PRIVATE_NETWORKS; tests). */
  allowPrivate: boolean
}

const V4_BLOCKED: [string, number][] = [
  ['0.0.0.0', 8], // "this network"
  ['10.0.0.0', 8],
  ['100.64.0.0', 10], // carrier-grade NAT
  ['127.0.0.0', 8],
  ['169.254.0.0', 16], // link-local, cloud metadata (169.254.169.254)
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.0.2.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['198.51.100.0', 24],
  ['203.0.113.0', 24],
  ['224.0.0.0', 4], // multicast
  ['240.0.0.0', 4], // reserved, broadcast
]

const v4Number = (address: string) => address.split('.').reduce((n, part) => n * 256 + Number(part), 0)

function v4Blocked(address: string): boolean {
  const n = v4Number(address)
  return V4_BLOCKED.some(([base, bits]) => {
    const size = 2 ** (32 - bits)
    return Math.floor(n / size) === Math.floor(v4Number(base) / size)
  })
}

function v6Blocked(address: string): boolean {
  const a = address.toLowerCase().replace(/^\[|\]$/g, '')
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(a)
  if (mapped?.[1]) return v4Blocked(mapped[1])
  // The same, as URL parsing writes it: ::ffff:7f00:1 is 127.0.0.1.
  const mappedHex = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(a)
  if (mappedHex?.[1] && mappedHex[2]) {
    const high = Number.parseInt(mappedHex[1], 16)
    const low = Number.parseInt(mappedHex[2], 16)
    return v4Blocked(`${high >> 8}.${high & 255}.${low >> 8}.${low & 255}`)
  }
  if (a === '::' || a === '::1') return true
  const first = Number.parseInt(a.split(':')[0] || '0', 16)
  return (
    (first & 0xfe00) === 0xfc00 || // unique local (fd00:ec2::254 is a metadata address)
    (first & 0xffc0) === 0xfe80 || // link-local
    (first & 0xff00) === 0xff00 || // multicast
    a.startsWith('64:ff9b:') // NAT64 (reaches IPv4 addresses)
  )
}

/** Why this address may not receive webhooks, or null when it is public. */
export function blockedAddressReason(address: string): string | null {
  const family = isIP(address)
  if (family === 4) return v4Blocked(address) ? `${address} is a loopback, private or reserved address` : null
  if (family === 6) return v6Blocked(address) ? `${address} is a loopback, private or reserved address` : null
  return `${address} is not an IP address`
}

/**
 * Checks an endpoint URL and the addresses its host resolves to now: at registration and again
 * before every delivery (a name may be rebound to an internal address after it was checked).
 * Throws a validation error on `url` naming the reason.
 */
export async function checkWebhookUrl(raw: string, policy: WebhookUrlPolicy): Promise<URL> {
  let url: URL
  try {
    url = new URL(raw)
  } catch {
    throw fieldError('url', 'must be an absolute URL')
  }
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && policy.allowHttp))
    throw fieldError('url', policy.allowHttp ? 'must be an http or https URL' : 'must be an https URL')
  if (url.username || url.password) throw fieldError('url', 'must not carry credentials')
  if (policy.allowPrivate) return url
  const host = url.hostname.replace(/^\[|\]$/g, '')
  let addresses: string[]
  if (isIP(host)) addresses = [host]
  else {
    try {
      addresses = (await lookup(host, { all: true, verbatim: true })).map((entry) => entry.address)
    } catch {
      throw fieldError('url', `the host ${host} does not resolve`)
    }
  }
  if (addresses.length === 0) throw fieldError('url', `the host ${host} does not resolve`)
  for (const address of addresses) {
    const reason = blockedAddressReason(address)
    if (reason) throw fieldError('url', `refused: ${reason} (webhooks go to public addresses only)`)
  }
  return url
}
