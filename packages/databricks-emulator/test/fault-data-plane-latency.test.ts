import t from 'tap'
import { startEmulator } from '../src/index.js'
import { dataPlaneToken, invoke, start } from './helpers/client.js'

t.test('latencyMs delays the response headers, then serves (or answers the fault status)', async t => {
  const emu = await start(t)
  const token = await dataPlaneToken(emu, 'fraud-model')
  emu.faults.dataPlane({ endpoint: 'fraud-model', latencyMs: 150, times: 1 })
  let started = Date.now()
  const slow = await invoke(emu, 'fraud-model', { inputs: [1] }, token)
  t.equal(slow.status, 200)
  t.ok(Date.now() - started >= 140, 'served after the latency')

  t.same(emu.faults.list().dataPlane, [], 'the one-shot latency is used up')

  emu.faults.dataPlane({ latencyMs: 100, status: 504, times: 1 })
  started = Date.now()
  t.equal((await invoke(emu, 'fraud-model', { inputs: [1] }, token)).status, 504)
  t.ok(Date.now() - started >= 90)
})

t.test('closing during injected latency or a cold start drops those requests promptly', async t => {
  const emu = await startEmulator()
  const token = await dataPlaneToken(emu, 'fraud-model')
  emu.faults.dataPlane({ endpoint: 'fraud-model', latencyMs: 60_000 })
  emu.faults.coldStart({ endpoint: 'feed-ads', delayMs: 60_000 })
  const adsToken = await dataPlaneToken(emu, 'feed-ads')
  // Handlers are attached before close() so the rejections are never unhandled.
  const slow = t.rejects(invoke(emu, 'fraud-model', { inputs: [1] }, token), { message: 'fetch failed' })
  const cold = t.rejects(invoke(emu, 'feed-ads', { inputs: [1] }, adsToken), { message: 'fetch failed' })
  await new Promise(resolve => setTimeout(resolve, 100))
  const started = Date.now()
  await emu.close()
  t.ok(Date.now() - started < 1000)
  await slow
  await cold
})
