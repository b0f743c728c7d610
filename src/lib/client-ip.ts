/** The socket peer, as Elysia's context exposes the server (null under app.handle in tests). */
export interface PeerSource {
  requestIP(request: Request): { address: string } | null
}

/**
 * The client's IP: the socket peer, or — when `trustProxy` names how many proxies in front of us
 * append to X-Forwarded-For — the address the outermost trusted proxy saw. Never an empty string:
 * in-process requests (no socket) are "local".
 */
export function clientIp(
  request: Request,
  server: PeerSource | null | undefined,
  trustProxy: number,
): string {
  const socket = server?.requestIP(request)?.address ?? 'local'
  if (trustProxy <= 0) return socket
  const forwarded = request.headers.get('x-forwarded-for')
  if (!forwarded) return socket
  const hops = forwarded
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0)
  if (hops.length === 0) return socket
  // Each trusted proxy appended the address it saw; the client is trustProxy entries from the end.
  return hops[Math.max(0, hops.length - trustProxy)] as string
}
