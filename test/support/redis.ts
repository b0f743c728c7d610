import { freePort, waitForPort } from './binary'

export interface RedisProcess {
  url: string
  port: number
  /** Sends a signal (SIGSTOP stalls it, SIGCONT resumes it). */
  signal(signal: NodeJS.Signals): void
  stop(): Promise<void>
}

/**
 * Starts a throwaway redis-server on a free loopback port (or on `port`, to bring one back where
 * it was), or null when none is installed.
 */
export async function startRedis(port?: number): Promise<RedisProcess | null> {
  const binary = Bun.which('redis-server')
  if (!binary) return null
  port ??= await freePort()
  const proc = Bun.spawn(
    [binary, '--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    {
      stdout: 'ignore',
      stderr: 'ignore',
    },
  )
  await waitForPort(port, 'redis-server', 5000)
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    signal: (signal) => proc.kill(signal),
    async stop() {
      proc.kill()
      await proc.exited
    },
  }
}
