// `endpoints create` checks names, versions and sizes locally and builds Databricks' create body.
import t from 'tap'
import { checkEndpointName, createEndpointRequest, parseDuration } from '../../src/workspace/endpoint-spec.js'

t.test('a model endpoint: entity name and version, route optimized by default', async t => {
  t.same(createEndpointRequest({ name: 'fraud-model', model: 'main.default.fraud', version: '3' }), {
    name: 'fraud-model',
    config: { served_entities: [{ entity_name: 'main.default.fraud', entity_version: '3', workload_type: 'CPU', workload_size: 'Small', scale_to_zero_enabled: false }] },
    route_optimized: true
  })
})

t.test('a feature spec: full name, no version; sizes in any case come back in the API spelling', async t => {
  t.same(createEndpointRequest({ name: 'user_features', featureSpec: 'main.features.user_spec', workloadType: 'gpu_small', workloadSize: 'medium', scaleToZero: true, routeOptimized: false }), {
    name: 'user_features',
    config: { served_entities: [{ entity_name: 'main.features.user_spec', workload_type: 'GPU_SMALL', workload_size: 'Medium', scale_to_zero_enabled: true }] },
    route_optimized: false
  })
})

t.test('bad input is refused with the option named', async t => {
  const refused = (o: Parameters<typeof createEndpointRequest>[0], message: RegExp): void => {
    t.throws(() => createEndpointRequest(o), { code: 'ROUTEGATE_ERR_INVALID_ARGUMENT', message }, message.source)
  }
  refused({ name: 'has space', model: 'a.b.c', version: '1' }, /endpoint name 'has space': 1-63 letters, digits, dashes and underscores/)
  refused({ name: 'x'.repeat(64), model: 'a.b.c', version: '1' }, /1-63/)
  refused({ name: 'dotted.name', model: 'a.b.c', version: '1' }, /1-63/)
  // Databricks would create it, but the config could not name it.
  refused({ name: '_scoring', model: 'a.b.c', version: '1' }, /endpoint name '_scoring': .*starting with a letter or digit/)
  refused({ name: 'ok' }, /one of --model .* or --feature-spec/)
  refused({ name: 'ok', model: 'a.b.c', featureSpec: 'a.b.d' }, /one of --model/)
  refused({ name: 'ok', model: 'fraud', version: '1' }, /--model 'fraud': a three-part Unity Catalog name, catalog.schema.model/)
  refused({ name: 'ok', model: 'a..c', version: '1' }, /three-part/)
  refused({ name: 'ok', model: 'a.b.c' }, /--model needs --version N/)
  refused({ name: 'ok', model: 'a.b.c', version: 'v1' }, /--version 'v1': a model version number/)
  refused({ name: 'ok', model: 'a.b.c', version: '0' }, /--version '0'/)
  refused({ name: 'ok', featureSpec: 'a.b.c', version: '1' }, /--version is for models: a feature spec has no version/)
  refused({ name: 'ok', featureSpec: 'spec' }, /--feature-spec 'spec': a three-part Unity Catalog name, catalog.schema.feature_spec/)
  refused({ name: 'ok', model: 'a.b.c', version: '1', workloadType: 'TPU' }, /--workload-type 'TPU': one of CPU, GPU_SMALL, GPU_MEDIUM, GPU_LARGE, MULTIGPU_MEDIUM/)
  refused({ name: 'ok', model: 'a.b.c', version: '1', workloadSize: 'Huge' }, /--workload-size 'Huge': one of Small, Medium, Large/)
  t.throws(() => checkEndpointName('bad\nname'), { message: /bad\\x0aname/ }, 'control characters are shown, not printed')
  t.throws(() => checkEndpointName(undefined), { message: 'an endpoint name is needed' })
})

t.test('durations', async t => {
  t.equal(parseDuration('20m', '--timeout'), 1_200_000)
  t.equal(parseDuration('90s', '--timeout'), 90_000)
  t.equal(parseDuration('1h30m', '--timeout'), 5_400_000)
  t.equal(parseDuration('500ms', '--timeout'), 500)
  t.equal(parseDuration('2.5', '--timeout'), 2500, 'a bare number is seconds')
  for (const bad of ['', '0', '-1m', '5 m', '1d', 'soon', '999h']) {
    t.throws(() => parseDuration(bad, '--timeout'), { code: 'ROUTEGATE_ERR_INVALID_ARGUMENT', message: /--timeout '.*': a duration such as 20m/ }, bad)
  }
})
