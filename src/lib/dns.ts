import { resolve4, resolveCname } from 'node:dns/promises'

/** The DNS lookups the domain check needs; injectable so tests need no real DNS. */
export interface DnsResolver {
  resolve4(host: string): Promise<string[]>
  resolveCname(host: string): Promise<string[]>
}

const empty = (error: unknown): string[] => {
  const code = (error as { code?: string }).code
  if (
    code === 'ENODATA' ||
    code === 'ENOTFOUND' ||
    code === 'ESERVFAIL' ||
    code === 'ETIMEOUT' ||
    code === 'ECONNREFUSED'
  )
    return []
  throw error
}

/** The system resolver; "no such record" is an empty answer, not an error. */
export const systemResolver: DnsResolver = {
  resolve4: (host) => resolve4(host).catch(empty),
  resolveCname: (host) => resolveCname(host).catch(empty),
}
