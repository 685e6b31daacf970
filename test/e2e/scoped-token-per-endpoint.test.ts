import t from 'tap'
import { request } from 'undici'
import { startStack, CALLER_KEY } from '../helpers/stack.js'

t.test('each endpoint receives a token scoped to its own id, and a token for A is refused by B', async t => {
  const s = await startStack(t)
  const fraud = s.emu.endpoints['fraud-model']!
  const ads = s.emu.endpoints['feed-ads']!

  const a = await s.invoke('fraud-model', { dataframe_split: { columns: ['x', 'y'], data: [[1, 2], [3, 4]] } })
  t.equal(a.status, 200)
  t.same(a.json(), { predictions: [3, 7] })
  t.equal(a.headers['served-model-name'], fraud.servedModelName)
  t.same(s.emu.stats().lastInvocation?.tokenScope, [`${fraud.id}:query_inference_endpoint`])
  const tokenA = String(s.emu.stats().lastInvocation?.headers.authorization).replace(/^Bearer /, '')
  t.not(tokenA, CALLER_KEY)

  const b = await s.invoke('feed-ads', { dataframe_records: [{ x: 5 }] })
  t.equal(b.status, 200)
  t.same(b.json(), { predictions: [5] })
  t.same(s.emu.stats().lastInvocation?.tokenScope, [`${ads.id}:query_inference_endpoint`])

  // Replay endpoint A's token against endpoint B directly: the data plane refuses it.
  const cross = await request(s.emu.endpointUrl('feed-ads'), {
    method: 'POST',
    headers: { authorization: `Bearer ${tokenA}`, 'content-type': 'application/json' },
    body: JSON.stringify({ inputs: [1] })
  })
  t.equal(cross.statusCode, 403)
  t.equal((await cross.body.json() as any).error_code, 'PERMISSION_DENIED')

  t.equal(s.emu.mintsFor('fraud-model'), 1)
  t.equal(s.emu.mintsFor('feed-ads'), 1)
})
