import t from 'tap'
import type { RunningEmulator } from '../src/index.js'
import { controlPlaneToken, dataPlaneToken, start } from './helpers/client.js'

function post (emu: RunningEmulator, path: string, token: string | undefined): Promise<Response> {
  return fetch(`${emu.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token === undefined ? {} : { authorization: `Bearer ${token}` }) },
    body: '{"inputs":[[1,2]]}'
  })
}

t.test('a route-optimized endpoint refuses the workspace URL unless workspaceUrlAllowed', async t => {
  const emu = await start(t, { endpoints: [{ name: 'new-ro' }, { name: 'old-ro', workspaceUrlAllowed: true }, { name: 'legacy', routeOptimized: false }] })
  const cp = await controlPlaneToken(emu)

  const refused = await post(emu, '/serving-endpoints/new-ro/invocations', cp)
  t.equal(refused.status, 400)
  t.same(await refused.json(), {
    error_code: 'BAD_REQUEST',
    message: "Endpoint 'new-ro' is route-optimized and can only be queried through its route-optimized URL (data_plane_info.query_info.endpoint_url)."
  })
  for (const path of ['/serving-endpoints/old-ro/invocations', '/api/serving-endpoints/old-ro/invocations', '/serving-endpoints/legacy/invocations']) {
    const res = await post(emu, path, cp)
    t.equal(res.status, 200, path)
    t.same(await res.json(), { predictions: [3] }, path)
  }
  t.same(emu.stats().workspaceInvocations, { 'new-ro': { 400: 1 }, 'old-ro': { 200: 2 }, legacy: { 200: 1 } })
  t.same(emu.stats().invocations, {}, 'none of it counts as data-plane traffic')
  t.equal(emu.stats().lastInvocation?.via, 'workspace')
})

t.test('workspace-URL auth: unscoped tokens need the grant, scoped ones must cover the endpoint', async t => {
  const emu = await start(t, {
    endpoints: [{ name: 'a', routeOptimized: false }, { name: 'b', routeOptimized: false }],
    principals: [
      { clientId: 'only-a', clientSecret: 's', permissions: [{ endpoint: 'a', actions: ['query_inference_endpoint'] }] }
    ]
  })
  const cp = await controlPlaneToken(emu)
  t.equal((await post(emu, '/serving-endpoints/a/invocations', cp)).status, 200)
  const denied = await post(emu, '/serving-endpoints/b/invocations', cp)
  t.equal(denied.status, 403)
  t.same(await denied.json(), { error_code: 'PERMISSION_DENIED', message: "User does not have permission to query serving endpoint 'b'." })

  const scopedA = await dataPlaneToken(emu, 'a')
  t.equal((await post(emu, '/serving-endpoints/a/invocations', scopedA)).status, 200)
  t.equal((await post(emu, '/serving-endpoints/b/invocations', scopedA)).status, 403)

  t.equal((await post(emu, '/serving-endpoints/a/invocations', undefined)).status, 401)
  t.equal((await post(emu, '/serving-endpoints/nope/invocations', cp)).status, 404)
})

t.test('a workspace-URL token in its last 30 s gets the documented 403', async t => {
  let now = 1_000_000
  const emu = await start(t, { now: () => now, endpoints: [{ name: 'a', routeOptimized: false }] })
  const cp = await controlPlaneToken(emu)
  now += 3600_000 - 10_000
  const res = await post(emu, '/serving-endpoints/a/invocations', cp)
  t.equal(res.status, 403)
  t.same(await res.json(), { error_code: 'PERMISSION_DENIED', message: 'Token is expiring within 30 seconds. (token expired)' })
})
