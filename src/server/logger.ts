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

/** What the exchange recorder writes its one line per request with (see createAccessLogger). */
export interface AccessLog {
  info: (line: Record<string, unknown>, msg: string) => void
  warn: (line: Record<string, unknown>, msg: string) => void
  /** Hands the lines of the current event-loop turn to the destination now (they go at the turn's end anyway). */
  flush: () => void
}

/**
 * The access logger: same destination, level, shape and field order as a `logger` line
 * (`{"level":30,"time":…,"service":"routegate",…fields,"msg":…}`), without the redaction pass and
 * without pino's generic serialisation: the line is built by hand (accessLine), which cost a
 * third of what pino's did per request, and written with the rest of its event-loop turn. Only the exchange recorder writes to it, with fields
 * that are safe by construction (see server/record.ts); every other line goes through `logger`.
 */
export function createAccessLogger (logger: Logger): AccessLog {
  const destination = (logger as unknown as Record<symbol, DestinationStream | undefined>)[pino.symbols.streamSym]
  if (destination === undefined) throw new TypeError('createAccessLogger: the logger has no destination stream')
  const time = createIsoTime()
  // The lines of one event-loop turn go to the destination in one write at its end: pino's
  // destination (sonic-boom) measures its whole pending buffer on every write, which made a
  // write per line cost about four times one per turn under load.
  let pending = ''
  let scheduled = false
  const flush = (): void => {
    scheduled = false
    if (pending === '') return
    const lines = pending
    pending = ''
    destination.write(lines)
  }
  const write = (level: number, line: Record<string, unknown>, msg: string): void => {
    // The logger's level is read per line, so a level changed on the logger holds here too.
    if (level < logger.levelVal) return
    pending += accessLine(level, time(), line, msg)
    if (!scheduled) {
      scheduled = true
      setImmediate(flush)
    }
  }
  return {
    info: (line, msg) => { write(30, line, msg) },
    warn: (line, msg) => { write(40, line, msg) },
    flush
  }
}

/** Plain printable ASCII without `"` or `\`: a JSON string as it stands. */
const PLAIN = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/

/**
 * One JSON line as pino writes it: level, `time` (pino's `,"time":…` fragment), the service
 * binding, the fields in order (undefined ones left out, like JSON.stringify), then `msg`.
 * Plain strings are quoted as they are; anything else goes through JSON.stringify.
 */
export function accessLine (level: number, time: string, fields: Record<string, unknown>, msg: string): string {
  let out = `{"level":${level}${time},"service":"routegate"`
  for (const key in fields) {
    const v = fields[key]
    if (v === undefined) continue
    out += `,"${key}":`
    if (typeof v === 'string') out += PLAIN.test(v) ? `"${v}"` : JSON.stringify(v)
    else if (typeof v === 'number') out += Number.isFinite(v) ? String(v) : 'null'
    else if (typeof v === 'boolean') out += v ? 'true' : 'false'
    else out += JSON.stringify(v) ?? 'null'
  }
  return `${out},"msg":${JSON.stringify(msg)}}\n`
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
