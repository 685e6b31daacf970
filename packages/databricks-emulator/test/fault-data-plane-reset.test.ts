import t from 'tap'
import { request } from 'undici'
import { dataPlaneToken, invoke, start } from './helpers/client.js'

t.test('reset destroys the socket on arrival, without an answer', async t => {
  const emu = await start(t)
  const token = await dataPlaneToken(emu, 'fraud-model')
  emu.faults.dataPlane({ reset: true, times: 1 })
  const err = await request(emu.endpointUrl('fraud-model'), {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: '{"inputs":[1]}'
  }).then(() => undefined, (e: Error & { code?: string }) => e)
  t.ok(err, 'the request failed')
  t.match(err?.code, /^(ECONNRESET|UND_ERR_SOCKET)$/)
  t.same(emu.stats().invocations['fraud-model'], { reset: 1 })
  t.equal((await invoke(emu, 'fraud-model', { inputs: [1] }, token)).status, 200)
})
