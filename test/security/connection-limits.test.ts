import * as net from 'node:net'
import t from 'tap'
import { request } from 'undici'
import { sleep, startStack } from '../helpers/stack.js'
import { target } from './helpers/raw.js'
import { waitFor } from '../helpers/wait.js'

t.test('server.maxConnections refuses connections past the cap, and says so in the log (once per window)', async t => {
  const s = await startStack(t, { config: (doc) => { doc.server.maxConnections = 2 } })
  const { host, port } = target(s.gatewayUrl)
  const open = async (): Promise<{ sock: net.Socket, closed: Promise<void> }> => {
    const sock = net.connect(port, host)
    sock.on('error', () => {})
    t.teardown(() => { sock.destroy() })
    const closed = new Promise<void>(resolve => sock.once('close', () => resolve()))
    await new Promise<void>(resolve => { sock.once('connect', () => resolve()); sock.once('close', () => resolve()) })
    return { sock, closed }
  }
  const kept = [await open(), await open()]
  await sleep(50)
  const extra = [await open(), await open(), await open()]
  let dropped = false
  Promise.all(extra.map(e => e.closed)).then(() => { dropped = true }, () => {})
  t.ok(await waitFor(() => dropped), 'connections past the cap are dropped')
  t.notOk(kept.some(k => k.sock.destroyed), 'the ones under the cap stay')
  await waitFor(() => s.logs.some(l => l.includes('connection cap reached')))
  const lines = s.logs.filter(l => l.includes('connection cap reached'))
  t.equal(lines.length, 1, 'logged once for the burst, not per connection')
  t.match(JSON.parse(lines[0] ?? '{}'), { maxConnections: 2, dropped: 1 })
})

t.test('a 401 answer closes its connection', async t => {
  const s = await startStack(t)
  const res = await request(`${s.gatewayUrl}/serving-endpoints/fraud-model/invocations`, { method: 'POST', body: '{}' })
  await res.body.dump()
  t.equal(res.statusCode, 401)
  t.equal(res.headers.connection, 'close')
})
