// The process logger: pino, with every credential path redacted before it is written.
import { pino, type DestinationStream, type Logger } from 'pino'

/** Paths pino censors wherever they appear in a log object (fastify's req/res serialisers included). */
export const REDACT_PATHS = [
  'req.headers.authorization', 'req.headers["x-api-key"]', 'req.headers.cookie', 'req.headers["proxy-authorization"]',
  'res.headers["set-cookie"]', 'headers.authorization', 'headers["x-api-key"]', 'headers.cookie',
  '*.authorization', '*["x-api-key"]', 'authorization',
  'clientSecret', '*.clientSecret', 'client_secret', '*.client_secret',
  'token', '*.token', 'accessToken', '*.accessToken', 'access_token', '*.access_token',
  'assertion', '*.assertion', 'key', '*.key', 'callerKey', '*.callerKey', 'secret', '*.secret', 'password', '*.password'
]

export interface LoggerOptions {
  level?: string
  /** Where lines go (stdout by default); tests pass a stream to read them. */
  destination?: DestinationStream
}

export function createLogger (opts: LoggerOptions = {}): Logger {
  return pino({
    level: opts.level ?? 'info',
    base: { service: 'routegate' },
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    timestamp: pino.stdTimeFunctions.isoTime
  }, opts.destination ?? pino.destination({ sync: false }))
}

/**
 * The access logger: same destination, level and shape as `logger`, without the redaction pass.
 * Only the exchange recorder writes to it, with fields that are safe by construction (see
 * server/record.ts); every other line keeps going through `logger` and its redaction.
 */
export function createAccessLogger (logger: Logger): Logger {
  const destination = (logger as unknown as Record<symbol, DestinationStream>)[pino.symbols.streamSym]
  return pino({
    level: logger.level,
    base: { service: 'routegate' },
    timestamp: pino.stdTimeFunctions.isoTime
  }, destination)
}
