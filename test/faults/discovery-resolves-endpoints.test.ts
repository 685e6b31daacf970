import t from 'tap'
import { request } from 'undici'
import { startStack } from '../helpers/stack.js'

// Endpoints configured by name only: url and id come from GET /api/2.0/serving-endpoints/{name}.
const discovered = (names: string[]) => (doc: any) => {
  doc.endpoints = names.map(name => ({ name, workspace: 'emu' }))
}

t.test('discovers url and authorization_details, single flight, cached until a 401 evicts them', async t => {
  const s = await startStack(t, { config: discovered(['fraud-model', 'feed-ads']) })
  const results = await Promise.all(Array.from({ length: 50 }, (_, i) => s.invoke('fraud-model', { inputs: [i] })))
  t.same(results.map(r => r.status), Array(50).fill(200))
  t.equal(s.emu.stats().controlPlaneRequests, 1, 'one lookup for 50 concurrent cold requests')
  const fraud = s.emu.endpoints['fraud-model']!
  t.same(s.emu.stats().lastInvocation?.tokenScope, [`${fraud.id}:query_inference_endpoint`], 'token scoped by the discovered details')
  t.equal(s.emu.stats().mints.byScope.workspace, 1, 'one workspace token for the lookup')

  for (let i = 0; i < 10; i++) await s.invoke('fraud-model', { inputs: [i] })
  t.equal(s.emu.stats().controlPlaneRequests, 1, 'cached')

  s.emu.revoke({ endpoint: 'fraud-model' })
  t.equal((await s.invoke('fraud-model', { inputs: [1] })).status, 200, 'replayed after the 401')
  t.equal(s.emu.stats().controlPlaneRequests, 2, 'info re-resolved after eviction')
})

t.test('missing, not route-optimized and not-ready endpoints fail clearly', async t => {
  const s = await startStack(t, {
    emulator: { endpoints: [{ name: 'fraud-model' }, { name: 'feed-ads', routeOptimized: false }, { name: 'cold', ready: false }] },
    config: discovered(['fraud-model', 'feed-ads', 'cold', 'gone'])
  })
  const notRo = await s.invoke('feed-ads', { inputs: [1] })
  t.equal(notRo.status, 404)
  t.equal(notRo.json().error_code, 'ENDPOINT_NOT_FOUND')
  t.match(notRo.json().message, /not route optimized/)
  const gone = await s.invoke('gone', { inputs: [1] })
  t.equal(gone.status, 404)
  t.match(gone.json().message, /does not exist/)
  const cold = await s.invoke('cold', { inputs: [1] })
  t.equal(cold.status, 503)
  t.equal(cold.json().error_code, 'ENDPOINT_NOT_READY')
  t.ok(cold.headers['retry-after'])
  const lookups = s.emu.stats().controlPlaneRequests
  await s.invoke('gone', { inputs: [1] })
  t.equal(s.emu.stats().controlPlaneRequests, lookups, 'a failed lookup is not repeated at once')

  const ready = await request(`${s.adminUrl}/readyz`)
  t.equal(ready.statusCode, 200, 'one broken endpoint does not take the instance out of the load balancer')
  const body = await ready.body.json() as any
  t.equal(body.endpoints['fraud-model'].ready, true)
  t.equal(body.endpoints.cold.ready, false, 'the body says which cannot be served')
  const metrics = await (await request(`${s.adminUrl}/metrics`)).body.text()
  t.match(metrics, /routegate_endpoint_ready\{endpoint="fraud-model"\} 1/)
  t.match(metrics, /routegate_endpoint_ready\{endpoint="cold"\} 0/)
  t.match(body.endpoints.cold.lastError, /ENDPOINT_NOT_READY/)
})
