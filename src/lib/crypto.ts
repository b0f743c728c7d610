export function sha256Hex(input: string | Uint8Array | ArrayBuffer): string {
  // Bun's one-shot hash: 0.19 µs against 0.46 µs for a CryptoHasher (every API-key request).
  return Bun.SHA256.hash(input, 'hex')
}

/**
 * Constant-time comparison of two digests of equal, public length (hex): every character is
 * looked at whatever the first difference, and nothing is allocated.
 */
export function digestsEqual(a: string, b: string): boolean {
  if (a.length !== b.length) return false
  let difference = 0
  for (let i = 0; i < a.length; i++) difference |= a.charCodeAt(i) ^ b.charCodeAt(i)
  return difference === 0
}
