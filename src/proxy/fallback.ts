// Fallback's two rules: which endpoints a request may go on to (the listed ones the caller may
// use, each once, never the primary) and which failures send it there (docs/beyond.md "Fallback").
import { CallerGone, CircuitOpen, ControlPlaneRefused, EndpointNotReady, TokenUnavailable, UpstreamConnectFailed, type RoutegateError } from '../errors.js'

/** The fallbacks to try in order: listed, allowed for the caller, not the primary, no repeats. */
export function fallbackOrder (primary: string, listed: readonly string[], mayUse: (name: string) => boolean): string[] {
  const seen = new Set([primary])
  const out: string[] = []
  for (const name of listed) {
    if (seen.has(name)) continue
    seen.add(name)
    if (mayUse(name)) out.push(name)
  }
  return out
}

/**
 * Whether a failure before any byte reached the caller sends the request to a fallback: the
 * endpoint cannot be reached (connect failed, circuit open, discovery refused), has no token
 * (by error), or answered 429 or 503 (by status). Branches on classes: a connect failure and a
 * reset after the request was sent share UPSTREAM_UNAVAILABLE, and only the first is safe to resend.
 */
export function fallsBack (failure: number | RoutegateError): boolean {
  if (typeof failure === 'number') return failure === 429 || failure === 503
  if (failure instanceof CallerGone) return false
  return failure instanceof UpstreamConnectFailed || failure instanceof CircuitOpen || failure instanceof ControlPlaneRefused ||
    failure instanceof TokenUnavailable || failure instanceof EndpointNotReady
}
