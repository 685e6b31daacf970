// The one place a request's failure becomes its answer, whichever way the request came in (the
// node:http fast path, a handler, fastify's hooks and router): any error is made a contract error
// (fastify's own request errors map onto the contract's codes; an unexpected error never shows
// its message), kept on the exchange for its access line, and written in the exchange's shape.
import type { Logger } from 'pino'
import { BadRequest, ClientError, InternalError, PayloadTooLarge, RoutegateError, UnsupportedMediaType } from '../errors.js'
import { writeError } from '../proxy/error-response.js'
import type { Exchange } from './exchange.js'

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

/**
 * Answers `err` on the exchange (or cuts a response that already started). An error that is not
 * a contract error and maps to no 4xx is a bug: `logger` (the redacting one) keeps its stack.
 */
export function answerError (logger: Pick<Logger, 'error'>, ex: Exchange, err: unknown): void {
  const wire = toWireError(err)
  if (!(err instanceof RoutegateError) && wire.statusCode >= 500) logger.error({ err, requestId: ex.id }, 'unexpected error on the request path')
  ex.error = wire
  writeError(ex.res, wire, ex.id, ex.shape)
}
