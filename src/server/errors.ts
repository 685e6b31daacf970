// Turns any error into the contract's JSON error: status, error_code, a safe message, headers.
import { WIRE_CODES, type CodedError } from '../errors.js'

export interface WireError {
  status: number
  code: string
  message: string
  headers: Record<string, string>
}

// Fastify's own request errors, mapped onto the contract's codes.
const FASTIFY_CODES: Record<string, { status: number, code: string } | undefined> = {
  FST_ERR_CTP_BODY_TOO_LARGE: { status: 413, code: 'PAYLOAD_TOO_LARGE' },
  FST_ERR_CTP_INVALID_MEDIA_TYPE: { status: 415, code: 'UNSUPPORTED_MEDIA_TYPE' },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: { status: 400, code: 'BAD_REQUEST' },
  FST_ERR_CTP_EMPTY_JSON_BODY: { status: 400, code: 'BAD_REQUEST' }
}

export function toWireError (err: unknown): WireError {
  const e = err as Partial<CodedError>
  const code = e.code ?? ''
  if (WIRE_CODES.has(code)) {
    return { status: e.statusCode ?? 500, code, message: e.message ?? code, headers: e.headers ?? {} }
  }
  const known = FASTIFY_CODES[code]
  if (known !== undefined) return { ...known, message: e.message ?? known.code, headers: {} }
  const status = e.statusCode ?? 500
  if (status >= 400 && status < 500) return { status, code: 'BAD_REQUEST', message: e.message ?? 'bad request', headers: {} }
  // Never echo an unexpected error's message: it may carry internals.
  return { status: 500, code: 'INTERNAL_ERROR', message: 'internal error', headers: {} }
}
