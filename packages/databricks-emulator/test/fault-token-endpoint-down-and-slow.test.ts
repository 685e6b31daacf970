import t from 'tap'
import { basic, start, tokenRequest } from './helpers/client.js'

const FORM = { grant_type: 'client_credentials', scope: 'all-apis' }

t.test('down destroys the connection without an answer', async t => {
  const emu = await start(t)
  emu.faults.token({ down: true, times: 1 })
  await t.rejects(tokenRequest(emu, FORM), { message: 'fetch failed' })
  t.equal(emu.stats().tokenRequests, 1)
  const p = emu.principals[0]!
  t.equal((await tokenRequest(emu, FORM, { authorization: basic(p.clientId, p.clientSecret) })).status, 200)
})

t.test('latency alone delays a normal answer; with a status it delays the error', async t => {
  const emu = await start(t)
  const p = emu.principals[0]!
  emu.faults.token({ latencyMs: 150, times: 1 })
  let started = Date.now()
  const slow = await tokenRequest(emu, FORM, { authorization: basic(p.clientId, p.clientSecret) })
  t.equal(slow.status, 200)
  t.ok(Date.now() - started >= 140, 'answered after the latency')

  emu.faults.token({ latencyMs: 100, status: 503 })
  started = Date.now()
  const res = await tokenRequest(emu, FORM)
  t.equal(res.status, 503)
  t.ok(Date.now() - started >= 90)
})

t.test('closing during injected latency drops the request promptly', async t => {
  const emu = await start(t)
  emu.faults.token({ latencyMs: 60_000 })
  const pending = t.rejects(tokenRequest(emu, FORM))
  await new Promise(resolve => setTimeout(resolve, 50))
  const started = Date.now()
  await emu.close()
  t.ok(Date.now() - started < 1000)
  await pending
})
