import t from 'tap'
import { controlPlaneToken, get, start } from './helpers/client.js'

const ID = '88fd3f75a0d24b0380ddc40484d7a31b'

t.test('a route-optimized endpoint carries data_plane_info with a JSON-encoded authorization_details string', async t => {
  const emu = await start(t, { endpoints: [{ name: 'feed-ads', id: ID, servedModelName: 'ads1-1' }] })
  const res = await get(emu, '/api/2.0/serving-endpoints/feed-ads', await controlPlaneToken(emu))
  t.equal(res.status, 200)
  const url = `${emu.url}/${emu.workspaceId}/serving-endpoints/feed-ads/invocations`
  t.equal(url, emu.endpointUrl('feed-ads'))
  t.match(res.body, {
    name: 'feed-ads',
    id: ID,
    route_optimized: true,
    endpoint_url: url,
    data_plane_info: { query_info: { endpoint_url: url } },
    state: { ready: 'READY', config_update: 'NOT_UPDATING' },
    config: {
      served_entities: [{ name: 'ads1-1', scale_to_zero_enabled: true, state: { deployment: 'DEPLOYMENT_READY' } }],
      traffic_config: { routes: [{ served_model_name: 'ads1-1', traffic_percentage: 100 }] }
    },
    permission_level: 'CAN_MANAGE'
  })
  t.type(res.body.creation_timestamp, 'number')
  t.equal(res.body.data_plane_info.query_info.authorization_details,
    `[{"type":"workspace_permission","object_type":"serving-endpoints","object_path":"/serving-endpoints/${ID}","actions":["query_inference_endpoint"]}]`)
})

t.test('a non-route-optimized endpoint has neither endpoint_url nor data_plane_info', async t => {
  const emu = await start(t, { endpoints: [{ name: 'legacy', routeOptimized: false }] })
  const res = await get(emu, '/api/2.0/serving-endpoints/legacy', await controlPlaneToken(emu))
  t.equal(res.status, 200)
  t.equal(res.body.route_optimized, false)
  t.notOk('endpoint_url' in res.body)
  t.notOk('data_plane_info' in res.body)
})

t.test('a not-ready endpoint reports NOT_READY and a creating deployment', async t => {
  const emu = await start(t, { endpoints: [{ name: 'warming', ready: false }] })
  const res = await get(emu, '/api/2.0/serving-endpoints/warming', await controlPlaneToken(emu))
  t.equal(res.status, 200)
  t.same(res.body.state, { ready: 'NOT_READY', config_update: 'NOT_UPDATING' })
  t.equal(res.body.config.served_entities[0].state.deployment, 'DEPLOYMENT_CREATING')
  t.ok(res.body.data_plane_info)
})

t.test('a missing endpoint is RESOURCE_DOES_NOT_EXIST', async t => {
  const emu = await start(t)
  const res = await get(emu, '/api/2.0/serving-endpoints/nope', await controlPlaneToken(emu))
  t.equal(res.status, 404)
  t.same(res.body, { error_code: 'RESOURCE_DOES_NOT_EXIST', message: "Endpoint with name 'nope' does not exist." })
})

t.test('permission_level follows the grant; no grant is PERMISSION_DENIED; the list shows visible endpoints', async t => {
  const emu = await start(t, {
    principals: [{ clientId: 'q', clientSecret: 's', permissions: [{ endpoint: 'fraud-model', actions: ['query_inference_endpoint'] }] }]
  })
  const cp = await controlPlaneToken(emu)
  t.equal((await get(emu, '/api/2.0/serving-endpoints/fraud-model', cp)).body.permission_level, 'CAN_QUERY')
  const denied = await get(emu, '/api/2.0/serving-endpoints/feed-ads', cp)
  t.equal(denied.status, 403)
  t.same(denied.body, { error_code: 'PERMISSION_DENIED', message: "User does not have permission to view serving endpoint 'feed-ads'." })
  const list = await get(emu, '/api/2.0/serving-endpoints', cp)
  t.equal(list.status, 200)
  t.same(list.body.endpoints.map((e: { name: string }) => e.name), ['fraud-model'])
})

t.test('endpoint URLs follow the Host the client used', async t => {
  const emu = await start(t)
  const res = await emu.app.inject({
    method: 'GET',
    url: '/api/2.0/serving-endpoints/fraud-model',
    headers: { host: 'ws.example.test:8443', authorization: `Bearer ${await controlPlaneToken(emu)}` }
  })
  t.equal(res.json().endpoint_url, `http://ws.example.test:8443/${emu.workspaceId}/serving-endpoints/fraud-model/invocations`)
})
