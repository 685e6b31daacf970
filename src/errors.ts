// Every error routegate raises, as a catalogue of classes in the style of undici's errors: each
// class fixes its `code` (what callers see as `error_code`) and HTTP status, and carries nothing
// else but a message, an optional cause (for logs only) and the response headers it needs
// (Retry-After, WWW-Authenticate). Branch on `code`, or on a class when the distinction is not a
// wire code (a connect failure may be retried; a caller that went away is no one's fault).
import type { OAuthCode } from './tokens/oauth-errors.js'

export interface ErrorOptions {
  cause?: unknown
  /** Extra response headers (lower-case names), e.g. `retry-after`. */
  headers?: Readonly<Record<string, string>>
}

const NO_HEADERS: Readonly<Record<string, string>> = Object.freeze({})

/** A contract error: answered to callers as `{ error_code, message, request_id }` with `statusCode`. */
export class RoutegateError extends Error {
  readonly code: string = 'INTERNAL_ERROR'
  readonly statusCode: number = 500
  readonly headers: Readonly<Record<string, string>>

  constructor (message: string, options: ErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    this.headers = options.headers ?? NO_HEADERS
  }

  override get name (): string { return this.constructor.name }
}

export class BadRequest extends RoutegateError {
  override readonly code = 'BAD_REQUEST'
  override readonly statusCode: number = 400
}
/** A 4xx fastify raised that the contract has no own code for: BAD_REQUEST with fastify's status. */
export class ClientError extends BadRequest {
  override readonly statusCode: number
  constructor (status: number, message: string, options?: ErrorOptions) {
    super(message, options)
    this.statusCode = status
  }
}
export class Unauthenticated extends RoutegateError {
  override readonly code = 'UNAUTHENTICATED'
  override readonly statusCode: number = 401
}
export class PermissionDenied extends RoutegateError {
  override readonly code = 'PERMISSION_DENIED'
  override readonly statusCode: number = 403
}
export class EndpointNotFound extends RoutegateError {
  override readonly code = 'ENDPOINT_NOT_FOUND'
  override readonly statusCode: number = 404
}
export class MethodNotAllowed extends RoutegateError {
  override readonly code = 'METHOD_NOT_ALLOWED'
  override readonly statusCode: number = 405
}
export class PayloadTooLarge extends RoutegateError {
  override readonly code = 'PAYLOAD_TOO_LARGE'
  override readonly statusCode: number = 413
}
export class UnsupportedMediaType extends RoutegateError {
  override readonly code = 'UNSUPPORTED_MEDIA_TYPE'
  override readonly statusCode: number = 415
}
export class RequestLimitExceeded extends RoutegateError {
  override readonly code = 'REQUEST_LIMIT_EXCEEDED'
  override readonly statusCode: number = 429
}
export class HeadersTooLarge extends RoutegateError {
  override readonly code = 'HEADERS_TOO_LARGE'
  override readonly statusCode: number = 431
}
export class InternalError extends RoutegateError {}
export class UpstreamUnavailable extends RoutegateError {
  override readonly code = 'UPSTREAM_UNAVAILABLE'
  override readonly statusCode: number = 502
}
/** Connecting failed: the request never left, so one retry on a new connection is safe. */
export class UpstreamConnectFailed extends UpstreamUnavailable {}
/** The upstream answered with something that is not valid HTTP (bad status, framing, a body where none may be). */
export class UpstreamInvalidResponse extends UpstreamUnavailable {}
/** The endpoint's circuit breaker is open: failing fast without trying. */
export class CircuitOpen extends UpstreamUnavailable {}
/** The control plane refused the workspace token on a look-up: mint a new one next time. */
export class ControlPlaneRefused extends UpstreamUnavailable {}
/**
 * The caller went away before it was answered: nobody to answer, and nobody's failure (not the
 * upstream's: no breaker, no 5xx). Never written to a caller; its code names it in the access
 * line, counted as nginx's 499.
 */
