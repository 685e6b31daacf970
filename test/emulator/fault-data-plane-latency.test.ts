import t from 'tap'
import { dataPlaneToken, invoke, start } from './helpers/client.js'

t.test('latencyMs delays the response headers, then serves (or answers the fault status)', async t => {
  const emu = await start(t)
  const token = await dataPlaneToken(emu, 'fraud-model')
  emu.faults.dataPlane({ endpoint: 'fraud-model', latencyMs: 150, times: 1 })
  let started = Date.now()
  const slow = await invoke(emu, 'fraud-model', { inputs: [1] }, token)
  t.equal(slow.status, 200)
  t.ok(Date.now() - started >= 140, 'served after the latency')

  started = Date.now()
  t.equal((await invoke(emu, 'fraud-model', { inputs: [1] }, token)).status, 200)
  t.ok(Date.now() - started < 140, 'the one-shot latency is gone')

  emu.faults.dataPlane({ latencyMs: 100, status: 504, times: 1 })
  started = Date.now()
  t.equal((await invoke(emu, 'fraud-model', { inputs: [1] }, token)).status, 504)
  t.ok(Date.now() - started >= 90)
})
