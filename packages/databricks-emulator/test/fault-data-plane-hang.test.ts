import t from 'tap'
import { startEmulator } from '../src/index.js'
import { dataPlaneToken, invoke, sleep, start } from './helpers/client.js'

t.test('a hung request never answers; the client can give up and others are served', async t => {
  const emu = await start(t)
  const token = await dataPlaneToken(emu, 'fraud-model')
  emu.faults.dataPlane({ endpoint: 'fraud-model', hang: true, times: 1 })
  const ac = new AbortController()
  const hung = fetch(emu.endpointUrl('fraud-model'), {
    method: 'POST',
    signal: ac.signal,
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: '{"inputs":[1]}'
  })
  const outcome = await Promise.race([hung.then(() => 'answered', () => 'failed'), sleep(200).then(() => 'pending')])
  t.equal(outcome, 'pending')
  ac.abort()
  await t.rejects(hung, { name: 'AbortError' })
  t.same(emu.stats().invocations['fraud-model'], { hang: 1 })
  t.equal((await invoke(emu, 'fraud-model', { inputs: [1] }, token)).status, 200)
})

t.test('close() releases hung requests instead of waiting for them', async t => {
  const emu = await startEmulator()
  const token = await dataPlaneToken(emu, 'feed-ads')
  emu.faults.dataPlane({ hang: true })
  const hung = t.rejects(invoke(emu, 'feed-ads', { inputs: [1] }, token), { message: 'fetch failed' })
  await sleep(50)
  const started = Date.now()
  await emu.close()
  t.ok(Date.now() - started < 1000, 'closed promptly')
  await hung
})
