// The two error body shapes the emulator speaks: OAuth (RFC 6749 §5.2) and Databricks REST (README, Errors).
import type { FastifyReply } from 'fastify'

export const API_ERROR_CODES = {
  badRequest: 'BAD_REQUEST',
  invalidParameterValue: 'INVALID_PARAMETER_VALUE',
  unauthenticated: 'UNAUTHENTICATED',
  permissionDenied: 'PERMISSION_DENIED',
  resourceDoesNotExist: 'RESOURCE_DOES_NOT_EXIST',
  resourceAlreadyExists: 'RESOURCE_ALREADY_EXISTS',
  resourceConflict: 'RESOURCE_CONFLICT',
  endpointNotFound: 'ENDPOINT_NOT_FOUND',
  requestLimitExceeded: 'REQUEST_LIMIT_EXCEEDED',
  internalError: 'INTERNAL_ERROR',
  temporarilyUnavailable: 'TEMPORARILY_UNAVAILABLE',
  deadlineExceeded: 'DEADLINE_EXCEEDED'
} as const

const CODE_BY_STATUS: Record<number, string> = {
  400: API_ERROR_CODES.badRequest,
  401: API_ERROR_CODES.unauthenticated,
  403: API_ERROR_CODES.permissionDenied,
  404: API_ERROR_CODES.resourceDoesNotExist,
  413: API_ERROR_CODES.badRequest,
  429: API_ERROR_CODES.requestLimitExceeded,
  503: API_ERROR_CODES.temporarilyUnavailable,
  504: API_ERROR_CODES.deadlineExceeded
}

/** The Databricks `error_code` conventionally paired with an HTTP status (py `errors/platform.py`). */
export function apiErrorCodeFor (status: number): string {
  return CODE_BY_STATUS[status] ?? (status >= 500 ? API_ERROR_CODES.internalError : API_ERROR_CODES.badRequest)
}

/** The status of an error reaching an error handler: fastify's own carry statusCode; anything else is a bug, so 500. */
export function statusOf (err: { statusCode?: number }): number {
  return err.statusCode !== undefined && err.statusCode >= 400 ? err.statusCode : 500
}

export function sendApiError (reply: FastifyReply, status: number, errorCode: string, message: string): FastifyReply {
  return reply.code(status).type('application/json').send({ error_code: errorCode, message })
}

/**
 * A data-plane error in one of the two forms serving endpoints answer with: `error_code` as a
 * string, or as the HTTP status with the reason in an `X-Databricks-Reason-Phrase` header.
 */
export function sendDataPlaneError (
  reply: FastifyReply,
  status: number,
  form: 'string' | 'numeric',
  errorCode: string,
  message: string,
  reasonPhrase?: string
): FastifyReply {
  const phrase = reasonPhrase ?? (form === 'numeric' ? message : undefined)
  // Header values must be visible ASCII; messages may quote anything a client sent.
  if (phrase !== undefined) reply.header('x-databricks-reason-phrase', phrase.replace(/[^\x20-\x7e]/g, '?'))
  return reply.code(status).type('application/json').send({ error_code: form === 'numeric' ? status : errorCode, message })
}

export const OAUTH_ERRORS = {
  invalidRequest: 'invalid_request',
  invalidClient: 'invalid_client',
  invalidGrant: 'invalid_grant',
  invalidScope: 'invalid_scope',
  invalidAuthorizationDetails: 'invalid_authorization_details',
  unsupportedGrantType: 'unsupported_grant_type',
  accessDenied: 'access_denied',
  temporarilyUnavailable: 'temporarily_unavailable',
  serverError: 'server_error'
} as const

const OAUTH_STATUS: Record<string, number> = {
  invalid_client: 401,
  access_denied: 403,
  temporarily_unavailable: 503,
  server_error: 500
}

/** Status for an OAuth error code: 401 for invalid_client, 400 for the request errors (README, Token endpoint). */
export function oauthStatusFor (error: string): number {
  return OAUTH_STATUS[error] ?? 400
}

/** An OAuth error code for a bare status, used when a fault names only the status. */
export function oauthErrorFor (status: number): string {
  if (status === 401) return OAUTH_ERRORS.invalidClient
  if (status === 403) return OAUTH_ERRORS.accessDenied
  if (status === 429 || status === 503) return OAUTH_ERRORS.temporarilyUnavailable
  if (status >= 500) return OAUTH_ERRORS.serverError
  return OAUTH_ERRORS.invalidRequest
}

// java's TokenEndpointClient ignores the status and looks only for `error`, so every failure carries one.
export function sendOAuthError (reply: FastifyReply, status: number, error: string, description: string): FastifyReply {
  return reply.code(status)
    .type('application/json')
    .header('cache-control', 'no-store')
    .send({ error, error_description: description })
}
