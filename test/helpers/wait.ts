// Test fixture: polling with a deadline, for what a test cannot wait on as an event.

/**
 * How long a poll waits before giving up: generous, for a loaded 2-core machine running two
 * suites at once. A poll returns as soon as its condition holds, so this only bounds a failure.
 */
export const WAIT_MS = 30_000

/** Checks `cond` every `intervalMs` until it holds or `timeoutMs` passed; returns its last answer. */
export async function waitFor (cond: () => boolean | Promise<boolean>, { timeoutMs = WAIT_MS, intervalMs = 10 }: { timeoutMs?: number, intervalMs?: number } = {}): Promise<boolean> {
  const end = Date.now() + timeoutMs
  while (!(await cond())) {
    if (Date.now() >= end) return false
    await new Promise(resolve => setTimeout(resolve, intervalMs))
  }
  return true
}
