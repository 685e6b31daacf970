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
