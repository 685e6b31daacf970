// Every error routegate raises: the wire error codes of the contract, and internal ones.
// `err.code` is what callers see as `error_code`; branch on codes, never on classes.
import createError from '@fastify/error'

/** Contract errors: answered to callers as `{ error_code, message, request_id }`. */
export const BadRequest = createError('BAD_REQUEST', '%s', 400)
export const Unauthenticated = createError('UNAUTHENTICATED', '%s', 401)
export const PermissionDenied = createError('PERMISSION_DENIED', '%s', 403)
export const EndpointNotFound = createError('ENDPOINT_NOT_FOUND', '%s', 404)
export const MethodNotAllowed = createError('METHOD_NOT_ALLOWED', '%s', 405)
export const PayloadTooLarge = createError('PAYLOAD_TOO_LARGE', '%s', 413)
export const HeadersTooLarge = createError('HEADERS_TOO_LARGE', '%s', 431)
export const RequestLimitExceeded = createError('REQUEST_LIMIT_EXCEEDED', '%s', 429)
export const UpstreamUnavailable = createError('UPSTREAM_UNAVAILABLE', '%s', 502)
export const TokenUnavailable = createError('TOKEN_UNAVAILABLE', '%s', 503)
export const ServiceUnavailable = createError('SERVICE_UNAVAILABLE', '%s', 503)
export const EndpointNotReady = createError('ENDPOINT_NOT_READY', '%s', 503)
export const UpstreamTimeout = createError('UPSTREAM_TIMEOUT', '%s', 504)

/** Internal errors: start-up and token-endpoint failures, never sent to callers as-is. */
export const ConfigError = createError('ROUTEGATE_ERR_CONFIG', '%s', 500)
/** A token endpoint answered with an OAuth error (`oauthError` holds e.g. `invalid_client`). */
export const TokenEndpointError = createError('ROUTEGATE_ERR_TOKEN_ENDPOINT', '%s', 502)

/**
 * Codes the error handler passes through (415 comes from fastify's parser, 500 is what an
 * unexpected error becomes); anything else becomes INTERNAL_ERROR on the wire.
 */
export const WIRE_CODES: ReadonlySet<string> = new Set([
  'BAD_REQUEST', 'UNAUTHENTICATED', 'PERMISSION_DENIED', 'ENDPOINT_NOT_FOUND', 'METHOD_NOT_ALLOWED',
  'PAYLOAD_TOO_LARGE', 'UNSUPPORTED_MEDIA_TYPE', 'HEADERS_TOO_LARGE', 'REQUEST_LIMIT_EXCEEDED', 'UPSTREAM_UNAVAILABLE',
  'TOKEN_UNAVAILABLE', 'SERVICE_UNAVAILABLE', 'ENDPOINT_NOT_READY', 'UPSTREAM_TIMEOUT', 'INTERNAL_ERROR'
])

/** An error carrying extra response headers (Retry-After on 429/503). */
export interface WithHeaders { headers?: Record<string, string> }

export type CodedError = Error & { code: string, statusCode?: number } & WithHeaders
