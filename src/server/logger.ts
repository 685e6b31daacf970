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
    timestamp: createIsoTime()
  }, opts.destination ?? stdoutDestination())
}

/** How often buffered log lines are written out at the latest. */
const FLUSH_MS = 250

/**
 * Standard output, written in batches: under load one write per 4 KiB of lines instead of one
 * per line (the access line's write was the largest single cost of a request after the
 * sockets' own), and at least every FLUSH_MS when traffic is light. pino flushes what is left
 * when the process exits.
 */
function stdoutDestination (): DestinationStream {
  const dest = pino.destination({ sync: false, minLength: 4096 })
  const timer = setInterval(() => {
    try {
      dest.flush()
    } catch {
      clearInterval(timer) // destroyed: the process is ending
    }
  }, FLUSH_MS)
  timer.unref()
  return dest
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
    timestamp: createIsoTime()
  }, destination)
}

/**
 * pino's isoTime, formatted once per millisecond: under load many lines share one, and
 * Date#toISOString was a visible part of each access line's cost.
 */
export function createIsoTime (): () => string {
  let lastMs = -1
  let lastTime = ''
  return () => {
    const ms = Date.now()
    if (ms !== lastMs) {
      lastMs = ms
      lastTime = `,"time":"${new Date(ms).toISOString()}"`
    }
    return lastTime
  }
}