export class CallerGone extends RoutegateError {
  override readonly code = 'CLIENT_CLOSED_REQUEST'
  override readonly statusCode: number = 499
}
export class TokenUnavailable extends RoutegateError {
  override readonly code = 'TOKEN_UNAVAILABLE'
  override readonly statusCode: number = 503
}
/** A TOKEN_UNAVAILABLE that says which fixed-list code caused it (a nested workspace-token failure keeps it). */
export class NoToken extends TokenUnavailable {
  readonly reason: OAuthCode
  constructor (message: string, reason: OAuthCode, options: { headers: Record<string, string> }) {
    super(message, options)
    this.reason = reason
  }
}
export class ServiceUnavailable extends RoutegateError {
  override readonly code = 'SERVICE_UNAVAILABLE'
  override readonly statusCode: number = 503
}
export class EndpointNotReady extends RoutegateError {
  override readonly code = 'ENDPOINT_NOT_READY'
  override readonly statusCode: number = 503
}
export class UpstreamTimeout extends RoutegateError {
  override readonly code = 'UPSTREAM_TIMEOUT'
  override readonly statusCode: number = 504
}

/** Internal errors: start-up and token-endpoint failures, never sent to callers as-is. */
export class ConfigError extends Error {
  readonly code = 'ROUTEGATE_ERR_CONFIG'
  override get name (): string { return 'ConfigError' }
}
/** A token fetch failed: `reason` is a code of the fixed OAuth list (tokens/oauth-errors.ts). */
export class TokenEndpointError extends Error {
  readonly code = 'ROUTEGATE_ERR_TOKEN_ENDPOINT'
  readonly reason: OAuthCode
  readonly status: number | undefined
  /** Retry-After of the answer, in ms (capped by the broker). */
  readonly retryAfterMs: number | undefined
  /** A transport failure's code (ECONNREFUSED, TIMEOUT), for logs. */
  readonly transport: string | undefined

  constructor (message: string, info: { reason: OAuthCode, status?: number | undefined, retryAfterMs?: number | undefined, transport?: string, cause?: unknown }) {
    super(message, info.cause === undefined ? undefined : { cause: info.cause })
    this.reason = info.reason
    this.status = info.status
    this.retryAfterMs = info.retryAfterMs
    this.transport = info.transport
  }

  override get name (): string { return 'TokenEndpointError' }
}

/** A key source could not produce keys at all (IdP down, bad file): the caller gets a 503, not a 401. */
export class KeysUnavailable extends Error {
  readonly code = 'ROUTEGATE_ERR_JWKS_UNAVAILABLE'
  override get name (): string { return 'KeysUnavailable' }
}
/** A body read from an untrusted party (io/read-limited.ts) exceeded its cap; `limit` says which. */
export class BodyTooLarge extends Error {
  readonly code = 'ROUTEGATE_ERR_BODY_TOO_LARGE'
  readonly limit: number
  constructor (limit: number) {
    super(`response body is larger than ${limit} bytes`)
    this.limit = limit
  }

  override get name (): string { return 'BodyTooLarge' }
}
/** A command line that cannot be run as written: the CLI prints the message and the command's usage, and exits 64. */
export class UsageError extends Error {
  /** The usage text of the command that refused the line; the general usage when undefined. */
  readonly usage: string | undefined

  constructor (message: string, usage?: string) {
    super(message)
    this.usage = usage
  }

  override get name (): string { return 'UsageError' }
}
/** A command-line argument or option value that cannot be right (the CLI exits 64 on it). */
export class InvalidArgument extends Error {
  readonly code = 'ROUTEGATE_ERR_INVALID_ARGUMENT'
  override get name (): string { return 'InvalidArgument' }
}
/**
 * The workspace REST API answered with an error: `errorCode` and the message are Databricks' own
 * (`{"error_code", "message"}`, docs/databricks-protocol.md §7); the message reads `CODE: text`.
 */
export class WorkspaceApiError extends Error {
  readonly code = 'ROUTEGATE_ERR_WORKSPACE_API'
  readonly errorCode: string
  readonly status: number | undefined

  constructor (errorCode: string, message: string, info: { status?: number | undefined, cause?: unknown } = {}) {
    super(`${errorCode}: ${message}`, info.cause === undefined ? undefined : { cause: info.cause })
    this.errorCode = errorCode
    this.status = info.status
  }

  override get name (): string { return 'WorkspaceApiError' }
}
