import t from 'tap'
import { clock, controlPlaneToken, get, start } from './helpers/client.js'
import type { RunningEmulator } from '../src/index.js'

async function call (emu: RunningEmulator, method: string, path: string, token: string, body?: unknown): Promise<{ status: number, body: any }> {
  const res = await fetch(`${emu.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) })
  })
  return { status: res.status, body: await res.json() }
}

const entity = (extra: Record<string, unknown> = {}): Record<string, unknown> => ({ entity_name: 'main.m.model', entity_version: '1', ...extra })

t.test('create refuses what Databricks refuses, with INVALID_PARAMETER_VALUE and a message naming the field', async t => {
  const emu = await start(t)
  const cp = await controlPlaneToken(emu)
  const NAME = 'Endpoint name must be between 1 and 63 characters long and contain only alphanumeric characters, dashes and underscores.'
  const cases: Array<[string, unknown, string]> = [
    ['no name', { config: { served_entities: [entity()] } }, NAME],
    ['a dot in the name', { name: 'a.b', config: { served_entities: [entity()] } }, NAME],
    ['64 characters', { name: 'x'.repeat(64), config: { served_entities: [entity()] } }, NAME],
    ['no config', { name: 'e' }, 'config is required, with at least one served entity (config.served_entities).'],
    ['no entities', { name: 'e', config: { served_entities: [] } }, 'The endpoint config must have at least one served entity (config.served_entities).'],
    ['no entity_name', { name: 'e', config: { served_entities: [{ entity_version: '1' }] } }, 'served_entities[0].entity_name is required.'],
    ['a model without a version', { name: 'e', config: { served_entities: [{ entity_name: 'ranker' }] } },
      'served_entities[0].entity_version is required for model \'ranker\' (only a feature spec, named catalog.schema.feature_spec, has no version).'],
    ['a bad version', { name: 'e', config: { served_entities: [entity({ entity_version: 'latest' })] } }, 'served_entities[0].entity_version must be a model version number as a string, e.g. "1".'],
    ['a bad workload_size', { name: 'e', config: { served_entities: [entity({ workload_size: 'Huge' })] } }, 'served_entities[0].workload_size must be one of Small, Medium, Large.'],
    ['a bad workload_type', { name: 'e', config: { served_entities: [entity({ workload_type: 'TPU' })] } }, 'served_entities[0].workload_type must be one of CPU, GPU_SMALL, GPU_MEDIUM, GPU_LARGE, MULTIGPU_MEDIUM.'],
    ['scale_to_zero not boolean', { name: 'e', config: { served_entities: [entity({ scale_to_zero_enabled: 'yes' })] } }, 'served_entities[0].scale_to_zero_enabled must be a boolean.'],
    ['route_optimized not boolean', { name: 'e', config: { served_entities: [entity()] }, route_optimized: 'true' }, 'route_optimized must be a boolean.'],
    ['not an object', [1], 'The request body must be a JSON object.']
  ]
  for (const [name, body, message] of cases) {
    const res = await call(emu, 'POST', '/api/2.0/serving-endpoints', cp, body)
    t.equal(res.status, 400, name)
    t.same(res.body, { error_code: 'INVALID_PARAMETER_VALUE', message }, name)
  }
  t.same(Object.keys(emu.endpoints), ['fraud-model', 'feed-ads'], 'nothing was created')
  const ok = await call(emu, 'POST', '/api/2.0/serving-endpoints', cp, { name: `a_${'x'.repeat(61)}`, config: { served_entities: [entity()] } })
  t.equal(ok.status, 200, '63 characters with an underscore are fine')
  t.equal(ok.body.route_optimized, false, 'route_optimized defaults to false')
  t.notOk('data_plane_info' in ok.body)
})

t.test('an update changes the config in the background, keeps route_optimized, and refuses to turn route optimization on', async t => {
  const time = clock()
  const emu = await start(t, { now: time.now, readyDelayMs: 1000, endpoints: [{ name: 'ro' }, { name: 'plain', routeOptimized: false }] })
  const cp = await controlPlaneToken(emu)
  const turnOn = await call(emu, 'PUT', '/api/2.0/serving-endpoints/plain/config', cp, { served_entities: [entity()], route_optimized: true })
  t.equal(turnOn.status, 400)
  t.same(turnOn.body, {
    error_code: 'INVALID_PARAMETER_VALUE',
    message: 'route_optimized can only be set when an endpoint is created: an existing endpoint cannot be made route-optimized (or stop being so) by an update. Create a new endpoint with route_optimized set to true.'
  })
  t.equal((await call(emu, 'PUT', '/api/2.0/serving-endpoints/ro/config', cp, { served_entities: [entity()], route_optimized: false })).status, 400, 'nor off')

  const id = emu.endpoints.ro!.id
  const updated = await call(emu, 'PUT', '/api/2.0/serving-endpoints/ro/config', cp, { served_entities: [entity({ entity_version: '2', name: 'v2' })] })
  t.equal(updated.status, 200)
  t.match(updated.body, {
    id,
    route_optimized: true,
    state: { ready: 'READY', config_update: 'IN_PROGRESS' },
    config: { config_version: 1, served_entities: [{ entity_version: '1' }] },
    pending_config: { config_version: 2, served_entities: [{ name: 'v2', entity_version: '2' }] }
  })
  const busy = await call(emu, 'PUT', '/api/2.0/serving-endpoints/ro/config', cp, { served_entities: [entity()] })
  t.equal(busy.status, 409)
  t.equal(busy.body.error_code, 'RESOURCE_CONFLICT')
  time.advance(1000)
  const done = await get(emu, '/api/2.0/serving-endpoints/ro', cp)
  t.match(done.body, { id, route_optimized: true, state: { ready: 'READY', config_update: 'NOT_UPDATING' }, config: { config_version: 2, served_entities: [{ name: 'v2', entity_version: '2' }] } })
  t.notOk('pending_config' in done.body)
  t.equal(emu.endpoints.ro!.servedModelName, 'v2')
  const bad = await call(emu, 'PUT', '/api/2.0/serving-endpoints/ro/config', cp, { served_entities: [{ entity_name: 'x' }] })
  t.equal(bad.status, 400)
  t.equal((await call(emu, 'PUT', '/api/2.0/serving-endpoints/nope/config', cp, { served_entities: [entity()] })).status, 404)
})

t.test('only principals that manage endpoints create, update and delete them', async t => {
  const emu = await start(t, {
    principals: [
      { clientId: 'reader', clientSecret: 's', permissions: [{ endpoint: '*', actions: ['query_inference_endpoint'] }] },
      { clientId: 'owner', clientSecret: 's', permissions: [{ endpoint: 'fraud-model', actions: ['manage_inference_endpoint'] }] }
    ]
  })
  const reader = await controlPlaneToken(emu, 0)
  const owner = await controlPlaneToken(emu, 1)
  const body = { name: 'new', config: { served_entities: [entity()] } }
  const denied = await call(emu, 'POST', '/api/2.0/serving-endpoints', reader, body)
  t.equal(denied.status, 403)
  t.same(denied.body, { error_code: 'PERMISSION_DENIED', message: 'User does not have permission to create serving endpoints.' })
  t.equal((await call(emu, 'DELETE', '/api/2.0/serving-endpoints/fraud-model', reader)).status, 403)
  t.equal((await call(emu, 'PUT', '/api/2.0/serving-endpoints/fraud-model/config', reader, { served_entities: [entity()] })).status, 403)
  t.equal((await call(emu, 'POST', '/api/2.0/serving-endpoints', owner, body)).status, 200)
  t.equal((await get(emu, '/api/2.0/serving-endpoints/new', owner)).body.permission_level, 'CAN_MANAGE', 'the creator manages what it created')
  t.equal((await call(emu, 'DELETE', '/api/2.0/serving-endpoints/new', owner)).status, 200)
  t.equal((await call(emu, 'POST', '/api/2.0/serving-endpoints', 'not-a-token', body)).status, 401)
})
