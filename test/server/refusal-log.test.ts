// Refused connections are logged once when they start and then once per interval with counts:
// at the connection cap ('drop') and when accept() fails for want of file descriptors.
import { EventEmitter } from 'node:events'
import t from 'tap'
import { intervalCounter, logRefusals } from '../../src/server/refusal-log.js'
import { captureLogs } from '../helpers/stack.js'
import pino from 'pino'

function timers () {
  const pending: Array<() => void> = []
  return { setTimeout: (fn: () => void) => { pending.push(fn); return {} }, fire: () => { pending.splice(0).forEach(f => { f() }) }, pending }
}

t.test('intervalCounter: first hit at once, then one line per interval with the count, quiet when idle', async t => {
  const tm = timers()
  const lines: number[] = []
  const hit = intervalCounter(n => { lines.push(n) }, { intervalMs: 1000, setTimeout: tm.setTimeout })
  hit()
  t.same(lines, [1])
  hit(); hit(); hit()
  t.same(lines, [1], 'within the interval: counted, not logged')
  tm.fire()
  t.same(lines, [1, 3])
  tm.fire()
  t.same(lines, [1, 3], 'an idle interval logs nothing')
  t.equal(tm.pending.length, 0, 'and stops its timer')
  hit()
  t.same(lines, [1, 3, 1], 'a new burst logs at once again')
})

t.test('logRefusals: drops and EMFILE/ENFILE accept errors are logged with counts; other errors too', async t => {
  const tm = timers()
  const logs = captureLogs()
  const server = new EventEmitter()
  logRefusals(server, pino(logs.stream), 500, { setTimeout: tm.setTimeout })
  const accept = (code: string): Error => Object.assign(new Error(`accept ${code}`), { code, syscall: 'accept' })
  server.emit('drop')
  server.emit('drop')
  server.emit('error', accept('EMFILE'))
  server.emit('error', accept('EMFILE'))
  server.emit('error', accept('EMFILE'))
  server.emit('error', accept('ENFILE'))
  tm.fire()
  const parsed = logs.lines.map(l => JSON.parse(l) as Record<string, unknown>)
  t.match(parsed, [
    { level: 40, maxConnections: 500, dropped: 1, msg: /connection cap reached.*server\.maxConnections/ },
    { level: 50, code: 'EMFILE', refused: 1, msg: /out of file descriptors \(EMFILE\).*ulimit -n/ },
    { level: 50, code: 'ENFILE', refused: 1, msg: /system is out of file descriptors \(ENFILE\)/ },
    { dropped: 1 },
    { code: 'EMFILE', refused: 2 }
  ])
  t.equal(parsed.length, 5, 'ENFILE had no more: no second line')
  server.emit('error', Object.assign(new Error('boom'), { code: 'ECONNRESET', syscall: 'read' }))
  t.match(JSON.parse(logs.lines.at(-1) ?? '{}'), { level: 50, msg: 'server error: boom' })
  server.emit('error', Object.assign(new Error('busy'), { code: 'EADDRINUSE', syscall: 'listen' }))
  t.equal(logs.lines.length, 6, 'listen errors are left to listen()')
})
