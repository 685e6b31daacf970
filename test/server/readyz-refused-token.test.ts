// /readyz: a held token that the endpoint refuses (401/403 from its data plane, the broker
// backing off fresh refusals) is reported as `refused`, and the endpoint as not ready, although
// the token is far from its expiry.
import t from 'tap'
import { request } from 'undici'
import { startStack } from '../helpers/stack.js'

t.test('a refused token is not valid in /readyz', async t => {
  const s = await startStack(t)
  t.equal((await s.invoke('fraud-model')).status, 200)
  const readyz = async (): Promise<any> => await (await request(`${s.adminUrl}/readyz`)).body.json()
  t.match((await readyz()).endpoints['fraud-model'], { ready: true, token: 'valid' })
  // The endpoint refuses every token from now on (its principal lost permission, say).
  s.emu.faults.dataPlane({ endpoint: 'fraud-model', status: 403 })
  // First refusal: a fresh token is minted and refused too; from then on the key backs off.
  for (let i = 0; i < 3; i++) t.equal((await s.invoke('fraud-model')).status, 403)
  const after = await readyz()
  t.match(after.endpoints['fraud-model'], { ready: false, token: 'refused' })
  t.match(after.endpoints['feed-ads'], { ready: true, token: 'valid' }, 'other endpoints are unaffected')
  s.emu.faults.clear()
})
