// Polls an endpoint until it is READY with no config update in progress, reporting each state
// change, within a deadline; a failed or canceled update ends the wait (docs/databricks-protocol.md §8).
import { WorkspaceApiError } from '../errors.js'
import type { ServingEndpoint } from './serving-endpoints.js'
import { stateOf } from './describe.js'

export interface WaitOptions {
  get: () => Promise<ServingEndpoint>
  timeoutMs: number
  /** Polls start 1 s apart and double up to this (a new endpoint takes minutes; a test's, a second). */
  maxIntervalMs: number
  /** Monotonic clock in ms. */
  now: () => number
  sleep: (ms: number) => Promise<void>
  /** Called with the endpoint whenever its state (ready, config_update) differs from the last poll's. */
  onChange?: (e: ServingEndpoint, elapsedMs: number) => void
  /** Called when a poll failed in a way worth trying again (the wait goes on to its deadline). */
  onRetry?: (err: Error, elapsedMs: number) => void
}

/**
 * A poll that failed for a reason that passes (the workspace busy or unreachable for a moment):
 * 429, 5xx, or no answer at all. Anything else (403, 404: deleted meanwhile) ends the wait.
 */
export function isTransient (err: unknown): boolean {
  return err instanceof WorkspaceApiError && (err.status === undefined || err.status === 429 || err.status >= 500)
}

export type WaitOutcome =
  | { outcome: 'ready', endpoint: ServingEndpoint, elapsedMs: number }
  | { outcome: 'failed', endpoint: ServingEndpoint, elapsedMs: number }
  | { outcome: 'timeout', endpoint: ServingEndpoint | undefined, elapsedMs: number }

/** Ready: serving, and nothing pending that would change what it serves. */
export function isSettled (e: ServingEndpoint): boolean {
  return e.state?.ready === 'READY' && (e.state.config_update === undefined || e.state.config_update === 'NOT_UPDATING')
}

/** The update will not finish on its own: a wait on it would only run into its deadline. */
export function hasFailed (e: ServingEndpoint): boolean {
  const update = e.state?.config_update
  if (update === 'UPDATE_FAILED' || update === 'UPDATE_CANCELED') return true
  // A new endpoint whose only deployment failed reports it on the served entity.
  return e.state?.ready !== 'READY' && (e.config?.served_entities ?? []).some(s => s.state?.deployment === 'DEPLOYMENT_FAILED' || s.state?.deployment === 'DEPLOYMENT_ABORTED')
}

export async function waitUntilReady (opts: WaitOptions): Promise<WaitOutcome> {
  const start = opts.now()
  let last: ServingEndpoint | undefined
  let lastState: string | undefined
  let interval = Math.min(1000, opts.maxIntervalMs)
  // Bounded: each round either sleeps toward the deadline or returns.
  for (;;) {
    let e: ServingEndpoint
    try {
      e = await opts.get()
    } catch (err) {
      if (!isTransient(err)) throw err
      const elapsedMs = opts.now() - start
      opts.onRetry?.(err as Error, elapsedMs)
      const left = opts.timeoutMs - elapsedMs
      if (left <= 0) return { outcome: 'timeout', endpoint: last, elapsedMs }
      await opts.sleep(Math.min(interval, left))
      interval = Math.min(interval * 2, opts.maxIntervalMs)
      continue
    }
    const elapsedMs = opts.now() - start
    last = e
    const state = stateOf(e)
    if (state !== lastState) {
      lastState = state
      opts.onChange?.(e, elapsedMs)
    }
    if (isSettled(e)) return { outcome: 'ready', endpoint: e, elapsedMs }
    if (hasFailed(e)) return { outcome: 'failed', endpoint: e, elapsedMs }
    const left = opts.timeoutMs - elapsedMs
    if (left <= 0) return { outcome: 'timeout', endpoint: last, elapsedMs }
    await opts.sleep(Math.min(interval, left))
    interval = Math.min(interval * 2, opts.maxIntervalMs)
  }
}

/** `1m05s`, `42s`, `1h02m`. */
export function formatElapsed (ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000))
  if (s < 60) return `${s}s`
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`
}
