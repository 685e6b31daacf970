// Turns any error that reaches fastify's error handler into a contract error: fastify's own
// request errors map onto the contract's codes; an unexpected error never shows its message.
import { BadRequest, InternalError, PayloadTooLarge, RoutegateError, UnsupportedMediaType, type ErrorOptions } from '../errors.js'

/** A 4xx fastify raised that the contract has no own code for: BAD_REQUEST with fastify's status. */
export class ClientError extends BadRequest {
  override readonly statusCode: number
  constructor (status: number, message: string, options?: ErrorOptions) {
    super(message, options)
    this.statusCode = status
  }
}

const FASTIFY_CODES: Record<string, ((message: string) => RoutegateError) | undefined> = {
  FST_ERR_CTP_BODY_TOO_LARGE: (m) => new PayloadTooLarge(m),
  FST_ERR_CTP_INVALID_MEDIA_TYPE: (m) => new UnsupportedMediaType(m),
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: (m) => new BadRequest(m),
  FST_ERR_CTP_EMPTY_JSON_BODY: (m) => new BadRequest(m)
}

export function toWireError (err: unknown): RoutegateError {
  if (err instanceof RoutegateError) return err
  const e = err as { code?: unknown, statusCode?: unknown, message?: unknown } | null | undefined
  const message = typeof e?.message === 'string' ? e.message : 'bad request'
  const known = typeof e?.code === 'string' ? FASTIFY_CODES[e.code] : undefined
  if (known !== undefined) return known(message)
  const status = typeof e?.statusCode === 'number' ? e.statusCode : 500
  if (status >= 400 && status < 500) return new ClientError(status, message)
  // Never echo an unexpected error's message: it may carry internals.
  return new InternalError('internal error', { cause: err })
}
