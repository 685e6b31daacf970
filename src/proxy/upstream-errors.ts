// The one place where a transport failure becomes a contract error, and where it is described
// for the log. undici's errors carry codes (UND_ERR_*, HPE_* from llhttp, errno codes from the
// socket); the contract has fewer, and some distinctions matter to the forwarder as classes.
import {
  BadRequest, CallerGone, RoutegateError, UpstreamConnectFailed, UpstreamInvalidResponse, UpstreamTimeout, UpstreamUnavailable
} from '../errors.js'

// Failures before a byte of the request left: safe to try once more on a new connection.
const CONNECT_FAILURES: Record<string, string> = {
  UND_ERR_CONNECT_TIMEOUT: 'connecting to the endpoint timed out',
  ECONNREFUSED: 'endpoint refused the connection',
  ENOTFOUND: 'endpoint host could not be resolved',
  EAI_AGAIN: 'endpoint host could not be resolved',
  EHOSTUNREACH: 'endpoint host is unreachable',
  ENETUNREACH: 'endpoint network is unreachable',
  ERR_TLS_CERT_ALTNAME_INVALID: 'endpoint TLS certificate does not name its host',
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'endpoint TLS certificate is not trusted',
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: 'endpoint TLS certificate is not trusted',
  DEPTH_ZERO_SELF_SIGNED_CERT: 'endpoint TLS certificate is not trusted (self-signed)',
  SELF_SIGNED_CERT_IN_CHAIN: 'endpoint TLS certificate is not trusted (self-signed)',
  CERT_HAS_EXPIRED: 'endpoint TLS certificate has expired'
}

export function upstreamError (err: unknown): RoutegateError {
  if (err instanceof RoutegateError) return err
  const e = err as { code?: unknown, name?: unknown, cause?: unknown } | null | undefined
  // A body stream that failed (limit, caller cut off) surfaces as the request's own error.
  if (e?.cause instanceof RoutegateError) return e.cause
  const code = typeof e?.code === 'string' ? e.code : typeof e?.name === 'string' ? e.name : ''
  const connect = CONNECT_FAILURES[code]
  if (connect !== undefined) return new UpstreamConnectFailed(connect, { cause: err })
  if (code.startsWith('HPE_')) return new UpstreamInvalidResponse('endpoint answered with invalid HTTP', { cause: err })
  switch (code) {
    case 'UND_ERR_HEADERS_TIMEOUT':
      return new UpstreamTimeout('endpoint did not answer in time', { cause: err })
    case 'UND_ERR_BODY_TIMEOUT':
      return new UpstreamTimeout('endpoint stopped sending its answer', { cause: err })
    case 'UND_ERR_ABORTED':
    case 'AbortError':
      return new CallerGone('request cancelled: the caller went away', { cause: err })
    case 'UND_ERR_RES_CONTENT_LENGTH_MISMATCH':
      return new UpstreamInvalidResponse('endpoint answer does not match its content-length', { cause: err })
    case 'HTTPParserError':
    case 'UND_ERR_INFO':
    case 'UND_ERR_NOT_SUPPORTED':
      return new UpstreamInvalidResponse('endpoint answered with invalid HTTP', { cause: err })
    case 'UND_ERR_REQ_CONTENT_LENGTH_MISMATCH':
      return new BadRequest('request body does not match its content-length', { cause: err })
    case 'ECONNRESET':
    case 'UND_ERR_SOCKET':
    case 'EPIPE':
      return new UpstreamUnavailable('connection to the endpoint was reset', { cause: err })
    default:
      return new UpstreamUnavailable('connection to the endpoint failed', { cause: err })
  }
}

export interface CauseSummary { code?: string, message: string }

/**
 * What the log may say of an error: its code and message, cut and cleaned. Never the error
 * object itself: undici's HTTPParserError keeps the raw response bytes (model output) in `data`,
 * and a stack trace of an expected failure is noise.
 */
export function describeCause (err: unknown): CauseSummary | undefined {
  const root = err instanceof RoutegateError && err.cause !== undefined ? err.cause : err
  if (root === null || typeof root !== 'object') return undefined
  const r = root as { code?: unknown, message?: unknown }
  const out: CauseSummary = { message: clean(typeof r.message === 'string' ? r.message : '') }
  if (typeof r.code === 'string') out.code = clean(r.code).slice(0, 64)
  return out
}

function clean (s: string): string {
  return s.slice(0, 200).replace(/[^\x20-\x7e]/g, '?')
}
