import t from 'tap'
import { clock, controlPlaneToken, dataPlaneToken, get, invoke, start } from './helpers/client.js'
import type { RunningEmulator } from '../src/index.js'

async function call (emu: RunningEmulator, method: string, path: string, token: string, body?: unknown): Promise<{ status: number, body: any }> {
  const res = await fetch(`${emu.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) })
  })
  return { status: res.status, body: await res.json() }
}

const MODEL = { name: 'ads-v2', config: { served_entities: [{ entity_name: 'main.ads.ranker', entity_version: '3', workload_size: 'Small', scale_to_zero_enabled: true }] }, route_optimized: true }
const FEATURES = { name: 'user-features', config: { served_entities: [{ entity_name: 'main.features.user_spec', workload_type: 'CPU', workload_size: 'Medium' }] }, route_optimized: true }

t.test('a created route-optimized model endpoint is NOT_READY, then READY after the delay, and serves on its data-plane URL', async t => {
  const time = clock()
  const emu = await start(t, { now: time.now, readyDelayMs: 5000, endpoints: [] })
  const cp = await controlPlaneToken(emu)
  const created = await call(emu, 'POST', '/api/2.0/serving-endpoints', cp, MODEL)
  t.equal(created.status, 200)
  const url = `${emu.url}/${emu.workspaceId}/serving-endpoints/ads-v2/invocations`
  t.match(created.body, {
    name: 'ads-v2',
    id: /^[0-9a-f]{32}$/,
    creator: emu.principals[0]!.clientId,
    route_optimized: true,
    endpoint_url: url,
    data_plane_info: { query_info: { endpoint_url: url } },
    state: { ready: 'NOT_READY', config_update: 'IN_PROGRESS' },
    config: {
      served_entities: [{ name: 'ranker-3', entity_name: 'main.ads.ranker', entity_version: '3', workload_type: 'CPU', workload_size: 'Small', scale_to_zero_enabled: true, state: { deployment: 'DEPLOYMENT_CREATING' } }],
      traffic_config: { routes: [{ served_model_name: 'ranker-3', traffic_percentage: 100 }] },
      config_version: 1
    },
    permission_level: 'CAN_MANAGE'
  })
  t.equal(emu.endpoints['ads-v2']!.id, created.body.id, 'the emulator object sees it too')
  t.equal(created.body.data_plane_info.query_info.authorization_details,
    `[{"type":"workspace_permission","object_type":"serving-endpoints","object_path":"/serving-endpoints/${created.body.id as string}","actions":["query_inference_endpoint"]}]`)

  const token = await dataPlaneToken(emu, 'ads-v2')
  const early = await invoke(emu, 'ads-v2', { inputs: [[1, 2]] }, token)
  t.equal(early.status, 503, 'not ready yet')
  time.advance(4999)
  t.equal((await get(emu, '/api/2.0/serving-endpoints/ads-v2', cp)).body.state.ready, 'NOT_READY')
  time.advance(1)
  const ready = await get(emu, '/api/2.0/serving-endpoints/ads-v2', cp)
  t.same(ready.body.state, { ready: 'READY', config_update: 'NOT_UPDATING' })
  t.equal(ready.body.config.served_entities[0].state.deployment, 'DEPLOYMENT_READY')
  const served = await invoke(emu, 'ads-v2', { inputs: [[1, 2]] }, token)
  t.equal(served.status, 200)
  t.same(served.body, { predictions: [3] })
  t.equal(served.headers.get('served-model-name'), 'ranker-3')

  const list = await get(emu, '/api/2.0/serving-endpoints', cp)
  t.same(list.body.endpoints.map((e: { name: string }) => e.name), ['ads-v2'])
  const again = await call(emu, 'POST', '/api/2.0/serving-endpoints', cp, MODEL)
  t.equal(again.status, 409)
  t.same(again.body, { error_code: 'RESOURCE_ALREADY_EXISTS', message: 'Endpoint with name \'ads-v2\' already exists.' })
})

t.test('a feature-spec endpoint answers dataframe_records with one deterministic output per record', async t => {
  const emu = await start(t, { readyDelayMs: 0, endpoints: [] })
  const cp = await controlPlaneToken(emu)
  const created = await call(emu, 'POST', '/api/2.0/serving-endpoints', cp, FEATURES)
  t.equal(created.status, 200)
  const entity = created.body.config.served_entities[0]
  t.notOk('entity_version' in entity, 'a feature spec has no version')
  t.match(entity, { name: 'user-spec', entity_name: 'main.features.user_spec', workload_size: 'Medium' })
  t.same(created.body.state, { ready: 'READY', config_update: 'NOT_UPDATING' }, 'a zero delay is ready at once')

  const token = await dataPlaneToken(emu, 'user-features')
  const body = { dataframe_records: [{ user_id: 7 }, { user_id: 8, region: 'eu' }, { user_id: 7 }] }
  const res = await invoke(emu, 'user-features', body, token)
  t.equal(res.status, 200)
  t.equal(res.body.outputs.length, 3)
  t.match(res.body.outputs[0], { user_id: 7, feature_0: Number, feature_1: Number, feature_2: Number })
  t.match(res.body.outputs[1], { user_id: 8, region: 'eu' })
  t.same(res.body.outputs[0], res.body.outputs[2], 'same keys, same features')
  t.notSame(res.body.outputs[0].feature_0, res.body.outputs[1].feature_0)
  t.same((await invoke(emu, 'user-features', body, token)).body, res.body, 'deterministic across requests')
  const wrong = await invoke(emu, 'user-features', { inputs: [1] }, token)
  t.equal(wrong.status, 400)
  t.same(wrong.body, { error_code: 'INVALID_PARAMETER_VALUE', message: 'A feature serving endpoint takes {"dataframe_records": [{<lookup keys>}, ...]}.' })
  t.equal((await invoke(emu, 'user-features', { dataframe_records: [{}] }, token)).status, 400)
})

t.test('a configured featureSpec endpoint serves features too', async t => {
  const emu = await start(t, { endpoints: [{ name: 'fs', featureSpec: 'main.fs.spec' }] })
  const res = await invoke(emu, 'fs', { dataframe_records: [{ id: 1 }] }, await dataPlaneToken(emu, 'fs'))
  t.equal(res.body.outputs.length, 1)
  const described = await get(emu, '/api/2.0/serving-endpoints/fs', await controlPlaneToken(emu))
  t.notOk('entity_version' in described.body.config.served_entities[0])
})

t.test('DELETE removes an endpoint: control plane and data plane answer 404', async t => {
  const emu = await start(t)
  const cp = await controlPlaneToken(emu)
  const token = await dataPlaneToken(emu, 'feed-ads')
  const deleted = await call(emu, 'DELETE', '/api/2.0/serving-endpoints/feed-ads', cp)
  t.equal(deleted.status, 200)
  t.same(deleted.body, {})
  t.equal((await get(emu, '/api/2.0/serving-endpoints/feed-ads', cp)).status, 404)
  t.equal((await invoke(emu, 'feed-ads', { inputs: [1] }, token)).status, 404)
  t.same(Object.keys(emu.endpoints), ['fraud-model'])
  const missing = await call(emu, 'DELETE', '/api/2.0/serving-endpoints/feed-ads', cp)
  t.equal(missing.status, 404)
  t.equal(missing.body.error_code, 'RESOURCE_DOES_NOT_EXIST')
})
