import { Writable } from 'node:stream'
import { pino } from 'pino'
import t from 'tap'
import { accessLine, createAccessLogger, createIsoTime, createLogger } from '../../src/server/logger.js'

/** A pino destination that keeps every line written to it. */
function sink (): { stream: Writable & { write: (s: string) => boolean }, lines: string[] } {
  const lines: string[] = []
  const stream = new Writable({ write (chunk: Buffer, _enc, cb) { lines.push(...chunk.toString().split('\n').filter(l => l !== '')); cb() } })
  return { stream, lines }
}

const FIELDS = {
  requestId: 'req-1',
  traceId: 'a'.repeat(32),
  method: 'POST',
  endpoint: 'chat "quoted" \\ name\u2028',
  caller: undefined,
  keyIndex: 0,
  status: 502,
  durationMs: 1.234,
  upstreamMs: undefined,
  bytesIn: 0,
  error_code: 'UPSTREAM_UNAVAILABLE',
  replayed: true,
  notANumber: NaN,
  cause: { code: 'ECONNRESET', message: 'socket "hang" up' }
}

t.test('accessLine writes what pino writes for the same fields, byte for byte', async t => {
  const time = createIsoTime()
  const fixed = time()
  const { stream, lines } = sink()
  const viaPino = pino({ base: { service: 'routegate' }, timestamp: () => fixed }, stream)
  viaPino.warn(FIELDS, 'request completed')
  viaPino.info({ a: 'plain' }, 'request completed')
  await new Promise(resolve => setImmediate(resolve))
  t.equal(accessLine(40, fixed, FIELDS, 'request completed'), `${lines[0]}\n`)
  t.equal(accessLine(30, fixed, { a: 'plain' }, 'request completed'), `${lines[1]}\n`)
  const parsed = JSON.parse(accessLine(40, fixed, FIELDS, 'request completed'))
  t.equal(parsed.endpoint, FIELDS.endpoint, 'quotes, backslashes and separators survive the round trip')
  t.notOk('caller' in parsed, 'undefined fields are left out')
  t.equal(parsed.notANumber, null)
})

t.test('the access logger writes to the logger\'s destination at the logger\'s level', async t => {
  const { stream, lines } = sink()
  const logger = createLogger({ level: 'warn', destination: stream })
  const access = createAccessLogger(logger)
  access.info({ status: 200 }, 'request completed')
  access.warn({ status: 502 }, 'request completed')
  logger.level = 'info'
  access.info({ status: 201 }, 'request completed')
  await new Promise(resolve => setImmediate(resolve))
  t.same(lines.map(l => [JSON.parse(l).level, JSON.parse(l).status, JSON.parse(l).service]), [[40, 502, 'routegate'], [30, 201, 'routegate']])
})

t.test('the lines of one event-loop turn reach the destination in one write, at the turn\'s end or on flush()', async t => {
  const writes: string[] = []
  const stream = new Writable({ write (chunk: Buffer, _enc, cb) { writes.push(chunk.toString()); cb() } })
  const logger = createLogger({ destination: stream })
  const access = createAccessLogger(logger)
  access.info({ n: 1 }, 'request completed')
  access.warn({ n: 2 }, 'request completed')
  t.same(writes, [], 'nothing written within the turn')
  await new Promise(resolve => setImmediate(resolve))
  t.equal(writes.length, 1, 'one write for the turn')
  t.same(writes[0]?.split('\n').filter(l => l !== '').map(l => JSON.parse(l).n), [1, 2], 'in order')
  access.info({ n: 3 }, 'request completed')
  access.flush()
  await new Promise(resolve => setImmediate(resolve))
  t.equal(writes.length, 2, 'flush() writes at once; the scheduled turn end finds nothing left')
  t.equal(JSON.parse(writes[1] ?? '').n, 3)
})
