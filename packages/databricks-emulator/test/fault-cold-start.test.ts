import t from 'tap'
import { dataPlaneToken, invoke, start } from './helpers/client.js'

const BODY = { inputs: [1] }

t.test('the first request after arming pays the delay; later ones are warm', async t => {
  const emu = await start(t)
  const token = await dataPlaneToken(emu, 'fraud-model')
  emu.faults.coldStart({ endpoint: 'fraud-model', delayMs: 400 })
  let started = Date.now()
  const first = invoke(emu, 'fraud-model', BODY, token)
  await new Promise(resolve => setTimeout(resolve, 50))
  const during = invoke(emu, 'fraud-model', BODY, token)
  t.equal((await first).status, 200)
  t.ok(Date.now() - started >= 390, 'first request waited for the cold start')
  t.equal((await during).status, 200, 'a request arriving mid-warm-up waits for the rest of it')
  t.ok(Date.now() - started >= 390)

  // Generous bound: a warm request must not pay the 400 ms again, even on a loaded machine.
  started = Date.now()
  t.equal((await invoke(emu, 'fraud-model', BODY, token)).status, 200)
  t.ok(Date.now() - started < 350, 'warm now')
})

t.test('a cold start with a status answers it once, then serves', async t => {
  const emu = await start(t)
  const token = await dataPlaneToken(emu, 'feed-ads')
  emu.faults.coldStart({ delayMs: 50, status: 504 })
  const cold = await invoke(emu, 'feed-ads', BODY, token)
  t.equal(cold.status, 504)
  t.same(cold.body, { error_code: 'DEADLINE_EXCEEDED', message: "Endpoint 'feed-ads' is scaling up from zero; retry shortly." })
  t.equal((await invoke(emu, 'feed-ads', BODY, token)).status, 200)

  emu.faults.coldStart({ endpoint: 'feed-ads', delayMs: 0, status: 503 })
  t.equal((await invoke(emu, 'feed-ads', BODY, token)).status, 503, 're-arming starts a new cold start')
  t.equal((await invoke(emu, 'feed-ads', BODY, token)).status, 200)
})

t.test('with no endpoint named, each endpoint pays its own cold start', async t => {
  const emu = await start(t)
  const fraud = await dataPlaneToken(emu, 'fraud-model')
  const ads = await dataPlaneToken(emu, 'feed-ads')
  emu.faults.coldStart({ delayMs: 10, status: 503 })
  t.equal((await invoke(emu, 'fraud-model', BODY, fraud)).status, 503)
  t.equal((await invoke(emu, 'feed-ads', BODY, ads)).status, 503)
  t.equal((await invoke(emu, 'feed-ads', BODY, ads)).status, 200)
})

t.test('a cold start is paid after authentication: bad tokens are refused at once', async t => {
  const emu = await start(t)
  emu.faults.coldStart({ delayMs: 10_000 })
  const started = Date.now()
  t.equal((await invoke(emu, 'fraud-model', BODY, undefined)).status, 401)
  t.ok(Date.now() - started < 1000)
})
