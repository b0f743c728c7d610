/**
 * Waits for something that happens in the background (a reconnect, a VACUUM) by polling, and
 * fails naming `what` past `ms`. A bound on waiting, not a timing the test asserts.
 */
export async function until(condition: () => boolean | Promise<boolean>, what: string, ms = 20_000) {
  const deadline = Date.now() + ms
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await Bun.sleep(50)
  }
}
